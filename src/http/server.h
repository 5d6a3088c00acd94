/* server.h - the HTTP server: one lws context on the app's libuv loop.
 *
 * It knows connections, requests and answers, not endpoints: whoever wires
 * the app adds routes (a path prefix and a handler) and, optionally, the
 * one WebSocket protocol. Handlers see only http_request / http_response
 * (request.h, exchange.h). */
#ifndef MCPPROXY_HTTP_SERVER_H
#define MCPPROXY_HTTP_SERVER_H

#include "config/config.h"
#include "core/stats.h"
#include "http/exchange.h"
#include "http/request.h"
#include "http/ticker.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <uv.h>

typedef struct http_server http_server;

/* Answers the request and returns true when the path is its own. */
typedef bool (*http_handler_fn)(void *ctx, const http_request *req, http_response *res);

typedef struct http_server_options {
    uv_loop_t *loop;
    const config *cfg;  /* limits, api_key, allowed_origins; borrowed, read when used */
    const char *listen; /* HOST:PORT */
    proxy_stats *stats; /* its tcp_connections gauge is kept here; borrowed */
    ticker *ticker;     /* runs the request deadlines; borrowed */
    /* The WebSocket protocol, if any (copied). Its `user` is left as given,
     * so its callback can find its own state with lws_get_protocol(). */
    const struct lws_protocols *ws_protocol;
    /* The WebSocket extensions lws may negotiate (a static list ending in a
     * zeroed entry), or NULL for none. */
    const struct lws_extension *ws_extensions;
} http_server_options;

/* Creates the lws context and starts listening. On failure returns NULL and
 * says why in err. */
http_server *http_server_create(const http_server_options *opts, char *err, size_t err_len);

/* Adds a handler for paths that start with `prefix`. Handlers whose prefix
 * matches are tried in the order they were added until one answers; none:
 * 404. A request needs the API key (when one is set) if any matching route
 * says so. `ctx` is borrowed. */
void http_server_add_route(http_server *s, const char *prefix, bool needs_key, http_handler_fn fn, void *ctx);

/* The port actually bound (useful with port 0), and "http://HOST:PORT". */
int http_server_port(const http_server *s);
const char *http_server_url(const http_server *s);

/* done(ctx) runs once no answer is under way (deferred or streamed), at
 * once if none is. Owners of long answers end them first (a stop). */
void http_server_drain(http_server *s, void (*done)(void *ctx), void *ctx);

/* Closes every connection and starts releasing lws' loop handles; the loop
 * then runs until they are closed. */
void http_server_close(http_server *s);

/* Frees s, once the loop has stopped. NULL is ignored. */
void http_server_destroy(http_server *s);

/* ---- for the WebSocket protocol's callback ------------------------------ */

/* Applies the access rules (access.h) to the request on wsi. Returns 0 to
 * proceed, else the status to refuse with, and the reason in *why. */
int http_server_check_access(struct lws *wsi, bool state_changing, bool needs_key, const char **why);

/* Connection-level callbacks (conn_takes() is true for them) go here from
 * every protocol: accounting and upgrade checks. */
int http_server_connection_event(struct lws *wsi, enum lws_callback_reasons reason, void *in);

#endif
