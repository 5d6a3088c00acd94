/* tools_cmd.c - `mcpproxy tools [SERVER]`: each tool as /mcp offers it
 * (SERVER__TOOL), its arguments and the first line of its description,
 * from GET /api/servers/{name}/tools. */
#include "cli/tools_cmd.h"

#include "cli/api_client.h"

#include <stdlib.h>
#include <string.h>

/* "demo__add(a, b)  Adds two numbers." */
static void print_tool(const char *server, json_t *tool)
{
    const char *name = json_string_value(json_object_get(tool, "name"));
    printf("%s__%s(", server, name ? name : "?");
    const char *key;
    json_t *value;
    bool first = true;
    json_t *required = json_object_get(json_object_get(tool, "inputSchema"), "required");
    json_object_foreach(json_object_get(json_object_get(tool, "inputSchema"), "properties"), key, value) {
        bool req = false;
        size_t i;
        json_t *r;
        json_array_foreach(required, i, r)
            req |= json_is_string(r) && strcmp(json_string_value(r), key) == 0;
        printf("%s%s%s", first ? "" : ", ", key, req ? "" : "?");
        first = false;
    }
    const char *desc = json_string_value(json_object_get(tool, "description"));
    printf(")");
    if (desc && *desc)
        printf("  %.*s", (int)strcspn(desc, "\n"), desc);
    putchar('\n');
}

static int tools_of(api_client *api, const char *server, json_t *all, bool json)
{
    strbuf path = {0};
    strbuf_appendf(&path, "/api/servers/");
    api_append_segment(&path, server);
    strbuf_appendf(&path, "/tools");
    json_t *body;
    int rc = api_json(api, "GET", path.data, NULL, &body);
    strbuf_free(&path);
    if (rc != CLI_OK)
        return rc;
    if (json) {
        json_array_append(all, body);
    } else {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(body, "tools"), i, t)
            print_tool(server, t);
    }
    json_decref(body);
    return CLI_OK;
}

static int tools_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co)};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n > 1) {
        rc = cli_usage_error(cmd, "one SERVER at most");
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    json_t *all = json_array();
    if (args.n == 1) {
        rc = tools_of(&api, args.v[0], all, co.json);
    } else {
        json_t *status;
        rc = api_json(&api, "GET", "/api/servers/status", NULL, &status);
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(status, "servers"), i, s) {
            if (rc != CLI_OK)
                break;
            /* Only Ready servers offer tools through /mcp. */
            if (strcmp(json_string_value(json_object_get(s, "status")), "Ready") == 0)
                rc = tools_of(&api, json_string_value(json_object_get(s, "name")), all, co.json);
        }
        json_decref(status);
    }
    if (rc == CLI_OK && co.json) {
        json_t *out = args.n == 1 ? json_incref(json_array_get(all, 0)) : json_pack("{s:O}", "servers", all);
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(out);
    }
    json_decref(all);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command tools_command = {
    "tools",
    "the tools on offer, as SERVER__TOOL(args)",
    "Usage: mcpproxy tools [SERVER] [--json]\n"
    "\n"
    "Lists the tools of every Ready server (or of SERVER) under the names /mcp\n"
    "offers them, SERVER__TOOL, with their arguments (optional ones end in ?) and\n"
    "the first line of their description. `mcpproxy call` calls one.\n"
    "\n"
    "Options:\n" CLI_CLIENT_HELP
    "                    (without SERVER: {\"servers\":[{\"server\",\"tool_count\",\"tools\"}...]})\n"
    "\n"
    "Examples:\n"
    "  mcpproxy tools\n"
    "  mcpproxy tools demo --json | jq '.tools[].name'\n"
    "\n"
    "Exit codes: 0 ok, 1 error (no such server...), 2 usage, 3 proxy not reachable,\n"
    "4 refused (API key).\n",
    tools_run,
};
