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
        printf("%-*s  %-7s  %-*s  %-14s %5s  %s\n", w, "NAME", "ENABLED", gw, "GROUP", "STATUS", "TOOLS",
               "COMMAND OR URL");
        json_array_foreach(servers, i, s) {
            printf("%-*s  %-7s  %-*s  %-14s %5lld  %s", w, str(s, "name"),
                   json_is_true(json_object_get(s, "enabled")) ? "yes" : "no", gw,
                   *str(s, "group") ? str(s, "group") : "-",
                   json_is_true(json_object_get(s, "quarantined")) ? "Quarantined" : str(s, "status"),
                   (long long)json_integer_value(json_object_get(s, "tool_count")),
                   *str(s, "url") ? str(s, "url") : str(s, "command"));
            size_t k;
            json_t *a;
            json_array_foreach(json_object_get(s, "args"), k, a)
                printf(" %s", json_string_value(a));
            putchar('\n');
        }
        if (json_array_size(servers) == 0)
            printf("(no servers: add one with `mcpproxy servers add NAME COMMAND [ARGS...]` or\n"
                   " `mcpproxy servers add NAME --server-url URL`)\n");
    }
    json_decref(body);
    return CLI_OK;
}

/* "K=V" into obj; false (usage error printed) when there is no '='. */
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

/* "Name=value" or curl's "Name: value" into obj. A header name has neither
 * '=' nor ':', so the first of them ends it (a token's '=' stays in the
 * value). The proxy checks the name's characters. */
static bool put_header(const cli_command *cmd, json_t *headers, const char *kv)
{
    size_t n = strcspn(kv, "=:");
    if (!kv[n] || n == 0) {
        cli_usage_error(cmd, "--header needs NAME=VALUE or \"NAME: VALUE\" (got \"%s\")", kv);
        return false;
    }
    const char *value = kv + n + 1;
    if (kv[n] == ':')
        value += strspn(value, " \t");
    char *name = xstrdup(kv);
    name[n] = '\0';
    json_object_set_new(headers, name, json_string(value));
    free(name);
    return true;
}

/* Every item of a --env or --header list into obj; false at the first bad one. */
static bool put_all(const cli_command *cmd, json_t *obj, const cli_strings *items,
                    bool (*put)(const cli_command *, json_t *, const char *))
{
    for (size_t i = 0; i < items->n; i++)
        if (!put(cmd, obj, items->v[i]))
            return false;
    return true;
}

typedef struct edit_opts {
    const char *group, *working_dir, *command, *set;
    const char *server_url, *protocol; /* a remote server's */
    cli_strings env, unset_env, arg;
    cli_strings header, unset_header;
    bool disabled, no_args, tls_skip_verify, tls_verify;
} edit_opts;

/* The first option given that only a local (command) server takes, or NULL. */
static const char *local_option(const edit_opts *e)
{
    return e->env.n         ? "--env"
           : e->unset_env.n ? "--unset-env"
           : e->working_dir ? "--working-dir"
           : e->arg.n       ? "--arg"
           : e->no_args     ? "--no-args"
                            : NULL;
}

/* The first option given that only a remote (URL) server takes, or NULL.
 * --protocol stdio is a local server's. */
static const char *remote_option(const edit_opts *e)
{
    return e->header.n                                        ? "--header"
           : e->unset_header.n                                ? "--unset-header"
           : e->tls_skip_verify                               ? "--tls-skip-verify"
           : e->tls_verify                                    ? "--tls-verify"
           : e->protocol && strcmp(e->protocol, "stdio") != 0 ? "--protocol"
                                                              : NULL;
}

static int add_remote(const cli_command *cmd, const cli_args *args, const edit_opts *e, json_t **out)
{
    if (args->n > 2)
        return cli_usage_error(cmd, "give either a COMMAND (a local server) or --server-url (a remote one), not both");
    const char *local = local_option(e);
    if (local)
        return cli_usage_error(cmd,
                               "%s is for a local server (a COMMAND); a --server-url server takes --header, "
                               "--protocol, --tls-skip-verify",
                               local);
    if (e->tls_verify)
        return cli_usage_error(cmd, "--tls-verify is for edit (certificates are checked unless --tls-skip-verify)");
    json_t *srv = json_pack("{s:s, s:s}", "name", args->v[1], "url", e->server_url);
    json_t *headers = json_object();
    json_object_set_new(srv, "headers", headers);
    if (!put_all(cmd, headers, &e->header, put_header)) {
        json_decref(srv);
        return CLI_USAGE;
    }
    if (e->protocol)
        json_object_set_new(srv, "protocol", json_string(e->protocol));
    if (e->tls_skip_verify)
        json_object_set_new(srv, "tls_skip_verify", json_true());
    *out = srv;
    return CLI_OK;
}

static int add_local(const cli_command *cmd, const cli_args *args, const edit_opts *e, json_t **out)
{
    const char *remote = remote_option(e);
    if (remote)
        return cli_usage_error(cmd, "%s is for a remote server: give --server-url URL instead of a COMMAND", remote);
    json_t *srv = json_pack("{s:s, s:s}", "name", args->v[1], "command", args->v[2]);
    json_t *argv = json_array();
    for (size_t i = 3; i < args->n; i++)
        json_array_append_new(argv, json_string(args->v[i]));
    json_object_set_new(srv, "args", argv);
    json_t *env = json_object();
    json_object_set_new(srv, "env", env);
    if (!put_all(cmd, env, &e->env, put_env)) {
        json_decref(srv);
        return CLI_USAGE;
    }
    if (e->working_dir)
        json_object_set_new(srv, "working_dir", json_string(e->working_dir));
    if (e->protocol)
        json_object_set_new(srv, "protocol", json_string(e->protocol));
    *out = srv;
    return CLI_OK;
}

static int add(const cli_command *cmd, api_client *api, const cli_args *args, const edit_opts *e, const client_opts *co)
{
    if (args->n < 2)
        return cli_usage_error(cmd, "add needs a NAME: servers add NAME COMMAND [ARGS...] or servers add NAME "
                                    "--server-url URL");
    if (args->n < 3 && !e->server_url) {
        /* --url names the proxy in every command; someone adding a remote
         * server may reach for it. */
        if (co->url)
            return cli_usage_error(cmd, "add needs a COMMAND or --server-url URL (--url is the proxy's address: "
                                        "a remote server's goes in --server-url)");
        return cli_usage_error(cmd, "add needs a COMMAND (a local server) or --server-url URL (a remote one)");
    }
    json_t *srv = NULL;
    int rc = e->server_url ? add_remote(cmd, args, e, &srv) : add_local(cmd, args, e, &srv);
    if (rc != CLI_OK)
        return rc;
    if (e->group)
        json_object_set_new(srv, "group", json_string(e->group));
    if (e->disabled)
        json_object_set_new(srv, "enabled", json_false());
    json_t *out;
    rc = api_json(api, "POST", "/api/servers", srv, &out);
    json_decref(srv);
    if (rc != CLI_OK)
        return rc;
    if (co->json)
        print_json(out);
    else
        printf("added %s (%s); `mcpproxy status --watch` follows it\n", str(out, "name"),
               e->disabled ? "disabled" : "starting");
    json_decref(out);
    return CLI_OK;
}

/* A copy of cur's object field (env, headers) with --X K=V set and
 * --unset-X K removed; values the proxy masked ("***") go back as they are
 * and keep their value (the PATCH rule). NULL after a usage error. */
static json_t *edited_pairs(const cli_command *cmd, json_t *cur, const char *field, const cli_strings *set,
                            const cli_strings *unset, bool (*put)(const cli_command *, json_t *, const char *))
{
    json_t *obj = json_deep_copy(json_object_get(cur, field));
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_object();
    }
    if (!put_all(cmd, obj, set, put)) {
        json_decref(obj);
        return NULL;
    }
    for (size_t i = 0; i < unset->n; i++)
        json_object_del(obj, unset->v[i]);
    return obj;
}

/* The PATCH body for edit, given the server as it is (cur). A server has
 * exactly one of a command and a URL, and PATCH merges fields into the
 * server: switching kinds sends the other one as "" (none), and the
 * protocol as "" (the new kind's default) unless --protocol names one. */
static int edit_patch(const cli_command *cmd, const char *name, json_t *cur, const edit_opts *e, json_t *patch)
{
    bool remote = *str(cur, "url") != '\0';
    bool to_remote = e->server_url || (remote && !e->command);
    const char *wrong = to_remote ? local_option(e) : remote_option(e);
    if (wrong)
        return cli_usage_error(cmd, "%s is for a %s server, and %s %s", wrong, to_remote ? "local" : "remote", name,
                               to_remote ? (e->server_url ? "becomes a remote one (--server-url)" : "is a remote one")
                                         : (e->command ? "becomes a local one (--command)" : "is a local one"));
    if (e->server_url) {
        json_object_set_new(patch, "url", json_string(e->server_url));
        if (!remote) {
            json_object_set_new(patch, "command", json_string(""));
            json_object_set_new(patch, "protocol", json_string(e->protocol ? e->protocol : ""));
        }
    }
    if (e->command) {
        json_object_set_new(patch, "command", json_string(e->command));
        if (remote) {
            json_object_set_new(patch, "url", json_string(""));
            json_object_set_new(patch, "protocol", json_string(e->protocol ? e->protocol : ""));
        }
    }
    if (e->protocol && !json_object_get(patch, "protocol"))
        json_object_set_new(patch, "protocol", json_string(e->protocol));
    if (e->arg.n || e->no_args) {
        json_t *argv = json_array();
        for (size_t i = 0; i < e->arg.n; i++)
            json_array_append_new(argv, json_string(e->arg.v[i]));
        json_object_set_new(patch, "args", argv);
    }
    if (e->working_dir)
        json_object_set_new(patch, "working_dir", json_string(e->working_dir));
    if (e->tls_skip_verify || e->tls_verify)
        json_object_set_new(patch, "tls_skip_verify", json_boolean(e->tls_skip_verify));
    if (e->group)
        json_object_set_new(patch, "group", json_string(e->group));
    /* env and headers are replaced whole: start from the current ones. */
    if (e->env.n || e->unset_env.n) {
        json_t *env = edited_pairs(cmd, cur, "env", &e->env, &e->unset_env, put_env);
        if (!env)
            return CLI_USAGE;
        json_object_set_new(patch, "env", env);
    }
    if (e->header.n || e->unset_header.n) {
        json_t *headers = edited_pairs(cmd, cur, "headers", &e->header, &e->unset_header, put_header);
        if (!headers)
            return CLI_USAGE;
        json_object_set_new(patch, "headers", headers);
    }
    if (json_object_size(patch) == 0) /* only an empty --set */
        return cli_usage_error(cmd, "edit: say what to change (--set {} changes nothing)");
    return CLI_OK;
}

static int edit(const cli_command *cmd, api_client *api, const cli_args *args, const edit_opts *e, bool json)
{
    if (args->n != 2)
        return cli_usage_error(cmd, "edit needs one NAME: servers edit NAME [--command C] [--arg A]... ...");
    if (e->server_url && e->command)
        return cli_usage_error(cmd, "give either --command (a local server) or --server-url (a remote one), not both");
    if (e->tls_skip_verify && e->tls_verify)
        return cli_usage_error(cmd, "give either --tls-skip-verify or --tls-verify, not both");
    if (e->disabled)
        return cli_usage_error(cmd, "--disabled is for add; `mcpproxy servers disable %s` stops a server", args->v[1]);
    if (!e->set && !e->command && !e->server_url && !e->protocol && !e->group && !local_option(e) && !remote_option(e))
        return cli_usage_error(cmd, "edit: say what to change (--command, --arg, --env, --server-url, --header, "
                                    "--protocol, --group, --working-dir, --set ...)");
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
    strbuf path = {0};
    server_path(&path, args->v[1], NULL);
    /* The server as it is: its kind decides what a switch sends, and env
     * and headers are edited from their current values. */
    json_t *cur = NULL, *out = NULL;
    int rc = api_json(api, "GET", path.data, NULL, &cur);
    if (rc == CLI_OK)
        rc = edit_patch(cmd, args->v[1], cur, e, patch);
    if (rc == CLI_OK)
        rc = api_json(api, "PATCH", path.data, patch, &out);
    if (rc == CLI_OK) {
        if (json)
            print_json(out);
        else
            printf("updated %s\n", str(out, "name"));
    }
    json_decref(out);
    json_decref(cur);
    json_decref(patch);
    strbuf_free(&path);
    return rc;
}

/* rm, enable, disable, restart, approve: one request on one server. */
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
        {"--server-url", &e.server_url, NULL, NULL, false},
        {"--header", NULL, NULL, &e.header, false},
        {"--unset-header", NULL, NULL, &e.unset_header, false},
        {"--protocol", &e.protocol, NULL, NULL, false},
        {"--tls-skip-verify", NULL, &e.tls_skip_verify, NULL, false},
        {"--tls-verify", NULL, &e.tls_verify, NULL, false},
    };
    cli_args args;
    int rc;
    /* After "add NAME COMMAND" everything is the server's own arguments,
     * options or not. No other subcommand takes a third argument, so for
     * them the rule only changes which message a stray one gets. */
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 3, &args, &rc))
        goto out;
    const char *verb = args.n ? args.v[0] : "list";
    static const char *const actions[] = {"rm", "enable", "disable", "restart", "approve"};
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
        rc = add(cmd, &api, &args, &e, &co);
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
    "       mcpproxy servers add NAME --server-url URL [--header K=V]... [--protocol P] [--tls-skip-verify]\n"
    "                                [--group G] [--disabled]\n"
    "       mcpproxy servers edit NAME [--command C] [--arg A]... [--no-args] [--env K=V]... [--unset-env K]...\n"
    "                                  [--server-url URL] [--header K=V]... [--unset-header K]... [--protocol P]\n"
    "                                  [--tls-skip-verify | --tls-verify] [--group G] [--working-dir DIR]\n"
    "                                  [--set JSON]\n"
    "       mcpproxy servers rm|enable|disable|restart|approve NAME\n"
    "\n"
    "Changes the running proxy's servers through its API: each change is checked,\n"
    "saved to the proxy's config file and applied at once (events tell the rest:\n"
    "`mcpproxy status --watch`). Names are 1-64 characters of A-Z a-z 0-9 _ - .\n"
    "A server is local (a COMMAND the proxy runs, MCP over its stdin/stdout) or\n"
    "remote (an http:// or https:// URL the proxy connects to), never both.\n"
    "\n"
    "  list       every server: enabled, group, status, tools, command line or URL\n"
    "  add        a new server; everything after COMMAND is its arguments\n"
    "  edit       change fields: --arg replaces the arguments (repeat it for\n"
    "             several), --env sets and --unset-env removes one variable,\n"
    "             --header and --unset-header likewise for a remote server,\n"
    "             --server-url makes a local server remote and --command a\n"
    "             remote one local, --group \"\" takes it out of its group,\n"
    "             --set sends any fields as JSON ({\"enabled\":false})\n"
    "  rm         remove the server (its process is stopped)\n"
    "  enable     enable it (also ends Auto-Disabled)\n"
    "  disable    stop it and keep it stopped\n"
    "  restart    stop and start it again\n"
    "  approve    approve a Quarantined server (new or changed) and its tools as they\n"
    "             are now, so /mcp offers them (also releases changed tools)\n"
    "\n"
    "A remote server's options (--url is the proxy's own address, as in every command):\n"
    "  --server-url URL  the server's MCP endpoint (http:// or https://)\n"
    "  --header K=V      a header sent with every request (also \"K: V\"); values are\n"
    "                    secrets, printed as ***\n"
    "  --protocol P      auto (default: Streamable HTTP, falling back to SSE),\n"
    "                    streamable-http (or http), sse\n"
    "  --tls-skip-verify do not check its certificate (--tls-verify: check it again)\n"
    "\n"
    "Options:\n" CLI_CLIENT_HELP "\n"
    "Examples:\n"
    "  mcpproxy servers\n"
    "  mcpproxy servers add fs --group files npx -y @modelcontextprotocol/server-filesystem /tmp\n"
    "  mcpproxy servers add docs --server-url https://mcp.example.com/mcp --header \"Authorization: Bearer TOKEN\"\n"
    "  mcpproxy servers edit fs --env DEBUG=1 --arg /srv --arg /tmp\n"
    "  mcpproxy servers edit docs --protocol sse --server-url https://mcp.example.com/sse\n"
    "  mcpproxy servers disable crashy\n"
    "  mcpproxy servers rm fs\n"
    "\n"
    "Exit codes: 0 ok, 1 refused by the proxy (no such server, invalid setting,\n"
    "config file changed on disk...: the message says), 2 usage, 3 proxy not\n"
    "reachable, 4 refused (API key).\n",
    servers_run,
};
