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
 *   cluster_create ── connect (blocking, on the loop) ──▶ connecting
 *   connecting ── stream found or made, consumer subscribed ──▶ connected
 *   connected ── NATS lost ──▶ disconnected ── NATS back ──▶ connected
 *
 * Each change publishes cluster_state_changed and shows in app->cluster_state
 * (/healthz says "degraded" unless connected). While not connected the
 * bus's relay refuses, and this node's events reach its own clients live
 * only (bus.h); nothing is buffered for the stream. */
#ifndef MCPPROXY_CLUSTER_CLUSTER_H
#define MCPPROXY_CLUSTER_CLUSTER_H

#include "app/app.h"

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cluster cluster;

/* Connects to a->cfg.cluster.nats_url (at most 2 s, on the loop), then finds
 * or makes the stream and subscribes in the background. Sets the bus's relay
 * and epoch. Returns NULL with a message saying what to fix when NATS cannot
 * be reached or the credentials file is refused. `a` is borrowed and must
 * outlive the cluster. */
cluster *cluster_create(app *a, char *err, size_t err_len);

/* For the parts built on this node's connection (registry.c): the
 * connection and its JetStream context, borrowed, valid until
 * cluster_destroy. Used on the loop (publishes only buffer) or in work
 * threads (calls that wait for a reply). */
natsConnection *cluster_conn(cluster *c);
jsCtx *cluster_js(cluster *c);

/* Stops relaying and reading, and closes the NATS connection; its handles
 * leave the loop on its next turns. Call before the loop's last run. */
void cluster_close(cluster *c);

/* Frees the cluster after cluster_close() and the loop's last run, and waits
 * for nats.c's threads to end. NULL is fine. */
void cluster_destroy(cluster *c);

#endif
