/*
 * mcp.c - JSON-RPC 2.0 framing, the MCP methods and the demo tools.
 *
 * Every request gets exactly one answer and every notification none. A
 * request is answered before the next line is read, except tools/call
 * "sleep", which starts a timer and is answered when it runs out.
 *
 * Known limit: JSON-RPC batches (arrays), which only protocol 2025-03-26
 * allowed, are answered with -32600 rather than processed.
 */
#include "demo.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_VERSION "0.1.0"

/* Longest "sleep": an hour is plenty for any test and keeps typos visible. */
#define SLEEP_MAX_MS 3600000

enum rpc_error_code {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL_ERROR = -32603,
};

/* Newest first: an unknown version asked for gets the first. */
static const char *const protocol_versions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

/* ---- answers ---- */

/* Sends {"jsonrpc":"2.0","id":id,"result":result}; takes ownership of result. */
static void reply_result(struct demo_server *srv, json_t *id, json_t *result)
{
    server_send(srv, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

/* Sends a JSON-RPC error. id NULL stands for null: the request's id is
 * unknown, as for a line that is not JSON. */
static void reply_error(struct demo_server *srv, json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_error(struct demo_server *srv, json_t *id, int code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* Messages can quote input (a tool name, a parser's "near '...'") and be
     * cut mid-character by the buffer; json_pack refuses invalid UTF-8 and
     * the client would get no answer at all. Plain ASCII is always safe. */
    for (char *p = message; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f)
            *p = '?';
    }
    server_send(srv, json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
                               "code", code, "message", message));
}

static void notify(struct demo_server *srv, const char *method)
{
    server_send(srv, json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method));
}

/* A tool result: {"content":[{"type":"text","text":text}], "isError"?}. */
static json_t *text_result(const char *text, bool is_error)
{
    json_t *result = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", text);
    if (result && is_error)
        json_object_set_new(result, "isError", json_true());
    return result;
}

/* ---- the tools ---- */

struct tool {
    const char *name;
    const char *description;
    json_t *(*input_schema)(void);  /* a new reference */
    json_t *(*output_schema)(void); /* a new reference; NULL: no structured output */
    void (*call)(struct demo_server *srv, json_t *id, json_t *args);
};

static json_t *echo_input_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:s}}, s:[s]}", "type", "object", "properties", "text", "type", "string",
                     "description", "Text to send back unchanged.", "required", "text");
}

static json_t *add_input_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s, s]}", "type", "object", "properties", "a", "type",
                     "number", "description", "First addend.", "b", "type", "number", "description", "Second addend.",
                     "required", "a", "b");
}

static json_t *add_output_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", "sum", "type", "number", "required",
                     "sum");
}

static json_t *sleep_input_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:i, s:i, s:s}}, s:[s]}", "type", "object", "properties", "ms", "type",
                     "integer", "minimum", 0, "maximum", SLEEP_MAX_MS, "description",
                     "How long to wait, in milliseconds.", "required", "ms");
}

static json_t *fail_input_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:s}}}", "type", "object", "properties", "message", "type", "string",
                     "description", "The error text to report.");
}

static json_t *extra_input_schema(void)
{
    return json_pack("{s:s, s:{}}", "type", "object", "properties");
}

static void call_echo(struct demo_server *srv, json_t *id, json_t *args)
{
    const char *text = json_string_value(json_object_get(args, "text"));
    if (!text) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: echo needs a string 'text'");
        return;
    }
    reply_result(srv, id, text_result(text, false));
}

/* a + b as a JSON number: an integer when both are integers and the sum
 * fits, a real otherwise. NULL when the sum is not finite (jansson refuses
 * inf and nan, and JSON cannot spell them). */
static json_t *add_numbers(const json_t *a, const json_t *b)
{
    /* jansson's integer is long long wherever long long exists. */
    _Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t is long long");
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        bool overflows = (y > 0 && x > LLONG_MAX - y) || (y < 0 && x < LLONG_MIN - y);
        if (!overflows)
            return json_integer(x + y);
    }
    return json_real(json_number_value(a) + json_number_value(b));
}

static void call_add(struct demo_server *srv, json_t *id, json_t *args)
{
    json_t *a = json_object_get(args, "a");
    json_t *b = json_object_get(args, "b");
    if (!json_is_number(a) || !json_is_number(b)) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: add needs numbers 'a' and 'b'");
        return;
    }
    json_t *sum = add_numbers(a, b);
    if (!sum) {
        reply_result(srv, id, text_result("the sum is not a finite number", true));
        return;
    }
    char *text = json_dumps(sum, JSON_ENCODE_ANY);
    json_t *result = text ? text_result(text, false) : NULL;
    free(text);
    if (result)
        json_object_set_new(result, "structuredContent", json_pack("{s:O}", "sum", sum));
    json_decref(sum);
    reply_result(srv, id, result);
}

static void call_sleep(struct demo_server *srv, json_t *id, json_t *args)
{
    json_t *ms = json_object_get(args, "ms");
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || json_integer_value(ms) > SLEEP_MAX_MS) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: sleep needs an integer 'ms' from 0 to %d",
                    SLEEP_MAX_MS);
        return;
    }
    /* Answered later, by mcp_sleep_finished, so the loop stays free. */
    if (!server_sleep_start(srv, id, json_integer_value(ms)))
        reply_error(srv, id, RPC_INTERNAL_ERROR, "Internal error: out of memory");
}

void mcp_sleep_finished(struct demo_server *srv, json_t *id, int64_t ms)
{
    char text[64];
    snprintf(text, sizeof text, "slept %lld ms", (long long)ms);
    reply_result(srv, id, text_result(text, false));
}

static void call_fail(struct demo_server *srv, json_t *id, json_t *args)
{
    json_t *message = json_object_get(args, "message");
    if (message && !json_is_string(message)) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: fail's 'message' must be a string");
        return;
    }
    /* A failed tool is a successful JSON-RPC answer with isError: the error
     * is for the model to read, not a protocol failure. */
    const char *text = message ? json_string_value(message) : "the fail tool failed, as asked";
    reply_result(srv, id, text_result(text, true));
}

static const struct tool tools[] = {
    {"echo", "Returns the given text unchanged.", echo_input_schema, NULL, call_echo},
    {"add", "Adds two numbers and returns the sum, as text and as structured content.", add_input_schema,
     add_output_schema, call_add},
    {"sleep",
     "Waits the given number of milliseconds, then answers. Other requests are "
     "served meanwhile.",
     sleep_input_schema, NULL, call_sleep},
    {"fail", "Always fails: returns a tool error (isError) with the given message.", fail_input_schema, NULL,
     call_fail},
};
#define TOOL_COUNT (sizeof tools / sizeof tools[0])

static json_t *tool_definition(const char *name, const char *description, json_t *input_schema, json_t *output_schema)
{
    json_t *def = json_pack("{s:s, s:s, s:o}", "name", name, "description", description, "inputSchema", input_schema);
    if (def && output_schema)
        json_object_set_new(def, "outputSchema", output_schema);
    else
        json_decref(output_schema);
    return def;
}

/* The extra tool's name, "extra_<k>"; the buffer must hold 32 bytes. */
static void extra_tool_name(const struct demo_server *srv, char name[32])
{
    snprintf(name, 32, "extra_%u", srv->extra_serial);
}

/* Every tool offered right now, in order: the fixed ones, then the extra. */
static json_t *tool_list(const struct demo_server *srv)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < TOOL_COUNT; i++) {
        const struct tool *t = &tools[i];
        json_array_append_new(list, tool_definition(t->name, t->description, t->input_schema(),
                                                    t->output_schema ? t->output_schema() : NULL));
    }
    if (list && srv->extra_present) {
        char name[32];
        extra_tool_name(srv, name);
        json_array_append_new(list, tool_definition(name,
                                                    "Comes and goes with --tools-change-every; "
                                                    "answers with its own name.",
                                                    extra_input_schema(), NULL));
    }
    return list;
}

void mcp_toggle_extra_tool(struct demo_server *srv)
{
    if (srv->extra_present) {
        srv->extra_present = false;
    } else {
        srv->extra_serial++;
        srv->extra_present = true;
    }
    char name[32];
    extra_tool_name(srv, name);
    server_log(srv, "tool %s %s", name, srv->extra_present ? "added" : "removed");
    /* Before initialize is answered the client does not know our
     * capabilities yet; its first tools/list will show the current list. */
    if (srv->initialized)
        notify(srv, "notifications/tools/list_changed");
}

/* ---- methods ---- */

static void handle_initialize(struct demo_server *srv, json_t *id, json_t *params)
{
    if (srv->opt.fail_handshake) {
        reply_error(srv, id, RPC_INTERNAL_ERROR, "handshake refused on purpose (--fail-handshake)");
        server_log(srv, "refused initialize on purpose (--fail-handshake); exit status 1");
        server_stop(srv, 1);
        return;
    }
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    if (!asked) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: 'protocolVersion' must be a string");
        return;
    }
    const char *version = protocol_versions[0];
    for (size_t i = 0; i < sizeof protocol_versions / sizeof protocol_versions[0]; i++) {
        if (strcmp(asked, protocol_versions[i]) == 0)
            version = protocol_versions[i];
    }
    json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}, s:s}", "protocolVersion", version, "capabilities",
                               "tools", "listChanged", 1, "serverInfo", "name", srv->opt.name, "version",
                               SERVER_VERSION, "instructions", "A demo server: echo, add, sleep and fail tools.");
    reply_result(srv, id, result);
    srv->initialized = true;
    server_log(srv, "initialized with protocol %s (client asked for %s)", version, asked);
}

static void handle_ping(struct demo_server *srv, json_t *id, json_t *params)
{
    (void)params;
    reply_result(srv, id, json_object());
}

/* Our cursors are decimal offsets into the tool list. They are opaque to
 * the client, so this can change; an offset past the end (the list shrank)
 * gives an empty last page. */
static bool parse_cursor(const json_t *cursor, size_t *offset)
{
    const char *text = json_string_value(cursor);
    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0)
        return false;
    *offset = value > SIZE_MAX ? SIZE_MAX : (size_t)value;
    return true;
}

static void handle_tools_list(struct demo_server *srv, json_t *id, json_t *params)
{
    json_t *cursor = json_object_get(params, "cursor");
    size_t offset = 0;
    if (cursor && !json_is_null(cursor) && !parse_cursor(cursor, &offset)) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: unknown cursor");
        return;
    }
    json_t *all = tool_list(srv);
    json_t *page = json_array();
    json_t *result = json_pack("{s:o}", "tools", page);
    if (!all || !result) {
        json_decref(all);
        json_decref(result);
        reply_error(srv, id, RPC_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    size_t total = json_array_size(all);
    size_t first = offset < total ? offset : total;
    size_t end = total;
    if (srv->opt.page_size > 0 && total - first > srv->opt.page_size)
        end = first + srv->opt.page_size;
    for (size_t i = first; i < end; i++)
        json_array_append(page, json_array_get(all, i));
    if (end < total)
        json_object_set_new(result, "nextCursor", json_sprintf("%zu", end));
    json_decref(all);
    reply_result(srv, id, result);
}

static void handle_tools_call(struct demo_server *srv, json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: 'name' must be a string");
        return;
    }
    if (args && !json_is_object(args)) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: 'arguments' must be an object");
        return;
    }
    /* Missing arguments read as {}: json_object_get(NULL, key) is NULL. */
    for (size_t i = 0; i < TOOL_COUNT; i++) {
        if (strcmp(name, tools[i].name) == 0) {
            tools[i].call(srv, id, args);
            return;
        }
    }
    char extra[32];
    extra_tool_name(srv, extra);
    if (srv->extra_present && strcmp(name, extra) == 0) {
        reply_result(srv, id, text_result(extra, false));
        return;
    }
    reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: unknown tool '%s'", name);
}

struct method {
    const char *name;
    void (*handle)(struct demo_server *srv, json_t *id, json_t *params);
};

static const struct method methods[] = {
    {"initialize", handle_initialize},
    {"ping", handle_ping},
    {"tools/list", handle_tools_list},
    {"tools/call", handle_tools_call},
};

static void handle_request(struct demo_server *srv, json_t *id, const char *method, json_t *params)
{
    if (params && !json_is_object(params)) {
        reply_error(srv, id, RPC_INVALID_PARAMS, "Invalid params: 'params' must be an object");
        return;
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(method, methods[i].name) == 0) {
            methods[i].handle(srv, id, params);
            return;
        }
    }
    reply_error(srv, id, RPC_METHOD_NOT_FOUND, "Method not found: %s", method);
}

static void handle_notification(struct demo_server *srv, const char *method, json_t *params)
{
    if (strcmp(method, "notifications/initialized") == 0) {
        server_log(srv, "client says it is initialized");
    } else if (strcmp(method, "notifications/cancelled") == 0) {
        /* A cancelled request gets no answer at all, so drop its timer. */
        json_t *request_id = json_object_get(params, "requestId");
        if (request_id && server_sleep_cancel(srv, request_id))
            server_log(srv, "cancelled a pending sleep");
    }
    /* Other notifications need nothing from us, and never get an answer. */
}

/* Sorts one parsed message into request, notification, response or junk. */
static void handle_message(struct demo_server *srv, json_t *msg)
{
    if (json_is_array(msg)) {
        reply_error(srv, NULL, RPC_INVALID_REQUEST, "Invalid Request: batches are not supported");
        return;
    }
    if (!json_is_object(msg)) {
        reply_error(srv, NULL, RPC_INVALID_REQUEST, "Invalid Request: a message must be an object");
        return;
    }
    json_t *id = json_object_get(msg, "id");
    json_t *method = json_object_get(msg, "method");
    /* MCP ids are strings or numbers, never null. */
    if (id && !json_is_string(id) && !json_is_number(id)) {
        reply_error(srv, NULL, RPC_INVALID_REQUEST, "Invalid Request: 'id' must be a string or a number");
        return;
    }
    if (!method && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
        /* A response; we never send requests, so it answers nothing of ours. */
        server_log(srv, "ignoring a response: this server sends no requests");
        return;
    }
    const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
    const char *problem = NULL;
    if (!version || strcmp(version, "2.0") != 0)
        problem = "'jsonrpc' must be \"2.0\"";
    else if (!json_is_string(method))
        problem = "'method' must be a string";
    if (problem) {
        /* Only a well-formed notification is known never to want an answer. */
        if (!id && json_is_string(method))
            server_log(srv, "ignoring a notification: %s", problem);
        else
            reply_error(srv, id, RPC_INVALID_REQUEST, "Invalid Request: %s", problem);
        return;
    }
    json_t *params = json_object_get(msg, "params");
    if (id)
        handle_request(srv, id, json_string_value(method), params);
    else
        handle_notification(srv, json_string_value(method), params);
}

void mcp_handle_line(struct demo_server *srv, const char *line, size_t len)
{
    json_error_t err;
    /* JSON_DECODE_ANY: a valid non-object such as 42 is an Invalid Request
     * (-32600), not a parse error, as JSON-RPC says. */
    json_t *msg = json_loadb(line, len, JSON_DECODE_ANY, &err);
    if (!msg) {
        reply_error(srv, NULL, RPC_PARSE_ERROR, "Parse error: %s (line %d, column %d)", err.text, err.line, err.column);
        return;
    }
    handle_message(srv, msg);
    json_decref(msg);
}

void mcp_reject_long_line(struct demo_server *srv, size_t limit)
{
    server_log(srv, "skipping an input line longer than %zu bytes", limit);
    reply_error(srv, NULL, RPC_PARSE_ERROR, "Parse error: line longer than %zu bytes", limit);
}
