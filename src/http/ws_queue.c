/* ws_queue.c - bounded FIFO of event references with drop-oldest. */
#include "http/ws_queue.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* Idle clients should cost little: storage starts small and doubles up to
 * the budget only when a client actually falls behind. */
#define WS_QUEUE_INITIAL_ALLOC 8

void ws_queue_init(ws_queue *q, uint32_t budget)
{
    *q = (ws_queue){.budget = budget ? budget : 1};
}

void ws_queue_free(ws_queue *q)
{
    event_msg *msg;
    while ((msg = ws_queue_pop(q)))
        event_msg_unref(msg);
    free(q->items);
    q->items = NULL;
    q->alloc = 0;
}

static void grow(ws_queue *q)
{
    uint32_t alloc = q->alloc ? q->alloc * 2 : WS_QUEUE_INITIAL_ALLOC;
    if (alloc > q->budget)
        alloc = q->budget;
    event_msg **items = xmalloc(alloc * sizeof *items);
    /* Unwrap the circle so the oldest entry lands at index 0. */
    for (uint32_t i = 0; i < q->len; i++)
        items[i] = q->items[(q->head + i) % q->alloc];
    free(q->items);
    q->items = items;
    q->alloc = alloc;
    q->head = 0;
}

void ws_queue_note_drop(ws_queue *q, uint64_t seq)
{
    if (q->unreported.count == 0)
        q->unreported.first_seq = seq;
    q->unreported.last_seq = seq;
    q->unreported.count++;
    q->dropped_total++;
}

event_msg *ws_queue_push(ws_queue *q, event_msg *msg)
{
    event_msg *dropped = NULL;
    if (q->len == q->budget) {
        dropped = ws_queue_pop(q);
        ws_queue_note_drop(q, dropped->seq);
    } else if (q->len == q->alloc) {
        grow(q);
    }
    q->items[(q->head + q->len) % q->alloc] = event_msg_ref(msg);
    q->len++;
    return dropped;
}

event_msg *ws_queue_pop(ws_queue *q)
{
    if (q->len == 0)
        return NULL;
    event_msg *msg = q->items[q->head];
    q->head = (q->head + 1) % q->alloc;
    q->len--;
    return msg;
}

event_msg *ws_queue_peek(const ws_queue *q)
{
    return q->len ? q->items[q->head] : NULL;
}

bool ws_queue_take_drops(ws_queue *q, ws_drops *out)
{
    if (q->unreported.count == 0)
        return false;
    *out = q->unreported;
    q->unreported = (ws_drops){0};
    return true;
}
