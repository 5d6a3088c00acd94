/* activity_cmd.c - `mcpproxy activity`: the calls the proxy recorded, from
 * GET /api/activity (a page, filtered) or GET /api/activity/export (every
 * matching row as JSON Lines or CSV). */
#include "cli/activity_cmd.h"

#include "cli/api_client.h"

#include <stdlib.h>
#include <string.h>

static void add_param(strbuf *path, const char *name, const char *value)
{
    if (!value)
        return;
    strbuf_appendf(path, "%c%s=", strchr(path->data, '?') ? '&' : '?', name);
    api_append_segment(path, value);
}

static const char *str(json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s && *s ? s : "-";
}

/* One line per call, oldest first: the page comes newest first. */
static void print_rows(json_t *rows)
{
    printf("%-24s %-16s %-24s %-7s %8s  %-16s %s\n", "TIME", "SERVER", "TOOL", "OUTCOME", "MS", "CLIENT", "ERROR");
    for (size_t i = json_array_size(rows); i-- > 0;) {
        json_t *row = json_array_get(rows, i);
        const char *error = json_string_value(json_object_get(row, "error"));
        printf("%-24s %-16s %-24s %-7s %8lld  %-16s %.*s\n", str(row, "timestamp"), str(row, "server"),
               str(row, "tool"), str(row, "outcome"),
               (long long)json_integer_value(json_object_get(row, "duration_ms")), str(row, "client_name"),
               error ? (int)strcspn(error, "\n") : 0, error ? error : "");
    }
}

static int activity_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    const char *server = NULL, *tool = NULL, *outcome = NULL, *since = NULL, *until = NULL, *q = NULL;
    const char *limit = NULL, *cursor = NULL, *export = NULL;
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co),
                            {"--server", &server, NULL, NULL, false},
                            {"--tool", &tool, NULL, NULL, false},
                            {"--outcome", &outcome, NULL, NULL, false},
                            {"--since", &since, NULL, NULL, false},
                            {"--until", &until, NULL, NULL, false},
                            {"-q", &q, NULL, NULL, false},
                            {"--limit", &limit, NULL, NULL, false},
                            {"--cursor", &cursor, NULL, NULL, false},
                            {"--export", &export, NULL, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n != 0) {
        rc = cli_usage_error(cmd, "takes no arguments, only options (got \"%s\")", args.v[0]);
        goto out;
    }
    if (outcome && strcmp(outcome, "ok") != 0 && strcmp(outcome, "error") != 0) {
        rc = cli_usage_error(cmd, "--outcome is ok or error (got \"%s\")", outcome);
        goto out;
    }
    if (export && strcmp(export, "jsonl") != 0 && strcmp(export, "csv") != 0) {
        rc = cli_usage_error(cmd, "--export is jsonl or csv (got \"%s\")", export);
        goto out;
    }
    if (export && cursor) {
        rc = cli_usage_error(cmd, "--export writes every matching row: it takes no --cursor");
        goto out;
    }
    api_client api;
    if (!api_client_init(&api, cmd->name, &co, &rc))
        goto out;
    strbuf path = {0};
    strbuf_appendf(&path, export ? "/api/activity/export" : "/api/activity");
    add_param(&path, "format", export);
    add_param(&path, "server", server);
    add_param(&path, "tool", tool);
    add_param(&path, "outcome", outcome);
    add_param(&path, "since", since);
    add_param(&path, "until", until);
    add_param(&path, "q", q);
    add_param(&path, "limit", limit);
    add_param(&path, "cursor", cursor);
    if (export) {
        api_response res = {0};
        rc = api_send(&api, "GET", path.data, NULL, NULL, &res);
        if (rc == CLI_OK && (res.status < 200 || res.status > 299))
            rc = api_report_status(&api, &res);
        else if (rc == CLI_OK)
            fwrite(res.body.data ? res.body.data : "", 1, res.body.len, stdout);
        strbuf_free(&res.body);
    } else {
        json_t *body;
        rc = api_json(&api, "GET", path.data, NULL, &body);
        if (rc == CLI_OK) {
            if (co.json) {
                char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                puts(text);
                free(text);
            } else {
                print_rows(json_object_get(body, "rows"));
                json_t *next = json_object_get(body, "next_cursor");
                if (json_is_integer(next))
                    fprintf(stderr, "(older rows: mcpproxy activity --cursor %lld with the same options)\n",
                            (long long)json_integer_value(next));
            }
            json_decref(body);
        }
    }
    strbuf_free(&path);
    api_client_free(&api);
out:
    free(args.v);
    return rc;
}

const cli_command activity_command = {
    "activity",
    "the calls made through /mcp, from the activity log",
    "Usage: mcpproxy activity [--server S] [--tool T] [--outcome ok|error] [--since TIME]\n"
    "                         [--until TIME] [-q TEXT] [--limit N] [--cursor C] [--json]\n"
    "       mcpproxy activity --export jsonl|csv [filters] > FILE\n"
    "\n"
    "Lists the calls made through /mcp, as the proxy's database recorded them\n"
    "(they survive restarts): time, server, tool, outcome, duration, client and\n"
    "error, oldest first, the newest --limit of them (default 100, at most 1000).\n"
    "When older rows match, a line on stderr gives the --cursor that pages back.\n"
    "--export prints every matching row (up to --limit, default 100000) as JSON\n"
    "Lines or CSV, arguments included.\n"
    "\n"
    "Options:\n"
    "  --server S        only calls to server S\n"
    "  --tool T          only calls of tool T (the server's own name, e.g. add)\n"
    "  --outcome O       ok or error\n"
    "  --since TIME      calls that started at or after TIME: RFC 3339\n"
    "                    (2026-11-28T01:02:03Z) or milliseconds since the epoch\n"
    "  --until TIME      calls that started before TIME\n"
    "  -q TEXT           TEXT in the tool name, error, arguments or client name\n"
    "  --limit N         at most N rows\n"
    "  --cursor C        the page before the one that printed C\n"
    "  --export FORMAT   jsonl or csv: every matching row, raw\n" CLI_CLIENT_HELP
    "                    ({\"rows\":[...],\"next_cursor\"})\n"
    "\n"
    "Examples:\n"
    "  mcpproxy activity\n"
    "  mcpproxy activity --server github --outcome error --limit 20\n"
    "  mcpproxy activity --since 2026-11-28T00:00:00Z --export csv > calls.csv\n"
    "\n"
    "Exit codes: 0 ok, 1 error, 2 usage, 3 proxy not reachable, 4 refused (API key).\n",
    activity_run,
};
