/* calls.c - tools/call in flight and the POSTs waiting on them (calls.h). */
#include "mcp/calls.h"

#include "core/json_scan.h"
#include "core/json_write.h"
#include "core/jsonrpc.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "cluster/rpc.h"
#include "http/ticker.h"
#include "mcp/session.h"
#include "store/activity.h"
#include "store/quarantine.h"
#include "upstream/manager.h"
#include "upstream/mcp_client.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(RPC_UPSTREAM_TIMEOUT == MCP_ERR_TIMEOUT, "/mcp passes an upstream timeout on as its own code");
_Static_assert(RPC_UPSTREAM_CLOSED == MCP_ERR_CLOSED, "/mcp passes a closed upstream on as its own code");

typedef struct mcp_call mcp_call;

struct mcp_calls {
    app *a;
    const mcp_settings *settings;   /* the app's config (a->cfg.mcp); borrowed */
    mcp_call *calls;                /* upstream requests in flight */
    mcp_batch *batches;             /* POSTs waiting for answers */
    ticker_job ping;                /* keep-alive for streamed answers; on while any batch waits */
    int64_t next_token;             /* the progress tokens upstreams are given */
    mcp_client_name_fn client_name; /* may be NULL */
    void *client_name_ctx;
    bool closed;
};

struct mcp_batch {
    mcp_batch *next;
    mcp_calls *calls;
    http_pending *http;          /* NULL while dispatching and once the client went away */
    bool sse;                    /* answer as text/event-stream */
    bool can_stream;             /* the client accepts text/event-stream: a long wait may become a stream */
    bool is_array;               /* the request was a batch: answer with an array */
    uint64_t since_ms;           /* uv_now() when the answer started to wait */
    size_t waiting;              /* calls not yet answered, plus the dispatcher's hold */
    json_t *answers;             /* JSON mode: answers so far; SSE mode: not yet written */
    mcp_batch_reply_fn reply;    /* a detached batch's answer goes here (no HTTP), or NULL */
    mcp_batch_reply_fn progress; /* ... and its call's progress, or NULL */
    void *reply_ctx;
};

struct mcp_call {
    mcp_call *next;
    mcp_calls *owner;
    mcp_batch *batch;
    json_t *client_id; /* the id the MCP client chose */
    char *server;
    const char *method;       /* static: tools/call, or a forwarded method (mcp_batch_forward) */
    char *tool;               /* the upstream's own name; NULL for other methods (no tool_called) */
    char *name;               /* a forwarded request's prompt name or resource URI, for the activity log */
    mcp_forward_done_fn done; /* a forwarded request's outcome hook, or NULL */
    void *done_ctx;
    char session_id[MCP_SESSION_ID_LEN + 1];
    struct mcp_client *client;
    int64_t upstream_id;
    uint64_t start_ns;
    json_t *arguments;    /* for the activity log (and the event when they are logged) */
    char *arguments_text; /* or, when only the activity log wants them, the client's text (not parsed) */
    size_t arguments_len;
    json_t *progress_token; /* the client's _meta.progressToken, or NULL */
    int64_t our_token;      /* the one the upstream was given instead (0: none) */
    uint64_t remote_id;     /* a call another cluster node runs (cluster/rpc.h): its request; else 0 */
    char *node;             /* ... and that node */
};

/* ---- tool_called ------------------------------------------------------ */

/* The text a failed tool result carries, for the event's `error`. */
static void result_error_text(json_t *result, char *out, size_t len)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(result, "content"), i, item) {
        const char *text = json_string_value(json_object_get(item, "text"));
        if (text) {
            snprintf(out, len, "%s", text);
            return;
        }
    }
    snprintf(out, len, "the tool reported an error (isError)");
}

/* A string literal appended without its NUL. */
#define APPEND_LIT(sb, lit) strbuf_append((sb), (lit), sizeof(lit) - 1)

/* The event, the log line and the activity log's row of one call that
 * ended; `response_bytes` is the size of the upstream's answer (0: none). */
static void publish_called(mcp_calls *calls, const char *server, const char *tool, uint64_t start_ns, const char *error,
                           const char *session_id, json_t *arguments, const char *arguments_text, size_t arguments_len,
                           size_t response_bytes)
{
    calls->a->stats.tool_calls++;
    if (error)
        calls->a->stats.tool_errors++;
    uint64_t ms = (uv_hrtime() - start_ns) / 1000000u;
    uv_timeval64_t now;
    uv_gettimeofday(&now);
    activity_log_add(calls->a->activity,
                     &(activity_record){.ts_ms = now.tv_sec * 1000 + now.tv_usec / 1000 - (int64_t)ms,
                                        .session_id = session_id,
                                        .server = server,
                                        .method = "tools/call",
                                        .name = tool,
                                        .arguments = arguments,
                                        .arguments_text = arguments_text,
                                        .arguments_len = arguments_len,
                                        .error = error,
                                        .duration_ms = ms,
                                        .response_bytes = response_bytes});
    /* The data written as text, members in the order a tree gave them (one
     * event per call: no tree built only to be written out). */
    strbuf data = {0};
    strbuf_reserve(&data, 160);
    APPEND_LIT(&data, "{");
    if (tool) { /* a name from a tree or json_scan: valid UTF-8 */
        APPEND_LIT(&data, "\"tool\":");
        json_write_str(&data, tool, strlen(tool));
        APPEND_LIT(&data, ",");
    }
    APPEND_LIT(&data, "\"duration_ms\":");
    json_write_int(&data, (json_int_t)ms);
    if (error) {
        APPEND_LIT(&data, ",\"ok\":false,\"error\":");
        strbuf text = {0}; /* it may quote an upstream's bytes */
        utf8_append_lossy(&text, error, strlen(error));
        json_write_str(&data, text.data ? text.data : "", text.len);
        strbuf_free(&text);
    } else {
        APPEND_LIT(&data, ",\"ok\":true");
    }
    if (!error) { /* what the answer was, without quoting it: its size */
        APPEND_LIT(&data, ",\"response_bytes\":");
        json_write_int(&data, (json_int_t)response_bytes);
    }
    APPEND_LIT(&data, ",\"session_id\":");
    if (session_id && *session_id)
        json_write_str(&data, session_id, strlen(session_id));
    else
        APPEND_LIT(&data, "null");
    const char *client = calls->client_name ? calls->client_name(session_id, calls->client_name_ctx) : NULL;
    if (client) { /* valid UTF-8: cut on a character boundary from a JSON string */
        APPEND_LIT(&data, ",\"client\":");
        json_write_str(&data, client, strlen(client));
    }
    if (arguments && calls->settings->log_tool_arguments) {
        APPEND_LIT(&data, ",\"arguments\":");
        json_write(&data, arguments);
    }
    APPEND_LIT(&data, "}");
    bus_publish(calls->a->bus, &(event_fields){.type = EVENT_TOOL_CALLED,
                                               .server_name = server,
                                               .data_text = data.data,
                                               .data_text_len = data.len});
    strbuf_free(&data);
    log_kv(error ? LOG_INFO : LOG_DEBUG, "tool called",
           LOG_FIELDS(LOG_STR("server", server), LOG_STR("tool", tool), LOG_INT("duration_ms", ms),
                      LOG_STR("error", error), LOG_STR("session_id", session_id)));
}

/* ---- batches ---------------------------------------------------------- */

static void sse_write(mcp_batch *b, json_t *msg)
{
    size_t len;
    char *text = json_write_string(msg, &len);
    http_stream_sse(b->http, "message", 0, text, len);
    free(text);
}

static void batch_unlink(mcp_batch *b)
{
    mcp_calls *calls = b->calls;
    for (mcp_batch **pp = &calls->batches; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    if (!calls->batches)
        ticker_job_stop(calls->a->ticker, &calls->ping);
}

static void batch_free(mcp_batch *b)
{
    json_decref(b->answers);
    free(b);
}

/* Every answer is in: the response ends. */
static void batch_finish(mcp_batch *b)
{
    batch_unlink(b);
    if (b->reply) {
        /* Detached: the one answer as text ("" when it was cancelled). */
        size_t len = 0;
        json_t *answer = json_array_get(b->answers, 0);
        char *text = answer ? json_write_string(answer, &len) : NULL;
        b->reply(text ? text : "", len, b->reply_ctx);
        free(text);
        batch_free(b);
        return;
    }
    if (!b->http) {
        batch_free(b);
        return;
    }
    if (b->sse) {
        http_stream_end(b->http);
    } else if (json_array_size(b->answers) == 0) {
        /* Everything was cancelled: nothing to say. */
        http_pending_finish(b->http, 202, "application/json", "", 0);
    } else {
        json_t *body = b->is_array ? b->answers : json_array_get(b->answers, 0);
        size_t len;
        char *text = json_write_string(body, &len);
        http_pending_finish(b->http, 200, "application/json", text, len);
        free(text);
    }
    b->http = NULL;
    batch_free(b);
}

/* One owed answer of the batch arrived (stolen; NULL: none, as for a
 * cancelled call). The last one ends the batch. */
static void batch_answer(mcp_batch *b, json_t *answer)
{
    assert(b->waiting > 0);
    if (answer && b->http && b->sse)
        sse_write(b, answer);
    else if (answer)
        json_array_append(b->answers, answer); /* written or sent once the answer starts */
    json_decref(answer);
    if (--b->waiting == 0)
        batch_finish(b);
}

/* An answer already written as text (a call's result spliced in): the
 * single answer of a JSON response is sent as it is, a stream's goes out as
 * an event; only an answer kept for an array is parsed into the array. */
static void batch_answer_text(mcp_batch *b, const char *text, size_t len)
{
    assert(b->waiting > 0);
    if (b->http && !b->sse && !b->is_array && b->waiting == 1 && json_array_size(b->answers) == 0) {
        batch_unlink(b);
        http_pending_finish(b->http, 200, "application/json", text, len);
        b->http = NULL;
        batch_free(b);
        return;
    }
    if (!b->http || !b->sse) {
        /* JSON the scanner accepted, which jansson accepts too (json_scan.h). */
        batch_answer(b, json_loadb(text, len, 0, NULL));
        return;
    }
    http_stream_sse(b->http, "message", 0, text, len);
    if (--b->waiting == 0)
        batch_finish(b);
}

mcp_batch *mcp_batch_begin(mcp_calls *calls, bool is_array, bool accepts_json, bool accepts_sse)
{
    mcp_batch *b = xcalloc(1, sizeof *b);
    b->calls = calls;
    b->is_array = is_array;
    /* A batch streams whenever the client takes a stream (its answers go out
     * as they come). One request's single answer is JSON when the client
     * takes JSON: a Content-Length answer keeps the connection alive. */
    b->sse = accepts_sse && (is_array || !accepts_json);
    b->can_stream = accepts_sse;
    b->answers = json_array();
    b->waiting = 1; /* the dispatcher's hold, released by mcp_batch_end */
    return b;
}

void mcp_batch_answer_now(mcp_batch *b, json_t *answer)
{
    json_array_append_new(b->answers, answer);
}

/* ---- calls ------------------------------------------------------------ */

static void call_unlink(mcp_call *c)
{
    for (mcp_call **pp = &c->owner->calls; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

static void call_free(mcp_call *c)
{
    json_decref(c->client_id);
    json_decref(c->arguments);
    free(c->arguments_text);
    json_decref(c->progress_token);
    free(c->server);
    free(c->tool);
    free(c->name);
    free(c->node);
    free(c);
}

/* A forwarded request (prompts/get, resources/read ...) publishes no event,
 * but is a row of the activity log like a tool call. */
static void record_forward(const mcp_call *c, const char *error, size_t response_bytes)
{
    uint64_t ms = (uv_hrtime() - c->start_ns) / 1000000u;
    uv_timeval64_t now;
    uv_gettimeofday(&now);
    activity_log_add(c->owner->a->activity,
                     &(activity_record){.ts_ms = now.tv_sec * 1000 + now.tv_usec / 1000 - (int64_t)ms,
                                        .session_id = c->session_id,
                                        .server = c->server,
                                        .method = c->method,
                                        .name = c->name ? c->name : c->method,
                                        .arguments = c->arguments,
                                        .error = error,
                                        .duration_ms = ms,
                                        .response_bytes = response_bytes});
}

/* Ends a call without an upstream answer (client gone, cancelled, shutdown):
 * the upstream is told, the event says why. The caller frees it and answers
 * its batch. */
static void call_abandon(mcp_call *c, const char *why)
{
    call_unlink(c);
    if (c->remote_id) {
        /* Its node cancels it upstream and says so in its tool_called. */
        rpc_cancel(c->owner->a->rpc, c->remote_id);
        return;
    }
    mcp_client_cancel(c->client, c->upstream_id, why);
    if (c->done)
        c->done(false, c->done_ctx);
    if (c->tool)
        publish_called(c->owner, c->server, c->tool, c->start_ns, why, c->session_id, c->arguments, c->arguments_text,
                       c->arguments_len, 0);
    else
        record_forward(c, why, 0);
}

/* The answer to send the MCP client for an upstream's outcome, and the
 * event's error text (NULL for success) in `error`. */
static json_t *answer_for(const mcp_call *c, json_t *result, const mcp_error *err, char *error, size_t error_len,
                          const char **event_error)
{
    *event_error = NULL;
    if (result) {
        /* Forwarded untouched: content, structuredContent, isError, _meta. */
        if (json_is_true(json_object_get(result, "isError"))) {
            result_error_text(result, error, error_len);
            *event_error = error;
        }
        return jsonrpc_result_new(c->client_id, json_incref(result));
    }
    *event_error = error;
    if (err->code == MCP_ERR_TIMEOUT) {
        snprintf(error, error_len, "%s to server \"%s\" timed out after %u ms", c->method, c->server,
                 c->owner->settings->call_timeout_ms);
        return jsonrpc_error_new(c->client_id, RPC_UPSTREAM_TIMEOUT, error, NULL);
    }
    if (err->code == MCP_ERR_CLOSED) {
        snprintf(error, error_len, "server \"%s\" closed its connection before answering (it crashed or was stopped)",
                 c->server);
        return jsonrpc_error_new(c->client_id, RPC_UPSTREAM_CLOSED, error, NULL);
    }
    /* The upstream's own JSON-RPC error, passed on as it is. */
    snprintf(error, error_len, "%s", err->message ? err->message : "error");
    return jsonrpc_error_new(c->client_id, err->code, err->message ? err->message : "error", err->data);
}

static void call_answered(json_t *result, const mcp_error *err, void *ctx)
{
    mcp_call *c = ctx;
    call_unlink(c);
    char error[600];
    const char *event_error;
    json_t *answer = answer_for(c, result, err, error, sizeof error, &event_error);
    size_t bytes = result ? json_dumpb(result, NULL, 0, JSON_COMPACT) : 0;
    if (c->tool)
        publish_called(c->owner, c->server, c->tool, c->start_ns, event_error, c->session_id, c->arguments,
                       c->arguments_text, c->arguments_len, bytes);
    else
        record_forward(c, event_error, bytes);
    if (c->done)
        c->done(result != NULL, c->done_ctx);
    mcp_batch *b = c->batch;
    call_free(c);
    batch_answer(b, answer);
}

/* Whether a result (checked JSON bytes) may say isError: true, so that the
 * event needs its text from a tree. A result that is not an object cannot;
 * one whose keys the scan cannot settle (many, escaped, repeated) may. */
static bool raw_result_may_fail(const char *result, size_t len)
{
    /* No "isError" in the bytes, and no \u escape that could spell it: no
     * such key (the common case, settled without a second scan). */
    if (!memmem(result, len, "isError", 7) && !memmem(result, len, "\\u", 2))
        return false;
    while (len > 0 && (*result == ' ' || *result == '\t' || *result == '\r' || *result == '\n')) {
        result++;
        len--;
    }
    if (len == 0 || *result != '{')
        return false;
    json_member m[16];
    size_t n;
    bool unsure;
    if (!json_scan_object(result, len, m, 16, &n) || n > 16)
        return true;
    const json_member *is_error = json_member_find(m, n, "isError", &unsure);
    return unsure || (is_error && is_error->value_len == 4 && memcmp(is_error->value, "true", 4) == 0);
}

/* A result as the upstream wrote it (mcp_client_request_raw): spliced into
 * the client's answer without a tree. A failed tool result goes the tree
 * way, since the event quotes its text. */
static void call_answered_raw(const char *result, size_t len, void *ctx)
{
    mcp_call *c = ctx;
    if (raw_result_may_fail(result, len)) {
        json_t *tree = json_loadb(result, len, JSON_DECODE_ANY, NULL); /* checked JSON (json_scan.h) */
        mcp_error bad = {.code = -32603, .message = "the server's result could not be read"};
        call_answered(tree, tree ? NULL : &bad, c);
        json_decref(tree);
        return;
    }
    call_unlink(c);
    publish_called(c->owner, c->server, c->tool, c->start_ns, NULL, c->session_id, c->arguments, c->arguments_text,
                   c->arguments_len, len);
    if (c->done)
        c->done(true, c->done_ctx);
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":", mid[] = ",\"result\":";
    strbuf sb = {0};
    strbuf_reserve(&sb, sizeof head + sizeof mid + len + 32);
    strbuf_append(&sb, head, sizeof head - 1);
    json_write(&sb, c->client_id);
    strbuf_append(&sb, mid, sizeof mid - 1);
    strbuf_append(&sb, result, len);
    strbuf_append(&sb, "}", 1);
    mcp_batch *b = c->batch;
    call_free(c);
    batch_answer_text(b, sb.data, sb.len);
    strbuf_free(&sb);
}

/* Why a tool cannot be called now: its server is not Ready, or no such tool
 * is on offer. The event names the tool as the server would (best effort
 * for a server whose tools are not on offer now). */
static json_t *refuse_call(mcp_calls *calls, const mcp_catalog_entry *e, const char *name, const char *session_id,
                           json_t *id, json_t *arguments, uint64_t start)
{
    char why[600];
    json_t *answer;
    size_t prefix = 0;
    app *a = calls->a;
    const char *server = e ? e->server : mcp_catalog_guess_server(&a->cfg, name, &prefix);
    json_t *status = server && a->manager ? manager_server_status_json(a->manager, server) : NULL;
    const char *state = json_string_value(json_object_get(status, "status"));
    if (quarantine_refusal(a->quarantine, server, e ? e->tool : name + prefix, why, sizeof why)) {
        answer = jsonrpc_error_new(id, RPC_SERVER_UNAVAILABLE, why, NULL);
    } else if (server && (!state || strcmp(state, "Ready") != 0)) {
        snprintf(why, sizeof why, "server \"%s\" is not available (status: %s); its tools cannot be called now", server,
                 state ? state : "unknown");
        answer = jsonrpc_error_new(id, RPC_SERVER_UNAVAILABLE, why, NULL);
    } else {
        snprintf(why, sizeof why, "unknown tool \"%s\": tools/list names the tools on offer", name);
        answer = jsonrpc_error_new(id, RPC_INVALID_PARAMS, why, NULL);
    }
    json_decref(status);
    publish_called(calls, server, e ? e->tool : name + prefix, start, why, session_id, arguments, NULL, 0, 0);
    return answer;
}

/* The answer of another node to a call it ran for us: its JSON-RPC answer
 * (result or error) under our client's id, or why there is none. */
static void remote_answered(const char *body, size_t len, const char *error, void *ctx)
{
    mcp_call *c = ctx;
    call_unlink(c);
    json_t *got = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *result = json_object_get(got, "result");
    json_t *err = json_object_get(got, "error");
    json_t *answer;
    if (result) {
        answer = jsonrpc_result_new(c->client_id, json_incref(result));
    } else if (json_is_object(err)) {
        const char *msg = json_string_value(json_object_get(err, "message"));
        answer = jsonrpc_error_new(c->client_id, (int)json_integer_value(json_object_get(err, "code")),
                                   msg ? msg : "error", json_object_get(err, "data"));
    } else {
        char why[400];
        snprintf(why, sizeof why, "%s to server \"%s\" on node %s failed: %s", c->method, c->server, c->node,
                 error ? error : "its answer could not be read");
        answer = jsonrpc_error_new(c->client_id, RPC_SERVER_UNAVAILABLE, why, NULL);
    }
    json_decref(got);
    log_kv(error ? LOG_INFO : LOG_DEBUG, "request answered by another node",
           LOG_FIELDS(LOG_STR("server", c->server), LOG_STR("method", c->method), LOG_STR("error", error)));
    mcp_batch *b = c->batch;
    call_free(c);
    batch_answer(b, answer);
}

static void call_progress(mcp_call *c, json_t *params);

/* The owner's notifications/progress of a call it runs for us: passed on
 * as a local call's (the client's own token was sent with the call). */
static void remote_progress(const char *body, size_t len, void *ctx)
{
    mcp_call *c = ctx;
    json_t *note = c->progress_token ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *params = json_object_get(note, "params");
    if (json_is_object(params))
        call_progress(c, params);
    json_decref(note);
}

/* A request for a server another cluster node runs: sent there
 * (cluster/rpc.h), where the usual path runs it (quarantine, events, the
 * activity log). `req` (stolen) is the request's body; `tool` the
 * upstream's tool name of a tools/call, else NULL. */
static void send_remote(mcp_batch *b, const char *node, const char *server, const char *method, const char *tool,
                        const char *session_id, json_t *id, json_t *params, json_t *req)
{
    mcp_calls *calls = b->calls;
    size_t len;
    char *text = json_write_string(req, &len);
    json_decref(req);
    mcp_call *c = xcalloc(1, sizeof *c);
    c->owner = calls;
    c->batch = b;
    c->client_id = json_incref(id);
    c->server = xstrdup(server);
    c->method = method;
    c->tool = tool ? xstrdup(tool) : NULL;
    c->node = xstrdup(node);
    json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
    if (json_is_string(token) || json_is_integer(token))
        c->progress_token = json_incref(token);
    snprintf(c->session_id, sizeof c->session_id, "%s", session_id);
    c->start_ns = uv_hrtime();
    char err[300];
    /* The node's own upstream timeout answers first; this one is for a node
     * that never answers. */
    c->remote_id = rpc_call(calls->a->rpc, node, text, len, calls->settings->call_timeout_ms + 2000, remote_answered,
                            remote_progress, c, err, sizeof err);
    free(text);
    if (!c->remote_id) {
        call_free(c);
        mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_SERVER_UNAVAILABLE, err, NULL));
        return;
    }
    c->next = calls->calls;
    calls->calls = c;
    b->waiting++;
    log_kv(LOG_DEBUG, "request sent to another node",
           LOG_FIELDS(LOG_STR("server", server), LOG_STR("method", method), LOG_STR("node", node),
                      LOG_STR("session_id", session_id)));
}

static void call_remote(mcp_batch *b, const mcp_catalog_entry *e, const char *session_id, json_t *id, json_t *params)
{
    json_t *req = json_pack("{s:s, s:s, s:O}", "server", e->server, "name", e->name, "params", params);
    send_remote(b, e->node, e->server, "tools/call", e->tool, session_id, id, params, req);
}

void mcp_batch_forward_remote(mcp_batch *b, const char *node, const char *server, const char *session_id, json_t *id,
                              const char *method, json_t *params)
{
    if (!b->calls->a->rpc) {
        mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_SERVER_UNAVAILABLE, "this node is not in a cluster", NULL));
        return;
    }
    json_t *req = json_pack("{s:s, s:s, s:O}", "server", server, "method", method, "params", params);
    send_remote(b, node, server, method, NULL, session_id, id, params, req);
}

void mcp_batch_call_tool(mcp_batch *b, const mcp_catalog *cat, const char *session_id, json_t *id, json_t *params)
{
    mcp_calls *calls = b->calls;
    uint64_t start = uv_hrtime();
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *arguments = json_object_get(params, "arguments");
    if (!name) {
        mcp_batch_answer_now(b,
                             jsonrpc_error_new(id, RPC_INVALID_PARAMS, "tools/call needs params.name, a string", NULL));
        return;
    }
    if (arguments && !json_is_object(arguments)) {
        mcp_batch_answer_now(
            b, jsonrpc_error_new(id, RPC_INVALID_PARAMS, "tools/call params.arguments must be an object", NULL));
        return;
    }
    const mcp_catalog_entry *e = mcp_catalog_find(cat, name);
    if (e && e->node && calls->a->rpc) {
        call_remote(b, e, session_id, id, params);
        return;
    }
    struct mcp_client *client = e && calls->a->manager ? manager_server_client(calls->a->manager, e->server) : NULL;
    if (!client) {
        mcp_batch_answer_now(b, refuse_call(calls, e, name, session_id, id, arguments, start));
        return;
    }

    /* The same params with the upstream's own tool name (arguments and
     * _meta such as a progressToken pass through): renamed in place, not
     * copied (`name` points into the old value: not used from here on). */
    json_object_set_new(params, "name", json_string(e->tool));
    name = NULL;
    mcp_call *c = xcalloc(1, sizeof *c);
    /* A progress token is the client's own, unique only among its own
     * requests: the upstream gets one of ours, mapped back when its
     * notifications/progress come (mcp_calls_notify). */
    json_t *meta = json_object_get(params, "_meta");
    json_t *token = json_object_get(meta, "progressToken");
    if (json_is_string(token) || json_is_integer(token)) {
        c->progress_token = json_incref(token);
        c->our_token = ++calls->next_token;
        json_object_set_new(meta, "progressToken", json_integer(c->our_token));
    }
    c->owner = calls;
    c->batch = b;
    c->client_id = json_incref(id);
    c->server = xstrdup(e->server);
    c->method = "tools/call";
    c->tool = xstrdup(e->tool);
    snprintf(c->session_id, sizeof c->session_id, "%s", session_id);
    c->client = client;
    c->start_ns = start;
    c->arguments = json_incref(arguments);
    c->upstream_id = mcp_client_request_raw(client, "tools/call", params, calls->settings->call_timeout_ms,
                                            call_answered, call_answered_raw, c);
    if (c->upstream_id < 0) {
        char why[300];
        snprintf(why, sizeof why, "server \"%s\" cannot be written to (it is going away)", c->server);
        publish_called(calls, c->server, c->tool, start, why, session_id, arguments, NULL, 0, 0);
        call_free(c);
        mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_UPSTREAM_CLOSED, why, NULL));
        return;
    }
    c->next = calls->calls;
    calls->calls = c;
    b->waiting++;
    log_kv(LOG_DEBUG, "tool call forwarded",
           LOG_FIELDS(LOG_STR("server", c->server), LOG_STR("tool", c->tool), LOG_INT("upstream_id", c->upstream_id),
                      LOG_STR("session_id", session_id)));
}

bool mcp_calls_call_text(mcp_calls *calls, const mcp_catalog *cat, const char *session_id, const mcp_call_text *ct,
                         bool accepts_sse, const http_request *req, http_response *res)
{
    const mcp_catalog_entry *e = mcp_catalog_find(cat, ct->name);
    struct mcp_client *client = e && calls->a->manager ? manager_server_client(calls->a->manager, e->server) : NULL;
    if (!client)
        return false; /* refused the general way */
    uint64_t start = uv_hrtime();
    /* The params with the upstream's own tool name, the arguments as the
     * client wrote them (checked by json_scan). A newline can only be
     * whitespace there (a string holds none raw): made a space, since it
     * would end the stdio line. */
    strbuf params = {0};
    size_t tool_len = strlen(e->tool);
    strbuf_reserve(&params, ct->arguments_len + tool_len + 32);
    strbuf_append(&params, "{\"name\":", 8);
    json_write_str(&params, e->tool, tool_len);
    if (ct->arguments) {
        strbuf_append(&params, ",\"arguments\":", 13);
        size_t at = params.len;
        strbuf_append(&params, ct->arguments, ct->arguments_len);
        for (size_t i = at; i < params.len; i++) {
            if (params.data[i] == '\n' || params.data[i] == '\r')
                params.data[i] = ' ';
        }
    }
    strbuf_append(&params, "}", 1);

    mcp_batch *b = mcp_batch_begin(calls, false, true, accepts_sse);
    mcp_call *c = xcalloc(1, sizeof *c);
    c->owner = calls;
    c->batch = b;
    c->client_id = json_incref(ct->id);
    c->server = xstrdup(e->server);
    c->method = "tools/call";
    c->tool = xstrdup(e->tool);
    /* A logged event keeps the arguments as a tree: only the arguments are
     * parsed then, never the whole request. The activity log alone takes
     * the client's text as it is (no tree built and written out again). */
    if (ct->arguments && calls->settings->log_tool_arguments) {
        c->arguments = json_loadb(ct->arguments, ct->arguments_len, 0, NULL); /* checked by json_scan */
    } else if (ct->arguments && calls->a->activity) {
        c->arguments_text = xmalloc(ct->arguments_len);
        memcpy(c->arguments_text, ct->arguments, ct->arguments_len);
        c->arguments_len = ct->arguments_len;
    }
    size_t sid_len = strnlen(session_id, MCP_SESSION_ID_LEN);
    memcpy(c->session_id, session_id, sid_len);
    c->session_id[sid_len] = '\0';
    c->client = client;
    c->start_ns = start;
    c->upstream_id = mcp_client_request_text(client, "tools/call", params.data, params.len,
                                             calls->settings->call_timeout_ms, call_answered, call_answered_raw, c);
    strbuf_free(&params);
    if (c->upstream_id < 0) {
        char why[300];
        snprintf(why, sizeof why, "server \"%s\" cannot be written to (it is going away)", c->server);
        publish_called(calls, c->server, c->tool, start, why, session_id, c->arguments, c->arguments_text,
                       c->arguments_len, 0);
        call_free(c);
        mcp_batch_answer_now(b, jsonrpc_error_new(ct->id, RPC_UPSTREAM_CLOSED, why, NULL));
    } else {
        c->next = calls->calls;
        calls->calls = c;
        b->waiting++;
        log_kv(LOG_DEBUG, "tool call forwarded",
               LOG_FIELDS(LOG_STR("server", c->server), LOG_STR("tool", c->tool),
                          LOG_INT("upstream_id", c->upstream_id), LOG_STR("session_id", session_id)));
    }
    mcp_batch_end(b, req, res);
    return true;
}

void mcp_batch_forward(mcp_batch *b, const char *server, struct mcp_client *client, const char *session_id, json_t *id,
                       const char *method, json_t *params, mcp_forward_done_fn done, void *done_ctx)
{
    mcp_calls *calls = b->calls;
    char held[600];
    if (quarantine_enabled(calls->a->quarantine) &&
        quarantine_refusal(calls->a->quarantine, server, NULL, held, sizeof held)) {
        /* A quarantined server's prompts and resources wait like its tools. */
        if (done)
            done(false, done_ctx);
        mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_SERVER_UNAVAILABLE, held, NULL));
        return;
    }
    mcp_call *c = xcalloc(1, sizeof *c);
    c->owner = calls;
    c->batch = b;
    c->client_id = json_incref(id);
    c->server = xstrdup(server);
    c->method = method;
    c->done = done;
    c->done_ctx = done_ctx;
    snprintf(c->session_id, sizeof c->session_id, "%s", session_id);
    c->client = client;
    c->start_ns = uv_hrtime();
    const char *name = json_string_value(json_object_get(params, "name"));
    if (!name)
        name = json_string_value(json_object_get(params, "uri"));
    c->name = name ? xstrdup(name) : NULL;
    c->arguments = json_incref(json_object_get(params, "arguments"));
    c->upstream_id = mcp_client_request(client, method, params, calls->settings->call_timeout_ms, call_answered, c);
    if (c->upstream_id < 0) {
        char why[300];
        snprintf(why, sizeof why, "server \"%s\" cannot be written to (it is going away)", server);
        record_forward(c, why, 0);
        if (done)
            done(false, done_ctx);
        call_free(c);
        mcp_batch_answer_now(b, jsonrpc_error_new(id, RPC_UPSTREAM_CLOSED, why, NULL));
        return;
    }
    c->next = calls->calls;
    calls->calls = c;
    b->waiting++;
    log_kv(LOG_DEBUG, "request forwarded",
           LOG_FIELDS(LOG_STR("server", server), LOG_STR("method", method), LOG_INT("upstream_id", c->upstream_id),
                      LOG_STR("session_id", session_id)));
}

void mcp_calls_cancel(mcp_calls *calls, const char *session_id, json_t *params)
{
    json_t *request_id = json_object_get(params, "requestId");
    for (mcp_call *c = calls->calls; c; c = c->next) {
        if (strcmp(c->session_id, session_id) == 0 && json_equal(c->client_id, request_id)) {
            mcp_batch *b = c->batch;
            call_abandon(c, "cancelled by the client");
            call_free(c);
            batch_answer(b, NULL); /* no answer to a cancelled request */
            return;
        }
    }
}

/* The client went away under a waiting POST: its calls are abandoned. */
static void batch_gone(void *ctx)
{
    mcp_batch *b = ctx;
    mcp_calls *calls = b->calls;
    http_pending_release(b->http);
    b->http = NULL;
    for (mcp_call **pp = &calls->calls; *pp;) {
        mcp_call *c = *pp;
        if (c->batch != b) {
            pp = &c->next;
            continue;
        }
        call_abandon(c, "the MCP client disconnected before the answer");
        call_free(c);
        /* call_abandon unlinked c: *pp is already the next call. */
        if (--b->waiting == 0) {
            batch_finish(b);
            return;
        }
    }
}

static void stream_begin(mcp_batch *b)
{
    b->sse = true;
    http_stream_begin(b->http, 200, "text/event-stream");
    size_t k;
    json_t *msg;
    json_array_foreach(b->answers, k, msg)
        sse_write(b, msg);
    json_array_clear(b->answers);
}

/* Keep-alive for answers being streamed: it also finds clients that left
 * (exchange.h, known limit). A JSON answer that has waited a whole ping
 * interval becomes a stream when the client takes one, so that its wait is
 * kept alive and watched the same way. */
static void ping_batches(ticker_job *job)
{
    mcp_calls *calls = CONTAINER_OF(job, mcp_calls, ping);
    uint64_t now = uv_now(calls->a->loop);
    for (mcp_batch *b = calls->batches; b; b = b->next) {
        if (!b->http)
            continue;
        if (!b->sse && b->can_stream && now - b->since_ms >= calls->settings->ping_interval_ms)
            stream_begin(b);
        if (b->sse)
            http_stream_sse_comment(b->http, "ping");
    }
}

mcp_batch *mcp_batch_begin_detached(mcp_calls *calls, mcp_batch_reply_fn fn, mcp_batch_reply_fn progress, void *ctx)
{
    mcp_batch *b = mcp_batch_begin(calls, false, true, false);
    b->reply = fn;
    b->progress = progress;
    b->reply_ctx = ctx;
    return b;
}

void mcp_batch_end_detached(mcp_batch *b)
{
    /* Not in the batches list: no HTTP answer to keep alive. */
    if (--b->waiting == 0)
        batch_finish(b);
}

void mcp_batch_end(mcp_batch *b, const http_request *req, http_response *res)
{
    mcp_calls *calls = b->calls;
    if (b->waiting == 1) {                    /* only the dispatcher's hold: everything answered now */
        if (json_array_size(b->answers) == 0) /* notifications only, or every call cancelled at once */
            http_respond_bytes(res, 202, "application/json", "", 0);
        else
            http_respond_json(res, 200, json_incref(b->is_array ? b->answers : json_array_get(b->answers, 0)));
        batch_free(b);
        return;
    }
    b->http = http_respond_later(req, batch_gone, b);
    if (!calls->batches)
        ticker_job_start(calls->a->ticker, &calls->ping, calls->settings->ping_interval_ms, ping_batches);
    b->next = calls->batches;
    calls->batches = b;
    b->since_ms = uv_now(calls->a->loop);
    /* A stream's headers leave at once, so no client-side header timeout
     * cuts a long call; what is answered already goes first. */
    if (b->sse)
        stream_begin(b);
    /* Calls are still in flight, so this never ends the batch. */
    b->waiting--;
    assert(b->waiting > 0);
}

/* ---- notifications from upstreams ------------------------------------ */

/* A call's progress, on its way to the client: the answer becomes a
 * stream now if it is not one (when the client takes one; a client that
 * takes only JSON has nowhere to get it). */
static void call_progress(mcp_call *c, json_t *params)
{
    mcp_batch *b = c->batch;
    if (b->reply ? !b->progress : (!b->http || (!b->sse && !b->can_stream)))
        return;
    json_t *p = json_copy(params);
    json_object_set(p, "progressToken", c->progress_token);
    json_t *note = jsonrpc_notification_new("notifications/progress", p);
    json_decref(p);
    if (b->reply) {
        /* A call another node sent: its progress goes back there. */
        size_t len;
        char *text = json_write_string(note, &len);
        b->progress(text, len, b->reply_ctx);
        free(text);
        json_decref(note);
        return;
    }
    if (!b->sse)
        stream_begin(b);
    sse_write(b, note);
    json_decref(note);
}

void mcp_calls_notify(mcp_calls *calls, const char *server, const char *method, json_t *params)
{
    if (strcmp(method, "notifications/progress") != 0)
        return;
    json_t *token = json_object_get(params, "progressToken");
    if (!json_is_integer(token))
        return; /* not one of ours */
    for (mcp_call *c = calls->calls; c; c = c->next) {
        if (c->our_token == json_integer_value(token) && strcmp(c->server, server) == 0) {
            call_progress(c, params);
            return;
        }
    }
}

/* ---- lifetime --------------------------------------------------------- */

mcp_calls *mcp_calls_create(app *a)
{
    mcp_calls *calls = xcalloc(1, sizeof *calls);
    calls->a = a;
    calls->settings = &a->cfg.mcp;
    return calls;
}

void mcp_calls_set_client_names(mcp_calls *calls, mcp_client_name_fn fn, void *ctx)
{
    calls->client_name = fn;
    calls->client_name_ctx = ctx;
}

void mcp_calls_close(mcp_calls *calls)
{
    if (!calls || calls->closed)
        return;
    calls->closed = true;
    static const char why[] = "mcpproxy is shutting down";
    while (calls->calls) {
        mcp_call *c = calls->calls;
        mcp_batch *b = c->batch;
        json_t *answer = jsonrpc_error_new(c->client_id, RPC_SERVER_UNAVAILABLE, why, NULL);
        call_abandon(c, why);
        call_free(c);
        batch_answer(b, answer);
    }
}

void mcp_calls_destroy(mcp_calls *calls)
{
    if (!calls)
        return;
    mcp_calls_close(calls);
    assert(!calls->batches);
    free(calls);
}
