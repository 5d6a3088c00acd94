/* http_pending.h - answering an HTTP request later, or as a stream.
 *
 * Handlers (routes.h) answer synchronously by filling an http_response. A
 * handler that must wait (an upstream tool call) or stream (Server-Sent
 * Events) instead calls http_respond_later() and returns true with the
 * response left at status 0; the connection then waits for the handle.
 *
 * Lifetime: the handle has two holders, the owner (whoever called
 * http_respond_later) and the connection.
 *   - The owner lets go with exactly one of http_pending_finish(),
 *     http_stream_end() or http_pending_release(); the pointer is invalid
 *     afterwards.
 *   - If the client goes away first (disconnect, server shutdown), on_gone(ctx)
 *     fires once, from the connection's close; the handle stays valid but is
 *     inert (writes are dropped, http_pending_gone() is true) until the owner
 *     lets go of it as above.
 *   - on_gone never fires after the owner has let go.
 *
 * Streams use chunked transfer encoding, so an ended stream leaves the
 * connection usable for the next request. Every write is flushed as soon as
 * the socket can take it; lws' idle timeouts are off while a request is
 * pending (the owner has its own deadline) and while a stream is open.
 *
 * Known limit: lws (4.1, HTTP/1) takes a client's FIN for a half-close and
 * waits for the response, so a peer that vanishes is noticed only when a
 * write to it fails. Owners of long streams therefore write keep-alives
 * (an SSE comment) now and then; a deferred non-streamed answer finds out
 * when it is finally written. */
#ifndef MCPPROXY_HTTP_PENDING_H
#define MCPPROXY_HTTP_PENDING_H

#include "http/http_types.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct http_pending http_pending;

/* Takes over the answer to `req` (only from inside a handler; at most once
 * per request). `on_gone` may be NULL; `ctx` is borrowed. Never NULL. */
http_pending *http_respond_later(const http_request *req, void (*on_gone)(void *ctx), void *ctx);

/* Adds a response header for the answer still to come (before finish or
 * stream_begin). Returns false when it does not fit. */
bool http_pending_add_header(http_pending *p, const char *name, const char *value);

/* Sends a whole response (bytes copied) and lets go of p. */
void http_pending_finish(http_pending *p, int status, const char *content_type, const void *body, size_t len);

/* Sends the status and headers of a streamed response. `content_type` is
 * copied. */
void http_stream_begin(http_pending *p, int status, const char *content_type);

/* Queues bytes (copied) of a streamed response; they leave as soon as the
 * socket allows. Returns the bytes still queued (a caller can bound a slow
 * client with it), or 0 when the client is gone. */
size_t http_stream_write(http_pending *p, const void *bytes, size_t len);

/* Ends a streamed response once everything queued is written, and lets go
 * of p. */
void http_stream_end(http_pending *p);

/* Lets go of p without answering (after on_gone, or to drop the connection:
 * a live connection is then closed). */
void http_pending_release(http_pending *p);

/* Whether the client has gone away (on_gone has fired). */
bool http_pending_gone(const http_pending *p);

/* ---- for server.c only ------------------------------------------------ */

struct lws;

/* The connection's writable callback while a handle is attached. Returns
 * 1 when the response is complete (the connection is done with the handle,
 * which has been freed if its owner let go), -1 to close the connection,
 * 0 otherwise. */
int http_pending_on_writable(http_pending *p, struct lws *wsi);

/* The connection is closing: fires on_gone if the owner still holds p, and
 * frees p if it does not. */
void http_pending_on_closed(http_pending *p);

/* Adds the headers to a response head being built (lowercased, as lws
 * wants them). Returns nonzero when they do not fit. */
int http_add_extra_headers(struct lws *wsi, const http_header *headers, size_t n, unsigned char **p,
                           unsigned char *end);

/* server.c gives each connection's slot for its handle (NULL when none). */
http_pending **http_server_pending_slot(struct lws *wsi);

#endif
