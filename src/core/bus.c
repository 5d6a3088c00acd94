/* bus.c - seq numbering, the history ring and synchronous fan-out.
 *
 * Subscribers live in a doubly linked list: subscribe and unsubscribe are
 * O(1), publish is O(subscribers) with one filter check each. With thousands
 * of clients filtering on different servers an index by server name would
 * make publish O(matching); not needed at the client counts we target. */
#include "core/bus.h"

#include "core/dlist.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bus_sub {
    dlist_node link; /* in bus.subs */
    event_type_mask types;
    char *server_name; /* owned; NULL = any */
    bus_deliver_fn deliver;
    void *ctx;
};

struct bus {
    event_msg **ring; /* ring[seq % capacity]; each slot holds one reference */
    uint32_t capacity;
    uint64_t head_seq; /* newest seq, 0 before the first */
    uint64_t oldest;   /* oldest seq still held (head_seq + 1 when none) */
    size_t ring_bytes; /* JSON bytes of the events held */
    size_t max_bytes;  /* ring_bytes may not exceed it (but the newest stays); 0 = no limit */
    dlist subs;
    dlist_node *delivering_next; /* lets a subscriber unsubscribe itself mid-delivery */
    uint64_t published;
    char epoch[17];
    bus_relay_fn relay; /* NULL: this bus numbers its own events */
    void *relay_ctx;
    char *node;        /* owned; stamped on events while a relay is set */
    uint64_t loss_seq; /* bus_note_loss() */
    struct restart_hook {
        bus_restart_fn fn;
        void *ctx;
    } * restart_hooks; /* bus_on_restart(); owned */
    size_t n_restart_hooks;
};

bus *bus_create(uint32_t history)
{
    bus *b = xcalloc(1, sizeof *b);
    b->capacity = history ? history : 1;
    b->ring = xcalloc(b->capacity, sizeof *b->ring);
    b->oldest = 1;
    uint64_t epoch;
    random_bytes(&epoch, sizeof epoch);
    snprintf(b->epoch, sizeof b->epoch, "%016llx", (unsigned long long)epoch);
    return b;
}

void bus_destroy(bus *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->capacity; i++)
        event_msg_unref(b->ring[i]);
    while (b->subs.head)
        bus_unsubscribe(b, DLIST_ENTRY(b->subs.head, bus_sub, link));
    free(b->ring);
    free(b->node);
    free(b->restart_hooks);
    free(b);
}

bool bus_filter_match(const bus_filter *filter, const event_msg *msg)
{
    if (!(filter->types & (1u << msg->type)))
        return false;
    if (!filter->server_name)
        return true;
    return msg->server_name && strcmp(filter->server_name, msg->server_name) == 0;
}

static bool sub_matches(const bus_sub *sub, const event_msg *msg)
{
    bus_filter filter = {.types = sub->types, .server_name = sub->server_name};
    return bus_filter_match(&filter, msg);
}

void bus_limit_bytes(bus *b, size_t max_bytes)
{
    b->max_bytes = max_bytes;
}

/* A slot may be empty: a seq the stream skipped (bus_deliver). */
static void evict_oldest(bus *b)
{
    event_msg **slot = &b->ring[b->oldest % b->capacity];
    if (*slot) {
        b->ring_bytes -= (*slot)->json_len;
        event_msg_unref(*slot);
        *slot = NULL;
    }
    b->oldest++;
}

static void fan_out(bus *b, event_msg *msg)
{
    for (dlist_node *n = b->subs.head; n; n = b->delivering_next) {
        bus_sub *sub = DLIST_ENTRY(n, bus_sub, link);
        b->delivering_next = n->next;
        if (sub_matches(sub, msg))
            sub->deliver(msg, sub->ctx);
    }
    b->delivering_next = NULL;
}

/* Stores msg (seq above the head) in the ring and fans it out; the ring
 * keeps msg's reference. */
static void store_and_fan_out(bus *b, event_msg *msg)
{
    uint64_t seq = msg->seq;
    /* Events more than `capacity` older than seq leave (one by one: a
     * jump past the whole ring empties it, then starts it at seq). */
    while (b->oldest <= b->head_seq && seq - b->oldest >= b->capacity)
        evict_oldest(b);
    if (b->oldest > b->head_seq)
        b->oldest = seq;
    b->ring[seq % b->capacity] = msg; /* the ring's reference */
    b->ring_bytes += msg->json_len;
    b->head_seq = seq;
    b->published++;
    /* The byte budget: old events go until the ring fits (the newest stays,
     * whatever its size). */
    while (b->max_bytes && b->ring_bytes > b->max_bytes && b->oldest < seq)
        evict_oldest(b);
    fan_out(b, msg);
}

uint64_t bus_publish(bus *b, const event_fields *fields)
{
    char ts[TIMESTAMP_LEN];
    timestamp_now(ts);
    if (b->relay) {
        event_fields stamped = *fields;
        stamped.node = b->node;
        if (b->relay(&stamped, ts, b->relay_ctx))
            return 0;
        /* A preview: see bus.h. */
        stamped.pending = true;
        event_msg *msg = event_msg_create(b->head_seq, &stamped, ts);
        b->published++;
        fan_out(b, msg);
        event_msg_unref(msg);
        return 0;
    }
    event_msg *msg = event_msg_create(b->head_seq + 1, fields, ts);
    store_and_fan_out(b, msg);
    return msg->seq;
}

void bus_deliver(bus *b, event_msg *msg)
{
    if (msg->seq <= b->head_seq) { /* the caller's bug: never reorder the ring */
        event_msg_unref(msg);
        return;
    }
    store_and_fan_out(b, msg);
}

void bus_set_relay(bus *b, const char *node, bus_relay_fn relay, void *ctx)
{
    free(b->node);
    b->node = relay && node ? xstrdup(node) : NULL;
    b->relay = relay;
    b->relay_ctx = ctx;
}

bool bus_relayed(const bus *b)
{
    return b->relay != NULL;
}

void bus_note_loss(bus *b, uint64_t seq)
{
    if (seq > b->loss_seq)
        b->loss_seq = seq;
}

uint64_t bus_loss_seq(const bus *b)
{
    return b->loss_seq;
}

void bus_set_epoch(bus *b, const char *epoch)
{
    snprintf(b->epoch, sizeof b->epoch, "%s", epoch);
}

void bus_restart(bus *b, const char *epoch)
{
    while (b->oldest <= b->head_seq)
        evict_oldest(b);
    b->head_seq = 0;
    b->oldest = 1;
    b->loss_seq = 0;
    bus_set_epoch(b, epoch);
    for (size_t i = 0; i < b->n_restart_hooks; i++)
        b->restart_hooks[i].fn(b->restart_hooks[i].ctx);
}

void bus_on_restart(bus *b, bus_restart_fn fn, void *ctx)
{
    b->restart_hooks = xrealloc(b->restart_hooks, (b->n_restart_hooks + 1) * sizeof *b->restart_hooks);
    b->restart_hooks[b->n_restart_hooks++] = (struct restart_hook){fn, ctx};
}

void bus_off_restart(bus *b, bus_restart_fn fn, void *ctx)
{
    for (size_t i = 0; i < b->n_restart_hooks; i++) {
        if (b->restart_hooks[i].fn == fn && b->restart_hooks[i].ctx == ctx) {
            memmove(&b->restart_hooks[i], &b->restart_hooks[i + 1],
                    (b->n_restart_hooks - i - 1) * sizeof *b->restart_hooks);
            b->n_restart_hooks--;
            return;
        }
    }
}

bus_sub *bus_subscribe(bus *b, const bus_filter *filter, bus_deliver_fn deliver, void *ctx)
{
    bus_sub *sub = xcalloc(1, sizeof *sub);
    if (filter->server_name)
        sub->server_name = xstrdup(filter->server_name);
    sub->types = filter->types;
    sub->deliver = deliver;
    sub->ctx = ctx;
    dlist_push_front(&b->subs, &sub->link);
    return sub;
}

void bus_unsubscribe(bus *b, bus_sub *sub)
{
    if (!sub)
        return;
    if (b->delivering_next == &sub->link)
        b->delivering_next = sub->link.next;
    dlist_remove(&b->subs, &sub->link);
    free(sub->server_name);
    free(sub);
}

uint64_t bus_head_seq(const bus *b)
{
    return b->head_seq;
}

uint64_t bus_oldest_seq(const bus *b)
{
    return b->oldest;
}

event_msg *bus_history_get(const bus *b, uint64_t seq)
{
    if (seq == 0 || seq > b->head_seq || seq < bus_oldest_seq(b))
        return NULL;
    return b->ring[seq % b->capacity];
}

const char *bus_epoch(const bus *b)
{
    return b->epoch;
}

bus_stats bus_get_stats(const bus *b)
{
    return (bus_stats){.published = b->published, .subscribers = b->subs.count};
}
