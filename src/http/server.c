/* server.c - lws setup on our libuv loop, and the HTTP request cycle:
 *
 *   LWS_CALLBACK_HTTP             method, path, query and headers are known:
 *                                 access and framing are checked, requests
 *                                 without a body are routed at once
 *   LWS_CALLBACK_HTTP_BODY        the body arrives in chunks (bounded)
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION  route with the whole body
 *   LWS_CALLBACK_HTTP_WRITEABLE   the answer goes out (exchange.c)
 *
 * Handlers see only http_request/http_response, never lws. */
#include "http/server.h"

#include "core/log.h"
#include "http/access.h"
#include "http/conn.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct route {
    char prefix[32];
    bool needs_key;
    http_handler_fn fn;
    void *ctx;
} route;

#define MAX_ROUTES 16

struct http_server {
    const config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    conn_table *conns;
    route routes[MAX_ROUTES];
    size_t n_routes;
    size_t answers_under_way; /* connections with a deferred or streamed answer attached */
    void (*on_drained)(void *ctx);
    void *on_drained_ctx;
    int port;
    bool on_loopback;
    char url[300];
    /* lws keeps pointers into these for the context's lifetime. */
    struct lws_protocols protocols[3];
    struct lws_protocol_vhost_options pvo, pvo_default;
};

/* Per HTTP connection (lws allocates it zeroed); reset per request. */
typedef struct http_session {
    http_method method;
    strbuf query;
    strbuf body;
    bool body_too_large;
    bool close_after; /* answered before its body was read: the connection closes */
    bool routed;      /* its answer is decided: nothing may route it again */
    int refused;      /* refused before any handler with this status */
    const char *refused_why;
    http_slot slot; /* the answer under way, if any */
    /* From here on: the request's text, read only as C strings and all
     * written again as each request starts (on_request), so a reset only
     * empties them: zeroing the whole session (1.8 KiB) three times a
     * request was ~1,000 instructions of a tool call. */
    char path[1024];
    /* Request headers handlers read (http_request); "" when absent. */
    char accept[256], content_type[128], mcp_session_id[128], mcp_protocol_version[32], last_event_id[128];
    char peer[64];
} http_session;

static http_server *server_of(struct lws *wsi)
{
    struct lws_context *ctx = lws_get_context(wsi);
    return ctx ? lws_context_user(ctx) : NULL;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

const char *http_server_url(const http_server *s)
{
    return s->url;
}

void http_server_add_route(http_server *s, const char *prefix, bool needs_key, http_handler_fn fn, void *ctx)
{
    assert(s->n_routes < MAX_ROUTES && strlen(prefix) < sizeof s->routes[0].prefix);
    route *r = &s->routes[s->n_routes++];
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
    r->needs_key = needs_key;
    r->fn = fn;
    r->ctx = ctx;
}

/* A prefix matches whole path segments: "/mcp" takes "/mcp" and "/mcp/x",
 * not "/mcp.js" (a dashboard file must not need the key or reach /mcp). A
 * prefix ending in '/' ("/ws/", "/") takes everything below it. */
static bool route_matches(const route *r, const char *path)
{
    size_t n = strlen(r->prefix);
    if (strncmp(path, r->prefix, n) != 0)
        return false;
    return r->prefix[n - 1] == '/' || path[n] == '\0' || path[n] == '/';
}

static bool path_needs_key(const http_server *s, const char *path)
{
    for (size_t i = 0; i < s->n_routes; i++) {
        if (s->routes[i].needs_key && route_matches(&s->routes[i], path))
            return true;
    }
    return false;
}

int http_server_check_access(struct lws *wsi, bool state_changing, bool needs_key, const char **why)
{
    http_server *srv = server_of(wsi);
    char host[256], origin[512], key[256], auth[300], query_key[256];
    strbuf query = {0};
    http_request_query(wsi, &query);
    access_request req = {
        .host = http_request_header(wsi, WSI_TOKEN_HOST, NULL, host, sizeof host),
        .origin = http_request_header(wsi, WSI_TOKEN_ORIGIN, NULL, origin, sizeof origin),
        .api_key = http_request_header(wsi, 0, "x-api-key:", key, sizeof key),
        .authorization = http_request_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, NULL, auth, sizeof auth),
        .query_key = http_query_get(query.data, "apikey", query_key, sizeof query_key) > 0 ? query_key : NULL,
        .state_changing = state_changing,
        .needs_key = needs_key,
    };
    strbuf_free(&query);
    return access_check(srv->cfg, srv->on_loopback, &req, why);
}

int http_server_connection_event(struct lws *wsi, enum lws_callback_reasons reason, void *in)
{
    return conn_table_event(server_of(wsi)->conns, wsi, reason, in);
}

/* ---- draining ------------------------------------------------------------ */

static void maybe_drained(http_server *srv)
{
    if (srv->on_drained && srv->answers_under_way == 0) {
        void (*done)(void *) = srv->on_drained;
        srv->on_drained = NULL;
        done(srv->on_drained_ctx);
    }
}

void http_server_drain(http_server *s, void (*done)(void *ctx), void *ctx)
{
    s->on_drained = done;
    s->on_drained_ctx = ctx;
    maybe_drained(s);
}

/* ---- one request ---------------------------------------------------------- */

static void session_reset(http_server *srv, http_session *s)
{
    if (s->slot.pending) { /* the connection closes under an answer */
        http_exchange_on_closed(&s->slot);
        srv->answers_under_way--;
        maybe_drained(srv);
    }
    struct lws *wsi = s->slot.wsi;
    strbuf_free(&s->query);
    strbuf_free(&s->body);
    memset(s, 0, offsetof(http_session, path));
    s->path[0] = s->accept[0] = s->content_type[0] = s->mcp_session_id[0] = s->mcp_protocol_version[0] =
        s->last_event_id[0] = s->peer[0] = '\0';
    s->slot.wsi = wsi;
}

static void copy_header(struct lws *wsi, int token, const char *custom, char *buf, size_t len)
{
    if (!http_request_header(wsi, token, custom, buf, len))
        buf[0] = '\0';
}

static void copy_headers(struct lws *wsi, http_session *s)
{
    copy_header(wsi, WSI_TOKEN_HTTP_ACCEPT, NULL, s->accept, sizeof s->accept);
    copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, NULL, s->content_type, sizeof s->content_type);
    copy_header(wsi, 0, "mcp-session-id:", s->mcp_session_id, sizeof s->mcp_session_id);
    copy_header(wsi, 0, "mcp-protocol-version:", s->mcp_protocol_version, sizeof s->mcp_protocol_version);
    copy_header(wsi, 0, "last-event-id:", s->last_event_id, sizeof s->last_event_id);
}

static const char *or_null(const char *value)
{
    return value[0] ? value : NULL;
}

/* Answers what must not reach any handler. Returns true if it did. */
static bool answer_refusal(http_server *srv, http_session *s, http_response *res)
{
    const limits_settings *lim = &srv->cfg->limits;
    if (s->refused) {
        http_respond_error(res, s->refused, "%s", s->refused_why);
    } else if (s->body_too_large) {
        log_kv(LOG_WARN, "request body too large",
               LOG_FIELDS(LOG_INT("status", 413), LOG_STR("path", s->path),
                          LOG_INT("max_body_bytes", lim->max_body_bytes)));
        http_respond_error(res, 413, "request body larger than %u bytes (limits.max_body_bytes)", lim->max_body_bytes);
    } else {
        return false;
    }
    return true;
}

static void route_request(http_server *srv, http_session *s, http_response *res)
{
    http_request req = {
        .method = s->method == HTTP_HEAD ? HTTP_GET : s->method,
        .head = s->method == HTTP_HEAD,
        .path = s->path,
        .query = s->query.data ? s->query.data : "",
        .body = s->body.data ? s->body.data : "",
        .body_len = s->body.len,
        .accept = or_null(s->accept),
        .content_type = or_null(s->content_type),
        .mcp_session_id = or_null(s->mcp_session_id),
        .mcp_protocol_version = or_null(s->mcp_protocol_version),
        .last_event_id = or_null(s->last_event_id),
        .peer = s->peer,
        .slot = &s->slot,
    };
    if (answer_refusal(srv, s, res))
        return;
    for (size_t i = 0; i < srv->n_routes; i++) {
        const route *r = &srv->routes[i];
        if (route_matches(r, s->path) && r->fn(r->ctx, &req, res))
            return; /* answered now, or later through the slot */
    }
    http_respond_error(res, 404, "nothing at %s", s->path);
}

/* A deferred answer written at once (exchange.h): what the writable
 * callback does once an answer is out, from outside lws' callback, where
 * a connection to close is handed to lws to close. */
static void answer_written(http_slot *slot, int done)
{
    http_session *s = CONTAINER_OF(slot, http_session, slot);
    struct lws *wsi = slot->wsi;
    http_server *srv = server_of(wsi);
    srv->answers_under_way--;
    bool close = done < 0;
    if (done > 0) {
        session_reset(srv, s);
        close = conn_request_done(wsi) != 0;
    }
    if (close)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    /* Last: the last answer of a shutdown goes on to close the server, so
     * nothing may touch the connection after it. */
    maybe_drained(srv);
}

static int start_response(http_server *srv, http_session *s)
{
    /* lws reports a body's completion even for Content-Length: 0, which is
     * routed from its headers already; and body bytes of a request refused
     * on its headers may still complete before the close. Once is all. */
    if (s->routed)
        return 0;
    s->routed = true;
    http_response res = {0};
    route_request(srv, s, &res);
    if (!s->slot.pending) /* answered at once: the same path as a later answer */
        http_exchange_answer(&s->slot, &res, s->method == HTTP_HEAD, s->close_after);
    else /* answered later: from then on (not while still in this callback) it may be written at once */
        s->slot.on_written = answer_written;
    strbuf_free(&res.body);
    srv->answers_under_way++;
    return 0;
}

/* RFC 9112 6.3: a request whose framing is ambiguous must be refused and its
 * connection closed, or a proxy in front of us and we could disagree on
 * where the next request starts. Returns the status, 0 when it is sound. */
static int check_framing(struct lws *wsi, long long *content_length, const char **why)
{
    /* lws knows a header only by its exact name and colon: with a space
     * before the colon it becomes another header, and a proxy in front of
     * us may still read it as the real one (RFC 9112 5.1: reject). */
    static const char *const spaced[] = {
        "transfer-encoding :", "transfer-encoding\t:", "content-length :", "content-length\t:"};
    for (size_t i = 0; i < sizeof spaced / sizeof spaced[0]; i++) {
        if (lws_hdr_custom_length(wsi, spaced[i], (int)strlen(spaced[i])) >= 0) {
            *why = "whitespace between a header name and its colon";
            return 400;
        }
    }
    /* lws 4.1 does not decode chunked request bodies. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        *why = "send the body with Content-Length (chunked request bodies are not supported)";
        return 411;
    }
    *content_length = 0;
    char clen[32];
    int n = lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (n < 0) {
        *why = "Content-Length is not a number";
        return 400;
    }
    if (n > 0) {
        if (strchr(clen, ',')) { /* lws joins repeated headers with commas */
            *why = "more than one Content-Length";
            return 400;
        }
        char *end;
        errno = 0;
        long long v = strtoll(clen, &end, 10);
        if (end == clen || *end || v < 0 || errno || !(clen[0] >= '0' && clen[0] <= '9')) {
            *why = "Content-Length is not a number";
            return 400;
        }
        *content_length = v;
    }
    return 0;
}

/* Answers at once, from the headers alone, and closes: the body (if any)
 * is never read, so a refused client cannot hold the connection by sending
 * it slowly, and no unread byte is ever parsed as a next request. */
static int refuse_now(http_server *srv, http_session *s, int status, const char *why)
{
    s->refused = status;
    s->refused_why = why;
    s->close_after = true;
    return start_response(srv, s);
}

static int on_request(struct lws *wsi, http_server *srv, http_session *s, const char *path, size_t len)
{
    conn_request_started(wsi);
    session_reset(srv, s);
    s->slot.wsi = wsi;
    s->method = http_request_method(wsi);
    copy_text(s->path, sizeof s->path, path, strnlen(path, len));
    bool query_whole = http_request_query(wsi, &s->query);
    copy_headers(wsi, s);
    conn_peer(wsi, s->peer, sizeof s->peer);

    long long content_length;
    const char *why;
    int status = check_framing(wsi, &content_length, &why);
    if (status)
        return refuse_now(srv, s, status, why);
    if (!query_whole) /* the parameters after it (an apikey, say) would be lost */
        return refuse_now(srv, s, 414, "a query parameter is longer than 4096 bytes");
    bool state_changing = s->method != HTTP_GET && s->method != HTTP_HEAD && s->method != HTTP_OPTIONS;
    status = http_server_check_access(wsi, state_changing, path_needs_key(srv, s->path), &why);
    if (status) {
        log_kv(LOG_WARN, "HTTP request refused",
               LOG_FIELDS(LOG_INT("status", status), LOG_STR("path", s->path), LOG_STR("peer", s->peer)));
        if (content_length > 0)
            return refuse_now(srv, s, status, why);
        s->refused = status; /* no body: the connection stays usable */
        s->refused_why = why;
        return start_response(srv, s);
    }
    if (content_length > (long long)srv->cfg->limits.max_body_bytes) {
        s->body_too_large = true;
        s->close_after = true;
        return start_response(srv, s);
    }
    if (content_length == 0)
        return start_response(srv, s);
    if (!conn_body_begin(srv->conns, wsi, &why))
        return refuse_now(srv, s, 503, why);
    return 0; /* route once the body is complete */
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_session *s = user;
    http_server *srv = server_of(wsi);
    if (conn_takes(reason))
        return http_server_connection_event(wsi, reason, in);

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(wsi, srv, s, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        if (s->body.len + len > srv->cfg->limits.max_body_bytes)
            s->body_too_large = true;
        else
            strbuf_append(&s->body, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        conn_body_end(srv->conns, wsi);
        return start_response(srv, s);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (conn_expired(wsi))
            return -1;
        if (!s->slot.pending)
            return 0; /* a stray callback */
        int done = http_exchange_on_writable(&s->slot);
        if (done == 0)
            return 0;
        srv->answers_under_way--;
        maybe_drained(srv);
        if (done < 0)
            return -1;
        session_reset(srv, s);
        return conn_request_done(wsi);
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            session_reset(srv, s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

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

/* lws takes an IP address or an interface name ("lo") as the address to
 * bind, not a host name: "localhost" would be looked for as an interface,
 * not found, and nothing bound. A name that resolves is given to lws as
 * its first address, of the family lws binds (IPv4 unless the host holds a
 * ':'); anything else goes as written (an interface name). */
static void numeric_host(const char *host, char *out, size_t out_len)
{
    struct addrinfo hints = {
        .ai_family = strchr(host, ':') ? AF_INET6 : AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    snprintf(out, out_len, "%s", host);
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return;
    const void *addr = res->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                                                  : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    if (!inet_ntop(res->ai_family, addr, out, (socklen_t)out_len))
        snprintf(out, out_len, "%s", host);
    freeaddrinfo(res);
}

/* Tries to bind host:port as lws will (SO_REUSEADDR, so a port whose old
 * connections linger in TIME_WAIT is free) and returns 0 or the errno.
 * lws only logs a failed bind and carries on without a listener, and even
 * with LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND it says no more than
 * "failed": the probe is what tells "in use" from "not this machine's
 * address", so the message can say what to do. Port 0 never collides,
 * but an address that is not ours fails it too. */
static int probe_bind(const char *host, int port)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res) {
        /* An interface name ("lo") is lws' to bind; anything else is no
         * address of this machine. */
        return if_nametoindex(host) ? 0 : EADDRNOTAVAIL;
    }
    int rc = 0;
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
            rc = errno;
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

/* Why host:port cannot be listened on, in words that say what to do. */
static void bind_error(const char *listen, int port, int errnum, char *err, size_t err_len)
{
    if (errnum == EADDRINUSE)
        snprintf(err, err_len, "port %d is in use (another mcpproxy?) - use --listen HOST:PORT, or stop the other one",
                 port);
    else if (errnum == EADDRNOTAVAIL)
        snprintf(err, err_len, "cannot listen on %s: not an address of this machine - use --listen HOST:PORT", listen);
    else if (errnum == EACCES)
        snprintf(err, err_len,
                 "cannot listen on %s: permission denied (ports below 1024 need privileges) - use "
                 "--listen HOST:PORT",
                 listen);
    else if (errnum)
        snprintf(err, err_len, "cannot listen on %s: %s - use --listen HOST:PORT", listen, strerror(errnum));
    else
        snprintf(err, err_len,
                 "cannot listen on %s (address in use, or not an address of this machine?) - use "
                 "--listen HOST:PORT",
                 listen);
}

http_server *http_server_create(const http_server_options *opts, char *err, size_t err_len)
{
    const config *cfg = opts->cfg;
    char host[256];
    int port;
    if (!config_split_listen(opts->listen, host, sizeof host, &port)) {
        snprintf(err, err_len, "listen address \"%s\" must be HOST:PORT, e.g. 127.0.0.1:8080", opts->listen);
        return NULL;
    }
    bool on_loopback = access_listen_is_loopback(opts->listen);
    if (!on_loopback && !cfg->api_key[0]) {
        snprintf(err, err_len,
                 "refusing to listen on %s without an API key: anyone who can reach it could run tools on this "
                 "machine. Set \"api_key\" in the config (mcpproxy gen-key writes one), or listen on 127.0.0.1",
                 opts->listen);
        return NULL;
    }

    char bind_host[INET6_ADDRSTRLEN > 256 ? INET6_ADDRSTRLEN : 256];
    numeric_host(host, bind_host, sizeof bind_host);
    int bind_errno = probe_bind(bind_host, port);
    if (bind_errno) {
        bind_error(opts->listen, port, bind_errno, err, err_len);
        return NULL;
    }

    http_server *srv = xcalloc(1, sizeof *srv);
    srv->cfg = cfg;
    srv->on_loopback = on_loopback;
    const struct lws_protocols *ws = opts->ws_protocol;
    srv->conns = conn_table_create(&cfg->limits, ws ? ws->name : NULL, opts->stats, opts->ticker);
    srv->protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(http_session), 0, 0, NULL, 0};
    if (ws) {
        srv->protocols[1] = *ws;
        /* A browser's `new WebSocket(url)` offers no subprotocol; marking
         * ours as the vhost default makes such upgrades bind to it. */
        srv->pvo_default = (struct lws_protocol_vhost_options){NULL, NULL, "default", "1"};
        srv->pvo = (struct lws_protocol_vhost_options){NULL, &srv->pvo_default, ws->name, ""};
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    void *foreign_loops[1] = {opts->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* A port taken between the probe and lws' own bind still fails the
     * start instead of leaving a proxy that listens nowhere. */
    info.options =
        LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (!strchr(host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 address binds IPv4 only */
    info.foreign_loops = foreign_loops;
    info.port = port;
    info.iface = bind_host;
    info.protocols = srv->protocols;
    info.pvo = ws ? &srv->pvo : NULL;
    info.extensions = ws ? opts->ws_extensions : NULL;
    info.vhost_name = "default";
    info.user = srv;
    info.pcontext = &srv->ctx;
    /* lws counts these in whole seconds. */
    const limits_settings *lim = &cfg->limits;
    info.timeout_secs = (lim->handshake_timeout_ms + 999) / 1000;
    info.timeout_secs_ah_idle = info.timeout_secs;
    info.keepalive_timeout = (int)((lim->keepalive_timeout_ms + 999) / 1000);
    info.max_http_header_data = (unsigned short)lim->max_header_bytes;

    srv->ctx = lws_create_context(&info);
    /* On a foreign loop lws 4.1 returns a context even when its default
     * vhost failed to bind (it logs "Failed to create default vhost"):
     * no vhost is the failure too. */
    srv->vhost = srv->ctx ? lws_get_vhost_by_name(srv->ctx, "default") : NULL;
    if (!srv->vhost) {
        bind_error(opts->listen, port, probe_bind(bind_host, port), err, err_len);
        if (srv->ctx) {
            /* A context whose default vhost failed cannot be destroyed on
             * a foreign loop: lws 4.1 then unloads its libuv plugin before
             * the close callbacks of its handles have run, and the loop
             * jumps into unmapped code. The process is about to exit 1;
             * the context, and srv that it points to (info.user,
             * info.pcontext), are left to that exit. Only a port taken
             * between probe_bind and lws' own bind comes here. */
            return NULL;
        }
        conn_table_destroy(srv->conns);
        free(srv);
        return NULL;
    }
    srv->port = lws_get_vhost_listen_port(srv->vhost);
    /* An IPv6 address takes brackets in a URL (RFC 3986), or the port
     * would read as one of its groups. */
    bool v6 = strchr(host, ':') != NULL;
    snprintf(srv->url, sizeof srv->url, v6 ? "http://[%s]:%d" : "http://%s:%d", host, srv->port);
    return srv;
}

void http_server_close(http_server *s)
{
    /* On a foreign loop this starts closing lws' handles; lws clears s->ctx
     * (info.pcontext) once they are all closed. */
    if (s->ctx)
        lws_context_destroy(s->ctx);
}

void http_server_destroy(http_server *s)
{
    if (!s)
        return;
    /* After the loop has stopped: finishes whatever destruction is left. */
    if (s->ctx)
        lws_context_destroy(s->ctx);
    conn_table_destroy(s->conns);
    free(s);
}
