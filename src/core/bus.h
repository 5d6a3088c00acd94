/* bus.h - the event bus: numbers, serializes and fans out every event.
 *
 * Single-threaded by design: everything runs on the one libuv loop, so the
 * bus needs no locks. bus_publish() delivers synchronously to every matching
 * subscriber; a subscriber only queues (it must never block, and must not
 * publish, subscribe or unsubscribe other subscribers from inside its deliver
 * callback; unsubscribing itself is allowed).
 *
 * The bus keeps the last `history` events in a ring. That ring is the source
 * of resume: a client that saw seq N can ask for everything after N as long
 * as the ring still holds N+1.
 *
 * In a cluster (src/cluster) a relay is set: the bus's own events go to the
 * cluster's stream instead, which numbers them in one order for every node,
 * and come back through bus_deliver() with the stream's seq. The ring then
 * holds what the stream delivered, and the epoch is the stream's. */
#ifndef MCPPROXY_CORE_BUS_H
#define MCPPROXY_CORE_BUS_H

#include "core/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bus bus;
typedef struct bus_sub bus_sub;

/* Which events a subscriber wants. */
typedef struct bus_filter {
    event_type_mask types;   /* EVENT_MASK_ALL for every type */
    const char *server_name; /* only events about this server; NULL for all. Copied. */
} bus_filter;

/* Called once per matching event. `msg` is borrowed: take a reference with
 * event_msg_ref() to keep it past the call. */
typedef void (*bus_deliver_fn)(event_msg *msg, void *ctx);

/* Counters for /api/realtime/stats and /metrics. */
typedef struct bus_stats {
    uint64_t published;
    size_t subscribers;
} bus_stats;

/* Creates a bus whose ring keeps `history` events (>= 1). The epoch is drawn
 * at random. */
bus *bus_create(uint32_t history);

/* Bounds the ring by the JSON bytes of the events it holds, beside their
 * count: past `max_bytes` the oldest leave (the newest always stays). 0 =
 * no byte limit (the default). */
void bus_limit_bytes(bus *b, size_t max_bytes);

/* Frees the ring. All subscribers must have unsubscribed. */
void bus_destroy(bus *b);

/* Assigns the next seq, timestamps and serializes the event once, stores it in
 * the ring and hands it to every matching subscriber. Returns the seq.
 * Never blocks.
 *
 * With a relay set (bus_set_relay): the event is offered to the relay. Sent,
 * it is neither numbered nor delivered now (it comes back through
 * bus_deliver()) and 0 is returned. Held (the relay keeps it until the
 * stream is reachable), it is delivered to the subscribers now as a preview:
 * marked pending, carrying the newest seq delivered (it has no place of its
 * own in the stream's order yet), not kept in the ring; its numbered copy
 * comes back through bus_deliver() later. 0 is returned. */
uint64_t bus_publish(bus *b, const event_fields *fields);

/* Takes an event somewhere that numbers it, e.g. a JetStream stream. `fields`
 * (borrowed) already carries the node; `timestamp` is RFC 3339 UTC. Returns
 * true when the event is on its way, false when it is held until the
 * numbering side is reachable (the bus then sends a preview, above). Called
 * on the loop. */
typedef bool (*bus_relay_fn)(const event_fields *fields, const char *timestamp, void *ctx);

/* Sends this bus's own events through `relay` from now on, stamped with
 * `node` (copied). NULL relay: back to numbering them here. */
void bus_set_relay(bus *b, const char *node, bus_relay_fn relay, void *ctx);

/* Whether a relay is set (the seq of a publish is known only later). */
bool bus_relayed(const bus *b);

/* Stores and fans out an event numbered elsewhere (the stream's delivery):
 * msg->seq must be above bus_head_seq(); seqs skipped are gaps in the ring
 * (a resume over them reports them dropped). Steals msg's reference. */
void bus_deliver(bus *b, event_msg *msg);

/* Events were lost just before `seq` (a cluster node's buffer overflowed
 * while its stream was unreachable): a resume from a seq below it cannot be
 * complete (stream_cursor_plan asks for a resync). Only the highest counts. */
void bus_note_loss(bus *b, uint64_t seq);

/* The seq bus_note_loss() last raised, 0 if none. */
uint64_t bus_loss_seq(const bus *b);

/* Replaces the epoch (at most 16 characters, copied): the stream's, which
 * every node shares. */
void bus_set_epoch(bus *b, const char *epoch);

/* Starts the history over: the cluster's stream was made anew (its NATS
 * server lost it), so seqs start again from 1 under a new epoch. The ring
 * is emptied, the head goes back to 0, the loss mark is cleared, `epoch`
 * (copied) becomes the epoch, and every restart hook runs, in the order
 * added (each stream client is told to resync). */
void bus_restart(bus *b, const char *epoch);

typedef void (*bus_restart_fn)(void *ctx);

/* Adds a hook bus_restart() runs; bus_off_restart() removes it (before
 * ctx goes). */
void bus_on_restart(bus *b, bus_restart_fn fn, void *ctx);
void bus_off_restart(bus *b, bus_restart_fn fn, void *ctx);

/* Adds a subscriber. The returned handle is owned by the bus; give it back
 * with bus_unsubscribe(). */
bus_sub *bus_subscribe(bus *b, const bus_filter *filter, bus_deliver_fn deliver, void *ctx);

/* Removes and frees a subscriber. NULL is fine. */
void bus_unsubscribe(bus *b, bus_sub *sub);

/* Whether an event passes a filter (the same rule subscribers get). */
bool bus_filter_match(const bus_filter *filter, const event_msg *msg);

/* The seq of the newest event, 0 before the first publish. */
uint64_t bus_head_seq(const bus *b);

/* The seq of the oldest event still in the ring; head + 1 when empty. */
uint64_t bus_oldest_seq(const bus *b);

/* The event with this seq if the ring still holds it, else NULL. Borrowed. */
event_msg *bus_history_get(const bus *b, uint64_t seq);

/* The history's epoch: 16 lowercase hex digits, random per process start
 * (in a cluster: the stream's, set by bus_set_epoch()). */
const char *bus_epoch(const bus *b);

bus_stats bus_get_stats(const bus *b);

#endif
