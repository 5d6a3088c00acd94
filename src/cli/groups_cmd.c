/* groups_cmd.c - `mcpproxy groups ...` through /api/groups. A group is
 * nothing but the servers whose "group" names it: `add` puts servers in
 * one, `rm` takes every server out of it (the servers stay). */
#include "cli/groups_cmd.h"

#include "cli/api_client.h"

#include <stdlib.h>
#include <string.h>

static void print_groups(json_t *body, bool json)
{
    if (json) {
        char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        return;
    }
    json_t *groups = json_object_get(body, "groups");
    int w = 5;
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        int n = (int)strlen(json_string_value(json_object_get(g, "name")));
        w = n > w ? n : w;
    }
    printf("%-*s  %-7s  %s\n", w, "GROUP", "ENABLED", "SERVERS");
    json_array_foreach(groups, i, g) {
        printf("%-*s  %-7s ", w, json_string_value(json_object_get(g, "name")),
               json_is_true(json_object_get(g, "enabled")) ? "yes" : "no");
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(g, "servers"), k, s)
            printf(" %s", json_string_value(s));
        putchar('\n');
    }
    if (json_array_size(groups) == 0)
        printf("(no groups: `mcpproxy groups add GROUP SERVER...` makes one)\n");
}

/* POST /api/groups {"name": group, "servers": [...]}. */
static int assign(api_client *api, const char *group, json_t *servers, bool json)
{
    json_t *req = json_pack("{s:s, s:O}", "name", group, "servers", servers);
    json_t *out;
    int rc = api_json(api, "POST", "/api/groups", req, &out);
    json_decref(req);
    if (rc == CLI_OK && json)
        print_groups(out, true);
    json_decref(out);
    return rc;
}

static int remove_group(api_client *api, const char *group, bool json)
{
    json_t *body;
    int rc = api_json(api, "GET", "/api/groups", NULL, &body);
    if (rc != CLI_OK)
        return rc;
    json_t *members = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(body, "groups"), i, g)
        if (strcmp(json_string_value(json_object_get(g, "name")), group) == 0)
            members = json_object_get(g, "servers");
    if (!members) {
        fprintf(stderr, "mcpproxy groups: no group named '%s' (mcpproxy groups lists them)\n", group);
        rc = CLI_ERROR;
    } else {
        rc = assign(api, "", members, json);
        if (rc == CLI_OK && !json)
            printf("removed group %s (%zu server(s) now in no group)\n", group, json_array_size(members));
    }
    json_decref(body);
    return rc;
}

static int groups_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co)};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    const char *verb = args.n ? args.v[0] : "list";
    bool list = strcmp(verb, "list") == 0, add = strcmp(verb, "add") == 0, rm = strcmp(verb, "rm") == 0;
    bool toggle = strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0;
    if (!list && !add && !rm && !toggle) {
        rc = cli_usage_error(cmd, "unknown subcommand \"%s\"", verb);
        goto out;
    }
    if ((list && args.n > 1) || ((rm || toggle) && args.n != 2) || (add && args.n < 3)) {
        rc = cli_usage_error(cmd,
                             list  ? "list takes no arguments"
                             : add ? "add needs a GROUP and at least one SERVER"
                                   : "%s needs one GROUP",
                             verb);
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    if (list) {
        json_t *body;
        rc = api_json(&api, "GET", "/api/groups", NULL, &body);
        if (rc == CLI_OK)
            print_groups(body, co.json);
        json_decref(body);
    } else if (add) {
        json_t *servers = json_array();
        for (size_t i = 2; i < args.n; i++)
            json_array_append_new(servers, json_string(args.v[i]));
        rc = assign(&api, args.v[1], servers, co.json);
        if (rc == CLI_OK && !co.json)
            printf("group %s: %zu servers added\n", args.v[1], args.n - 2);
        json_decref(servers);
    } else if (rm) {
        rc = remove_group(&api, args.v[1], co.json);
    } else {
        strbuf path = {0};
        strbuf_appendf(&path, "/api/groups/");
        api_append_segment(&path, args.v[1]);
        strbuf_appendf(&path, "/%s", verb);
        json_t *out;
        rc = api_json(&api, "POST", path.data, NULL, &out);
        if (rc == CLI_OK) {
            if (co.json)
                print_groups(out, true);
            else
                printf("group %s %sd\n", args.v[1], verb);
        }
        json_decref(out);
        strbuf_free(&path);
    }
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command groups_command = {
    "groups",
    "list groups, put servers in one, enable or disable a whole group",
    "Usage: mcpproxy groups [list] [--json]\n"
    "       mcpproxy groups add GROUP SERVER...\n"
    "       mcpproxy groups rm GROUP\n"
    "       mcpproxy groups enable|disable GROUP\n"
    "\n"
    "A group is the servers whose \"group\" names it (saved in the proxy's config\n"
    "file like every change).\n"
    "\n"
    "  list       every group, whether all its servers are enabled, its servers\n"
    "  add        put the servers in GROUP (moving them out of their old group)\n"
    "  rm         take every server out of GROUP; the servers themselves stay\n"
    "  enable     enable every server of the group (also ends Auto-Disabled)\n"
    "  disable    disable every server of the group\n"
    "\n"
    "Options:\n" CLI_CLIENT_HELP "\n"
    "Examples:\n"
    "  mcpproxy groups\n"
    "  mcpproxy groups add flaky crashy demo-paged\n"
    "  mcpproxy groups disable flaky\n"
    "\n"
    "Exit codes: 0 ok, 1 refused by the proxy (no such group or server...), 2 usage,\n"
    "3 proxy not reachable, 4 refused (API key).\n",
    groups_run,
};
