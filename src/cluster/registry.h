/* registry.h - every node's servers, known on every node: a NATS KV bucket
 * of server statuses, this node's heartbeat, and who stopped answering.
 *
 * Each node writes one key per server it runs, <node>.<server>, in the
 * bucket <stream>_servers: the server's entry as GET /api/servers/status
 * gives it on its node (plus "node" and its "tools" definitions), written
 * at most every 100 ms while something changes, and deleted when the
 * server goes (and for all of them when the node stops gracefully). Every
 * node reads the bucket back (an ordered consumer on its subjects, the
 * newest value of each key first) into a table of the other nodes'
 * servers, and applies the other nodes' server_state_changed events from
 * the stream to it, so the table moves with the events a client sees.
 *
 * Liveness: every node publishes a small core-NATS message on
 * mcpproxy.heartbeat.<node> every cluster.heartbeat_ms. A node that owns
 * servers in the table and has not been heard for 3 heartbeats is
 * unreachable: every other node publishes, for each of its servers, a
 * server_state_changed to "Unreachable" (last_error "node unreachable")
 * into the stream with one Nats-Msg-Id shared by all of them, so
 * JetStream's duplicate window keeps one and every node sees it once.
 *
 * Names: a server name is held cluster-wide by the node that serves it
 * (registry_claim; registry_name_owner says who serves one). A configured
 * server starts only once its node holds its name (registry_start_check),
 * and only servers whose names this node holds are written to the bucket.
 *
 * Threads as in cluster.c: nats.c's threads only copy into a locked inbox
 * and wake the loop; blocking JetStream calls run in libuv work threads;
 * every table read and write is on the loop. */
#ifndef MCPPROXY_CLUSTER_REGISTRY_H
#define MCPPROXY_CLUSTER_REGISTRY_H

#include "app/app.h"
#include "cluster/cluster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct registry registry;

/* This node's servers, asked for when they may have changed: a new JSON
 * array (new reference) of objects, each with "name", "state" and "status",
 * "tools" (the server's tool definitions, an array), "prompts",
 * "resources", "resource_templates" (arrays, as the server listed them)
 * and whatever else the layer above shows of a server (the registry keeps
 * them as they are). */
typedef json_t *(*registry_source_fn)(void *ctx);

/* The other nodes' servers changed in a way /mcp's tool list may see (a
 * server's tools, state, or the server itself came or went). */
typedef void (*registry_changed_fn)(void *ctx);

/* Starts the registry on the cluster's connection (`c` and `a` borrowed;
 * both outlive it): the bucket is found or made and read in the
 * background, heartbeats start. */
registry *registry_create(app *a, cluster *c);

/* Where this node's servers come from (the layer above knows them).
 * Until set, nothing of this node is written. */
void registry_set_source(registry *r, registry_source_fn fn, void *ctx);

/* This node's servers changed in a way no event says (a server listed its
 * prompts or resources again): they are written anew. */
void registry_touch(registry *r);

/* Who hears about the other nodes' tool changes (one listener; NULL: none). */
void registry_set_listener(registry *r, registry_changed_fn fn, void *ctx);

/* A node was found unreachable (one listener; NULL: none). */
typedef void (*registry_node_down_fn)(const char *node, void *ctx);
void registry_set_node_down(registry *r, registry_node_down_fn fn, void *ctx);

/* This node's name. */
const char *registry_node(const registry *r);

/* The other nodes' servers, as their entries with "node" (without their
 * tools, prompts and resources), in node then name order: a new JSON
 * array. */
json_t *registry_remote_status(registry *r);

/* One server of another node: its entry (with "node", without "tools"), a
 * new reference, or NULL when no other node runs it. */
json_t *registry_remote_find(registry *r, const char *name);

/* The tool definitions of another node's server (borrowed, as its owner
 * wrote them), or NULL when no other node runs it. */
json_t *registry_remote_tools(registry *r, const char *name);

/* The other nodes' servers (name -> entry object with "node", "state",
 * "status", "tools", "prompts", "resources", "resource_templates"...):
 * borrowed, for walking in order. */
json_t *registry_remote_all(registry *r);

/* The live node other than this one that serves `name`, or NULL (borrowed
 * until the next loop turn). An unreachable node does not hold names. */
const char *registry_name_owner(registry *r, const char *name);

/* Claims `name` for this node in the names bucket (<stream>_names),
 * atomically: a KV Create, which fails when the key holds a value; a name
 * held by a node not heard for 3 heartbeats is taken over (an Update from
 * the revision read, which fails when another node was quicker). fn runs
 * once, later on the loop (or at once when the registry is not ready):
 * ok, or the node that holds it (`holder`), or an `error` saying why there
 * is no answer; strings borrowed for the call. This node's servers that
 * do not start (disabled) claim their names in the background, the others
 * before they start (registry_start_check); a name is released when its
 * server goes and at a graceful stop. */
typedef void (*registry_claim_fn)(bool ok, const char *holder, const char *error, void *ctx);
void registry_claim(registry *r, const char *name, registry_claim_fn fn, void *ctx);

/* Whether this node may start its configured server `name` (the start
 * gate): it may once it holds the name. Until then a claim runs (the
 * first call starts it; retried at every heartbeat while there is no
 * answer - the bucket not found yet, NATS unreachable - and while the
 * holder it found has not been heard since this node started), and
 * NAME_CLAIMING says so, with what it waits for in `why`. NAME_TAKEN: a
 * live node holds it (`holder`); asked again, it claims again. Each
 * claim that settles for a name asked about is told to the gate
 * listener. */
typedef enum registry_name { REGISTRY_NAME_HELD, REGISTRY_NAME_CLAIMING, REGISTRY_NAME_TAKEN } registry_name;
registry_name registry_start_check(registry *r, const char *name, char *holder, size_t holder_len, char *why,
                                   size_t why_len);

/* Who hears that a name asked about with registry_start_check has an
 * answer now (one listener; NULL: none). `name` borrowed for the call. */
typedef void (*registry_gate_fn)(const char *name, void *ctx);
void registry_set_gate_listener(registry *r, registry_gate_fn fn, void *ctx);

/* Releases a name claimed with registry_claim that no server of this node
 * uses after all (an add that failed). */
void registry_release(registry *r, const char *name);

/* Graceful stop: announces this node's servers as gone
 * (server_config_changed "deleted", with reason "node stopped"), deletes
 * its keys, stops heartbeats. Call before cluster_close. */
void registry_close(registry *r);

/* Frees it, after registry_close and the loop's last run, and before
 * cluster_destroy. NULL is fine. */
void registry_destroy(registry *r);

#endif
