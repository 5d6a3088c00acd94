/* conn.h - TCP connections, whatever protocol they end up speaking: caps on
 * how many there are (in total and per client address, so one client or a
 * flood of them cannot take every fd), a record of each from accept to
 * close, the deadline of a request still arriving, and the checks lws
 * leaves to us before a WebSocket upgrade. */
#ifndef MCPPROXY_HTTP_CONN_H
#define MCPPROXY_HTTP_CONN_H

#include "config/config.h"
#include "core/stats.h"
#include "http/ticker.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct conn_table conn_table;

/* `lim` is borrowed (the app's config) and read when used;
 * `ws_protocol_name` is the one WebSocket subprotocol spoken (static);
 * `stats->tcp_connections` follows the open connections; the request
 * deadlines are a job of `tk`. All borrowed. */
conn_table *conn_table_create(const limits_settings *lim, const char *ws_protocol_name, proxy_stats *stats, ticker *tk);
void conn_table_destroy(conn_table *t);

/* The lws callback reasons about connections rather than requests; every
 * protocol's callback hands them to conn_table_event(). */
bool conn_takes(enum lws_callback_reasons reason);
int conn_table_event(conn_table *t, struct lws *wsi, enum lws_callback_reasons reason, void *in);

/* The client's address as text (copied into out), read once when the
 * connection was accepted: a request costs no getpeername(). */
void conn_peer(struct lws *wsi, char *out, size_t len);

/* A request's headers are in. */
void conn_request_started(struct lws *wsi);

/* The request's body is still to come: counted against
 * limits.max_pending_bodies_per_address, and the request must be in within
 * limits.request_timeout_ms of its start (the connection's accept for a
 * first request, its headers for a later one on a kept-alive connection),
 * or the connection is closed. False (with the reason) when the address
 * has too many bodies arriving already. */
bool conn_body_begin(conn_table *t, struct lws *wsi, const char **why);

/* Whether the request ran out of time: the connection's next callback
 * must close it (return -1). */
bool conn_expired(struct lws *wsi);

/* The body is in (or the connection is closing). Idempotent. */
void conn_body_end(conn_table *t, struct lws *wsi);
/* The answer is out and the connection waits for the next request. Returns
 * what the lws callback should return. */
int conn_request_done(struct lws *wsi);
/* The connection became a WebSocket client: its end is no longer an HTTP
 * timeout to report. */
void conn_note_upgrade(struct lws *wsi);

#endif
