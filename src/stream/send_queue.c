/* send_queue.c - bounded FIFO of event references with drop-oldest. */
#include "stream/send_queue.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* Idle clients should cost little: storage starts small and doubles up to
 * the budget only when a client actually falls behind. */
#define SEND_QUEUE_INITIAL_ALLOC 8

void send_queue_init(send_queue *q, uint32_t budget)
{
    *q = (send_queue){.budget = budget ? budget : 1};
}

void send_queue_limit_bytes(send_queue *q, size_t budget_bytes)
{
    q->budget_bytes = budget_bytes;
}

void send_queue_free(send_queue *q)
{
    event_msg *msg;
    while ((msg = send_queue_pop(q)))
        event_msg_unref(msg);
    free(q->items);
    q->items = NULL;
    q->alloc = 0;
}

static void grow(send_queue *q)
{
    uint32_t alloc = q->alloc ? q->alloc * 2 : SEND_QUEUE_INITIAL_ALLOC;
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

void send_queue_note_drop(send_queue *q, uint64_t seq)
{
    if (q->unreported.count == 0)
        q->unreported.first_seq = seq;
    q->unreported.last_seq = seq;
    q->unreported.count++;
    q->dropped_total++;
}

static bool over_budget(const send_queue *q, const event_msg *msg)
{
    return q->len == q->budget || (q->budget_bytes && q->len && q->bytes + msg->json_len > q->budget_bytes);
}

event_msg *send_queue_push(send_queue *q, event_msg *msg)
{
    event_msg *first = NULL;
    while (over_budget(q, msg)) {
        event_msg *dropped = send_queue_pop(q);
        send_queue_note_drop(q, dropped->seq);
        if (first)
            event_msg_unref(dropped);
        else
            first = dropped;
    }
    if (q->len == q->alloc)
        grow(q);
    q->items[(q->head + q->len) % q->alloc] = event_msg_ref(msg);
    q->len++;
    q->bytes += msg->json_len;
    return first;
}

event_msg *send_queue_pop(send_queue *q)
{
    if (q->len == 0)
        return NULL;
    event_msg *msg = q->items[q->head];
    q->head = (q->head + 1) % q->alloc;
    q->len--;
    q->bytes -= msg->json_len;
    return msg;
}

event_msg *send_queue_peek(const send_queue *q)
{
    return q->len ? q->items[q->head] : NULL;
}

bool send_queue_take_drops(send_queue *q, send_drops *out)
{
    if (q->unreported.count == 0)
        return false;
    *out = q->unreported;
    q->unreported = (send_drops){0};
    return true;
}
