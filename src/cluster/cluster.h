/* cluster.h - this node as one of a cluster sharing one event history in a
 * NATS JetStream stream (config "cluster"; absent = a single node and none
 * of this runs).
 *
 * Every node publishes its own events to mcpproxy.events.<node>.<type> in
 * one stream, and reads the whole stream back with an ordered consumer:
 * the bus relays its publishes here (bus_set_relay) and stores and fans out
 * only what the stream delivers, with the stream's sequence as seq and the
 * stream's creation time as epoch. So every node's clients see the same
 * events, in the same order, with the same seq, and can resume on any node.
 *
 *   cluster_create ── connect (in the background) ──▶ connecting
 *   connecting ── stream found or made, consumer subscribed ──▶ connected
 *   connected ── NATS lost ──▶ disconnected ── NATS back ──▶ connected
 *
 * Each change publishes cluster_state_changed and shows in app->cluster_state
 * (/healthz says "degraded" unless connected). This node's events wait in
 * an outbox (outbox.h, cluster.buffer of them) until the stream has
 * acknowledged them: while not connected they stay there, in order, and
 * this node's clients get each as a preview ("pending", bus.h); once
 * connected again they are published in order and come back numbered to
 * every node. The "connected" event says how many overflowed meanwhile
 * (data.events_lost); a resume from before it then gets resync_required. */
#ifndef MCPPROXY_CLUSTER_CLUSTER_H
#define MCPPROXY_CLUSTER_CLUSTER_H

#include "app/app.h"

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cluster cluster;

/* Starts connecting to a->cfg.cluster.nats_url (one or several servers) in
 * the background, then finds or makes the stream and subscribes; a server
 * that is away is retried every 0.5 s for as long as the node runs. Sets
 * the bus's relay (and later its epoch). Returns NULL with a message saying
 * what to fix only for what waiting cannot mend: an unreadable credentials
 * file, options nats.c refuses. `a` is borrowed and must outlive the
 * cluster. */
cluster *cluster_create(app *a, char *err, size_t err_len);

/* For the parts built on this node's connection (registry.c, rpc.c): the
 * connection and its JetStream context, borrowed, valid until
 * cluster_destroy - but NULL until the background connect has made them:
 * cluster_when_ready runs fn (on the loop) once they exist, at once when
 * they do (never when nats.c refused the options for good, nor after
 * cluster_close). At most 4 callers. Used on the loop (publishes only
 * buffer) or in work threads (calls that wait for a reply). */
void cluster_when_ready(cluster *c, void (*fn)(void *ctx), void *ctx);
natsConnection *cluster_conn(cluster *c);
jsCtx *cluster_js(cluster *c);

/* Stops relaying and reading, and closes the NATS connection; its handles
 * leave the loop on its next turns. Call before the loop's last run. */
void cluster_close(cluster *c);

/* Frees the cluster after cluster_close() and the loop's last run, and waits
 * for nats.c's threads to end. NULL is fine. */
void cluster_destroy(cluster *c);

#endif
