/* send_queue.h - one client's pending events: a bounded FIFO of event
 * references that drops its oldest entry when the budget is exceeded.
 *
 * This is the whole of the "slow client" policy: the publisher never waits
 * and never fails; a client that falls `budget` messages behind loses its
 * oldest pending events, and the queue remembers which so the client can be
 * told. Pure data structure: no lws, no loop, unit-tested on its own. */
#ifndef MCPPROXY_HTTP_SEND_QUEUE_H
#define MCPPROXY_HTTP_SEND_QUEUE_H

#include "core/event.h"

#include <stdbool.h>
#include <stdint.h>

/* Drops not yet reported to the client. */
typedef struct send_drops {
    uint64_t count;
    uint64_t first_seq;
    uint64_t last_seq;
} send_drops;

typedef struct send_queue {
    event_msg **items; /* circular; grows on demand up to `budget` slots */
    uint32_t alloc;
    uint32_t head; /* index of the oldest entry */
    uint32_t len;
    uint32_t budget;
    size_t bytes;        /* JSON bytes of the queued events */
    size_t budget_bytes; /* 0 = no byte budget */
    send_drops unreported;
    uint64_t dropped_total;
} send_queue;

void send_queue_init(send_queue *q, uint32_t budget);

/* Adds a byte budget beside the count: a push that would hold more than
 * `budget_bytes` of JSON drops the oldest entries first (the new one is
 * always kept). */
void send_queue_limit_bytes(send_queue *q, size_t budget_bytes);

/* Unrefs everything still queued and frees the storage. */
void send_queue_free(send_queue *q);

/* Appends a new reference to msg. When the queue already holds `budget`
 * entries, or msg would take it past its byte budget, the oldest are dropped
 * first: each is recorded in the unreported drops, and the first of them is
 * returned so the caller can log it. The returned reference now belongs to
 * the caller, who must event_msg_unref() it. NULL when nothing dropped. */
event_msg *send_queue_push(send_queue *q, event_msg *msg);

/* Removes the oldest entry and hands its reference to the caller, or NULL. */
event_msg *send_queue_pop(send_queue *q);

/* The oldest entry without removing it (borrowed), or NULL. */
event_msg *send_queue_peek(const send_queue *q);

/* If drops are unreported, copies them to out, clears them and returns true. */
bool send_queue_take_drops(send_queue *q, send_drops *out);

/* Records drops that happened outside the queue (e.g. replay from a ring that
 * moved on), so one notice reports both. */
void send_queue_note_drop(send_queue *q, uint64_t seq);

#endif
