/* outbox.h - this node's events on their way into the cluster's stream,
 * in order, until the stream has acknowledged them (cluster.buffer of them
 * at most).
 *
 * Every event the node publishes enters at the back with the next id. The
 * cluster sends entries from the front in order while NATS is reachable
 * and takes an entry out once the stream acknowledged it; when the link is
 * lost every entry not acknowledged is sent again, in order, once it is
 * back (the stream drops a copy it already holds: each carries its id as
 * Nats-Msg-Id). So nothing is lost while NATS is away, as long as the
 * outbox does not overflow: then the oldest entry leaves, and if it had
 * never been sent it is counted as lost (the cluster tells everyone how
 * many when it is connected again).
 *
 * Loop only; no locks. */
#ifndef MCPPROXY_CLUSTER_OUTBOX_H
#define MCPPROXY_CLUSTER_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct outbox outbox;

typedef struct outbox_entry {
    uint64_t id;   /* 1, 2, ... in publish order */
    char *subject; /* owned */
    char *payload; /* owned, len bytes (JSON) */
    size_t len;
    bool acked; /* the stream has it (an entry behind one that is not yet acked) */
} outbox_entry;

/* An outbox holding at most `capacity` (>= 1) entries. */
outbox *outbox_create(size_t capacity);

/* Frees the outbox and what it still holds. NULL is fine. */
void outbox_destroy(outbox *o);

/* Appends an event (subject and payload stolen: xmalloc'd). When full, the
 * oldest entry leaves first; it counts as lost if it was never sent.
 * Returns the new entry's id. */
uint64_t outbox_push(outbox *o, char *subject, char *payload, size_t len);

/* The next entry to send (in id order), or NULL when every entry has been
 * sent. Marks it sent. Borrowed: valid until the outbox changes. */
outbox_entry *outbox_next_unsent(outbox *o);

/* Sending `id` failed or may have failed (publish error, ack timeout):
 * it and everything after it go again, in order. */
void outbox_resend_from(outbox *o, uint64_t id);

/* The link was lost: every entry not acknowledged goes again. */
void outbox_resend_all(outbox *o);

/* The stream acknowledged `id`: entries at the front that are acknowledged
 * leave. An id no longer held (it overflowed after being sent) is ignored. */
void outbox_ack(outbox *o, uint64_t id);

/* Entries held (sent or not) and not yet sent. */
size_t outbox_size(const outbox *o);
size_t outbox_unsent(const outbox *o);

/* Events dropped unsent because the outbox was full, since creation. */
uint64_t outbox_lost(const outbox *o);

#endif
