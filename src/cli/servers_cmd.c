/* servers_cmd.c - `mcpproxy servers ...`: the upstream servers through
 * /api/servers (each change is saved to the proxy's config file and applied
 * by the proxy). */
#include "cli/servers_cmd.h"

#include "cli/api_client.h"

#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
}

static void server_path(strbuf *sb, const char *name, const char *action)
{
    strbuf_appendf(sb, "/api/servers/");
    api_append_segment(sb, name);
    if (action)
        strbuf_appendf(sb, "/%s", action);
}

static int list(api_client *api, bool json)
{
    json_t *body;
    int rc = api_json(api, "GET", "/api/servers", NULL, &body);
    if (rc != CLI_OK)
        return rc;
    json_t *servers = json_object_get(body, "servers");
    if (json) {
        print_json(body);
    } else {
        int w = 4, gw = 5;
        size_t i;
        json_t *s;
        json_array_foreach(servers, i, s) {
            int n = (int)strlen(str(s, "name")), g = (int)strlen(str(s, "group"));
            w = n > w ? n : w;
            gw = g > gw ? g : gw;
        }
        printf("%-*s  %-7s  %-*s  %-14s %5s  %s\n", w, "NAME", "ENABLED", gw, "GROUP", "STATUS", "TOOLS", "COMMAND");
        json_array_foreach(servers, i, s) {
            printf("%-*s  %-7s  %-*s  %-14s %5lld  %s", w, str(s, "name"),
                   json_is_true(json_object_get(s, "enabled")) ? "yes" : "no", gw,
                   *str(s, "group") ? str(s, "group") : "-", str(s, "status"),
                   (long long)json_integer_value(json_object_get(s, "tool_count")), str(s, "command"));
            size_t k;
            json_t *a;
            json_array_foreach(json_object_get(s, "args"), k, a)
                printf(" %s", json_string_value(a));
            putchar('\n');
        }
        if (json_array_size(servers) == 0)
            printf("(no servers: add one with `mcpproxy servers add NAME COMMAND [ARGS...]`)\n");
    }
    json_decref(body);
    return CLI_OK;
}

/* "K=V" into obj; false when there is no '='. */
static bool put_env(const cli_command *cmd, json_t *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_usage_error(cmd, "--env needs NAME=VALUE (got \"%s\")", kv);
        return false;
    }
    char *name = xstrdup(kv);
    name[eq - kv] = '\0';
    json_object_set_new(env, name, json_string(eq + 1));
    free(name);
    return true;
}

typedef struct edit_opts {
    const char *group, *working_dir, *command, *set;
    cli_strings env, unset_env, arg;
    bool disabled, no_args;
} edit_opts;

static int add(const cli_command *cmd, api_client *api, const cli_args *args, const edit_opts *e, bool json)
{
    if (args->n < 3)
        return cli_usage_error(cmd, "add needs a NAME and a COMMAND: servers add NAME COMMAND [ARGS...]");
    json_t *srv = json_pack("{s:s, s:s}", "name", args->v[1], "command", args->v[2]);
    json_t *argv = json_array();
    for (size_t i = 3; i < args->n; i++)
        json_array_append_new(argv, json_string(args->v[i]));
    json_object_set_new(srv, "args", argv);
    json_t *env = json_object();
    for (size_t i = 0; i < e->env.n; i++) {
        if (!put_env(cmd, env, e->env.v[i])) {
            json_decref(env);
            json_decref(srv);
            return CLI_USAGE;
        }
    }
    json_object_set_new(srv, "env", env);
    if (e->group)
        json_object_set_new(srv, "group", json_string(e->group));
    if (e->working_dir)
        json_object_set_new(srv, "working_dir", json_string(e->working_dir));
    if (e->disabled)
        json_object_set_new(srv, "enabled", json_false());
    json_t *out;
    int rc = api_json(api, "POST", "/api/servers", srv, &out);
    json_decref(srv);
    if (rc != CLI_OK)
        return rc;
    if (json)
        print_json(out);
    else
        printf("added %s (%s); `mcpproxy status --watch` follows it\n", str(out, "name"),
               e->disabled ? "disabled" : "starting");
    json_decref(out);
    return CLI_OK;
}

static int edit(const cli_command *cmd, api_client *api, const cli_args *args, const edit_opts *e, bool json)
{
    if (args->n != 2)
        return cli_usage_error(cmd, "edit needs one NAME: servers edit NAME [--command C] [--arg A]... ...");
    json_t *patch = json_object();
    if (e->set) {
        json_error_t err;
        json_decref(patch);
        patch = json_loads(e->set, 0, &err);
        if (!json_is_object(patch)) {
            json_decref(patch);
            return cli_usage_error(cmd, "--set needs a JSON object of fields (%s)",
                                   err.text[0] ? err.text : "not an object");
        }
    }
    if (e->command)
        json_object_set_new(patch, "command", json_string(e->command));
    if (e->arg.n || e->no_args) {
        json_t *argv = json_array();
        for (size_t i = 0; i < e->arg.n; i++)
            json_array_append_new(argv, json_string(e->arg.v[i]));
        json_object_set_new(patch, "args", argv);
    }
    if (e->group)
        json_object_set_new(patch, "group", json_string(e->group));
    if (e->working_dir)
        json_object_set_new(patch, "working_dir", json_string(e->working_dir));
    strbuf path = {0};
    server_path(&path, args->v[1], NULL);
    int rc = CLI_OK;
    if (e->env.n || e->unset_env.n) {
        /* env is replaced whole: start from the current one (values read
         * "***", which the proxy keeps as they are). */
        json_t *cur;
        rc = api_json(api, "GET", path.data, NULL, &cur);
        if (rc == CLI_OK) {
            json_t *env = json_deep_copy(json_object_get(cur, "env"));
            if (!json_is_object(env)) {
                json_decref(env);
                env = json_object();
            }
            for (size_t i = 0; i < e->env.n && rc == CLI_OK; i++)
                if (!put_env(cmd, env, e->env.v[i]))
                    rc = CLI_USAGE;
            for (size_t i = 0; i < e->unset_env.n; i++)
                json_object_del(env, e->unset_env.v[i]);
            json_object_set_new(patch, "env", env);
            json_decref(cur);
        }
    }
    if (rc == CLI_OK && json_object_size(patch) == 0)
        rc = cli_usage_error(cmd, "edit: say what to change (--command, --arg, --env, --group, --working-dir, --set)");
    json_t *out = NULL;
    if (rc == CLI_OK)
        rc = api_json(api, "PATCH", path.data, patch, &out);
    if (rc == CLI_OK) {
        if (json)
            print_json(out);
        else
            printf("updated %s\n", str(out, "name"));
    }
    json_decref(out);
    json_decref(patch);
    strbuf_free(&path);
    return rc;
}

/* rm, enable, disable, restart: one request on one server. */
static int action(const cli_command *cmd, api_client *api, const cli_args *args, bool json)
{
    const char *verb = args->v[0];
    if (args->n != 2)
        return cli_usage_error(cmd, "%s needs one server NAME", verb);
    strbuf path = {0};
    bool rm = strcmp(verb, "rm") == 0;
    server_path(&path, args->v[1], rm ? NULL : verb);
    json_t *out;
    int rc = api_json(api, rm ? "DELETE" : "POST", path.data, NULL, &out);
    strbuf_free(&path);
    if (rc != CLI_OK)
        return rc;
    if (json)
        print_json(out);
    else if (rm)
        printf("removed %s\n", args->v[1]);
    else
        printf("%s: %s\n", args->v[1], str(out, "status"));
    json_decref(out);
    return CLI_OK;
}

static int servers_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    edit_opts e = {0};
    const cli_opt opts[] = {
        CLI_CLIENT_OPTS(co),
        {"--group", &e.group, NULL, NULL, true},
        {"--working-dir", &e.working_dir, NULL, NULL, true},
        {"--command", &e.command, NULL, NULL, false},
        {"--set", &e.set, NULL, NULL, false},
        {"--env", NULL, NULL, &e.env, false},
        {"--unset-env", NULL, NULL, &e.unset_env, false},
        {"--arg", NULL, NULL, &e.arg, true},
        {"--no-args", NULL, &e.no_args, NULL, false},
        {"--disabled", NULL, &e.disabled, NULL, false},
    };
    cli_args args;
    int rc;
    /* After "add NAME COMMAND" everything is the server's own arguments,
     * options or not. No other subcommand takes a third argument, so for
     * them the rule only changes which message a stray one gets. */
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 3, &args, &rc))
        goto out;
    const char *verb = args.n ? args.v[0] : "list";
    static const char *const actions[] = {"rm", "enable", "disable", "restart"};
    bool is_action = false;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        is_action |= strcmp(verb, actions[i]) == 0;
    if (strcmp(verb, "list") != 0 && strcmp(verb, "add") != 0 && strcmp(verb, "edit") != 0 && !is_action) {
        rc = cli_usage_error(cmd, "unknown subcommand \"%s\"", verb);
        goto out;
    }
    if (strcmp(verb, "list") == 0 && args.n > 1) {
        rc = cli_usage_error(cmd, "list takes no arguments");
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    if (strcmp(verb, "list") == 0)
        rc = list(&api, co.json);
    else if (strcmp(verb, "add") == 0)
        rc = add(cmd, &api, &args, &e, co.json);
    else if (strcmp(verb, "edit") == 0)
        rc = edit(cmd, &api, &args, &e, co.json);
    else
        rc = action(cmd, &api, &args, co.json);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command servers_command = {
    "servers",
    "list, add, edit, remove, enable, disable, restart upstream servers",
    "Usage: mcpproxy servers [list] [--json]\n"
    "       mcpproxy servers add NAME [--group G] [--env K=V]... [--working-dir DIR] [--disabled] COMMAND [ARGS...]\n"
    "       mcpproxy servers edit NAME [--command C] [--arg A]... [--no-args] [--env K=V]... [--unset-env K]...\n"
    "                                  [--group G] [--working-dir DIR] [--set JSON]\n"
    "       mcpproxy servers rm|enable|disable|restart NAME\n"
    "\n"
    "Changes the running proxy's servers through its API: each change is checked,\n"
    "saved to the proxy's config file and applied at once (events tell the rest:\n"
    "`mcpproxy status --watch`). Names are 1-64 characters of A-Z a-z 0-9 _ - .\n"
    "\n"
    "  list       every server: enabled, group, status, tools, command line\n"
    "  add        a new server; everything after COMMAND is its arguments\n"
    "  edit       change fields: --arg replaces the arguments (repeat it for\n"
    "             several), --env sets and --unset-env removes one variable,\n"
    "             --group \"\" takes it out of its group,\n"
    "             --set sends any fields as JSON ({\"enabled\":false})\n"
    "  rm         remove the server (its process is stopped)\n"
    "  enable     enable it (also ends Auto-Disabled)\n"
    "  disable    stop it and keep it stopped\n"
    "  restart    stop and start it again\n"
    "\n"
    "Options:\n" CLI_CLIENT_HELP "\n"
    "Examples:\n"
    "  mcpproxy servers\n"
    "  mcpproxy servers add fs --group files npx -y @modelcontextprotocol/server-filesystem /tmp\n"
    "  mcpproxy servers edit fs --env DEBUG=1 --arg /srv --arg /tmp\n"
    "  mcpproxy servers disable crashy\n"
    "  mcpproxy servers rm fs\n"
    "\n"
    "Exit codes: 0 ok, 1 refused by the proxy (no such server, invalid setting,\n"
    "config file changed on disk...: the message says), 2 usage, 3 proxy not\n"
    "reachable, 4 refused (API key).\n",
    servers_run,
};
