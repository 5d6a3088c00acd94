/* test_bus.c - publish/subscribe/filter/unsubscribe, the history ring, epoch.
 *
 * Subscribers here record what they are handed; the assertions are about
 * what the bus promises in bus.h: seqs from 1, synchronous delivery to exactly
 * the matching subscribers, a ring of the last `history` events, and that
 * unsubscribing frees everything (checked by ASan's leak checker in the
 * sanitizer build). */
#include "core/bus.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A subscriber that remembers every seq it was handed and keeps a reference
 * to the last message, as a real sink (WebSocket queue) would. */
typedef struct recorder {
    uint64_t seqs[256];
    event_type types[256];
    size_t n;
    event_msg *kept;
    bus *b;
    bus_sub *self;      /* for the self-unsubscribe test */
    bool unsub_on_call; /* unsubscribe itself from inside deliver */
} recorder;

static void record(event_msg *msg, void *ctx)
{
    recorder *r = ctx;
    if (r->n < 256) {
        r->seqs[r->n] = msg->seq;
        r->types[r->n] = msg->type;
    }
    r->n++;
    if (r->kept)
        event_msg_unref(r->kept);
    r->kept = event_msg_ref(msg);
    if (r->unsub_on_call && r->self) {
        bus_sub *s = r->self;
        r->self = NULL;
        bus_unsubscribe(r->b, s);
    }
}

static void recorder_done(recorder *r)
{
    event_msg_unref(r->kept);
    r->kept = NULL;
}

static uint64_t pub(bus *b, event_type type, const char *server)
{
    event_fields f = {.type = type, .server_name = server};
    return bus_publish(b, &f);
}

static bool is_timestamp(const char *s)
{
    /* 2026-11-28T01:02:03.456789Z */
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (strlen(s) != sizeof pattern - 1)
        return false;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == 'd') {
            if (!isdigit((unsigned char)s[i]))
                return false;
        } else if (s[i] != pattern[i]) {
            return false;
        }
    }
    return true;
}

static void test_empty_bus(void **state)
{
    (void)state;
    bus *b = bus_create(8);
    assert_non_null(b);
    assert_int_equal(bus_head_seq(b), 0);
    assert_int_equal(bus_oldest_seq(b), 1); /* head + 1 when empty */
    assert_null(bus_history_get(b, 0));
    assert_null(bus_history_get(b, 1));
    bus_stats st = bus_get_stats(b);
    assert_int_equal(st.published, 0);
    assert_int_equal(st.subscribers, 0);
    bus_destroy(b);
}

static void test_epoch(void **state)
{
    (void)state;
    bus *a = bus_create(4);
    bus *b = bus_create(4);
    const char *ea = bus_epoch(a);
    assert_non_null(ea);
    assert_int_equal(strlen(ea), 16);
    for (size_t i = 0; i < 16; i++)
        assert_true(isdigit((unsigned char)ea[i]) || (ea[i] >= 'a' && ea[i] <= 'f'));
    /* Random per bus: two in a row differ (1 in 2^64 chance of a false failure). */
    assert_string_not_equal(ea, bus_epoch(b));
    /* Stable for the life of the bus. */
    char copy[17];
    memcpy(copy, ea, 17);
    pub(a, EVENT_TOOL_CALLED, NULL);
    assert_string_equal(bus_epoch(a), copy);
    bus_destroy(a);
    bus_destroy(b);
}

static void test_publish_assigns_seq_and_timestamp(void **state)
{
    (void)state;
    bus *b = bus_create(16);
    char prev_ts[64] = "";
    for (uint64_t i = 1; i <= 10; i++) {
        assert_int_equal(pub(b, EVENT_TOOL_CALLED, "s"), i);
        assert_int_equal(bus_head_seq(b), i);
        event_msg *m = bus_history_get(b, i);
        assert_non_null(m);
        assert_int_equal(m->seq, i);
        json_error_t jerr;
        json_t *root = json_loadb((const char *)m->json, m->json_len, 0, &jerr);
        assert_non_null(root);
        assert_int_equal(json_integer_value(json_object_get(root, "seq")), i);
        const char *t = json_string_value(json_object_get(root, "timestamp"));
        assert_non_null(t);
        if (!is_timestamp(t))
            fail_msg("bad timestamp %s", t);
        /* Same-width fixed format: text order is time order; never goes back. */
        assert_true(strcmp(prev_ts, t) <= 0);
        snprintf(prev_ts, sizeof prev_ts, "%s", t);
        json_decref(root);
    }
    assert_int_equal(bus_oldest_seq(b), 1);
    assert_int_equal(bus_get_stats(b).published, 10);
    bus_destroy(b);
}

static void test_publish_borrows_fields(void **state)
{
    (void)state;
    bus *b = bus_create(4);
    char name[16] = "alpha";
    json_t *data = json_pack("{s:i}", "tool_count", 17);
    event_fields f = {.type = EVENT_SERVER_STATE_CHANGED,
                      .server_name = name,
                      .old_state = "Connecting",
                      .new_state = "Ready",
                      .data = data};
    assert_int_equal(bus_publish(b, &f), 1);
    /* The caller still owns data and the name buffer. */
    assert_int_equal(data->refcount, 1);
    json_decref(data);
    strcpy(name, "XXXXX");
    event_msg *m = bus_history_get(b, 1);
    assert_string_equal(m->server_name, "alpha");
    assert_non_null(strstr((const char *)m->json, "\"tool_count\":17"));
    bus_destroy(b);
}

static void test_subscribe_all(void **state)
{
    (void)state;
    bus *b = bus_create(16);
    recorder r1 = {0}, r2 = {0};
    bus_filter all = {.types = EVENT_MASK_ALL, .server_name = NULL};
    bus_sub *s1 = bus_subscribe(b, &all, record, &r1);
    bus_sub *s2 = bus_subscribe(b, &all, record, &r2);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_int_equal(bus_get_stats(b).subscribers, 2);

    for (int t = 0; t < EVENT_TYPE_COUNT; t++)
        pub(b, (event_type)t, t % 2 ? "x" : NULL);

    /* Delivery is synchronous: all there right after publish returns. */
    assert_int_equal(r1.n, EVENT_TYPE_COUNT);
    assert_int_equal(r2.n, EVENT_TYPE_COUNT);
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        assert_int_equal(r1.seqs[t], (uint64_t)t + 1);
        assert_int_equal(r1.types[t], t);
        assert_int_equal(r2.seqs[t], (uint64_t)t + 1);
    }
    /* Both were handed the same shared message (serialized once). */
    assert_ptr_equal(r1.kept, r2.kept);

    bus_unsubscribe(b, s1);
    assert_int_equal(bus_get_stats(b).subscribers, 1);
    pub(b, EVENT_TOOL_CALLED, NULL);
    assert_int_equal(r1.n, EVENT_TYPE_COUNT);
    assert_int_equal(r2.n, EVENT_TYPE_COUNT + 1);
    bus_unsubscribe(b, s2);
    assert_int_equal(bus_get_stats(b).subscribers, 0);
    bus_unsubscribe(b, NULL);
    recorder_done(&r1);
    recorder_done(&r2);
    bus_destroy(b);
}

static void test_filter_types(void **state)
{
    (void)state;
    bus *b = bus_create(32);
    recorder r = {0};
    bus_filter f = {.types = (1u << EVENT_TOOL_CALLED) | (1u << EVENT_CONNECTION_LOST)};
    bus_sub *s = bus_subscribe(b, &f, record, &r);
    for (int t = 0; t < EVENT_TYPE_COUNT; t++)
        pub(b, (event_type)t, "srv");
    assert_int_equal(r.n, 2);
    assert_int_equal(r.types[0], EVENT_TOOL_CALLED);
    assert_int_equal(r.seqs[0], EVENT_TOOL_CALLED + 1);
    assert_int_equal(r.types[1], EVENT_CONNECTION_LOST);
    bus_unsubscribe(b, s);
    recorder_done(&r);
    bus_destroy(b);
}

static void test_filter_alias(void **state)
{
    (void)state;
    bus *b = bus_create(32);
    recorder canon = {0}, legacy = {0};
    bus_filter fc = {.types = event_type_filter_mask(EVENT_SERVER_STATE_CHANGED)};
    bus_filter fl = {.types = event_type_filter_mask(EVENT_STATE_CHANGE)};
    bus_sub *sc = bus_subscribe(b, &fc, record, &canon);
    bus_sub *sl = bus_subscribe(b, &fl, record, &legacy);
    pub(b, EVENT_SERVER_STATE_CHANGED, "a"); /* 1 */
    pub(b, EVENT_STATE_CHANGE, "a");         /* 2 */
    pub(b, EVENT_CONFIG_CHANGE, "a");        /* 3 */
    assert_int_equal(canon.n, 2);
    assert_int_equal(canon.seqs[0], 1);
    assert_int_equal(canon.seqs[1], 2);
    assert_int_equal(legacy.n, 1);
    assert_int_equal(legacy.seqs[0], 2);
    bus_unsubscribe(b, sc);
    bus_unsubscribe(b, sl);
    recorder_done(&canon);
    recorder_done(&legacy);
    bus_destroy(b);
}

static void test_filter_server(void **state)
{
    (void)state;
    bus *b = bus_create(32);
    recorder r = {0};
    char name[16] = "github";
    bus_filter f = {.types = EVENT_MASK_ALL, .server_name = name};
    bus_sub *s = bus_subscribe(b, &f, record, &r);
    /* The filter's name was copied: changing our buffer changes nothing. */
    strcpy(name, "gitlab");
    pub(b, EVENT_SERVER_STATE_CHANGED, "github"); /* 1 yes */
    pub(b, EVENT_SERVER_STATE_CHANGED, "gitlab"); /* 2 no */
    pub(b, EVENT_APP_STATE_CHANGED, NULL);        /* 3 no: not about a server */
    pub(b, EVENT_TOOLS_UPDATED, "githubx");       /* 4 no: exact match only */
    pub(b, EVENT_TOOLS_UPDATED, "git");           /* 5 no */
    pub(b, EVENT_TOOL_CALLED, "github");          /* 6 yes */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seqs[0], 1);
    assert_int_equal(r.seqs[1], 6);
    bus_unsubscribe(b, s);
    recorder_done(&r);
    bus_destroy(b);
}

static void test_filter_types_and_server(void **state)
{
    (void)state;
    bus *b = bus_create(32);
    recorder r = {0};
    bus_filter f = {.types = 1u << EVENT_TOOL_CALLED, .server_name = "a"};
    bus_sub *s = bus_subscribe(b, &f, record, &r);
    pub(b, EVENT_TOOL_CALLED, "b");   /* 1 */
    pub(b, EVENT_TOOLS_UPDATED, "a"); /* 2 */
    pub(b, EVENT_TOOL_CALLED, "a");   /* 3 */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 3);
    bus_unsubscribe(b, s);
    recorder_done(&r);
    bus_destroy(b);
}

static void test_filter_match_direct(void **state)
{
    (void)state;
    bus *b = bus_create(4);
    pub(b, EVENT_STATE_CHANGE, "a");
    event_msg *m = bus_history_get(b, 1);
    bus_filter all = {.types = EVENT_MASK_ALL};
    bus_filter canon_a = {.types = event_type_filter_mask(EVENT_SERVER_STATE_CHANGED), .server_name = "a"};
    bus_filter canon_b = {.types = event_type_filter_mask(EVENT_SERVER_STATE_CHANGED), .server_name = "b"};
    bus_filter none = {.types = 0};
    bus_filter other = {.types = 1u << EVENT_TOOL_CALLED};
    assert_true(bus_filter_match(&all, m));
    assert_true(bus_filter_match(&canon_a, m));
    assert_false(bus_filter_match(&canon_b, m));
    assert_false(bus_filter_match(&none, m));
    assert_false(bus_filter_match(&other, m));
    bus_destroy(b);
}

static void test_unsubscribe_self_in_deliver(void **state)
{
    (void)state;
    bus *b = bus_create(8);
    recorder once = {0}, always = {0}, after = {0};
    bus_filter all = {.types = EVENT_MASK_ALL};
    /* Subscribed before and after the self-unsubscriber, so a broken
     * iteration (skip or use-after-free of the next node) shows up. */
    bus_sub *sa = bus_subscribe(b, &all, record, &always);
    once.b = b;
    once.unsub_on_call = true;
    once.self = bus_subscribe(b, &all, record, &once);
    bus_sub *sc = bus_subscribe(b, &all, record, &after);
    pub(b, EVENT_TOOL_CALLED, NULL);
    pub(b, EVENT_TOOL_CALLED, NULL);
    assert_int_equal(once.n, 1);
    assert_null(once.self);
    assert_int_equal(always.n, 2);
    assert_int_equal(after.n, 2);
    assert_int_equal(bus_get_stats(b).subscribers, 2);
    bus_unsubscribe(b, sa);
    bus_unsubscribe(b, sc);
    recorder_done(&once);
    recorder_done(&always);
    recorder_done(&after);
    bus_destroy(b);
}

static void test_ring_wraparound(void **state)
{
    (void)state;
    bus *b = bus_create(4);
    for (int i = 0; i < 10; i++)
        pub(b, EVENT_TOOL_CALLED, "s");
    assert_int_equal(bus_head_seq(b), 10);
    assert_int_equal(bus_oldest_seq(b), 7);
    assert_null(bus_history_get(b, 0));
    for (uint64_t s = 1; s <= 6; s++)
        assert_null(bus_history_get(b, s));
    for (uint64_t s = 7; s <= 10; s++) {
        event_msg *m = bus_history_get(b, s);
        assert_non_null(m);
        assert_int_equal(m->seq, s);
        char needle[32];
        snprintf(needle, sizeof needle, "\"seq\":%llu", (unsigned long long)s);
        assert_non_null(strstr((const char *)m->json, needle));
    }
    assert_null(bus_history_get(b, 11));
    assert_null(bus_history_get(b, UINT64_MAX));
    /* Many more laps keep the window exact. */
    for (int i = 0; i < 1001; i++)
        pub(b, EVENT_TOOLS_UPDATED, NULL);
    assert_int_equal(bus_head_seq(b), 1011);
    assert_int_equal(bus_oldest_seq(b), 1008);
    assert_non_null(bus_history_get(b, 1008));
    assert_null(bus_history_get(b, 1007));
    assert_int_equal(bus_history_get(b, 1011)->seq, 1011);
    bus_destroy(b);
}

static void test_ring_of_one(void **state)
{
    (void)state;
    bus *b = bus_create(1);
    assert_non_null(b);
    pub(b, EVENT_TOOL_CALLED, NULL);
    pub(b, EVENT_TOOL_CALLED, NULL);
    assert_int_equal(bus_oldest_seq(b), 2);
    assert_null(bus_history_get(b, 1));
    assert_int_equal(bus_history_get(b, 2)->seq, 2);
    bus_destroy(b);
}

static void test_ring_partially_filled(void **state)
{
    (void)state;
    bus *b = bus_create(100);
    for (int i = 0; i < 5; i++)
        pub(b, EVENT_TOOL_CALLED, NULL);
    assert_int_equal(bus_oldest_seq(b), 1);
    assert_int_equal(bus_head_seq(b), 5);
    assert_null(bus_history_get(b, 6));
    bus_destroy(b);
}

static void test_kept_reference_outlives_ring(void **state)
{
    (void)state;
    /* A slow sink keeps a reference to an event the ring has dropped; the
     * event must stay valid until the sink lets go (ASan checks both ways). */
    bus *b = bus_create(2);
    recorder r = {0};
    bus_filter all = {.types = EVENT_MASK_ALL};
    bus_sub *s = bus_subscribe(b, &all, record, &r);
    pub(b, EVENT_TOOL_CALLED, "s");
    event_msg *held = event_msg_ref(r.kept);
    for (int i = 0; i < 5; i++)
        pub(b, EVENT_TOOL_CALLED, "s");
    assert_null(bus_history_get(b, 1));
    assert_int_equal(held->seq, 1);
    json_t *root = json_loadb((const char *)held->json, held->json_len, 0, NULL);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "seq")), 1);
    json_decref(root);
    bus_unsubscribe(b, s);
    recorder_done(&r);
    bus_destroy(b); /* the held event survives the bus too */
    assert_int_equal(held->refs, 1);
    event_msg_unref(held);
}

static void count_only(event_msg *msg, void *ctx)
{
    (void)msg;
    (*(size_t *)ctx)++;
}

static void test_subscribe_churn_leaves_nothing(void **state)
{
    (void)state;
    /* 100,000 connect/disconnect cycles with events flowing in between: no
     * subscriber left, and (under ASan) no byte left. */
    bus *b = bus_create(64);
    size_t delivered = 0;
    bus_filter f = {.types = EVENT_MASK_ALL, .server_name = "srv"};
    bus_filter all = {.types = EVENT_MASK_ALL};
    bus_sub *steady = bus_subscribe(b, &all, count_only, &delivered);
    for (int i = 0; i < 100000; i++) {
        bus_sub *s = bus_subscribe(b, (i & 1) ? &f : &all, count_only, &delivered);
        assert_non_null(s);
        if (i % 1000 == 0)
            pub(b, EVENT_TOOL_CALLED, "srv");
        bus_unsubscribe(b, s);
    }
    assert_int_equal(bus_get_stats(b).subscribers, 1);
    /* Each of the 100 events reached the steady one and the one transient
     * subscriber alive at that moment (i even: all-filter). */
    assert_int_equal(delivered, 200);
    bus_unsubscribe(b, steady);
    assert_int_equal(bus_get_stats(b).subscribers, 0);
    bus_destroy(b);
}

static void test_many_subscribers_in_order(void **state)
{
    (void)state;
    /* Unsubscribing from the middle of a large set keeps everyone else. */
    enum { N = 1000 };
    bus *b = bus_create(8);
    static size_t counts[N];
    memset(counts, 0, sizeof counts);
    bus_sub *subs[N];
    bus_filter all = {.types = EVENT_MASK_ALL};
    for (int i = 0; i < N; i++)
        subs[i] = bus_subscribe(b, &all, count_only, &counts[i]);
    for (int i = 0; i < N; i += 3) {
        bus_unsubscribe(b, subs[i]);
        subs[i] = NULL;
    }
    pub(b, EVENT_TOOL_CALLED, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(counts[i], (i % 3 == 0) ? 0 : 1);
    for (int i = 0; i < N; i++)
        bus_unsubscribe(b, subs[i]);
    assert_int_equal(bus_get_stats(b).subscribers, 0);
    bus_destroy(b);
}

/* ---- a relay (the cluster's stream) ------------------------------------- */

typedef struct relay_log {
    int taken;
    bool accept;
    char node[16];
} relay_log;

static bool relay_to_log(const event_fields *f, const char *ts, void *ctx)
{
    relay_log *l = ctx;
    assert_non_null(ts);
    strcpy(l->node, f->node ? f->node : "");
    if (l->accept)
        l->taken++;
    return l->accept;
}

static event_msg *streamed(uint64_t seq, event_type type, const char *node)
{
    event_fields f = {.type = type, .node = node};
    return event_msg_create(seq, &f, "2026-12-01T00:00:00.000000Z");
}

/* Taken by the relay: not numbered, not delivered, not kept; what the
 * stream delivers is, with the stream's seq and node. */
static void test_relay_takes_and_stream_delivers(void **state)
{
    (void)state;
    bus *b = bus_create(8);
    recorder r = {0};
    bus_sub *s = bus_subscribe(b, &(bus_filter){.types = EVENT_MASK_ALL}, record, &r);
    relay_log l = {.accept = true};
    bus_set_relay(b, "node-a", relay_to_log, &l);
    assert_true(bus_relayed(b));
    assert_int_equal(pub(b, EVENT_TOOL_CALLED, "x"), 0);
    assert_int_equal(l.taken, 1);
    assert_string_equal(l.node, "node-a");
    assert_int_equal(r.n, 0);
    assert_int_equal(bus_head_seq(b), 0);

    bus_deliver(b, streamed(5, EVENT_TOOL_CALLED, "node-b"));
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 5);
    assert_int_equal(bus_head_seq(b), 5);
    assert_int_equal(bus_oldest_seq(b), 5);
    assert_non_null(strstr((const char *)bus_history_get(b, 5)->json, "\"node\":\"node-b\""));
    /* Not again, and never backwards. */
    bus_deliver(b, streamed(5, EVENT_TOOL_CALLED, "node-b"));
    bus_deliver(b, streamed(3, EVENT_TOOL_CALLED, "node-b"));
    assert_int_equal(r.n, 1);
    /* A skipped seq is a gap in the ring. */
    bus_deliver(b, streamed(7, EVENT_TOOL_CALLED, "node-a"));
    assert_null(bus_history_get(b, 6));
    assert_non_null(bus_history_get(b, 7));
    assert_int_equal(bus_oldest_seq(b), 5);
    /* Past the ring's capacity the old ones leave, gaps included. */
    bus_deliver(b, streamed(14, EVENT_TOOL_CALLED, "node-a"));
    assert_int_equal(bus_oldest_seq(b), 7);
    assert_null(bus_history_get(b, 5));
    bus_deliver(b, streamed(100, EVENT_TOOL_CALLED, "node-a"));
    assert_int_equal(bus_oldest_seq(b), 100);
    assert_int_equal(bus_head_seq(b), 100);
    assert_int_equal(r.n, 4);

    bus_set_epoch(b, "00000000000000ab");
    assert_string_equal(bus_epoch(b), "00000000000000ab");
    recorder_done(&r);
    bus_unsubscribe(b, s);
    bus_destroy(b);
}

/* Held by the relay (the cluster is down): delivered now as a preview,
 * marked pending, with the newest stream seq and the node, and not kept. */
static void test_relay_refused_is_live_only(void **state)
{
    (void)state;
    bus *b = bus_create(8);
    recorder r = {0};
    bus_sub *s = bus_subscribe(b, &(bus_filter){.types = EVENT_MASK_ALL}, record, &r);
    relay_log l = {.accept = false};
    bus_set_relay(b, "node-a", relay_to_log, &l);
    bus_deliver(b, streamed(3, EVENT_TOOL_CALLED, "node-b"));
    assert_int_equal(pub(b, EVENT_CLUSTER_STATE_CHANGED, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seqs[1], 3);
    assert_int_equal(r.types[1], EVENT_CLUSTER_STATE_CHANGED);
    assert_non_null(strstr((const char *)r.kept->json, "\"node\":\"node-a\",\"pending\":true"));
    assert_int_equal(bus_head_seq(b), 3);
    assert_int_equal(bus_history_get(b, 3)->type, EVENT_TOOL_CALLED);
    /* Without the relay, numbering is local again. */
    bus_set_relay(b, NULL, NULL, NULL);
    assert_false(bus_relayed(b));
    assert_int_equal(pub(b, EVENT_TOOL_CALLED, NULL), 4);
    assert_null(strstr((const char *)r.kept->json, "\"node\""));
    assert_null(strstr((const char *)r.kept->json, "pending"));
    recorder_done(&r);
    bus_unsubscribe(b, s);
    bus_destroy(b);
}

/* A loss is remembered at the highest seq told, never lowered. */
static void test_loss_marker(void **state)
{
    (void)state;
    bus *b = bus_create(8);
    assert_int_equal(bus_loss_seq(b), 0);
    bus_note_loss(b, 7);
    bus_note_loss(b, 4);
    assert_int_equal(bus_loss_seq(b), 7);
    bus_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_bus),
        cmocka_unit_test(test_epoch),
        cmocka_unit_test(test_publish_assigns_seq_and_timestamp),
        cmocka_unit_test(test_publish_borrows_fields),
        cmocka_unit_test(test_subscribe_all),
        cmocka_unit_test(test_filter_types),
        cmocka_unit_test(test_filter_alias),
        cmocka_unit_test(test_filter_server),
        cmocka_unit_test(test_filter_types_and_server),
        cmocka_unit_test(test_filter_match_direct),
        cmocka_unit_test(test_unsubscribe_self_in_deliver),
        cmocka_unit_test(test_ring_wraparound),
        cmocka_unit_test(test_ring_of_one),
        cmocka_unit_test(test_ring_partially_filled),
        cmocka_unit_test(test_kept_reference_outlives_ring),
        cmocka_unit_test(test_subscribe_churn_leaves_nothing),
        cmocka_unit_test(test_many_subscribers_in_order),
        cmocka_unit_test(test_relay_takes_and_stream_delivers),
        cmocka_unit_test(test_relay_refused_is_live_only),
        cmocka_unit_test(test_loss_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
