/* mcp_endpoint.c - /mcp: Streamable HTTP in, upstream tools/call out.
 *
 *   POST    one JSON-RPC message (or a batch where the session's protocol
 *           version allows one). Only notifications/responses: 202. Requests
 *           answered at once: 200 JSON. Requests that wait on an upstream
 *           (tools/call): a `batch` waits; it answers as Server-Sent Events
 *           (headers at once, one event per answer as it comes) when the
 *           client accepts them, else as JSON once every answer is in.
 *   GET     the session's notification stream (mcp_session.h).
 *   DELETE  ends the session.
 *
 * Each tools/call is a `call` remapped onto its upstream: the client's id
 * stays here, the upstream request gets the mcp_client's own id. A call
 * record exists exactly while the upstream request is pending, and the
 * mcp_client fails every pending request before it goes away, so a live
 * call's client pointer is always valid (that is what makes cancelling
 * safe). */
#include "mcp/endpoint.h"

#include "core/log.h"
#include "core/util.h"
#include "http/exchange.h"
#include "mcp/catalog.h"
#include "mcp/session.h"
#include "upstream/manager.h"
#include "upstream/mcp_client.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MCP_PATH "/mcp"

/* JSON-RPC error codes. -32000..-32099 are ours to define. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL_ERROR (-32603)
#define RPC_BAD_SESSION (-32000)        /* HTTP-level refusals, as the SDKs use */
#define RPC_UPSTREAM_TIMEOUT MCP_ERR_TIMEOUT /* -32001 */
#define RPC_UPSTREAM_CLOSED MCP_ERR_CLOSED   /* -32002 */
#define RPC_SERVER_UNAVAILABLE (-32003)
#define RPC_REQUEST_CANCELLED (-32800)

/* Newest first: an unknown version asked for gets the first. */
static const char *const protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

typedef struct mcp_batch mcp_batch;
typedef struct mcp_call mcp_call;

struct mcp_endpoint {
    app *a;
    const mcp_settings *settings; /* the app's config (a->cfg.mcp); borrowed */
    mcp_sessions *sessions;
    bus_sub *sub;
    mcp_catalog catalog;
    bool catalog_built;
    mcp_call *calls;     /* upstream requests in flight */
    mcp_batch *batches;  /* POSTs waiting for answers */
    bool closed;
};

/* One POST whose answer waits on upstream calls. Its lifetime has one
 * owner, the count `waiting`: each call in flight holds one, and handle_post
 * holds one while it dispatches the messages, so nothing a message does (a
 * cancel that ends an earlier call of the same batch) can free the batch
 * under the loop. It is freed exactly when the count drops to zero. */
struct mcp_batch {
    mcp_batch *next;
    mcp_endpoint *ep;
    http_pending *http; /* NULL while dispatching and once the client went away */
    bool sse;           /* answer as text/event-stream */
    bool is_array;      /* the request was a batch: answer with an array */
    size_t waiting;     /* calls not yet answered, plus the dispatcher's hold */
    json_t *answers;    /* JSON mode: answers so far; SSE mode: not yet written */
};

struct mcp_call {
    mcp_call *next;
    mcp_endpoint *ep;
    mcp_batch *batch;
    json_t *client_id; /* the id the MCP client chose */
    char *server;
    char *tool;        /* the upstream's own name */
    char session_id[MCP_SESSION_ID_LEN + 1];
    struct mcp_client *client;
    int64_t upstream_id;
    uint64_t start_ns;
    json_t *arguments; /* only when they are logged */
};

/* ---- small helpers ---------------------------------------------------- */

static json_t *rpc_result(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result", result);
}

static json_t *rpc_error(json_t *id, int code, const char *message, json_t *data)
{
    json_t *text = json_string(message);
    if (!text) /* a quoted name cut mid-character by a buffer */
        text = json_string("(error message was not valid UTF-8)");
    json_t *err = json_pack("{s:i, s:o}", "code", code, "message", text);
    if (data)
        json_object_set(err, "data", data);
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
}

static json_t *rpc_errorf(json_t *id, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static json_t *rpc_errorf(json_t *id, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rpc_error(id, code, msg, NULL);
}

/* An HTTP-level refusal: the status, with a JSON-RPC error (id null) body. */
static void refuse(http_response *res, int status, int code, const char *message)
{
    http_respond_json(res, status, rpc_error(NULL, code, message, NULL));
}

/* Whether an Accept header admits a media type ("type/sub"), by exact name,
 * "type/ *" or "* / *". No header admits everything. */
static bool accepts(const char *accept, const char *type)
{
    if (!accept)
        return true;
    size_t slash = strchr(type, '/') - type;
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",;");
        while (len && p[len - 1] == ' ')
            len--;
        if ((len == strlen(type) && strncasecmp(p, type, len) == 0) || (len == 3 && strncmp(p, "*/*", 3) == 0) ||
            (len == slash + 2 && strncasecmp(p, type, slash + 1) == 0 && p[slash + 1] == '*'))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static bool version_supported(const char *v)
{
    for (size_t i = 0; i < sizeof protocol_versions / sizeof protocol_versions[0]; i++) {
        if (strcmp(v, protocol_versions[i]) == 0)
            return true;
    }
    return false;
}

/* JSON-RPC batches exist in 2025-03-26 only (and were tolerated before). */
static bool version_allows_batch(const char *v)
{
    return strcmp(v, "2025-03-26") == 0 || strcmp(v, "2024-11-05") == 0;
}

static const mcp_catalog *catalog(mcp_endpoint *ep)
{
    if (!ep->catalog_built) {
        mcp_catalog_build(&ep->catalog, ep->a->manager, &ep->a->cfg);
        ep->catalog_built = true;
    }
    return &ep->catalog;
}

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

static void publish_called(mcp_endpoint *ep, const char *server, const char *tool, uint64_t start_ns,
                           const char *error, const char *session_id, json_t *arguments)
{
    uint64_t ms = (uv_hrtime() - start_ns) / 1000000u;
    json_t *data = json_pack("{s:s, s:I, s:b}", "tool", tool, "duration_ms", (json_int_t)ms, "ok", error == NULL);
    if (error)
        json_object_set_new(data, "error", json_string(error));
    json_object_set_new(data, "session_id", session_id && *session_id ? json_string(session_id) : json_null());
    if (arguments && ep->settings->log_tool_arguments)
        json_object_set(data, "arguments", arguments);
    bus_publish(ep->a->bus, &(event_fields){.type = EVENT_TOOL_CALLED, .server_name = server, .data = data});
    json_decref(data);
    log_kv(error ? LOG_INFO : LOG_DEBUG, "tool called",
           LOG_FIELDS(LOG_STR("server", server), LOG_STR("tool", tool), LOG_INT("duration_ms", ms),
                      LOG_STR("error", error), LOG_STR("session_id", session_id)));
}

/* ---- batches ---------------------------------------------------------- */

static void sse_write(mcp_batch *b, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return;
    strbuf ev = {0};
    strbuf_appendf(&ev, "event: message\ndata: %s\n\n", text);
    http_stream_write(b->http, ev.data, ev.len);
    strbuf_free(&ev);
    free(text);
}

static void batch_unlink(mcp_batch *b)
{
    for (mcp_batch **pp = &b->ep->batches; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            return;
        }
    }
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
        char *text = json_dumps(body, JSON_COMPACT);
        http_pending_finish(b->http, 200, "application/json", text, text ? strlen(text) : 0);
        free(text);
    }
    b->http = NULL;
    batch_free(b);
}

/* One answer of the batch (stolen; NULL: none, as for a cancelled call). */
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

/* ---- calls ------------------------------------------------------------ */

static void call_unlink(mcp_call *c)
{
    for (mcp_call **pp = &c->ep->calls; *pp; pp = &(*pp)->next) {
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
    free(c->server);
    free(c->tool);
    free(c);
}

/* Ends a call without an upstream answer (client gone, cancelled, shutdown):
 * the upstream is told, the event says why. The caller handles the batch. */
static void call_abandon(mcp_call *c, const char *why)
{
    call_unlink(c);
    mcp_client_cancel(c->client, c->upstream_id, why);
    publish_called(c->ep, c->server, c->tool, c->start_ns, why, c->session_id, c->arguments);
}

static void call_answered(json_t *result, const mcp_error *err, void *ctx)
{
    mcp_call *c = ctx;
    mcp_endpoint *ep = c->ep;
    call_unlink(c);
    json_t *answer;
    char error[600];
    const char *event_error = NULL;
    if (result) {
        /* Forwarded untouched: content, structuredContent, isError, _meta. */
        answer = rpc_result(c->client_id, json_incref(result));
        if (json_is_true(json_object_get(result, "isError"))) {
            result_error_text(result, error, sizeof error);
            event_error = error;
        }
    } else if (err->code == MCP_ERR_TIMEOUT) {
        snprintf(error, sizeof error, "tool call to server \"%s\" timed out after %u ms", c->server,
                 ep->settings->call_timeout_ms);
        answer = rpc_error(c->client_id, RPC_UPSTREAM_TIMEOUT, error, NULL);
        event_error = error;
    } else if (err->code == MCP_ERR_CLOSED) {
        snprintf(error, sizeof error,
                 "server \"%s\" closed its connection before answering (it crashed or was stopped)", c->server);
        answer = rpc_error(c->client_id, RPC_UPSTREAM_CLOSED, error, NULL);
        event_error = error;
    } else {
        /* The upstream's own JSON-RPC error, passed on as it is. */
        answer = rpc_error(c->client_id, err->code, err->message ? err->message : "error", err->data);
        snprintf(error, sizeof error, "%s", err->message ? err->message : "error");
        event_error = error;
    }
    publish_called(ep, c->server, c->tool, c->start_ns, event_error, c->session_id, c->arguments);
    mcp_batch *b = c->batch;
    call_free(c);
    batch_answer(b, answer);
}

/* tools/call. Returns an immediate answer, or NULL when a call is now in
 * flight for batch b. */
static json_t *tools_call(mcp_endpoint *ep, mcp_batch *b, const char *session_id, json_t *id, json_t *params)
{
    uint64_t start = uv_hrtime();
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *arguments = json_object_get(params, "arguments");
    if (!name)
        return rpc_error(id, RPC_INVALID_PARAMS, "tools/call needs params.name, a string", NULL);
    if (arguments && !json_is_object(arguments))
        return rpc_error(id, RPC_INVALID_PARAMS, "tools/call params.arguments must be an object", NULL);

    const mcp_catalog_entry *e = mcp_catalog_find(catalog(ep), name);
    struct mcp_client *client = e ? manager_server_client(ep->a->manager, e->server) : NULL;
    if (!client) {
        char why[600];
        json_t *answer;
        size_t prefix = 0;
        const char *server = e ? e->server : mcp_catalog_guess_server(&ep->a->cfg, name, &prefix);
        json_t *status = server && ep->a->manager ? manager_server_status_json(ep->a->manager, server) : NULL;
        const char *state = json_string_value(json_object_get(status, "status"));
        if (server && (!state || strcmp(state, "Ready") != 0)) {
            snprintf(why, sizeof why, "server \"%s\" is not available (status: %s); its tools cannot be called now",
                     server, state ? state : "unknown");
            answer = rpc_error(id, RPC_SERVER_UNAVAILABLE, why, NULL);
        } else {
            snprintf(why, sizeof why, "unknown tool \"%s\": tools/list names the tools on offer", name);
            answer = rpc_error(id, RPC_INVALID_PARAMS, why, NULL);
        }
        json_decref(status);
        /* The event names the tool as the server would (best effort for a
         * server whose tools are not on offer now). */
        publish_called(ep, server, e ? e->tool : name + prefix, start, why, session_id, arguments);
        return answer;
    }

    /* The same params with the upstream's own tool name (arguments and
     * _meta such as a progressToken pass through). */
    json_t *up = json_copy(params);
    json_object_set_new(up, "name", json_string(e->tool));
    mcp_call *c = xcalloc(1, sizeof *c);
    c->ep = ep;
    c->batch = b;
    c->client_id = json_incref(id);
    c->server = xstrdup(e->server);
    c->tool = xstrdup(e->tool);
    snprintf(c->session_id, sizeof c->session_id, "%s", session_id);
    c->client = client;
    c->start_ns = start;
    c->arguments = ep->settings->log_tool_arguments ? json_incref(arguments) : NULL;
    c->upstream_id = mcp_client_request(client, "tools/call", up, ep->settings->call_timeout_ms, call_answered, c);
    json_decref(up);
    if (c->upstream_id < 0) {
        char why[300];
        snprintf(why, sizeof why, "server \"%s\" cannot be written to (it is going away)", c->server);
        publish_called(ep, c->server, c->tool, start, why, session_id, arguments);
        call_free(c);
        return rpc_error(id, RPC_UPSTREAM_CLOSED, why, NULL);
    }
    c->next = ep->calls;
    ep->calls = c;
    b->waiting++;
    log_kv(LOG_DEBUG, "tool call forwarded",
           LOG_FIELDS(LOG_STR("server", c->server), LOG_STR("tool", c->tool), LOG_INT("upstream_id", c->upstream_id),
                      LOG_STR("session_id", session_id)));
    return NULL;
}

/* notifications/cancelled from the client: the call stops upstream too. */
static void cancel_call(mcp_endpoint *ep, const char *session_id, json_t *params)
{
    json_t *request_id = json_object_get(params, "requestId");
    for (mcp_call *c = ep->calls; c; c = c->next) {
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
    mcp_endpoint *ep = b->ep;
    http_pending_release(b->http);
    b->http = NULL;
    for (mcp_call **pp = &ep->calls; *pp;) {
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

/* ---- requests --------------------------------------------------------- */

static json_t *initialize_result(const char *version)
{
    return json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}, s:s}", "protocolVersion", version, "capabilities", "tools",
                     "listChanged", 1, "serverInfo", "name", "mcpproxy", "version", MCPPROXY_VERSION,
                     "instructions",
                     "mcpproxy offers the tools of all its Ready upstream MCP servers, each named "
                     "<server>__<tool>.");
}

/* One request (not initialize) of a session. Returns the answer, or NULL
 * when it waits on an upstream call. */
static json_t *handle_request(mcp_endpoint *ep, mcp_batch *b, mcp_session *s, const char *method, json_t *id,
                              json_t *params)
{
    if (strcmp(method, "ping") == 0)
        return rpc_result(id, json_object());
    if (strcmp(method, "tools/list") == 0)
        return rpc_result(id, json_pack("{s:o}", "tools", mcp_catalog_tools_json(catalog(ep))));
    if (strcmp(method, "tools/call") == 0)
        return tools_call(ep, b, mcp_session_id(s), id, params);
    if (strcmp(method, "initialize") == 0)
        return rpc_error(id, RPC_INVALID_REQUEST,
                         "this session is initialized already; initialize without Mcp-Session-Id for a new one",
                         NULL);
    return rpc_errorf(id, RPC_METHOD_NOT_FOUND, "method not found: %s", method);
}

static void handle_notification(mcp_endpoint *ep, mcp_session *s, const char *method, json_t *params)
{
    if (strcmp(method, "notifications/cancelled") == 0)
        cancel_call(ep, mcp_session_id(s), params);
    /* notifications/initialized and the rest need nothing from us. */
}

typedef enum msg_kind { MSG_INVALID, MSG_REQUEST, MSG_NOTIFICATION, MSG_RESPONSE } msg_kind;

static msg_kind classify(json_t *msg, const char **method, json_t **id)
{
    *method = NULL;
    *id = NULL;
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0)
        return MSG_INVALID;
    json_t *m = json_object_get(msg, "method");
    json_t *i = json_object_get(msg, "id");
    json_t *params = json_object_get(msg, "params");
    if (m) {
        if (!json_is_string(m) || (params && !json_is_object(params) && !json_is_array(params)))
            return MSG_INVALID;
        *method = json_string_value(m);
        if (!i)
            return MSG_NOTIFICATION;
        if (!json_is_string(i) && !json_is_integer(i))
            return MSG_INVALID;
        *id = i;
        return MSG_REQUEST;
    }
    if (i && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return MSG_RESPONSE;
    return MSG_INVALID;
}

static void respond_initialize(mcp_endpoint *ep, json_t *msg, json_t *id, http_response *res)
{
    json_t *params = json_object_get(msg, "params");
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *version = asked && version_supported(asked) ? asked : protocol_versions[0];
    mcp_session *s = mcp_session_new(ep->sessions, version);
    const char *client = json_string_value(json_object_get(json_object_get(params, "clientInfo"), "name"));
    log_kv(LOG_INFO, "mcp client initialized",
           LOG_FIELDS(LOG_STR("session_id", mcp_session_id(s)), LOG_STR("client", client),
                      LOG_STR("protocol_version", version)));
    http_respond_json(res, 200, rpc_result(id, initialize_result(version)));
    http_response_add_header(res, "Mcp-Session-Id", mcp_session_id(s));
}

static void handle_post(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!req->content_type || strncasecmp(req->content_type, "application/json", 16) != 0) {
        refuse(res, 415, RPC_BAD_SESSION, "Unsupported Media Type: POST /mcp takes Content-Type: application/json");
        return;
    }
    bool json_ok = accepts(req->accept, "application/json");
    bool sse_ok = accepts(req->accept, "text/event-stream");
    if (!json_ok && !sse_ok) {
        refuse(res, 406, RPC_BAD_SESSION,
               "Not Acceptable: the client must accept application/json and text/event-stream");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!body) {
        char msg[300];
        snprintf(msg, sizeof msg, "Parse error: invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        refuse(res, 400, RPC_PARSE_ERROR, msg);
        return;
    }
    bool is_array = json_is_array(body);
    if (is_array && json_array_size(body) == 0) {
        refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: empty batch");
        json_decref(body);
        return;
    }

    /* initialize: alone, and it makes the session. */
    const char *method;
    json_t *id;
    size_t i;
    json_t *msg;
    json_array_foreach(is_array ? body : NULL, i, msg) {
        if (classify(msg, &method, &id) != MSG_INVALID && method && strcmp(method, "initialize") == 0) {
            refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: initialize must not be part of a batch");
            json_decref(body);
            return;
        }
    }
    if (!is_array) {
        msg_kind kind = classify(body, &method, &id);
        if (kind == MSG_INVALID) {
            refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message");
            json_decref(body);
            return;
        }
        if (kind == MSG_REQUEST && strcmp(method, "initialize") == 0) {
            respond_initialize(ep, body, id, res);
            json_decref(body);
            return;
        }
    }

    if (!req->mcp_session_id) {
        refuse(res, 400, RPC_BAD_SESSION, "Bad Request: Mcp-Session-Id header is required (initialize first)");
        json_decref(body);
        return;
    }
    mcp_session *s = mcp_session_find(ep->sessions, req->mcp_session_id);
    if (!s) {
        refuse(res, 404, RPC_BAD_SESSION, "Session not found: it ended or expired; initialize a new one");
        json_decref(body);
        return;
    }
    if (req->mcp_protocol_version && !version_supported(req->mcp_protocol_version)) {
        char why[200];
        snprintf(why, sizeof why, "Bad Request: unsupported MCP-Protocol-Version %.40s", req->mcp_protocol_version);
        refuse(res, 400, RPC_BAD_SESSION, why);
        json_decref(body);
        return;
    }
    if (is_array && !version_allows_batch(mcp_session_protocol_version(s))) {
        char why[200];
        snprintf(why, sizeof why, "Invalid Request: JSON-RPC batches are not part of MCP %s",
                 mcp_session_protocol_version(s));
        refuse(res, 400, RPC_INVALID_REQUEST, why);
        json_decref(body);
        return;
    }

    mcp_batch *b = xcalloc(1, sizeof *b);
    b->ep = ep;
    b->is_array = is_array;
    b->waiting = 1; /* the dispatcher's hold, released below */
    /* A wait is answered as a stream when the client takes one: the headers
     * leave at once, so no client-side header timeout cuts a long call. */
    b->sse = sse_ok;
    b->answers = json_array();
    size_t n = is_array ? json_array_size(body) : 1;
    for (i = 0; i < n; i++) {
        msg = is_array ? json_array_get(body, i) : body;
        msg_kind kind = classify(msg, &method, &id);
        json_t *params = json_object_get(msg, "params");
        json_t *answer = NULL;
        if (kind == MSG_INVALID) {
            answer = rpc_error(NULL, RPC_INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message", NULL);
        } else if (kind == MSG_REQUEST) {
            answer = handle_request(ep, b, s, method, id, params);
        } else if (kind == MSG_NOTIFICATION) {
            handle_notification(ep, s, method, params);
        }
        if (answer)
            json_array_append_new(b->answers, answer);
    }
    json_decref(body);

    if (b->waiting == 1) { /* only the dispatcher's hold: everything answered now */
        if (json_array_size(b->answers) == 0) /* notifications only, or every call cancelled at once */
            http_respond_bytes(res, 202, "application/json", "", 0);
        else
            http_respond_json(res, 200, json_incref(is_array ? b->answers : json_array_get(b->answers, 0)));
        batch_free(b);
        return;
    }
    b->http = http_respond_later(req, batch_gone, b);
    b->next = ep->batches;
    ep->batches = b;
    if (b->sse) {
        http_stream_begin(b->http, 200, "text/event-stream");
        size_t k;
        json_array_foreach(b->answers, k, msg)
            sse_write(b, msg);
        json_array_clear(b->answers);
    }
    /* Calls are still in flight, so this never ends the batch. */
    b->waiting--;
    assert(b->waiting > 0);
}

static void handle_get(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!accepts(req->accept, "text/event-stream") || !req->accept) {
        refuse(res, 406, RPC_BAD_SESSION, "Not Acceptable: GET /mcp is a stream: send Accept: text/event-stream");
        return;
    }
    if (!req->mcp_session_id) {
        refuse(res, 400, RPC_BAD_SESSION, "Bad Request: Mcp-Session-Id header is required (initialize first)");
        return;
    }
    mcp_session *s = mcp_session_find(ep->sessions, req->mcp_session_id);
    if (!s) {
        refuse(res, 404, RPC_BAD_SESSION, "Session not found: it ended or expired; initialize a new one");
        return;
    }
    /* Resumption (Last-Event-ID) is not offered: events carry no ids, and a
     * reconnecting client simply gets a new stream. */
    if (!mcp_session_open_stream(s, req))
        refuse(res, 409, RPC_BAD_SESSION, "Conflict: this session has a GET stream open already");
}

static void handle_delete(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!req->mcp_session_id) {
        refuse(res, 400, RPC_BAD_SESSION, "Bad Request: Mcp-Session-Id header is required");
        return;
    }
    mcp_session *s = mcp_session_find(ep->sessions, req->mcp_session_id);
    if (!s) {
        refuse(res, 404, RPC_BAD_SESSION, "Session not found");
        return;
    }
    mcp_session_end(ep->sessions, s);
    http_respond_bytes(res, 200, "application/json", "{}", 2);
}

bool mcp_endpoint_route(void *ctx, const http_request *req, http_response *res)
{
    mcp_endpoint *ep = ctx;
    if (strcmp(req->path, MCP_PATH) != 0)
        return false;
    if (ep->closed) {
        refuse(res, 503, RPC_BAD_SESSION, "mcpproxy is shutting down");
        return true;
    }
    switch (req->method) {
    case HTTP_POST:
        handle_post(ep, req, res);
        break;
    case HTTP_GET:
        handle_get(ep, req, res);
        break;
    case HTTP_DELETE:
        handle_delete(ep, req, res);
        break;
    default:
        res->allow = "GET, POST, DELETE";
        refuse(res, 405, RPC_BAD_SESSION, "Method Not Allowed: /mcp takes POST, GET and DELETE");
        break;
    }
    return true;
}

/* ---- tool list changes ------------------------------------------------ */

static void on_event(event_msg *msg, void *ctx)
{
    (void)msg;
    mcp_endpoint *ep = ctx;
    /* Rebuilt now and compared, so sessions hear only of real changes (a
     * server going Connecting → Discovering changes nothing on offer). */
    mcp_catalog now;
    mcp_catalog_build(&now, ep->a->manager, &ep->a->cfg);
    bool changed = !ep->catalog_built || !mcp_catalog_equal(&ep->catalog, &now);
    mcp_catalog_free(&ep->catalog);
    ep->catalog = now;
    ep->catalog_built = true;
    if (!changed)
        return;
    static const char note[] =
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
    size_t n = mcp_sessions_broadcast(ep->sessions, note, sizeof note - 1);
    log_kv(LOG_DEBUG, "mcp tools changed", LOG_FIELDS(LOG_INT("tool_count", now.n), LOG_INT("streams", n)));
}

/* ---- lifetime --------------------------------------------------------- */

/* Keep-alive for answers being streamed: it also finds clients that left
 * (http_pending.h, known limit). */
static void ping_batches(void *ctx)
{
    mcp_endpoint *ep = ctx;
    for (mcp_batch *b = ep->batches; b; b = b->next) {
        if (b->http && b->sse)
            http_stream_write(b->http, ": ping\n\n", 8);
    }
}

mcp_endpoint *mcp_endpoint_create(app *a)
{
    mcp_endpoint *ep = xcalloc(1, sizeof *ep);
    ep->a = a;
    ep->settings = &a->cfg.mcp;
    ep->sessions = mcp_sessions_create(a->loop, ep->settings->session_ttl_ms, ep->settings->ping_interval_ms, ping_batches, ep);
    bus_filter filter = {
        .types = (1u << EVENT_TOOLS_UPDATED) | (1u << EVENT_SERVER_STATE_CHANGED) |
                 (1u << EVENT_SERVER_CONFIG_CHANGED),
    };
    ep->sub = bus_subscribe(a->bus, &filter, on_event, ep);
    return ep;
}

void mcp_endpoint_close(mcp_endpoint *ep)
{
    if (!ep || ep->closed)
        return;
    ep->closed = true;
    while (ep->calls) {
        mcp_call *c = ep->calls;
        mcp_batch *b = c->batch;
        static const char why[] = "mcpproxy is shutting down";
        json_t *answer = rpc_error(c->client_id, RPC_SERVER_UNAVAILABLE, why, NULL);
        call_abandon(c, why);
        call_free(c);
        batch_answer(b, answer);
    }
    mcp_sessions_close(ep->sessions);
    bus_unsubscribe(ep->a->bus, ep->sub);
    ep->sub = NULL;
}

void mcp_endpoint_destroy(mcp_endpoint *ep)
{
    if (!ep)
        return;
    mcp_endpoint_close(ep);
    mcp_sessions_destroy(ep->sessions);
    mcp_catalog_free(&ep->catalog);
    free(ep);
}
