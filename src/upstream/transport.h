/* transport.h - how mcp_client reaches one upstream server, whatever carries
 * the messages: a child's stdio (stdio_transport), Streamable HTTP
 * (http_transport) or the older HTTP+SSE (sse_transport).
 *
 * A transport moves whole JSON-RPC messages both ways and reports three
 * things: a message received, diagnostic text (a child's stderr, or what an
 * HTTP exchange said that a human may want to read), and its end. It knows
 * nothing of MCP beyond what its wire format needs (an HTTP transport reads
 * the initialize answer for the session id, for example).
 *
 * Every transport starts from a constructor of its own and is then used
 * only through these functions. The end is reported once through on_closed,
 * after every handle and connection it holds is closed; the owner may
 * destroy the transport from inside that callback, and only after it. */
#ifndef MCPPROXY_UPSTREAM_TRANSPORT_H
#define MCPPROXY_UPSTREAM_TRANSPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct transport transport;

/* How a transport ended. */
typedef struct transport_end {
    /* A child process: its exit code (when term_signal is 0) or signal.
     * Remote transports report -1 and 0. */
    int64_t exit_status;
    int term_signal;
    /* Why it ended without being asked to, in plain words ("connection
     * refused by 127.0.0.1:9999"), or NULL (a process exit says it all, or
     * the end was asked for). Borrowed for the call. */
    const char *reason;
    /* A remote server no longer knows our session (HTTP 404 on a request
     * that carried its id): a new session is the remedy, not a retry
     * after a failure. */
    bool session_lost;
    /* The server answered 401 with a Bearer challenge: the WWW-Authenticate
     * value (borrowed), else NULL. The remedy is a login (OAuth), not a
     * retry. */
    const char *auth_challenge;
} transport_end;

typedef struct transport_callbacks {
    /* One parsed JSON value of `len` bytes on the wire; `msg` is borrowed. */
    void (*on_message)(json_t *msg, size_t len, void *ctx);
    /* Optional (NULL: unused): a message's bytes, offered before they are
     * parsed; true when the owner has used them (no parse, no on_message
     * follows). Unchecked bytes from outside: the owner checks them. Only
     * stdio_transport offers them (one line is one message there). */
    bool (*on_text)(const char *text, size_t len, void *ctx);
    /* A message that could not be used (too long, not JSON); for logs. */
    void (*on_bad_message)(const char *why, const char *text, size_t len, void *ctx);
    /* Text for the server's log (a child's stderr bytes; a remote
     * transport's notes, one line each, ending in '\n'). Borrowed. */
    void (*on_diagnostic)(const char *bytes, size_t len, void *ctx);
    /* The end; exactly once. See the top of this file. */
    void (*on_closed)(const transport_end *end, void *ctx);
} transport_callbacks;

typedef struct transport_vtable {
    int (*send)(transport *t, const json_t *msg);
    /* Optional (NULL: transport_send_text parses the text and sends the
     * tree): one message already written as JSON text. */
    int (*send_text)(transport *t, const char *text, size_t len);
    void (*stop)(transport *t, uint32_t grace_ms);
    void (*destroy)(transport *t);
    int (*pid)(const transport *t);
} transport_vtable;

/* The first member of every transport's own struct. */
struct transport {
    const transport_vtable *vt;
};

/* Queues one message (borrowed). 0; UV_ENOBUFS when what waits for the
 * server would pass its bound (nothing is queued); another negative libuv
 * error when the transport is stopping or gone. */
static inline int transport_send(transport *t, const json_t *msg)
{
    return t->vt->send(t, msg);
}

/* The same for a message already written: text[0..len) is one JSON value
 * jansson accepts (the caller made it so; core/json_scan checks bytes from
 * outside), on one line (no raw newline: whitespace ones made spaces). */
static inline int transport_send_text(transport *t, const char *text, size_t len)
{
    if (t->vt->send_text)
        return t->vt->send_text(t, text, len);
    json_t *msg = json_loadb(text, len, 0, NULL);
    if (!msg)
        return UV_EINVAL;
    int rc = t->vt->send(t, msg);
    json_decref(msg);
    return rc;
}

/* Ends the transport: a child gets stdin EOF, SIGTERM and SIGKILL after
 * grace_ms; a remote session is closed and its connections cut. on_closed
 * follows. Calling it again may only make the end sooner. */
static inline void transport_stop(transport *t, uint32_t grace_ms)
{
    t->vt->stop(t, grace_ms);
}

/* Frees the transport; only after on_closed (or from inside it). NULL is
 * accepted. */
static inline void transport_destroy(transport *t)
{
    if (t)
        t->vt->destroy(t);
}

/* The child's pid, or 0 for a transport without a process. */
static inline int transport_pid(const transport *t)
{
    return t->vt->pid(t);
}

#endif
