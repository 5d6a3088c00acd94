/* server.c - lws setup on our libuv loop, and the HTTP request cycle:
 *
 *   LWS_CALLBACK_HTTP             method, path and query are known; requests
 *                                 without a body are routed at once
 *   LWS_CALLBACK_HTTP_BODY        the body arrives in chunks (bounded)
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION  route with the whole body
 *   LWS_CALLBACK_HTTP_WRITEABLE   headers, then the body in chunks
 *
 * Handlers (routes.h) see only http_request/http_response, never lws. */
#include "http/server.h"

#include "core/log.h"
#include "http/access.h"
#include "http/conn_limit.h"
#include "http/http_pending.h"
#include "http/http_types.h"
#include "http/mcp_endpoint.h"
#include "http/routes.h"
#include "http/sse.h"
#include "http/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_WRITE_CHUNK (16 * 1024)
#define HTTP_UPGRADE_REQUIRED 426 /* lws names no constant for it */

struct http_server {
    app *app;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    ws_manager *ws;
    mcp_endpoint *mcp;
    sse_manager *sse;
    conn_limit *conns;
    conn_addr *admitted; /* accepted, waiting for its wsi */
    size_t pending_answers;   /* connections with an http_pending attached */
    bool shutting_down, ws_closed;
    void (*on_drained)(void *ctx); /* shutdown: everything said has been sent */
    void *on_drained_ctx;
    int port;
    bool on_loopback;
    char url[300];
    unsigned char write_buf[LWS_PRE + HTTP_WRITE_CHUNK];
};

/* What the server keeps about one TCP connection, from accept to close
 * (lws' opaque user data of the connection, whatever protocol it speaks). */
typedef struct http_conn {
    conn_addr *addr;          /* its count in limits.max_connections* */
    lws_usec_t accepted_us;
    lws_usec_t idle_since_us; /* the last answer went out; 0 = none yet */
    bool in_request;
    bool upgraded;            /* now a WebSocket client */
} http_conn;

void http_server_note_upgrade(struct lws *wsi)
{
    http_conn *conn = lws_get_opaque_user_data(wsi);
    if (conn)
        conn->upgraded = true;
}

static void conn_request_started(struct lws *wsi)
{
    http_conn *conn = lws_get_opaque_user_data(wsi);
    if (conn)
        conn->in_request = true;
}

/* The answer is out and the connection waits for the next request. */
static int conn_request_done(struct lws *wsi)
{
    http_conn *conn = lws_get_opaque_user_data(wsi);
    if (conn) {
        conn->in_request = false;
        conn->idle_since_us = lws_now_usecs();
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Per HTTP connection (lws allocates it zeroed); reset per transaction. */
typedef struct http_session {
    http_method method;
    char path[1024];
    strbuf query;
    strbuf body;
    bool body_too_large;
    http_response res;
    size_t sent;
    bool headers_sent;
    bool responding;
    int refused;            /* access refused with this status */
    bool length_required;   /* a chunked body: answered 411, then the connection closes */
    const char *refused_why;
    /* Request headers handlers read (http_request); "" when absent. */
    char accept[256], content_type[128], mcp_session_id[128], mcp_protocol_version[32], last_event_id[128];
    http_pending *pending;  /* a handler answers later (http_pending.h) */
} http_session;

http_server *http_server_of(struct lws *wsi)
{
    struct lws_context *ctx = lws_get_context(wsi);
    return ctx ? lws_context_user(ctx) : NULL;
}

app *http_server_app(const http_server *s)
{
    return s->app;
}

ws_manager *http_server_ws(const http_server *s)
{
    return s->ws;
}

size_t http_server_connection_count(const http_server *s)
{
    return conn_limit_total(s->conns);
}

size_t http_server_sse_count(const http_server *s)
{
    return sse_manager_client_count(s->sse);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

const char *http_server_url(const http_server *s)
{
    return s->url;
}

void http_server_query(struct lws *wsi, strbuf *out)
{
    char frag[4096];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
        if (i)
            strbuf_append(out, "&", 1);
        const char *eq = strchr(frag, '=');
        size_t name_len = eq ? (size_t)(eq - frag) + 1 : strlen(frag);
        strbuf_append(out, frag, name_len);
        for (const char *p = frag + name_len; *p; p++) {
            if (*p == '%' || *p == '&' || *p == '+')
                strbuf_appendf(out, "%%%02X", (unsigned char)*p);
            else
                strbuf_append(out, p, 1);
        }
    }
    if (!out->data)
        strbuf_append(out, "", 0);
}

/* Copies a header into buf; returns buf, or NULL when absent or too long. */
static const char *header(struct lws *wsi, enum lws_token_indexes token, char *buf, int len)
{
    return lws_hdr_copy(wsi, buf, len, token) > 0 ? buf : NULL;
}

int http_server_check_access(struct lws *wsi, bool state_changing, bool needs_key, const char **why)
{
    http_server *srv = http_server_of(wsi);
    char host[256], origin[512], key[256], auth[300], query_key[256];
    strbuf query = {0};
    http_server_query(wsi, &query);
    access_request req = {
        .host = header(wsi, WSI_TOKEN_HOST, host, sizeof host),
        .origin = header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin),
        .api_key = lws_hdr_custom_copy(wsi, key, sizeof key, "x-api-key:", 10) > 0 ? key : NULL,
        .authorization = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth),
        .query_key = http_query_get(query.data, "apikey", query_key, sizeof query_key) > 0 ? query_key : NULL,
        .state_changing = state_changing,
        .needs_key = needs_key,
    };
    strbuf_free(&query);
    return access_check(&srv->app->cfg, srv->on_loopback, &req, why);
}

/* Everything but the dashboard's static files and the health check. */
static bool path_needs_key(const char *path)
{
    static const char *const prefixes[] = {"/api/", "/ws/", "/events", "/mcp", "/metrics"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    }
    return false;
}

static http_method method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes token;
        http_method method;
    } methods[] = {
        {WSI_TOKEN_GET_URI, HTTP_GET},       {WSI_TOKEN_POST_URI, HTTP_POST},
        {WSI_TOKEN_PUT_URI, HTTP_PUT},       {WSI_TOKEN_PATCH_URI, HTTP_PATCH},
        {WSI_TOKEN_DELETE_URI, HTTP_DELETE}, {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
        {WSI_TOKEN_HEAD_URI, HTTP_HEAD},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0)
            return methods[i].method;
    }
    return HTTP_OTHER;
}

/* A graceful stop is complete once WebSocket clients are gone and every
 * deferred or streamed answer (SSE, /mcp) has been written or abandoned. */
static void maybe_drained(http_server *srv)
{
    if (srv->shutting_down && srv->ws_closed && srv->pending_answers == 0 && srv->on_drained) {
        void (*done)(void *) = srv->on_drained;
        srv->on_drained = NULL;
        done(srv->on_drained_ctx);
    }
}

static void pending_detached(http_server *srv)
{
    srv->pending_answers--;
    maybe_drained(srv);
}

static void session_reset(http_server *srv, http_session *s)
{
    if (s->pending) { /* the connection closes under a deferred answer */
        http_pending_on_closed(s->pending);
        s->pending = NULL;
        pending_detached(srv);
    }
    strbuf_free(&s->query);
    strbuf_free(&s->body);
    strbuf_free(&s->res.body);
    *s = (http_session){0};
}

static bool is_ws_path(const char *path)
{
    return strcmp(path, "/ws/events") == 0 || strcmp(path, "/ws/servers") == 0;
}

http_pending **http_server_pending_slot(struct lws *wsi)
{
    http_session *s = lws_wsi_user(wsi);
    return &s->pending;
}

static void copy_headers(struct lws *wsi, http_session *s)
{
    if (lws_hdr_copy(wsi, s->accept, sizeof s->accept, WSI_TOKEN_HTTP_ACCEPT) <= 0)
        s->accept[0] = '\0';
    if (lws_hdr_copy(wsi, s->content_type, sizeof s->content_type, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        s->content_type[0] = '\0';
    if (lws_hdr_custom_copy(wsi, s->mcp_session_id, sizeof s->mcp_session_id, "mcp-session-id:", 15) <= 0)
        s->mcp_session_id[0] = '\0';
    if (lws_hdr_custom_copy(wsi, s->mcp_protocol_version, sizeof s->mcp_protocol_version,
                            "mcp-protocol-version:", 21) <= 0)
        s->mcp_protocol_version[0] = '\0';
    if (lws_hdr_custom_copy(wsi, s->last_event_id, sizeof s->last_event_id, "last-event-id:", 14) <= 0)
        s->last_event_id[0] = '\0';
}

static const char *or_null(const char *value)
{
    return value[0] ? value : NULL;
}

/* Answers what must not reach any handler. Returns true if it did. */
static bool answer_refusal(http_server *srv, http_session *s)
{
    http_response *res = &s->res;
    const limits_settings *lim = &srv->app->cfg.limits;
    if (s->refused) {
        http_respond_error(res, s->refused, "%s", s->refused_why);
    } else if (s->length_required) {
        http_respond_error(res, 411, "send the body with Content-Length (chunked request bodies are not supported)");
    } else if (s->body_too_large) {
        log_kv(LOG_WARN, "request body too large",
               LOG_FIELDS(LOG_INT("status", 413), LOG_STR("path", s->path),
                          LOG_INT("max_body_bytes", lim->max_body_bytes)));
        http_respond_error(res, 413, "request body larger than %u bytes (limits.max_body_bytes)",
                           lim->max_body_bytes);
    } else if (is_ws_path(s->path)) {
        http_respond_error(res, 426, "%s is a WebSocket endpoint: connect with a WebSocket client", s->path);
    } else {
        return false;
    }
    return true;
}

static void route(struct lws *wsi, http_server *srv, http_session *s)
{
    http_request req = {
        .method = s->method,
        .path = s->path,
        .query = s->query.data ? s->query.data : "",
        .body = s->body.data ? s->body.data : "",
        .body_len = s->body.len,
        .accept = or_null(s->accept),
        .content_type = or_null(s->content_type),
        .mcp_session_id = or_null(s->mcp_session_id),
        .mcp_protocol_version = or_null(s->mcp_protocol_version),
        .last_event_id = or_null(s->last_event_id),
        .conn = wsi,
    };
    if (answer_refusal(srv, s))
        return;
    http_response *res = &s->res;
    if (mcp_endpoint_route(srv->mcp, &req, res) || sse_route(srv->sse, &req, res))
        return; /* answered now, or later through s->pending */
    if (!api_route(srv->app, &req, res) && !api_servers_route(srv->app, &req, res) && !static_route(&req, res))
        http_respond_error(res, 404, "nothing at %s", s->path);
}

static int start_response(struct lws *wsi, http_server *srv, http_session *s)
{
    route(wsi, srv, s);
    if (s->pending) {
        srv->pending_answers++;
        return 0; /* the handler answers later */
    }
    s->responding = true;
    lws_callback_on_writable(wsi);
    return 0;
}

void http_server_refuse(struct lws *wsi, unsigned status, const char *why)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    log_kv(LOG_WARN, "WebSocket upgrade refused",
           LOG_FIELDS(LOG_INT("status", status), LOG_STR("reason", why), LOG_STR("peer", peer)));
    json_t *obj = json_pack("{s:s}", "error", why);
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t body_len = body ? strlen(body) : 0;
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    /* Headers and body leave in one write, as lws_return_http_status() does
     * for its HTML page: this request is answered and then closed. */
    bool ok = !lws_add_http_common_headers(wsi, status, "application/json", body_len, &p, end);
    if (ok && status == HTTP_UPGRADE_REQUIRED) /* RFC 6455 4.4: say which version we speak */
        ok = !lws_add_http_header_by_name(wsi, (const unsigned char *)"sec-websocket-version:",
                                          (const unsigned char *)"13", 2, &p, end);
    if (ok && !lws_finalize_http_header(wsi, &p, end) && (size_t)(end - p) > body_len) {
        memcpy(p, body, body_len);
        p += body_len;
        lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
    }
    free(body);
}

static int write_headers(struct lws *wsi, http_session *s)
{
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    http_response *res = &s->res;
    if (lws_add_http_common_headers(wsi, (unsigned)res->status, res->content_type, res->body.len, &p, end))
        return -1;
    const char *cache = res->cache_control ? res->cache_control : "no-store";
    if (lws_add_http_header_by_name(wsi, (unsigned char *)"cache-control:", (const unsigned char *)cache,
                                    (int)strlen(cache), &p, end))
        return -1;
    if (res->status == 426 &&
        lws_add_http_header_by_name(wsi, (unsigned char *)"upgrade:", (unsigned char *)"websocket", 9, &p, end))
        return -1;
    if (res->allow && lws_add_http_header_by_name(wsi, (unsigned char *)"allow:", (const unsigned char *)res->allow,
                                                  (int)strlen(res->allow), &p, end))
        return -1;
    if (http_add_extra_headers(wsi, res->extra, res->n_extra, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static int write_response(struct lws *wsi, http_server *srv, http_session *s)
{
    if (!s->responding)
        return 0;
    if (!s->headers_sent) {
        if (write_headers(wsi, s))
            return -1;
        s->headers_sent = true;
    } else {
        size_t left = s->res.body.len - s->sent;
        size_t n = left < HTTP_WRITE_CHUNK ? left : HTTP_WRITE_CHUNK;
        memcpy(srv->write_buf + LWS_PRE, s->res.body.data + s->sent, n);
        bool last = n == left;
        if (lws_write(wsi, srv->write_buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
            return -1;
        s->sent += n;
    }
    if (s->sent < s->res.body.len && s->method != HTTP_HEAD) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    bool close_now = s->length_required;
    session_reset(srv, s);
    if (close_now)
        return -1;
    return conn_request_done(wsi);
}

/* Checks lws leaves to us before a WebSocket upgrade: the protocol
 * version, and a subprotocol offer that lws would otherwise answer by
 * hanging up. Returns >0 once a refusal has been sent, 0 to go on. */
static int confirm_upgrade(struct lws *wsi)
{
    char value[256];
    const char *why = NULL;
    unsigned status = HTTP_STATUS_BAD_REQUEST;
    if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_VERSION) <= 0 || strcmp(value, "13") != 0) {
        status = HTTP_UPGRADE_REQUIRED;
        why = "unsupported WebSocket version: mcpproxy speaks version 13 (RFC 6455)";
    } else if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_PROTOCOL) > 0 && !strstr(value, WS_PROTOCOL_NAME)) {
        why = "unsupported WebSocket subprotocol: connect without one (or offer " WS_PROTOCOL_NAME ")";
    }
    if (!why)
        return 0;
    http_server_refuse(wsi, status, why);
    return 1;
}

/* lws closes connections that hit limits.handshake_timeout_ms or
 * keepalive_timeout_ms without telling us why; a connection that ends
 * after waiting that long in either state is logged as such. */
static void log_timeout_close(http_server *srv, struct lws *wsi, const http_conn *conn)
{
    if (conn->in_request || conn->upgraded)
        return; /* mid-request, or a WebSocket client (ws.c logs those) */
    const limits_settings *lim = &srv->app->cfg.limits;
    lws_usec_t now = lws_now_usecs();
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (!conn->idle_since_us) {
        long long waited_ms = (long long)((now - conn->accepted_us) / 1000);
        if (waited_ms >= lim->handshake_timeout_ms)
            log_kv(LOG_WARN, "connection closed: no complete request in time",
                   LOG_FIELDS(LOG_STR("limit", "limits.handshake_timeout_ms"), LOG_INT("waited_ms", waited_ms),
                              LOG_STR("peer", peer)));
    } else {
        long long idle_ms = (long long)((now - conn->idle_since_us) / 1000);
        if (idle_ms >= lim->keepalive_timeout_ms)
            log_kv(LOG_INFO, "idle keep-alive connection closed",
                   LOG_FIELDS(LOG_STR("limit", "limits.keepalive_timeout_ms"), LOG_INT("idle_ms", idle_ms),
                              LOG_STR("peer", peer)));
    }
}

static int connection_event(struct lws *wsi, enum lws_callback_reasons reason, void *in)
{
    http_server *srv = http_server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        /* Called on the listening socket with the accepted fd: the new
         * connection has no wsi yet, so its token waits in `admitted` until
         * SERVER_NEW_CLIENT_INSTANTIATED, which follows at once. */
        char peer[64] = "";
        const char *why;
        if (srv->admitted) /* its connection never came to be */
            conn_limit_release(srv->conns, srv->admitted);
        lws_get_peer_simple_fd((lws_sockfd_type)(intptr_t)in, peer, sizeof peer);
        srv->admitted = conn_limit_acquire(srv->conns, peer, &why);
        if (!srv->admitted) {
            log_kv(LOG_WARN, "connection refused", LOG_FIELDS(LOG_STR("reason", why), LOG_STR("peer", peer)));
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: {
        http_conn *conn = xcalloc(1, sizeof *conn);
        conn->addr = srv->admitted;
        conn->accepted_us = lws_now_usecs();
        srv->admitted = NULL;
        lws_set_opaque_user_data(wsi, conn);
        return 0;
    }
    case LWS_CALLBACK_WSI_DESTROY: {
        http_conn *conn = lws_get_opaque_user_data(wsi);
        if (conn) {
            lws_set_opaque_user_data(wsi, NULL);
            log_timeout_close(srv, wsi, conn);
            if (conn->addr)
                conn_limit_release(srv->conns, conn->addr);
            free(conn);
        }
        return 0;
    }
    default:
        return 0;
    }
}

bool http_server_takes(enum lws_callback_reasons reason)
{
    return reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE || reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION ||
           reason == LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED || reason == LWS_CALLBACK_WSI_DESTROY;
}

int http_server_common_event(struct lws *wsi, enum lws_callback_reasons reason, void *in)
{
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
        return confirm_upgrade(wsi);
    return connection_event(wsi, reason, in);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_session *s = user;
    http_server *srv = http_server_of(wsi);
    if (http_server_takes(reason))
        return http_server_common_event(wsi, reason, in);

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        conn_request_started(wsi);
        session_reset(srv, s);
        s->method = method_of(wsi);
        snprintf(s->path, sizeof s->path, "%.*s", (int)len, (const char *)in);
        http_server_query(wsi, &s->query);
        copy_headers(wsi, s);
        bool state_changing = s->method != HTTP_GET && s->method != HTTP_HEAD && s->method != HTTP_OPTIONS;
        s->refused = http_server_check_access(wsi, state_changing, path_needs_key(s->path), &s->refused_why);
        if (s->refused) {
            char peer[64] = "";
            lws_get_peer_simple(wsi, peer, sizeof peer);
            log_kv(LOG_WARN, "HTTP request refused",
                   LOG_FIELDS(LOG_INT("status", s->refused), LOG_STR("path", s->path), LOG_STR("peer", peer)));
            /* A body, if any, is still read (and bounded) so the connection
             * stays in step for its next request. */
        }
        /* lws 4.1 does not decode chunked request bodies: refuse them, and
         * close after the answer so the unread chunks are never parsed as
         * a next request. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
            s->length_required = true;
            return start_response(wsi, srv, s);
        }
        char clen[32];
        long long content_length = 0;
        if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            content_length = atoll(clen);
        if (content_length > (long long)srv->app->cfg.limits.max_body_bytes) {
            s->body_too_large = true;
            return start_response(wsi, srv, s);
        }
        if (content_length > 0)
            return 0; /* route once the body is complete */
        return start_response(wsi, srv, s);
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (s->body.len + len > srv->app->cfg.limits.max_body_bytes)
            s->body_too_large = true;
        else if (!strbuf_append(&s->body, in, len))
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return start_response(wsi, srv, s);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (s->pending) {
            int done = http_pending_on_writable(s->pending, wsi);
            if (done <= 0)
                return done;
            s->pending = NULL; /* freed by http_pending_on_writable */
            pending_detached(srv);
            session_reset(srv, s);
            return conn_request_done(wsi);
        }
        return write_response(wsi, srv, s);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            session_reset(srv, s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Not const: the WebSocket entry is filled in by ws.c, which alone knows
 * the size of its per-client state. */
static struct lws_protocols protocols[] = {
    {"http", http_callback, sizeof(http_session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}, /* ws_protocol_fill() */
    {NULL, NULL, 0, 0, 0, NULL, 0}, /* terminator */
};

/* A browser's `new WebSocket(url)` offers no subprotocol; marking ours as the
 * vhost default makes such upgrades bind to it. */
static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, WS_PROTOCOL_NAME, ""};

/* lws' own log lines go through ours, at warn and above. */
static void lws_log_bridge(int level, const char *line)
{
    char text[512];
    snprintf(text, sizeof text, "%s", line);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    /* lws 4.1 drops a request whose headers overflow max_http_header_data
     * without any callback to us; its log line is the only trace, so it is
     * given a name and the limit that caused it. */
    if (strstr(text, "Ran out of header data space")) {
        log_kv(LOG_WARN, "request headers too large: connection closed",
               LOG_FIELDS(LOG_STR("limit", "limits.max_header_bytes")));
        return;
    }
    log_kv(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "libwebsockets", LOG_FIELDS(LOG_STR("detail", text)));
}

http_server *http_server_create(app *a, const char *listen_override, char *err, size_t err_len)
{
    const char *listen = listen_override ? listen_override : a->cfg.listen;
    char host[256];
    int port;
    if (!config_split_listen(listen, host, sizeof host, &port)) {
        snprintf(err, err_len, "listen address \"%s\" must be HOST:PORT, e.g. 127.0.0.1:8080", listen);
        return NULL;
    }
    if (!access_listen_is_loopback(listen) && !a->cfg.api_key[0]) {
        snprintf(err, err_len,
                 "refusing to listen on %s without an API key: anyone who can reach it could run tools on this "
                 "machine. Set \"api_key\" in the config (mcpproxy gen-key writes one), or listen on 127.0.0.1",
                 listen);
        return NULL;
    }

    http_server *srv = xcalloc(1, sizeof *srv);
    srv->app = a;
    srv->on_loopback = access_listen_is_loopback(listen);
    srv->ws = ws_manager_create(a);
    const limits_settings *lim = &a->cfg.limits;
    srv->conns = conn_limit_create(lim->max_connections, lim->max_connections_per_address);

    ws_protocol_fill(&protocols[1]);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    void *foreign_loops[1] = {a->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (!strchr(host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 address binds IPv4 only */
    info.foreign_loops = foreign_loops;
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.vhost_name = "default";
    info.user = srv;
    info.pcontext = &srv->ctx;
    /* lws counts these in whole seconds. */
    info.timeout_secs = (lim->handshake_timeout_ms + 999) / 1000;
    info.timeout_secs_ah_idle = info.timeout_secs;
    info.keepalive_timeout = (int)((lim->keepalive_timeout_ms + 999) / 1000);
    info.max_http_header_data = (unsigned short)lim->max_header_bytes;

    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        snprintf(err, err_len, "cannot listen on %s (address in use, or not an address of this machine?)", listen);
        ws_manager_destroy(srv->ws);
        conn_limit_destroy(srv->conns);
        free(srv);
        return NULL;
    }
    ws_manager_attach(srv->ws, srv->ctx);
    srv->mcp = mcp_endpoint_create(a);
    srv->sse = sse_manager_create(a);
    srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
    srv->port = srv->vhost ? lws_get_vhost_listen_port(srv->vhost) : port;
    snprintf(srv->url, sizeof srv->url, "http://%s:%d", host, srv->port);
    return srv;
}

static void on_ws_closed(void *ctx)
{
    http_server *s = ctx;
    s->ws_closed = true;
    maybe_drained(s);
}

void http_server_shutdown(http_server *s, void (*done)(void *ctx), void *ctx)
{
    s->shutting_down = true;
    s->on_drained = done;
    s->on_drained_ctx = ctx;
    /* Streams end and calls in flight are answered now; what they wrote
     * drains with the loop, and maybe_drained() reports the end. */
    sse_manager_close(s->sse);
    mcp_endpoint_close(s->mcp);
    ws_manager_shutdown(s->ws, on_ws_closed, s);
}

void http_server_close(http_server *s)
{
    /* On a foreign loop this starts closing lws' handles; lws clears s->ctx
     * (info.pcontext) once they are all closed. */
    sse_manager_close(s->sse);
    if (s->ctx)
        lws_context_destroy(s->ctx);
    mcp_endpoint_close(s->mcp);
}

void http_server_destroy(http_server *s)
{
    if (!s)
        return;
    /* After the loop has stopped: finishes whatever destruction is left. */
    if (s->ctx)
        lws_context_destroy(s->ctx);
    ws_manager_destroy(s->ws);
    mcp_endpoint_destroy(s->mcp);
    sse_manager_destroy(s->sse);
    if (s->admitted)
        conn_limit_release(s->conns, s->admitted);
    conn_limit_destroy(s->conns);
    free(s);
}
