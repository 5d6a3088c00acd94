/* logs_cmd.c - `mcpproxy logs SERVER [-f]`: the server's stderr lines the
 * proxy keeps (GET /api/servers/{name}/logs). No event carries stderr
 * lines, so -f asks again twice a second for the lines after the last one
 * seen (?since=, the answer's "total"). */
#include "cli/logs_cmd.h"

#include "cli/api_client.h"
#include "cli/event_stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FOLLOW_EVERY_MS 500

/* Prints the lines of one answer; returns its "total". */
static uint64_t print_lines(json_t *body, bool json)
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
    return (uint64_t)json_integer_value(json_object_get(body, "total"));
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
    uint64_t total = rc == CLI_OK ? print_lines(body, co.json) : 0;
    json_decref(body);
    if (rc == CLI_OK && follow) {
        cli_catch_stop_signals();
        while (cli_sleep_ms(FOLLOW_EVERY_MS)) {
            path.len = 0;
            strbuf_appendf(&path, "%s?since=%" PRIu64, base.data, total);
            rc = api_json(&api, "GET", path.data, NULL, &body);
            if (rc != CLI_OK)
                break;
            /* --json: only answers with news, one object per line. */
            if (json_array_size(json_object_get(body, "lines")) || !co.json)
                total = print_lines(body, co.json);
            else
                total = (uint64_t)json_integer_value(json_object_get(body, "total"));
            json_decref(body);
        }
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
    "1,000, across restarts of the server). With -f it then keeps printing new\n"
    "lines as the server writes them (it asks twice a second) until Ctrl-C.\n"
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
