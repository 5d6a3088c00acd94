/* events_cmd.c - `mcpproxy events`.
 *
 * Follows the proxy's stream (event_stream: waits for a proxy not yet
 * running, reconnects and resumes without gaps) and prints every event on
 * stdout, one line each; everything about the connection goes to stderr. */
#include "cli/events_cmd.h"

#include "cli/api_client.h"
#include "cli/event_stream.h"
#include "core/event.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct events_view {
    bool json;
} events_view;

/* connection_lost carries the server's last stderr lines: one readable
 * line says how it ended and quotes the last of them. */
static void print_connection_lost(json_t *data)
{
    json_t *code = json_object_get(data, "exit_code");
    json_t *signum = json_object_get(data, "signal_number");
    const char *signame = json_string_value(json_object_get(data, "signal"));
    if (json_is_integer(code))
        printf(" exited with status %" JSON_INTEGER_FORMAT, json_integer_value(code));
    else if (json_is_integer(signum))
        printf(" killed by signal %" JSON_INTEGER_FORMAT " (%s)", json_integer_value(signum), signame ? signame : "?");
    else if (signame)
        printf(" killed by %s", signame);
    const char *tail = json_string_value(json_object_get(data, "stderr_tail"));
    if (tail && *tail) {
        size_t len = strlen(tail);
        while (len && tail[len - 1] == '\n')
            len--;
        const char *last = tail + len;
        while (last > tail && last[-1] != '\n')
            last--;
        printf(": %.*s", (int)(tail + len - last), last);
    }
}

/* server_log: one line per stderr line, "server: line", as a terminal
 * would show the server's output; left-out lines are one line saying so. */
static void print_server_log(const char *prefix, const char *server, json_t *data)
{
    json_t *skipped = json_object_get(data, "skipped");
    if (json_integer_value(skipped) > 0)
        printf("%s%s: (%" JSON_INTEGER_FORMAT " lines left out; `mcpproxy logs %s` has them)\n", prefix, server,
               json_integer_value(skipped), server);
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(data, "lines"), i, line)
        printf("%s%s: %s\n", prefix, server, json_string_value(line) ? json_string_value(line) : "");
}

static bool print_event(json_t *ev, const char *raw, void *ctx)
{
    events_view *v = ctx;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!json_is_integer(json_object_get(ev, "seq")) || strcmp(type, "hello") == 0)
        return true; /* control messages: the stream reported them */
    if (v->json) {
        puts(raw);
        fflush(stdout);
        return true;
    }
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    const char *server = json_string_value(json_object_get(ev, "server_name"));
    const char *old_state = json_string_value(json_object_get(ev, "old_state"));
    const char *new_state = json_string_value(json_object_get(ev, "new_state"));
    /* "2026-11-28T01:02:03.456789Z" -> "01:02:03.456" */
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%.12s  %-6" PRIu64 " %-22s ", ts && strlen(ts) >= 23 ? ts + 11 : "?",
             (uint64_t)json_integer_value(json_object_get(ev, "seq")), type);
    if (strcmp(type, "server_log") == 0) {
        print_server_log(prefix, server ? server : "-", json_object_get(ev, "data"));
        fflush(stdout);
        return true;
    }
    printf("%s%-12s", prefix, server ? server : "-");
    if (old_state || new_state)
        printf(" %s -> %s", old_state ? old_state : "", new_state ? new_state : "");
    json_t *data = json_object_get(ev, "data");
    if (strcmp(type, "connection_lost") == 0) {
        print_connection_lost(data);
    } else {
        char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text && strcmp(text, "{}") != 0)
            printf(" %s", text);
        free(text);
    }
    putchar('\n');
    fflush(stdout);
    return true;
}

/* Appends "&name=value" with the value percent-encoded. */
static void append_param(strbuf *sb, const char *name, const char *value)
{
    strbuf_appendf(sb, "%c%s=", strchr(sb->data, '?') ? '&' : '?', name);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~,", *c))
            strbuf_append(sb, c, 1);
        else
            strbuf_appendf(sb, "%%%02X", *c);
    }
}

static int events_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    const char *server = NULL, *types = NULL;
    const cli_opt opts[] = {
        CLI_CLIENT_OPTS(co), {"--server", &server, NULL, NULL, false}, {"--types", &types, NULL, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n) {
        rc = cli_usage_error(cmd, "unexpected argument \"%s\"", args.v[0]);
        goto out;
    }
    event_type_mask mask;
    char err[160];
    if (types && !event_type_mask_parse(types, &mask, err, sizeof err)) {
        rc = cli_usage_error(cmd, "--types: %s", err);
        goto out;
    }
    if (server && !*server) {
        rc = cli_usage_error(cmd, "--server needs a server name");
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    strbuf path = {0};
    strbuf_appendf(&path, "/events");
    if (server)
        append_param(&path, "server", server);
    if (types)
        append_param(&path, "types", types);
    events_view view = {.json = co.json};
    event_stream s = {.api = &api, .path = path.data, .resume = true, .on_message = print_event, .ctx = &view};
    rc = event_stream_run(&s);
    strbuf_free(&path);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command events_command = {
    "events",
    "print the live event stream, one line per event",
    "Usage: mcpproxy events [--server NAME] [--types a,b] [--json] [--url URL] [--api-key KEY]\n"
    "\n"
    "Prints every event of a running mcpproxy as it happens, one line each:\n"
    "time, seq, type, server, state change and data (a connection_lost says how\n"
    "the server ended and quotes its last stderr line; a server_log prints each\n"
    "stderr line as \"server: line\", and says how many lines the proxy left out\n"
    "when the server wrote faster than 50 lines a second). Connection news goes to\n"
    "stderr. A proxy not running yet is waited for; a dropped connection is\n"
    "retried with backoff and resumed without missing or repeating an event.\n"
    "Stop it with Ctrl-C.\n"
    "\n"
    "Options:\n"
    "  --server NAME     only events about this server\n"
    "  --types a,b       only these event types (docs/PROTOCOL.md lists them)\n" CLI_CLIENT_HELP "\n"
    "Examples:\n"
    "  mcpproxy events\n"
    "  mcpproxy events --server crashy --types server_state_changed,connection_lost\n"
    "  mcpproxy events --types server_log          # every server's stderr, live\n"
    "  mcpproxy events --json | jq .type\n"
    "\n"
    "Exit codes: 0 stopped by Ctrl-C, 2 usage, 4 refused (API key).\n",
    events_run,
};
