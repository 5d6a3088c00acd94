/* sse.h - GET /events: the event stream as Server-Sent Events.
 *
 * The same stream as /ws/events (same query: types, server, since, epoch),
 * for clients that cannot or would rather not speak WebSocket: curl, an
 * EventSource in a browser. Each event is one SSE message whose id is its
 * seq, so an EventSource that reconnects sends Last-Event-ID and resumes. */
#ifndef MCPPROXY_HTTP_SSE_H
#define MCPPROXY_HTTP_SSE_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct sse_manager sse_manager;

/* The app is borrowed and must outlive the manager. */
sse_manager *sse_manager_create(app *a);

/* GET /events. Returns false for other paths. */
bool sse_route(void *sse_manager, const http_request *req, http_response *res);

/* Ends every stream and stops the keep-alive timer (before the loop ends). */
void sse_manager_close(sse_manager *m);

/* After the loop has stopped. */
void sse_manager_destroy(sse_manager *m);

/* Appends one object per connected client to the array `into`:
 * stream_client_json()'s fields and queued_bytes (written, not yet sent). */
void sse_manager_clients_json(const sse_manager *m, json_t *into);

#endif
