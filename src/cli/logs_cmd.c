/* logs_cmd.c - `mcpproxy logs SERVER [-f]`: the server's stderr lines the
 * proxy keeps (GET /api/servers/{name}/logs), and with -f the lines it
 * writes next, as the proxy's server_log events announce them.
 *
 * Why -f prints lines from the logs API and not the events' own lines: the
 * logs API numbers every line (`total`; `?since=T` answers the lines after
 * line T), but a server_log event says neither which line numbers it
 * carries nor the bus seq a logs answer reflects. After subscribing, the
 * first events may hold lines the tail already showed, and nothing tells
 * which: de-duplicating them would be a guess. So an event is the signal
 * that there is news, and the news is fetched with ?since= the last line
 * shown: every line once, in order, whole (an event cuts lines to 1,024
 * bytes) and including those the events' 50-lines-a-second budget left
 * out (they are in the proxy's last 1,000). Lines are only lost when more
 * than 1,000 arrive between two fetches; one line says how many.
 *
 * No gap: the tail is read first (its `total`), then the stream is
 * subscribed; its hello (and every reconnect's, and a resync or a drop
 * notice) fetches what came meanwhile. A restarted proxy (new epoch) keeps
 * new lines, all unseen: they are fetched from line 0. Lines a server
 * writes over the budget publish no event of their own; a fetch about a
 * second after the last event catches them (they come within the budget's
 * second). */
#include "cli/logs_cmd.h"

#include "cli/api_client.h"
#include "cli/event_stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* After a server_log event, fetch once more this much later: lines over
 * the 50-a-second budget (written in the same second) have no event. */
#define RECHECK_AFTER_MS 1100

typedef struct follower {
    api_client *api;
    const char *server;
    const char *base; /* "/api/servers/NAME/logs" */
    bool json;
    uint64_t shown;     /* the number of the last line shown (the logs API's `total`) */
    char epoch[40];     /* the proxy run those numbers belong to; "" before the first hello */
    int64_t recheck_at; /* monotonic ms of the fetch after an event; 0: none due */
    int rc;             /* the exit code once a fetch fails */
} follower;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints the lines of one answer (as JSON: the answer, one per line). */
static void print_lines(json_t *body, bool json)
{
    if (json) {
        char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
    } else {
        size_t i;
        json_t *line;
        json_array_foreach(json_object_get(body, "lines"), i, line)
            puts(json_string_value(line));
    }
    fflush(stdout);
}

/* The lines after f->shown. False (f->rc set, the message printed) when
 * the proxy refuses: no such server any more, a wrong key. */
static bool fetch_news(follower *f)
{
    strbuf path = {0};
    strbuf_appendf(&path, "%s?since=%" PRIu64, f->base, f->shown);
    json_t *body;
    int rc = api_json(f->api, "GET", path.data, NULL, &body);
    strbuf_free(&path);
    if (rc == CLI_UNREACHABLE)
        return true; /* the stream notices too, and its next hello fetches again */
    if (rc != CLI_OK) {
        f->rc = rc;
        return false;
    }
    uint64_t total = (uint64_t)json_integer_value(json_object_get(body, "total"));
    size_t got = json_array_size(json_object_get(body, "lines"));
    /* total < shown: the server was removed and added again, and the
     * answer holds every line it kept, all new. */
    uint64_t written = total >= f->shown ? total - f->shown : total;
    if (written > got && !f->json)
        printf("(%" PRIu64 " lines of %s left out: more came at once than the proxy keeps, the last 1,000)\n",
               written - got, f->server);
    if (got) /* --json: only answers with news */
        print_lines(body, f->json);
    f->shown = total;
    json_decref(body);
    return true;
}

static bool on_message(json_t *msg, const char *raw, void *ctx)
{
    (void)raw;
    follower *f = ctx;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "hello") == 0) {
        const char *epoch = json_string_value(json_object_get(msg, "epoch"));
        if (f->epoch[0] && epoch && strcmp(f->epoch, epoch) != 0)
            f->shown = 0; /* a new proxy: its lines are numbered from 1, none shown */
        snprintf(f->epoch, sizeof f->epoch, "%s", epoch ? epoch : "");
        return fetch_news(f);
    }
    if (strcmp(type, "server_log") == 0)
        f->recheck_at = now_ms() + RECHECK_AFTER_MS;
    /* server_log, and resync_required / events_dropped (events missed:
     * whatever they announced is fetched all the same). */
    return fetch_news(f);
}

static bool on_tick(void *ctx)
{
    follower *f = ctx;
    if (!f->recheck_at || now_ms() < f->recheck_at)
        return true;
    f->recheck_at = 0;
    return fetch_news(f);
}

/* Appends "?server=NAME&types=server_log" with NAME percent-encoded (the
 * name rule allows only unreserved characters; encoding costs nothing). */
static void events_path(strbuf *sb, const char *server)
{
    strbuf_appendf(sb, "/events?types=server_log&server=");
    for (const unsigned char *c = (const unsigned char *)server; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c))
            strbuf_append(sb, c, 1);
        else
            strbuf_appendf(sb, "%%%02X", *c);
    }
}

static int logs_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    bool follow = false;
    const char *tail = NULL;
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co),
                            {"-f", NULL, &follow, NULL, false},
                            {"--follow", NULL, &follow, NULL, false},
                            {"--tail", &tail, NULL, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n != 1) {
        rc = cli_usage_error(cmd, "needs one SERVER");
        goto out;
    }
    char *end = NULL;
    if (tail && (strtoul(tail, &end, 10), !*tail || *end || tail[0] == '-')) {
        rc = cli_usage_error(cmd, "--tail needs a number of lines (got \"%s\")", tail);
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    strbuf base = {0};
    strbuf_appendf(&base, "/api/servers/");
    api_append_segment(&base, args.v[0]);
    strbuf_appendf(&base, "/logs");
    strbuf path = {0};
    strbuf_appendf(&path, "%s%s%s", base.data, tail ? "?tail=" : "", tail ? tail : "");
    json_t *body;
    rc = api_json(&api, "GET", path.data, NULL, &body);
    follower f = {.api = &api, .server = args.v[0], .base = base.data, .json = co.json, .rc = CLI_OK};
    if (rc == CLI_OK) {
        print_lines(body, co.json);
        f.shown = (uint64_t)json_integer_value(json_object_get(body, "total"));
    }
    json_decref(body);
    if (rc == CLI_OK && follow) {
        path.len = 0;
        events_path(&path, args.v[0]);
        event_stream s = {
            .api = &api, .path = path.data, .resume = true, .on_message = on_message, .on_tick = on_tick, .ctx = &f};
        rc = event_stream_run(&s);
        if (rc == CLI_OK)
            rc = f.rc;
    }
    strbuf_free(&path);
    strbuf_free(&base);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command logs_command = {
    "logs",
    "a server's stderr (-f: follow it)",
    "Usage: mcpproxy logs SERVER [-f] [--tail N] [--json]\n"
    "\n"
    "Prints the lines the server wrote to stderr that the proxy keeps (the last\n"
    "1,000, across restarts of the server). With -f it then follows the proxy's\n"
    "event stream and prints each new line once, as the server writes it, until\n"
    "Ctrl-C; a proxy that goes away is waited for and followed again (a restarted\n"
    "proxy's lines all print). Lines come whole and none is left out, unless more\n"
    "than 1,000 arrive at once: one line then says how many were.\n"
    "\n"
    "Options:\n"
    "  -f, --follow      keep printing new lines\n"
    "  --tail N          start with only the last N lines\n" CLI_CLIENT_HELP
    "                    ({\"server\",\"lines\",\"total\"}; with -f one such object per answer with news)\n"
    "\n"
    "Examples:\n"
    "  mcpproxy logs crashy\n"
    "  mcpproxy logs demo -f --tail 20\n"
    "\n"
    "Exit codes: 0 ok (or stopped with Ctrl-C), 1 error (no such server...), 2 usage,\n"
    "3 proxy not reachable, 4 refused (API key).\n",
    logs_run,
};
