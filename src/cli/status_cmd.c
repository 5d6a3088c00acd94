/* status_cmd.c - `mcpproxy status`: a table of the servers (name, status,
 * tools, retries, last error) from GET /api/servers/status. With --watch it
 * follows the event stream and, after every event, asks again: on a
 * terminal the table is redrawn; into a pipe or file one plain line is
 * written per server that changed. */
#include "cli/status_cmd.h"

#include "cli/api_client.h"
#include "cli/event_stream.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct status_view {
    api_client *api;
    bool json;
    bool tty;
    json_t *last; /* the servers array last shown, or NULL */
} status_view;

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The last error on one line, cut to max bytes ("-" when none). */
static void one_line(char *out, size_t out_len, const char *text, size_t max)
{
    if (!text || !*text) {
        snprintf(out, out_len, "-");
        return;
    }
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < out_len && n < max; p++)
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    out[n] = '\0';
}

static void print_table(json_t *servers, bool tty)
{
    int w = 4;
    size_t i;
    json_t *s;
    json_array_foreach(servers, i, s) {
        int len = (int)strlen(str(s, "name"));
        if (len > w)
            w = len;
    }
    printf("%-*s  %-14s %5s %7s  %s\n", w, "NAME", "STATUS", "TOOLS", "RETRIES", "LAST ERROR");
    json_array_foreach(servers, i, s) {
        char err[512];
        one_line(err, sizeof err, json_string_value(json_object_get(s, "last_error")), tty ? 80 : 500);
        /* Ready but held from /mcp until approved: what matters to a reader. */
        const char *status = json_is_true(json_object_get(s, "quarantined")) ? "Quarantined" : str(s, "status");
        printf("%-*s  %-14s %5lld %7lld  %s\n", w, str(s, "name"), status,
               (long long)json_integer_value(json_object_get(s, "tool_count")),
               (long long)json_integer_value(json_object_get(s, "retry_count")), err);
    }
    if (json_array_size(servers) == 0)
        printf("(no servers: add one with `mcpproxy servers add NAME COMMAND [ARGS...]`)\n");
}

static json_t *find_by_name(json_t *servers, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(servers, i, s)
        if (strcmp(str(s, "name"), name) == 0)
            return s;
    return NULL;
}

static bool same_row(json_t *a, json_t *b)
{
    static const char *const keys[] = {"status", "tool_count", "retry_count", "last_error"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!json_equal(json_object_get(a, keys[k]), json_object_get(b, keys[k])))
            return false;
    return true;
}

static void now_text(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, len, "%H:%M:%S", &tm);
}

/* Not a terminal: one line per server that changed since the last look. */
static void print_changes(json_t *before, json_t *after)
{
    char when[16];
    now_text(when, sizeof when);
    size_t i;
    json_t *s;
    json_array_foreach(after, i, s) {
        json_t *old = find_by_name(before, str(s, "name"));
        if (old && same_row(old, s))
            continue;
        char err[512];
        one_line(err, sizeof err, json_string_value(json_object_get(s, "last_error")), 500);
        printf("%s %s %s tools=%lld retries=%lld%s%s\n", when, str(s, "name"), str(s, "status"),
               (long long)json_integer_value(json_object_get(s, "tool_count")),
               (long long)json_integer_value(json_object_get(s, "retry_count")), strcmp(err, "-") ? " error=" : "",
               strcmp(err, "-") ? err : "");
    }
    json_array_foreach(before, i, s) {
        if (!find_by_name(after, str(s, "name")))
            printf("%s %s removed\n", when, str(s, "name"));
    }
}

/* Asks for the status and shows it (or what changed). */
static int show(status_view *v, bool watching)
{
    json_t *body;
    int rc = api_json(v->api, "GET", "/api/servers/status", NULL, &body);
    if (rc != CLI_OK)
        return rc;
    json_t *servers = json_object_get(body, "servers");
    if (v->json) {
        char *text = json_dumps(body, watching ? JSON_COMPACT : JSON_INDENT(2));
        puts(text);
        free(text);
    } else if (watching && v->tty) {
        char when[16];
        now_text(when, sizeof when);
        fputs("\033[H\033[2J", stdout); /* home, clear */
        printf("mcpproxy at %s - %s - Ctrl-C to stop\n\n", v->api->url, when);
        print_table(servers, true);
    } else if (watching && v->last) {
        print_changes(v->last, servers);
    } else {
        print_table(servers, v->tty);
    }
    fflush(stdout);
    json_decref(v->last);
    v->last = json_incref(servers);
    json_decref(body);
    return CLI_OK;
}

static bool on_event(json_t *msg, const char *raw, void *ctx)
{
    (void)raw;
    status_view *v = ctx;
    const char *type = json_string_value(json_object_get(msg, "type"));
    /* hello: (re)connected, the state may be anything: look. Events: look
     * again. Control messages change nothing by themselves. */
    if (strcmp(type, "hello") == 0 || json_is_integer(json_object_get(msg, "seq")))
        if (strcmp(type, "tool_called") != 0)
            show(v, true);
    return true;
}

static int status_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    bool watch = false;
    const cli_opt opts[] = {
        CLI_CLIENT_OPTS(co), {"--watch", NULL, &watch, NULL, false}, {"-w", NULL, &watch, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n) {
        rc = cli_usage_error(cmd, "unexpected argument \"%s\"", args.v[0]);
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    status_view v = {.api = &api, .json = co.json, .tty = isatty(STDOUT_FILENO) == 1};
    if (!watch) {
        rc = show(&v, false);
    } else {
        event_stream s = {.api = &api, .path = "/events", .resume = false, .on_message = on_event, .ctx = &v};
        rc = event_stream_run(&s);
    }
    json_decref(v.last);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command status_command = {
    "status",
    "the servers at a glance (--watch: live)",
    "Usage: mcpproxy status [--watch] [--json] [--url URL] [--api-key KEY]\n"
    "\n"
    "Prints one line per upstream server: its name, status (Connecting,\n"
    "Discovering, Ready, Error, Disabled, Auto-Disabled...), how many tools it\n"
    "offers, how many times it was retried since it was last stable, and its last\n"
    "error.\n"
    "\n"
    "With --watch it follows the event stream and shows every change as it\n"
    "happens: on a terminal the table is redrawn; when stdout is a pipe or a file,\n"
    "the table is printed once and then one line per server that changed\n"
    "(\"12:00:01 demo Ready tools=4 retries=0\"). A proxy not running yet is waited\n"
    "for and a dropped connection retried. Stop it with Ctrl-C.\n"
    "\n"
    "Options:\n"
    "  -w, --watch       keep watching\n" CLI_CLIENT_HELP
    "                    (with --watch: one JSON status per line, after every change)\n"
    "\n"
    "Examples:\n"
    "  mcpproxy status\n"
    "  mcpproxy status --watch\n"
    "  mcpproxy status --json | jq -r '.servers[] | select(.status != \"Ready\") | .name'\n"
    "\n"
    "Exit codes: 0 ok, 1 error, 2 usage, 3 proxy not reachable, 4 refused (API key).\n",
    status_run,
};
