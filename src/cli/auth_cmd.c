/* auth_cmd.c - `mcpproxy auth login SERVER` asks the proxy for the
 * authorization URL (POST /api/servers/{name}/login), prints it, opens it
 * with xdg-open when there is one, then follows the server's state on the
 * event stream until the login has made it Ready (0), the callback failed
 * (server_login_failed: 1, with the reason) or it failed again (1, with
 * last_error). `mcpproxy auth logout SERVER` deletes its tokens. */
#include "cli/auth_cmd.h"

#include "cli/api_client.h"
#include "cli/event_stream.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Whether PATH has an executable `name`. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = xstrdup(path), *save = NULL;
    bool found = false;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        strbuf sb = {0};
        strbuf_appendf(&sb, "%s/%s", *dir ? dir : ".", name);
        found = access(sb.data, X_OK) == 0;
        strbuf_free(&sb);
    }
    free(copy);
    return found;
}

/* Starts xdg-open URL (its output silenced; not waited for). */
static bool open_browser(const char *url)
{
    if (!on_path("xdg-open"))
        return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"xdg-open", (char *)url, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0;
}

typedef struct login_watch {
    const char *server;
    int rc;
} login_watch;

static bool on_event(json_t *msg, const char *raw, void *ctx)
{
    (void)raw;
    login_watch *w = ctx;
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *server = json_string_value(json_object_get(msg, "server_name"));
    if (!type || !server || strcmp(server, w->server) != 0)
        return true;
    json_t *data = json_object_get(msg, "data");
    if (strcmp(type, "server_login_failed") == 0) {
        const char *why = json_string_value(json_object_get(data, "reason"));
        fprintf(stderr, "mcpproxy auth: %s\n", why ? why : "the login failed (no reason given)");
        w->rc = CLI_ERROR;
        return false;
    }
    if (strcmp(type, "server_state_changed") != 0)
        return true;
    const char *state = json_string_value(json_object_get(msg, "new_state"));
    if (state && strcmp(state, "Ready") == 0) {
        printf("Logged in: %s is Ready (%lld tools)\n", w->server,
               (long long)json_integer_value(json_object_get(data, "tool_count")));
        w->rc = CLI_OK;
        return false;
    }
    if (state && (strcmp(state, "Login required") == 0 || strcmp(state, "Error") == 0)) {
        const char *why = json_string_value(json_object_get(data, "last_error"));
        fprintf(stderr, "mcpproxy auth: %s is %s after the login: %s\n", w->server, state,
                why ? why : "no reason given");
        w->rc = CLI_ERROR;
        return false;
    }
    return true;
}

static int login(api_client *api, const char *name, bool json, bool no_browser, bool no_wait)
{
    /* Where the event stream starts: nothing the login causes is missed. */
    json_t *status;
    int rc = api_json(api, "GET", "/api/servers/status", NULL, &status);
    if (rc != CLI_OK)
        return rc;
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(status, "seq"));
    const char *epoch_value = json_string_value(json_object_get(status, "epoch"));
    char epoch[40];
    snprintf(epoch, sizeof epoch, "%s", epoch_value ? epoch_value : "");
    json_decref(status);

    strbuf path = {0};
    strbuf_appendf(&path, "/api/servers/");
    api_append_segment(&path, name);
    strbuf_appendf(&path, "/login");
    json_t *answer;
    rc = api_json(api, "POST", path.data, NULL, &answer);
    strbuf_free(&path);
    if (rc != CLI_OK)
        return rc;
    const char *url = json_string_value(json_object_get(answer, "authorization_url"));
    if (json) {
        char *text = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
    } else {
        printf("To log in to %s, open this URL in a browser:\n\n  %s\n\n", name, url ? url : "");
    }
    bool opened = !no_browser && url && open_browser(url);
    if (!json)
        printf("%s", opened ? "(opened with xdg-open)\n" : "");
    json_decref(answer);
    fflush(stdout);
    if (no_wait)
        return CLI_OK;
    if (!json)
        printf("Waiting for the login to complete (Ctrl-C stops waiting; the URL stays valid for 10 minutes)...\n");
    fflush(stdout);

    strbuf events = {0};
    strbuf_appendf(&events, "/events?types=server_state_changed,server_login_failed&server=");
    api_append_segment(&events, name);
    login_watch w = {.server = name, .rc = CLI_ERROR};
    event_stream s = {.api = api, .path = events.data, .resume = true, .on_message = on_event, .ctx = &w};
    s.last_seq = seq;
    snprintf(s.epoch, sizeof s.epoch, "%s", epoch);
    rc = event_stream_run(&s);
    strbuf_free(&events);
    if (rc != CLI_OK)
        return rc;
    return cli_stop_requested() ? CLI_ERROR : w.rc;
}

static int logout(api_client *api, const char *name, bool json)
{
    strbuf path = {0};
    strbuf_appendf(&path, "/api/servers/");
    api_append_segment(&path, name);
    strbuf_appendf(&path, "/logout");
    json_t *answer;
    int rc = api_json(api, "POST", path.data, NULL, &answer);
    strbuf_free(&path);
    if (rc != CLI_OK)
        return rc;
    if (json) {
        char *text = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
    } else {
        printf("Logged out of %s: its tokens are deleted (status: %s)\n", name,
               json_string_value(json_object_get(answer, "status")));
    }
    json_decref(answer);
    return CLI_OK;
}

static int auth_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    bool no_browser = false, no_wait = false;
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co),
                            {"--no-browser", NULL, &no_browser, NULL, false},
                            {"--no-wait", NULL, &no_wait, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        return rc;
    if (args.n != 2 || (strcmp(args.v[0], "login") != 0 && strcmp(args.v[0], "logout") != 0)) {
        rc = cli_usage_error(cmd, "needs login SERVER or logout SERVER");
        free(args.v);
        return rc;
    }
    api_client api;
    if (api_client_init(&api, cmd->name, &co, &rc)) {
        api.timeout_ms = 0; /* discovery may take a while; the stream has no end */
        rc = strcmp(args.v[0], "login") == 0 ? login(&api, args.v[1], co.json, no_browser, no_wait)
                                             : logout(&api, args.v[1], co.json);
        api_client_free(&api);
    }
    free(args.v);
    return rc;
}

const cli_command auth_command = {
    "auth",
    "log in to a remote server (OAuth), or out",
    "Usage: mcpproxy auth login SERVER [--no-browser] [--no-wait]\n"
    "       mcpproxy auth logout SERVER\n"
    "\n"
    "login: a remote server that answers 401 with an OAuth challenge waits in\n"
    "\"Login required\". This asks the proxy to prepare a login (it discovers the\n"
    "server's authorization server and registers itself there when needed), prints\n"
    "the URL to open in a browser and opens it with xdg-open when there is one.\n"
    "Once you approve, the browser comes back to the proxy's /oauth/callback, the\n"
    "proxy stores the tokens (oauth_tokens.json beside its config file, mode 0600)\n"
    "and connects; this command waits for that and exits 0 once the server is\n"
    "Ready, 1 (printing why) if the login fails at the callback or the server\n"
    "refuses it again.\n"
    "\n"
    "logout: deletes the server's tokens; it goes back to \"Login required\".\n"
    "\n"
    "Options:\n"
    "  --no-browser      only print the URL (for a machine without a browser)\n"
    "  --no-wait         exit once the URL is printed\n" CLI_CLIENT_HELP "\n"
    "Examples:\n"
    "  mcpproxy auth login github\n"
    "  mcpproxy auth login github --no-browser   # open the URL on another machine\n"
    "  mcpproxy auth logout github\n",
    auth_run,
};
