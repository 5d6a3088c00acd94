/* ws.h - the WebSocket event stream: /ws/events and /ws/servers.
 *
 * Each client is a bus subscriber with its own bounded queue (send_queue).
 * Publishing only queues and asks lws for a writable callback; all the
 * events a client has pending are written together in that callback, as
 * complete frames in a single send. */
#ifndef MCPPROXY_HTTP_WS_H
#define MCPPROXY_HTTP_WS_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <jansson.h>
#include <libwebsockets.h>

#define WS_PROTOCOL_NAME "mcpproxy-events"

typedef struct ws_manager ws_manager;

/* The app is borrowed and must outlive the manager. */
ws_manager *ws_manager_create(app *a);

/* All clients must be gone (lws context destroyed) before this. */
void ws_manager_destroy(ws_manager *m);

/* The lws protocol for the HTTP server (http_server_options.ws_protocol):
 * name, callback, per-client state size, and this manager as its user.
 * Valid while m lives. */
const struct lws_protocols *ws_manager_protocol(const ws_manager *m);

/* The extensions lws may negotiate for these clients
 * (http_server_options.ws_extensions): permessage-deflate. Static. */
const struct lws_extension *ws_manager_extensions(void);

/* An HTTP route for the WebSocket paths: a plain GET there gets 426 Upgrade
 * Required. `ctx` is unused. */
bool ws_route(void *ctx, const http_request *req, http_response *res);

/* Sends close 1001 to every client; refuses new ones; calls done(ctx) once the
 * last client has gone (at once when there are none). */
void ws_manager_close(ws_manager *m, void (*done)(void *ctx), void *ctx);

/* Appends one object per connected client to the array `into`:
 * stream_client_json()'s fields and queue_depth (events queued). */
void ws_manager_clients_json(const ws_manager *m, json_t *into);

#endif
