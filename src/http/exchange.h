/* exchange.h - the answer to one HTTP request, on one path whatever its form:
 * at once, later, or streamed.
 *
 * A handler either fills the http_response it is given (the server then
 * sends it), or calls http_respond_later() and keeps the handle: an
 * upstream tool call answers when the upstream does, an event stream writes
 * for as long as the client stays. Both end in the same handle, so one
 * function writes every status line and header block and one writes every
 * body.
 *
 * Lifetime of a handle: two holders, the owner (whoever called
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
 * the socket can take it; lws' idle timeouts are off while an answer is
 * pending (the owner has its own deadline) and while a stream is open.
 *
 * Known limit: lws (4.1, HTTP/1) takes a client's FIN for a half-close and
 * waits for the response, so a peer that vanishes is noticed only when a
 * write to it fails. Owners of long streams therefore write keep-alives
 * (an SSE comment) now and then; a deferred non-streamed answer finds out
 * when it is finally written. */
#ifndef MCPPROXY_HTTP_EXCHANGE_H
#define MCPPROXY_HTTP_EXCHANGE_H

#include "core/util.h"
#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;

/* A response header beyond the ones every answer carries. */
#define HTTP_MAX_EXTRA_HEADERS 6
typedef struct http_header {
    char name[48]; /* e.g. "Mcp-Session-Id" */
    char value[208];
} http_header;

/* What a handler answers at once. */
typedef struct http_response {
    int status;                /* 0 = not handled */
    const char *content_type;  /* static string */
    strbuf body;               /* owned by the response */
    const char *allow;         /* for 405: the Allow header value (static), or NULL */
    const char *cache_control; /* static; NULL = "no-store" */
    http_header extra[HTTP_MAX_EXTRA_HEADERS];
    size_t n_extra;
} http_response;

/* Adds a response header (copied). Returns false when it does not fit. */
bool http_response_add_header(http_response *res, const char *name, const char *value);

/* Sets status and a JSON body. Steals the reference to `body`. */
void http_respond_json(http_response *res, int status, json_t *body);

/* Sets status and {"error": "<formatted message>"}. */
void http_respond_error(http_response *res, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets status and a body of the given content type (copied). */
void http_respond_bytes(http_response *res, int status, const char *content_type, const void *bytes, size_t len);

/* 405 with the Allow header (`allow` static, e.g. "GET, POST"). */
void http_respond_not_allowed(http_response *res, const char *allow);

/* Parses req->body as JSON. On failure responds 400 naming line/column and
 * returns NULL. New reference otherwise. */
json_t *http_parse_json_body(const http_request *req, http_response *res);

/* ---- answering later, or streaming -------------------------------------- */

typedef struct http_pending http_pending;

/* Takes over the answer to `req` (only from inside a handler; at most once
 * per request). `on_gone` may be NULL; `ctx` is borrowed. Never NULL. */
http_pending *http_respond_later(const http_request *req, void (*on_gone)(void *ctx), void *ctx);

/* Adds a response header for the answer still to come (before finish or
 * stream_begin). Returns false when it does not fit. */
bool http_pending_add_header(http_pending *p, const char *name, const char *value);

/* Sends a whole response (bytes copied) and lets go of p. When the
 * connection has nothing else waiting to go out, the response is written
 * at once (and its request completed through slot->on_written), not after
 * a writable callback: a tool call's answer leaves in the loop turn that
 * brought it, which saves a poll change and a loop iteration per call. */
void http_pending_finish(http_pending *p, int status, const char *content_type, const void *body, size_t len);

/* Sends the status and headers of a streamed response. `content_type` is
 * copied. */
void http_stream_begin(http_pending *p, int status, const char *content_type);

/* Queues bytes (copied) of a streamed response; they leave as soon as the
 * socket allows. Returns the bytes still queued (a caller can bound a slow
 * client with it), or 0 when the client is gone. */
size_t http_stream_write(http_pending *p, const void *bytes, size_t len);

/* The one Server-Sent Events framer: writes one SSE message as one chunk:
 * "event: EVENT" when `event` is not NULL, "id: ID" when `id` is not 0,
 * then the data line and a blank line. `data` must hold no newline (JSON
 * text holds none). Returns what http_stream_write returns. */
size_t http_stream_sse(http_pending *p, const char *event, uint64_t id, const char *data, size_t len);

/* An SSE comment line (": TEXT"; TEXT without newlines): a keep-alive
 * ("ping") keeps proxies from timing the stream out, and a write is how a
 * vanished peer is found (see the known limit above). */
size_t http_stream_sse_comment(http_pending *p, const char *text);

/* Ends a streamed response once everything queued is written, and lets go
 * of p. */
void http_stream_end(http_pending *p);

/* Lets go of p without answering (after on_gone, or to drop the connection:
 * a live connection is then closed). */
void http_pending_release(http_pending *p);

/* Lets go of p and closes its connection now, whatever is unsent (a client
 * that stopped reading gets no writable callback to be closed from). */
void http_pending_abort(http_pending *p);

/* Whether the client has gone away (on_gone has fired). */
bool http_pending_gone(const http_pending *p);

/* How long written bytes have waited for the socket without any of them
 * leaving (0 when nothing waits): a stream's owner drops a client stuck
 * longer than its write timeout. */
uint64_t http_stream_stalled_ms(const http_pending *p);

/* ---- for the server (server.c, conn.c) ---------------------------------- */

/* Where a connection keeps the handle of the answer it is writing: the
 * request carries it (http_request.slot), so a handler's
 * http_respond_later() attaches its handle without knowing the server. */
typedef struct http_slot {
    struct lws *wsi;
    http_pending *pending; /* NULL while no answer is under way */
    /* Set by the server once the handler that deferred the answer has
     * returned: a deferred answer written at once, outside the writable
     * callback, ends here with what http_exchange_on_writable would have
     * returned (1: complete, -1: close the connection). NULL (as while the
     * handler still runs): the answer waits for the writable callback. */
    void (*on_written)(struct http_slot *slot, int done);
} http_slot;

/* Sends a handler's immediate answer through the same path as a deferred
 * one: the response's body is taken over (res is left empty). `head_only`
 * sends the headers (with the body's length) and no body; `close_after`
 * closes the connection once the answer is out. */
void http_exchange_answer(http_slot *slot, http_response *res, bool head_only, bool close_after);

/* The connection's writable callback while slot->pending is set. Returns 1
 * when the answer is complete (slot->pending is then NULL and the handle
 * freed if its owner let go), -1 to close the connection, 0 otherwise. */
int http_exchange_on_writable(http_slot *slot);

/* The connection is closing: fires on_gone if the owner still holds the
 * handle, frees it if not, and clears the slot. */
void http_exchange_on_closed(http_slot *slot);

/* Refuses a WebSocket upgrade (before any 101) with `status` and a JSON
 * {"error": why} body in one write, and logs it. The caller then returns
 * nonzero from the lws callback, which closes the connection. */
void http_refuse_upgrade(struct lws *wsi, unsigned status, const char *why);

#endif
