/* call_cmd.c - `mcpproxy call SERVER__TOOL '{json}'`: the way any MCP client
 * calls a tool, through the proxy's /mcp endpoint: initialize (a session),
 * notifications/initialized, tools/call, then the session is ended. The
 * answer is asked for as plain JSON (Accept: application/json), so the
 * command waits for it. */
#include "cli/call_cmd.h"

#include "cli/api_client.h"

#include <stdlib.h>
#include <string.h>

#define PROTOCOL_VERSION "2025-11-25"

/* One JSON-RPC message to /mcp. *out gets the parsed answer (NULL for a
 * notification's 202). */
static int post(api_client *api, const char *session, json_t *msg, json_t **out)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    char session_header[200];
    snprintf(session_header, sizeof session_header, "Mcp-Session-Id: %s", session ? session : "");
    const char *headers[] = {"Accept: application/json", "MCP-Protocol-Version: " PROTOCOL_VERSION,
                             session ? session_header : NULL, NULL};
    api_response res;
    int rc = api_send(api, "POST", "/mcp", body, headers, &res);
    free(body);
    *out = NULL;
    if (rc != CLI_OK)
        return rc;
    if (res.status == 401 || res.status == 403) {
        rc = api_report_status(api, &res);
    } else if (res.status == 202) {
        rc = CLI_OK;
    } else {
        *out = json_loads(res.body.data, 0, NULL);
        if (!*out) {
            fprintf(stderr, "mcpproxy call: /mcp answered HTTP %ld with no JSON\n", res.status);
            rc = CLI_ERROR;
        } else if (!session && res.session_id[0]) {
            json_object_set_new(*out, "_session", json_string(res.session_id));
        }
    }
    strbuf_free(&res.body);
    return rc;
}

/* A JSON-RPC error answer: said on stderr, 1. */
static bool rpc_failed(json_t *answer, const char *what)
{
    json_t *err = json_object_get(answer, "error");
    if (!err)
        return false;
    fprintf(stderr, "mcpproxy call: %s: %s (JSON-RPC error %" JSON_INTEGER_FORMAT ")\n", what,
            json_string_value(json_object_get(err, "message")), json_integer_value(json_object_get(err, "code")));
    return true;
}

/* The result's content: text as it is, anything else as JSON. */
static void print_content(json_t *result, FILE *out)
{
    json_t *content = json_object_get(result, "content");
    size_t i;
    json_t *c;
    json_array_foreach(content, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        if (text) {
            fputs(text, out);
            if (!*text || text[strlen(text) - 1] != '\n')
                fputc('\n', out);
        } else {
            char *j = json_dumps(c, JSON_COMPACT);
            fprintf(out, "%s\n", j);
            free(j);
        }
    }
    json_t *structured = json_object_get(result, "structuredContent");
    if (json_array_size(content) == 0 && structured) {
        char *j = json_dumps(structured, JSON_INDENT(2));
        fprintf(out, "%s\n", j);
        free(j);
    }
}

static int call_tool(api_client *api, const char *tool, json_t *arguments, bool json)
{
    json_t *init = json_pack("{s:s, s:i, s:s, s:{s:s, s:{}, s:{s:s, s:s}}}", "jsonrpc", "2.0", "id", 1, "method",
                             "initialize", "params", "protocolVersion", PROTOCOL_VERSION, "capabilities", "clientInfo",
                             "name", "mcpproxy-cli", "version", MCPPROXY_VERSION);
    json_t *answer;
    int rc = post(api, NULL, init, &answer);
    json_decref(init);
    if (rc != CLI_OK)
        return rc;
    if (rpc_failed(answer, "initialize")) {
        json_decref(answer);
        return CLI_ERROR;
    }
    char session[160];
    snprintf(session, sizeof session, "%s", json_string_value(json_object_get(answer, "_session")));
    json_decref(answer);
    if (!session[0]) {
        fprintf(stderr, "mcpproxy call: /mcp gave no Mcp-Session-Id\n");
        return CLI_ERROR;
    }
    json_t *note = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", "notifications/initialized");
    rc = post(api, session, note, &answer);
    json_decref(note);
    json_decref(answer);
    if (rc != CLI_OK)
        return rc;
    json_t *req = json_pack("{s:s, s:i, s:s, s:{s:s, s:O}}", "jsonrpc", "2.0", "id", 2, "method", "tools/call",
                            "params", "name", tool, "arguments", arguments);
    rc = post(api, session, req, &answer);
    json_decref(req);
    if (rc == CLI_OK) {
        json_t *result = json_object_get(answer, "result");
        if (rpc_failed(answer, tool)) {
            rc = CLI_ERROR;
        } else if (!json_is_object(result)) {
            fprintf(stderr, "mcpproxy call: the answer has no result\n");
            rc = CLI_ERROR;
        } else if (json) {
            char *text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(text);
            free(text);
            rc = json_is_true(json_object_get(result, "isError")) ? CLI_ERROR : CLI_OK;
        } else if (json_is_true(json_object_get(result, "isError"))) {
            fprintf(stderr, "mcpproxy call: %s failed: ", tool);
            print_content(result, stderr);
            rc = CLI_ERROR;
        } else {
            print_content(result, stdout);
        }
    }
    json_decref(answer);
    /* The session is ours alone: end it rather than leave it to expire. */
    char session_header[200];
    snprintf(session_header, sizeof session_header, "Mcp-Session-Id: %s", session);
    const char *headers[] = {session_header, NULL};
    api_response res;
    api->timeout_ms = 5000;
    if (api_send(api, "DELETE", "/mcp", NULL, headers, &res) == CLI_OK)
        strbuf_free(&res.body);
    return rc;
}

static int call_run(const cli_command *cmd, int argc, char **argv)
{
    client_opts co = {0};
    const cli_opt opts[] = {CLI_CLIENT_OPTS(co)};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        goto out;
    if (args.n < 1 || args.n > 2) {
        rc = cli_usage_error(cmd, "needs SERVER__TOOL and, optionally, its arguments as one JSON object");
        goto out;
    }
    json_error_t jerr;
    /* "-": the arguments come on stdin (large or generated ones). */
    json_t *arguments = args.n < 2                    ? json_object()
                        : strcmp(args.v[1], "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                                      : json_loads(args.v[1], 0, &jerr);
    if (!json_is_object(arguments)) {
        rc = cli_usage_error(cmd, "the arguments must be one JSON object, e.g. '{\"a\":2,\"b\":3}' (%s)",
                             arguments ? "got another JSON value" : jerr.text);
        json_decref(arguments);
        goto out;
    }
    api_client api;
    if (api_client_init(&api, cmd->name, &co, &rc)) {
        api.timeout_ms = 0; /* a tool may take minutes; the proxy's mcp.call_timeout_ms bounds it */
        rc = call_tool(&api, args.v[0], arguments, co.json);
        api_client_free(&api);
    }
    json_decref(arguments);
out:
    free(args.v);
    return rc;
}

const cli_command call_command = {
    "call",
    "call a tool through /mcp and print its result",
    "Usage: mcpproxy call SERVER__TOOL ['{\"arg\":value,...}' | -] [--json]\n"
    "\n"
    "Calls one tool the way an MCP client does, through the proxy's /mcp endpoint\n"
    "(a session of its own, ended afterwards), and prints the result's content:\n"
    "text as it is, anything else as JSON. A tool that reports an error\n"
    "(isError) or a call that fails prints the error text on stderr and exits 1.\n"
    "With - the arguments are read from stdin.\n"
    "`mcpproxy tools` lists the names and arguments.\n"
    "\n"
    "Options:\n" CLI_CLIENT_HELP "                    (the whole result object: content, structuredContent, isError)\n"
    "\n"
    "Examples:\n"
    "  mcpproxy call demo__add '{\"a\":2,\"b\":3}'\n"
    "  mcpproxy call demo__echo '{\"text\":\"hello\"}' --json\n"
    "  jq -n '{text: \"hi\"}' | mcpproxy call demo__echo -\n"
    "\n"
    "Exit codes: 0 ok, 1 the tool or the call failed, 2 usage (arguments not a JSON\n"
    "object), 3 proxy not reachable, 4 refused (API key).\n",
    call_run,
};
