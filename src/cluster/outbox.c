/* outbox.c - a ring of the node's events not yet in the stream (outbox.h).
 *
 * The entries in the ring always have consecutive ids (first_id, first_id
 * + 1, ...): they enter at the back and leave only at the front (acked, or
 * dropped on overflow), so an id finds its entry by subtraction. Those in
 * front of `send_next` have been handed to NATS; those from it on are to
 * be sent. */
#include "cluster/outbox.h"

#include "core/util.h"

#include <stdlib.h>

struct outbox {
    outbox_entry *ring;
    size_t capacity;
    size_t head;  /* the front's index in ring */
    size_t count; /* entries held */
    size_t send_next;
    uint64_t first_id; /* the front's id (next_id when empty) */
    uint64_t next_id;
    uint64_t lost;
};

outbox *outbox_create(size_t capacity)
{
    outbox *o = xcalloc(1, sizeof *o);
    o->capacity = capacity ? capacity : 1;
    o->ring = xcalloc(o->capacity, sizeof *o->ring);
    o->first_id = o->next_id = 1;
    return o;
}

static outbox_entry *at(const outbox *o, size_t i)
{
    return &o->ring[(o->head + i) % o->capacity];
}

static void pop_front(outbox *o)
{
    outbox_entry *e = at(o, 0);
    free(e->subject);
    free(e->payload);
    *e = (outbox_entry){0};
    o->head = (o->head + 1) % o->capacity;
    o->count--;
    o->first_id++;
    if (o->send_next)
        o->send_next--;
}

void outbox_destroy(outbox *o)
{
    if (!o)
        return;
    while (o->count)
        pop_front(o);
    free(o->ring);
    free(o);
}

uint64_t outbox_push(outbox *o, char *subject, char *payload, size_t len)
{
    if (o->count == o->capacity) {
        if (o->send_next == 0) /* the front was never sent: it is lost */
            o->lost++;
        pop_front(o);
    }
    outbox_entry *e = at(o, o->count);
    *e = (outbox_entry){.id = o->next_id++, .subject = subject, .payload = payload, .len = len};
    o->count++;
    return e->id;
}

outbox_entry *outbox_next_unsent(outbox *o)
{
    while (o->send_next < o->count) {
        outbox_entry *e = at(o, o->send_next++);
        if (e->acked) /* acked out of order, then the link went: the stream has it */
            continue;
        return e;
    }
    return NULL;
}

void outbox_resend_from(outbox *o, uint64_t id)
{
    if (id < o->first_id || id >= o->first_id + o->count)
        return;
    size_t i = (size_t)(id - o->first_id);
    if (i < o->send_next)
        o->send_next = i;
}

void outbox_resend_all(outbox *o)
{
    o->send_next = 0;
}

void outbox_ack(outbox *o, uint64_t id)
{
    if (id < o->first_id || id >= o->first_id + o->count)
        return;
    at(o, (size_t)(id - o->first_id))->acked = true;
    while (o->count && at(o, 0)->acked)
        pop_front(o);
}

size_t outbox_size(const outbox *o)
{
    return o->count;
}

size_t outbox_unsent(const outbox *o)
{
    return o->count - o->send_next;
}

uint64_t outbox_lost(const outbox *o)
{
    return o->lost;
}
