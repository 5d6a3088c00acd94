/* calls.h - the tools/call requests of /mcp in flight, and the POSTs that
 * wait for their answers.
 *
 * Each tools/call is a `call` remapped onto its upstream: the client's id
 * stays here, the upstream request gets the mcp_client's own id. A call
 * record exists exactly while the upstream request is pending, and the
 * mcp_client fails every pending request before it goes away, so a live
 * call's client pointer is always valid (that is what makes cancelling
 * safe).
 *
 * A POST's messages are answered through one `batch`: mcp_batch_begin(),
 * then one mcp_batch_* call per message, then mcp_batch_end(), which answers
 * at once when nothing waits, or later: as JSON once every answer is in
 * (a single request whose client takes JSON: Content-Length, keep-alive),
 * or as Server-Sent Events, one event per answer as it comes (a batch, a
 * client that takes only a stream, or a wait longer than a ping interval). Lifetime: a batch is owned by the count of
 * answers it still owes, in which the dispatcher holds a share from begin to end, so a message that ends an earlier
 * call of the same batch (a cancel) can never free the batch under its dispatcher. */
#ifndef MCPPROXY_MCP_CALLS_H
#define MCPPROXY_MCP_CALLS_H

#include "app/app.h"
#include "http/exchange.h"
#include "mcp/call_text.h"
#include "mcp/catalog.h"

#include <jansson.h>
#include <stdbool.h>

/* JSON-RPC error codes of /mcp. -32000..-32099 are ours to define. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_BAD_SESSION (-32000)      /* HTTP-level refusals, as the SDKs use */
#define RPC_UPSTREAM_TIMEOUT (-32001) /* = MCP_ERR_TIMEOUT */
#define RPC_UPSTREAM_CLOSED (-32002)  /* = MCP_ERR_CLOSED */
#define RPC_SERVER_UNAVAILABLE (-32003)
#define RPC_REQUEST_CANCELLED (-32800)

typedef struct mcp_calls mcp_calls;
typedef struct mcp_batch mcp_batch;

/* The app is borrowed; its ticker pings answers being streamed. */
mcp_calls *mcp_calls_create(app *a);

/* How a call's session is named in its tool_called event: `fn` answers the
 * client name of a session id (borrowed for the call), or NULL. The calls
 * do not know the session table; the endpoint that owns it tells them. */
typedef const char *(*mcp_client_name_fn)(const char *session_id, void *ctx);
void mcp_calls_set_client_names(mcp_calls *calls, mcp_client_name_fn fn, void *ctx);

/* Answers every call in flight with an error ("mcpproxy is shutting down")
 * and cancels it upstream. Idempotent. */
void mcp_calls_close(mcp_calls *calls);

/* Frees the table, after close. NULL is ignored. */
void mcp_calls_destroy(mcp_calls *calls);

/* A POST's answer: `is_array` answers with an array; `accepts_json` and
 * `accepts_sse` are what the client's Accept admits. A batch that waits
 * streams when the client takes a stream; a single request waits for a
 * JSON answer when the client takes JSON, which becomes a stream only
 * after waiting one ping interval (when the client takes one). */
mcp_batch *mcp_batch_begin(mcp_calls *calls, bool is_array, bool accepts_json, bool accepts_sse);

/* An answer given at once (stolen). */
void mcp_batch_answer_now(mcp_batch *b, json_t *answer);

/* tools/call: an answer at once (an error) goes into the batch; otherwise
 * the call is now in flight - here, or on the cluster node that runs the
 * tool's server (the entry's node; cluster/rpc.h), which then publishes
 * tool_called and keeps the activity row. `cat` is borrowed for the call only; `params`
 * (borrowed, the request's own) gets the upstream's tool name in place of
 * the offered one when the call is forwarded. */
void mcp_batch_call_tool(mcp_batch *b, const mcp_catalog *cat, const char *session_id, json_t *id, json_t *params);

/* A plain tools/call (call_text.h), alone in its POST, from a client that
 * takes JSON: forwarded with its arguments' bytes, no tree built, and
 * answered through a batch of its own (now, or later through `req`). false,
 * with nothing done, when the general path must take the body instead: the
 * tool is not on offer or its server is not Ready (it refuses with the
 * usual errors). All borrowed.
 * Two paths start a tools/call (this and mcp_batch_call_tool): a rule that
 * decides whether or how a call is made (what is on offer, quarantine,
 * limits, what is recorded) must hold in both, or send the call to the
 * general path by declining here. */
bool mcp_calls_call_text(mcp_calls *calls, const mcp_catalog *cat, const char *session_id, const mcp_call_text *ct,
                         bool accepts_sse, const http_request *req, http_response *res);

/* Any other request forwarded to `server`'s `client` (borrowed; a Ready
 * server's) as it is: `method` (a static string), `params` (borrowed, NULL
 * for none). Its answer, result or error, goes into the batch as the
 * upstream gave it, under the client's `id`; it can be cancelled like a
 * tools/call and publishes no event. An answer at once (an error) when the
 * server cannot be written to. `done` (may be NULL) is called exactly once
 * with `done_ctx` as the request ends: ok when the upstream answered with a
 * result; not ok for an error, a timeout, a cancel, a client gone, a
 * shutdown or a failed write. */
struct mcp_client;
typedef void (*mcp_forward_done_fn)(bool ok, void *ctx);
void mcp_batch_forward(mcp_batch *b, const char *server, struct mcp_client *client, const char *session_id, json_t *id,
                       const char *method, json_t *params, mcp_forward_done_fn done, void *done_ctx);

/* The same request (prompts/get or resources/read; `method` static) for a
 * server cluster node `node` runs: sent there (cluster/rpc.h), which
 * forwards it to its server; its answer comes into the batch as that
 * node's would, under the client's `id`. Cancelled like a tools/call.
 * All borrowed. */
void mcp_batch_forward_remote(mcp_batch *b, const char *node, const char *server, const char *session_id, json_t *id,
                              const char *method, json_t *params);

/* notifications/cancelled from a session: the call it names (in any batch
 * of that session) ends without an answer, and stops upstream too. */
void mcp_calls_cancel(mcp_calls *calls, const char *session_id, json_t *params);

/* A notification from upstream `server` (all borrowed): a
 * notifications/progress for a call in flight goes to the client that made
 * the call, with the client's own progress token, in that call's answer
 * (which becomes a stream if it was waiting as JSON and the client takes
 * a stream) - or, for a call another cluster node sent here, back to that
 * node, which passes it on the same way. Others are ignored. */
void mcp_calls_notify(mcp_calls *calls, const char *server, const char *method, json_t *params);

/* A batch with no HTTP request behind it (a call another cluster node sent
 * here): its one answer, as JSON-RPC text, goes to fn once it is in ("",
 * 0 when the call was cancelled); the text is borrowed for the call. Fill
 * it with mcp_batch_call_tool, then let go of it with
 * mcp_batch_end_detached. */
typedef void (*mcp_batch_reply_fn)(const char *text, size_t len, void *ctx);
/* `progress` (may be NULL) gets each notifications/progress of its call
 * (JSON-RPC text, with the token the call came with; borrowed for the
 * call), before the answer. */
mcp_batch *mcp_batch_begin_detached(mcp_calls *calls, mcp_batch_reply_fn fn, mcp_batch_reply_fn progress, void *ctx);
void mcp_batch_end_detached(mcp_batch *b);

/* Every message is dispatched: answers now (`res`: 200 with the answers, or
 * 202 when there are none) or later (through `req`), and lets go of b. */
void mcp_batch_end(mcp_batch *b, const http_request *req, http_response *res);

#endif
