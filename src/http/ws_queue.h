/* ws_queue.h - one client's pending events: a bounded FIFO of event
 * references that drops its oldest entry when the budget is exceeded.
 *
 * This is the whole of the "slow client" policy: the publisher never waits
 * and never fails; a client that falls `budget` messages behind loses its
 * oldest pending events, and the queue remembers which so the client can be
 * told. Pure data structure: no lws, no loop, unit-tested on its own. */
#ifndef MCPPROXY_HTTP_WS_QUEUE_H
#define MCPPROXY_HTTP_WS_QUEUE_H

#include "core/event.h"

#include <stdbool.h>
#include <stdint.h>

/* Drops not yet reported to the client. */
typedef struct ws_drops {
    uint64_t count;
    uint64_t first_seq;
    uint64_t last_seq;
} ws_drops;

typedef struct ws_queue {
    event_msg **items; /* circular; grows on demand up to `budget` slots */
    uint32_t alloc;
    uint32_t head;     /* index of the oldest entry */
    uint32_t len;
    uint32_t budget;
    ws_drops unreported;
    uint64_t dropped_total;
} ws_queue;

void ws_queue_init(ws_queue *q, uint32_t budget);

/* Unrefs everything still queued and frees the storage. */
void ws_queue_free(ws_queue *q);

/* Appends a new reference to msg. When the queue already holds `budget`
 * entries the oldest is dropped first: it is recorded in the unreported drops
 * and returned so the caller can log it. The returned reference now belongs
 * to the caller, who must event_msg_unref() it. NULL when nothing dropped. */
event_msg *ws_queue_push(ws_queue *q, event_msg *msg);

/* Removes the oldest entry and hands its reference to the caller, or NULL. */
event_msg *ws_queue_pop(ws_queue *q);

/* The oldest entry without removing it (borrowed), or NULL. */
event_msg *ws_queue_peek(const ws_queue *q);

/* If drops are unreported, copies them to out, clears them and returns true. */
bool ws_queue_take_drops(ws_queue *q, ws_drops *out);

/* Records drops that happened outside the queue (e.g. replay from a ring that
 * moved on), so one notice reports both. */
void ws_queue_note_drop(ws_queue *q, uint64_t seq);

#endif
