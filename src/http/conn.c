/* conn.c - connection records, request deadlines and upgrade checks (see
 * conn.h); the counting per address is addr_limit's. */
#include "http/conn.h"

#include "core/dlist.h"
#include "core/log.h"
#include "core/util.h"
#include "http/addr_limit.h"
#include "http/exchange.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- records --------------------------------------------------------- */

struct conn_table {
    addr_limit *limit;
    addr_limit *bodies_limit; /* requests whose body is still arriving, per address */
    addr_count *admitted;     /* accepted, waiting for its wsi */
    char admitted_peer[64];   /* its address */
    const limits_settings *lim;
    const char *ws_protocol_name;
    proxy_stats *stats;
    ticker *ticker;
    dlist bodies;         /* connections whose request body is still arriving */
    ticker_job deadlines; /* on while `bodies` is not empty */
};

/* What the server keeps about one TCP connection, from accept to close
 * (lws' opaque user data of the connection, whatever protocol it speaks). */
typedef struct conn_record {
    addr_count *addr; /* its count in limits.max_connections* */
    struct lws *wsi;
    lws_usec_t accepted_us;
    lws_usec_t idle_since_us;    /* the last answer went out; 0 = none yet */
    lws_usec_t request_began_us; /* when the request now arriving began (see conn_request_started) */
    dlist_node body_link;        /* in conn_table.bodies while body_token is held */
    addr_count *body_token;      /* its count in limits.max_pending_bodies_per_address */
    bool expired;                /* past limits.request_timeout_ms: closed at its next callback */
    bool in_request;
    bool upgraded; /* now a WebSocket client */
    char peer[64]; /* the client's address, read once at accept */
} conn_record;

conn_table *conn_table_create(const limits_settings *lim, const char *ws_protocol_name, proxy_stats *stats, ticker *tk)
{
    conn_table *t = xcalloc(1, sizeof *t);
    t->stats = stats;
    t->ticker = tk;
    t->limit = addr_limit_create(lim->max_connections, lim->max_connections_per_address,
                                 "too many connections (limits.max_connections)",
                                 "too many connections from this address (limits.max_connections_per_address)");
    t->bodies_limit = addr_limit_create(UINT32_MAX, lim->max_pending_bodies_per_address, "",
                                        "too many requests from this address are still sending their body "
                                        "(limits.max_pending_bodies_per_address)");
    t->lim = lim;
    t->ws_protocol_name = ws_protocol_name;
    return t;
}

void conn_table_destroy(conn_table *t)
{
    if (!t)
        return;
    assert(t->bodies.count == 0); /* every connection was destroyed first */
    if (t->admitted)
        addr_limit_release(t->limit, t->admitted);
    addr_limit_destroy(t->limit);
    addr_limit_destroy(t->bodies_limit);
    free(t);
}

void conn_note_upgrade(struct lws *wsi)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    if (conn)
        conn->upgraded = true;
}

void conn_peer(struct lws *wsi, char *out, size_t len)
{
    const conn_record *conn = lws_get_opaque_user_data(wsi);
    if (conn && conn->peer[0])
        copy_text(out, len, conn->peer, strlen(conn->peer));
    else
        lws_get_peer_simple(wsi, out, len);
}

void conn_request_started(struct lws *wsi)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    if (!conn)
        return;
    conn->in_request = true;
    /* The first request began with the connection (its headers included);
     * on a kept-alive connection the idle time before the next request is
     * not the request's, so its clock starts with its headers (their own
     * pace is lws' header timeout). */
    conn->request_began_us = conn->idle_since_us ? lws_now_usecs() : conn->accepted_us;
}

/* The deadline sweep: a request still arriving past limits.request_timeout_ms
 * is cut, whatever pace its bytes come at (a body dripping one byte every
 * few seconds would otherwise hold its slot for ever). */
static void check_deadlines(ticker_job *job)
{
    conn_table *t = CONTAINER_OF(job, conn_table, deadlines);
    lws_usec_t now = lws_now_usecs();
    lws_usec_t limit = (lws_usec_t)t->lim->request_timeout_ms * 1000;
    for (dlist_node *n = t->bodies.head; n; n = n->next) {
        conn_record *conn = DLIST_ENTRY(n, conn_record, body_link);
        lws_usec_t waited = now - conn->request_began_us;
        if (waited < limit || conn->expired)
            continue;
        char peer[64] = "";
        conn_peer(conn->wsi, peer, sizeof peer);
        log_kv(LOG_WARN, "connection closed: request not complete in time",
               LOG_FIELDS(LOG_STR("limit", "limits.request_timeout_ms"), LOG_INT("waited_ms", waited / 1000),
                          LOG_STR("peer", peer)));
        /* lws closes a connection when its callback says so: the writable
         * callback asked for here returns -1 (conn_expired). The record
         * leaves the list when the connection is destroyed. */
        conn->expired = true;
        lws_callback_on_writable(conn->wsi);
    }
}

bool conn_body_begin(conn_table *t, struct lws *wsi, const char **why)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    assert(conn && !conn->body_token);
    char peer[64] = "";
    conn_peer(wsi, peer, sizeof peer);
    conn->body_token = addr_limit_acquire(t->bodies_limit, peer, why);
    if (!conn->body_token)
        return false;
    dlist_push_front(&t->bodies, &conn->body_link);
    if (t->bodies.count == 1) {
        uint32_t period = t->lim->request_timeout_ms / 4;
        ticker_job_start(t->ticker, &t->deadlines, period < 1000 ? period : 1000, check_deadlines);
    }
    return true;
}

static void body_end(conn_table *t, conn_record *conn)
{
    if (!conn->body_token)
        return;
    addr_limit_release(t->bodies_limit, conn->body_token);
    conn->body_token = NULL;
    dlist_remove(&t->bodies, &conn->body_link);
    if (t->bodies.count == 0)
        ticker_job_stop(t->ticker, &t->deadlines);
}

bool conn_expired(struct lws *wsi)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    return conn && conn->expired;
}

void conn_body_end(conn_table *t, struct lws *wsi)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    if (conn)
        body_end(t, conn);
}

int conn_request_done(struct lws *wsi)
{
    conn_record *conn = lws_get_opaque_user_data(wsi);
    if (conn) {
        conn->in_request = false;
        conn->idle_since_us = lws_now_usecs();
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* RFC 6455 4.1: the key is 16 bytes in base64, so 22 characters of the
 * base64 alphabet and "==" (the last character carries only 2 bits). */
static bool is_websocket_key(const char *key)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    for (int i = 0; i < 22; i++) {
        const char *p = key[i] ? strchr(alphabet, key[i]) : NULL;
        if (!p || (i == 21 && ((p - alphabet) & 0x0f)))
            return false;
    }
    return true;
}

/* Checks lws leaves to us before a WebSocket upgrade: the protocol
 * version, and a subprotocol offer that lws would otherwise answer by
 * hanging up. Returns >0 once a refusal has been sent, 0 to go on. */
static int confirm_upgrade(conn_table *t, struct lws *wsi)
{
    char value[256], text[160];
    const char *why = NULL;
    unsigned status = HTTP_STATUS_BAD_REQUEST;
    if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_VERSION) <= 0 || strcmp(value, "13") != 0) {
        status = 426;
        why = "unsupported WebSocket version: mcpproxy speaks version 13 (RFC 6455)";
    } else if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_KEY) <= 0 || !is_websocket_key(value)) {
        why = "Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455 4.1)";
    } else if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_PROTOCOL) > 0 &&
               (!t->ws_protocol_name || !strstr(value, t->ws_protocol_name))) {
        snprintf(text, sizeof text, "unsupported WebSocket subprotocol: connect without one (or offer %s)",
                 t->ws_protocol_name ? t->ws_protocol_name : "none");
        why = text;
    }
    if (!why)
        return 0;
    http_refuse_upgrade(wsi, status, why);
    return 1;
}

/* lws closes connections that hit limits.handshake_timeout_ms or
 * keepalive_timeout_ms without telling us why; a connection that ends
 * after waiting that long in either state is logged as such. */
static void log_timeout_close(const conn_table *t, struct lws *wsi, const conn_record *conn)
{
    if (conn->in_request || conn->upgraded)
        return; /* mid-request, or a WebSocket client (the stream logs those) */
    lws_usec_t now = lws_now_usecs();
    char peer[64] = "";
    conn_peer(wsi, peer, sizeof peer);
    if (!conn->idle_since_us) {
        long long waited_ms = (long long)((now - conn->accepted_us) / 1000);
        if (waited_ms >= t->lim->handshake_timeout_ms)
            log_kv(LOG_WARN, "connection closed: no complete request in time",
                   LOG_FIELDS(LOG_STR("limit", "limits.handshake_timeout_ms"), LOG_INT("waited_ms", waited_ms),
                              LOG_STR("peer", peer)));
    } else {
        long long idle_ms = (long long)((now - conn->idle_since_us) / 1000);
        if (idle_ms >= t->lim->keepalive_timeout_ms)
            log_kv(LOG_INFO, "idle keep-alive connection closed",
                   LOG_FIELDS(LOG_STR("limit", "limits.keepalive_timeout_ms"), LOG_INT("idle_ms", idle_ms),
                              LOG_STR("peer", peer)));
    }
}

bool conn_takes(enum lws_callback_reasons reason)
{
    return reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE || reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION ||
           reason == LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED || reason == LWS_CALLBACK_WSI_DESTROY;
}

int conn_table_event(conn_table *t, struct lws *wsi, enum lws_callback_reasons reason, void *in)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(t, wsi);
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        /* Called on the listening socket with the accepted fd: the new
         * connection has no wsi yet, so its token waits in `admitted` until
         * SERVER_NEW_CLIENT_INSTANTIATED, which follows at once. */
        char peer[64] = "";
        const char *why;
        if (t->admitted) /* its connection never came to be */
            addr_limit_release(t->limit, t->admitted);
        lws_get_peer_simple_fd((lws_sockfd_type)(intptr_t)in, peer, sizeof peer);
        snprintf(t->admitted_peer, sizeof t->admitted_peer, "%s", peer);
        t->admitted = addr_limit_acquire(t->limit, peer, &why);
        if (!t->admitted) {
            log_kv(LOG_WARN, "connection refused", LOG_FIELDS(LOG_STR("reason", why), LOG_STR("peer", peer)));
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: {
        conn_record *conn = xcalloc(1, sizeof *conn);
        conn->wsi = wsi;
        conn->addr = t->admitted;
        memcpy(conn->peer, t->admitted_peer, sizeof conn->peer);
        conn->accepted_us = lws_now_usecs();
        t->admitted = NULL;
        lws_set_opaque_user_data(wsi, conn);
        t->stats->tcp_connections++;
        return 0;
    }
    case LWS_CALLBACK_WSI_DESTROY: {
        conn_record *conn = lws_get_opaque_user_data(wsi);
        if (conn) {
            lws_set_opaque_user_data(wsi, NULL);
            body_end(t, conn);
            t->stats->tcp_connections--;
            log_timeout_close(t, wsi, conn);
            if (conn->addr)
                addr_limit_release(t->limit, conn->addr);
            free(conn);
        }
        return 0;
    }
    default:
        return 0;
    }
}
