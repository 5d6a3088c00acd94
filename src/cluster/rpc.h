/* rpc.h - requests from one cluster node to another over core NATS: the
 * transport of /mcp's calls to a server another node runs.
 *
 *   caller                                         owner
 *   rpc_call ── mcpproxy.call.<owner> ───────────▶ rpc_request_fn
 *            ◀── mcpproxy.reply.<caller>.<run>.<id> ── rpc_reply
 *   rpc_cancel ── mcpproxy.cancel.<owner> ───────▶ rpc_cancel_fn
 *   rpc_progress_fn ◀── the same reply subject ─── rpc_progress
 *                       (header Mcpproxy-Progress: 1, before the answer)
 *
 * A request carries its caller's node and id in the headers
 * Mcpproxy-From and Mcpproxy-Id; its body and its answer are the layer
 * above's bytes. Nothing blocks the loop: a request is a publish with a
 * reply subject (natsConnection_PublishMsg), the answers come through one
 * subscription on this node's reply subjects (nats.c's thread copies them
 * into an inbox, the loop hands them on), and each request has a timer.
 * No subscriber on the owner's subject (the node is gone) is said at once
 * by the NATS server ("no responders"). */
#ifndef MCPPROXY_CLUSTER_RPC_H
#define MCPPROXY_CLUSTER_RPC_H

#include "app/app.h"
#include "cluster/cluster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rpc rpc;

/* Subscribes on the cluster's connection (both borrowed; they outlive it). */
rpc *rpc_create(app *a, cluster *c);

/* ---- the owner's side ---- */

/* A request for this node: `reply` names where its answer goes (for
 * rpc_reply), `from` and `id` the caller's node and request id (for a later
 * cancel). All borrowed for the call. */
typedef void (*rpc_request_fn)(const char *reply, const char *from, uint64_t id, const char *body, size_t len,
                               void *ctx);
/* The caller gave up on request `id` (its client cancelled or went away). */
typedef void (*rpc_cancel_fn)(const char *from, uint64_t id, void *ctx);

/* Serves requests to this node from now on (one server). */
void rpc_serve(rpc *r, rpc_request_fn on_request, rpc_cancel_fn on_cancel, void *ctx);

/* Answers a request (body copied). A caller that is gone never reads it. */
void rpc_reply(rpc *r, const char *reply, const char *body, size_t len);

/* Something the caller hears before the answer (a call's progress; body
 * copied), on the same subject as the answer and so before it. */
void rpc_progress(rpc *r, const char *reply, const char *body, size_t len);

/* ---- the caller's side ---- */

/* The answer to rpc_call: `body` (borrowed for the call), or NULL with
 * `error` saying why there is none (no such node, timeout, NATS down). */
typedef void (*rpc_answer_fn)(const char *body, size_t len, const char *error, void *ctx);

/* What the owner sent with rpc_progress (borrowed for the call). */
typedef void (*rpc_progress_fn)(const char *body, size_t len, void *ctx);

/* Sends `body` (copied) to `node`; `fn` runs exactly once, on a later loop
 * turn, unless rpc_cancel comes first: with the answer, or with an error
 * when none came within `timeout_ms` or the node has no responder.
 * `progress` (may be NULL) runs for each rpc_progress of the owner that
 * comes before the answer. Returns the request's id, or 0 (fn never
 * called) with `err` saying why the request could not be sent. */
uint64_t rpc_call(rpc *r, const char *node, const char *body, size_t len, uint32_t timeout_ms, rpc_answer_fn fn,
                  rpc_progress_fn progress, void *ctx, char *err, size_t err_len);

/* Gives up on a request still waiting: no answer callback after, and the
 * owner is told. */
void rpc_cancel(rpc *r, uint64_t id);

/* `node` stopped answering (the registry found it unreachable): its
 * waiting requests are answered with that error now rather than at their
 * timeouts. `r` is the rpc (a registry_node_down_fn). */
void rpc_node_down(const char *node, void *r);

/* Answers every waiting request with an error and stops serving; before
 * cluster_close. */
void rpc_close(rpc *r);

/* After rpc_close and the loop's last run, before cluster_destroy. NULL is
 * fine. */
void rpc_destroy(rpc *r);

#endif
