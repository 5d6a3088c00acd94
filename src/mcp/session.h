/* session.h - the sessions of the /mcp endpoint (Mcp-Session-Id).
 *
 * A session is created by initialize and lives until the client DELETEs it
 * or it has been idle (no request, no open GET stream) for
 * mcp.session_ttl_ms, or mcp.unused_session_ttl_ms when no request came
 * after the initialize. Each may
 * hold one GET stream (Server-Sent Events) through which the server sends
 * notifications; a keep-alive comment goes down every open stream every
 * `ping_ms`, which also finds clients that vanished without closing.
 * One job of the app's ticker serves all sessions. */
#ifndef MCPPROXY_HTTP_MCP_SESSION_H
#define MCPPROXY_HTTP_MCP_SESSION_H

#include "config/config.h"
#include "http/exchange.h"
#include "http/ticker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MCP_SESSION_ID_LEN 32

typedef struct mcp_session mcp_session;
typedef struct mcp_sessions mcp_sessions;

/* The table; `loop`, `tk` and `settings` (the app's mcp settings, read
 * when used) are borrowed. */
mcp_sessions *mcp_sessions_create(uv_loop_t *loop, ticker *tk, const mcp_settings *settings);

/* fn(id, ctx) is called as each session ends (DELETE, expiry, close), with
 * its id (borrowed for the call). One hook; NULL removes it. */
void mcp_sessions_on_end(mcp_sessions *t, void (*fn)(const char *id, void *ctx), void *ctx);

/* Ends every session (their streams end). */
void mcp_sessions_close(mcp_sessions *t);

/* Frees the table, after close and once the loop has run. NULL is fine. */
void mcp_sessions_destroy(mcp_sessions *t);

/* A new session with a fresh random id, for a client at `peer`. Owned by
 * the table. NULL, with the reason in *why, when mcp.max_sessions or
 * mcp.max_sessions_per_address is reached. */
mcp_session *mcp_session_new(mcp_sessions *t, const char *protocol_version, const char *peer, const char **why);

/* The live session with this id (and marks it active and used), or NULL.
 * Borrowed:
 * valid until the handler returns (sessions end from timers and DELETE). */
mcp_session *mcp_session_find(mcp_sessions *t, const char *id);

/* Ends a session now (DELETE): its stream, if any, ends. */
void mcp_session_end(mcp_sessions *t, mcp_session *s);

const char *mcp_session_id(const mcp_session *s);

/* Search mode (search.h), chosen at initialize; off by default. */
void mcp_session_set_search(mcp_session *s, bool on);
bool mcp_session_search(const mcp_session *s);

/* The client's name as its initialize gave it (clientInfo.name; copied, cut
 * to 63 bytes on a character boundary; NULL or invalid UTF-8: none). */
void mcp_session_set_client(mcp_session *s, const char *name);
/* The client name of the live session `id`, or NULL (no such session, or
 * it gave none). Borrowed until the session ends. */
const char *mcp_session_client(mcp_sessions *t, const char *id);
const char *mcp_session_protocol_version(const mcp_session *s);

/* Answers a GET on the session with its notification stream (200,
 * text/event-stream, kept open). Returns false, answering nothing, when the
 * session has a stream open already (the caller answers 409). */
bool mcp_session_open_stream(mcp_session *s, const http_request *req);

/* Sends one JSON-RPC message (JSON text) as an SSE "message" event down
 * every open stream. Returns the number of streams written to. */
size_t mcp_sessions_broadcast(mcp_sessions *t, const char *json, size_t len);

/* The same, only to sessions not in search mode: a search session's tool
 * list never changes, so tools/list_changed would only make it ask again. */
size_t mcp_sessions_broadcast_direct(mcp_sessions *t, const char *json, size_t len);

/* Sends one JSON-RPC message down the stream of the session `id`, if it
 * has one open (without it the message is lost: a client that wants
 * notifications keeps a GET stream). Returns false when no such session
 * lives. Does not count as activity. */
bool mcp_sessions_send(mcp_sessions *t, const char *id, const char *json, size_t len);

size_t mcp_sessions_count(const mcp_sessions *t);

#endif
