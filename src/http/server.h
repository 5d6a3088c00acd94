/* server.h - the HTTP server: one lws context on the app's libuv loop,
 * serving the API, the dashboard and the WebSocket endpoints. */
#ifndef MCPPROXY_HTTP_SERVER_H
#define MCPPROXY_HTTP_SERVER_H

#include "app/app.h"
#include "core/util.h"

#include <libwebsockets.h>
#include <stdbool.h>

typedef struct http_server http_server;
struct ws_manager;

/* Creates the lws context on a->loop and starts listening on a->cfg.listen
 * (or listen_override when not NULL). On failure returns NULL and says why in
 * err. The app is borrowed. */
http_server *http_server_create(app *a, const char *listen_override, char *err, size_t err_len);

/* Open TCP connections (HTTP and WebSocket), as limits.max_connections counts them. */
size_t http_server_connection_count(const http_server *s);

/* Connected Server-Sent Events clients of /events. */
size_t http_server_sse_count(const http_server *s);

/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *s);

/* "http://HOST:PORT" for logs and the dashboard link. */
const char *http_server_url(const http_server *s);

struct ws_manager *http_server_ws(const http_server *s);

/* Starts a graceful stop: WebSocket clients get 1001. done(ctx) runs once
 * they have all gone. */
void http_server_shutdown(http_server *s, void (*done)(void *ctx), void *ctx);

/* Closes every connection and starts releasing lws' loop handles; the loop
 * then runs until they are closed. */
void http_server_close(http_server *s);

/* Frees s, once the loop has stopped. */
void http_server_destroy(http_server *s);

/* The server a connection belongs to. */
http_server *http_server_of(struct lws *wsi);
app *http_server_app(const http_server *s);

/* Applies the access rules (access.h) to a request. Returns 0 to proceed,
 * else the status to refuse with, and the reason in *why. */
int http_server_check_access(struct lws *wsi, bool state_changing, bool needs_key, const char **why);

/* Answers a request that arrived as a WebSocket upgrade with an error
 * status and a JSON {"error": why} body, before any upgrade, and logs it.
 * The caller then returns -1 (or >0 from CONFIRM_UPGRADE). */
void http_server_refuse(struct lws *wsi, unsigned status, const char *why);

/* Callbacks lws delivers to whichever protocol a connection is bound to at
 * the time: the upgrade check (a WebSocket version other than 13 or a
 * subprotocol we do not speak is refused) and the accounting of
 * limits.max_connections*. Both protocols begin with
 *     if (http_server_takes(reason)) return http_server_common_event(...);
 * Returns what the lws callback should return. */
bool http_server_takes(enum lws_callback_reasons reason);
int http_server_common_event(struct lws *wsi, enum lws_callback_reasons reason, void *in);

/* A connection became a WebSocket client (ws.c, at ESTABLISHED): its end is
 * no longer an HTTP timeout to report. */
void http_server_note_upgrade(struct lws *wsi);

/* Rebuilds the request's query string from lws' decoded URL arguments,
 * re-encoding '%', '&' and '+' in values so http_query_get() reads each
 * value back exactly. */
void http_server_query(struct lws *wsi, strbuf *out);

#endif
