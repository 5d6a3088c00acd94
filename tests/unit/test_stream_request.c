/* test_stream_request.c - what a client of /ws/events, /ws/servers and
 * /events asks for, and what it is owed before live events
 * (src/stream/stream.h): stream_request_parse() for types, server, since,
 * epoch and batch, successes and the 400s; stream_cursor_plan() against a
 * real bus (src/core/bus.h): resume inside the ring, at the head, ahead of
 * it, under another epoch, from a point the ring no longer covers; and the
 * replay and control messages that follow from the plan. Against the real
 * mcp_stream library. */
#include "stream/stream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BIT(t) ((event_type_mask)1u << (t))

/* Parses `query`, failing the test if it is refused. */
static stream_request parse_ok(const char *query, bool server_required)
{
    stream_request r;
    char msg[160] = "";
    const char *why = stream_request_parse(&r, query, server_required, msg, sizeof msg);
    if (why)
        fail_msg("\"%s\" refused: %s", query, why);
    return r;
}

/* Parses `query`, failing the test unless it is refused with a reason that
 * contains `needle`. */
static void parse_refused(const char *query, bool server_required, const char *needle)
{
    stream_request r;
    char msg[160] = "";
    const char *why = stream_request_parse(&r, query, server_required, msg, sizeof msg);
    if (!why)
        fail_msg("\"%s\" was accepted", query);
    if (!strstr(why, needle))
        fail_msg("\"%s\" refused with \"%s\", which does not name %s", query, why, needle);
}

/* ---- stream_request_parse ------------------------------------------------ */

static void test_parse_defaults(void **state)
{
    (void)state;
    stream_request r = parse_ok("", false);
    assert_int_equal(r.types, EVENT_MASK_ALL);
    assert_string_equal(r.server, "");
    assert_false(r.batch);
    assert_false(r.resume);
    assert_string_equal(r.epoch, "");
    /* Parameters it does not know are ignored (apikey is the access rules'). */
    r = parse_ok("apikey=secret&foo=bar", false);
    assert_int_equal(r.types, EVENT_MASK_ALL);
    assert_false(r.resume);
}

static void test_parse_server(void **state)
{
    (void)state;
    stream_request r = parse_ok("server=alpha", true);
    assert_string_equal(r.server, "alpha");
    r = parse_ok("server=my%2Eserver", false); /* decoded */
    assert_string_equal(r.server, "my.server");
    /* /ws/servers needs one; /ws/events does not. */
    parse_refused("", true, "server=NAME");
    parse_refused("server=", true, "server=NAME");
    parse_refused("other=x", true, "server=NAME");
    r = parse_ok("server=", false);
    assert_string_equal(r.server, "");
    /* 64 characters fit; 65 do not. */
    char q[128];
    strcpy(q, "server=");
    memset(q + 7, 's', 64);
    q[7 + 64] = '\0';
    r = parse_ok(q, true);
    assert_int_equal(strlen(r.server), 64);
    strcat(q, "s");
    parse_refused(q, false, "\"server\"");
    parse_refused("server=%zz", false, "\"server\"");
}

static void test_parse_types(void **state)
{
    (void)state;
    stream_request r = parse_ok("types=tool_called", false);
    assert_int_equal(r.types, BIT(EVENT_TOOL_CALLED));
    r = parse_ok("types=tool_called,tools_updated", false);
    assert_int_equal(r.types, BIT(EVENT_TOOL_CALLED) | BIT(EVENT_TOOLS_UPDATED));
    /* A canonical name selects its legacy alias; a legacy name only itself. */
    r = parse_ok("types=server_state_changed", false);
    assert_int_equal(r.types, BIT(EVENT_SERVER_STATE_CHANGED) | BIT(EVENT_STATE_CHANGE));
    r = parse_ok("types=state_change", false);
    assert_int_equal(r.types, BIT(EVENT_STATE_CHANGE));
    r = parse_ok("types=server_config_changed%2Capp_state_changed", false); /* an encoded comma */
    assert_int_equal(r.types,
                     BIT(EVENT_SERVER_CONFIG_CHANGED) | BIT(EVENT_CONFIG_CHANGE) | BIT(EVENT_APP_STATE_CHANGED));

    parse_refused("types=bogus_type", false, "bogus_type");
    parse_refused("types=tool_called,nope", false, "nope");
    parse_refused("types=", false, "empty");
    parse_refused("types=tool_called,,tools_updated", false, "empty");
    parse_refused("types=%zz", false, "\"types\"");
}

static void test_parse_batch(void **state)
{
    (void)state;
    assert_true(parse_ok("batch=1", false).batch);
    assert_true(parse_ok("batch=true", false).batch);
    assert_false(parse_ok("batch=0", false).batch);
    assert_false(parse_ok("batch=false", false).batch);
    parse_refused("batch=maybe", false, "batch");
    parse_refused("batch=2", false, "batch");
    parse_refused("batch=TRUE", false, "batch");
    parse_refused("batch", false, "batch");
    parse_refused("batch=%", false, "batch");
}

static void test_parse_since_and_epoch(void **state)
{
    (void)state;
    stream_request r = parse_ok("since=0", false);
    assert_true(r.resume);
    assert_int_equal(r.since, 0);
    r = parse_ok("since=120&epoch=9f2c4e0a6b1d3f57", false);
    assert_true(r.resume);
    assert_int_equal(r.since, 120);
    assert_string_equal(r.epoch, "9f2c4e0a6b1d3f57");
    r = parse_ok("since=9999999999999999999", false); /* 19 digits: the most it takes */
    assert_true(r.since == 9999999999999999999ull);
    /* An epoch alone is no resume. */
    r = parse_ok("epoch=9f2c4e0a6b1d3f57", false);
    assert_false(r.resume);
    assert_string_equal(r.epoch, "9f2c4e0a6b1d3f57");

    static const char *const bad_since[] = {
        "since=abc", "since=-5",  "since=+5",   "since=",
        "since=1.5", "since=1e3", "since=%201", "since=18446744073709551615", /* 20 digits */
        "since=%zz",
    };
    for (size_t i = 0; i < sizeof bad_since / sizeof bad_since[0]; i++)
        parse_refused(bad_since[i], false, "\"since\"");

    /* 32 characters of epoch fit; 33 do not. */
    char q[64];
    strcpy(q, "epoch=");
    memset(q + 6, 'e', 32);
    q[6 + 32] = '\0';
    assert_int_equal(strlen(parse_ok(q, false).epoch), 32);
    strcat(q, "e");
    parse_refused(q, false, "\"epoch\"");
    parse_refused("since=1&epoch=%g0", false, "\"epoch\"");
}

static void test_parse_everything_at_once(void **state)
{
    (void)state;
    stream_request r = parse_ok("types=tool_called&server=alpha&since=7&epoch=0123456789abcdef&batch=1&apikey=k", true);
    assert_int_equal(r.types, BIT(EVENT_TOOL_CALLED));
    assert_string_equal(r.server, "alpha");
    assert_true(r.resume);
    assert_int_equal(r.since, 7);
    assert_string_equal(r.epoch, "0123456789abcdef");
    assert_true(r.batch);
    bus_filter f = stream_request_filter(&r);
    assert_int_equal(f.types, BIT(EVENT_TOOL_CALLED));
    assert_string_equal(f.server_name, "alpha");
    r = parse_ok("", false);
    f = stream_request_filter(&r);
    assert_null(f.server_name); /* "" means every server */
}

/* ---- stream_cursor_plan against a real bus -------------------------------- */

enum { HISTORY = 8 };

static uint64_t publish(bus *b, event_type type, const char *server)
{
    event_fields f = {.type = type, .server_name = server};
    uint64_t seq = bus_publish(b, &f);
    assert_true(seq > 0);
    return seq;
}

/* A bus with `n` tool_called events, alternately about "a" and "b". */
static bus *bus_with(uint64_t n)
{
    bus *b = bus_create(HISTORY);
    assert_non_null(b);
    for (uint64_t i = 0; i < n; i++)
        publish(b, EVENT_TOOL_CALLED, i % 2 ? "b" : "a");
    return b;
}

/* A resume request for since (and epoch, when not NULL). */
static stream_request resume(uint64_t since, const char *epoch)
{
    stream_request r = {.types = EVENT_MASK_ALL, .resume = true, .since = since};
    if (epoch)
        strcpy(r.epoch, epoch);
    return r;
}

/* Replays everything the cursor still owes; returns how many and checks
 * that they are consecutive from `first` (none filtered, none dropped). */
static uint64_t replay_all(stream_cursor *cur, bus *b, uint64_t first)
{
    bus_filter all = {.types = EVENT_MASK_ALL};
    send_queue q;
    send_queue_init(&q, 16);
    uint64_t n = 0;
    event_msg *m;
    while ((m = stream_cursor_next(cur, b, &all, &q))) {
        assert_int_equal(m->seq, first + n);
        event_msg_unref(m);
        n++;
    }
    send_drops d;
    assert_false(send_queue_take_drops(&q, &d));
    send_queue_free(&q);
    return n;
}

static void test_plan_without_resume(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_request r = parse_ok("", false);
    stream_cursor cur;
    stream_cursor_plan(&cur, &r, b);
    assert_int_equal(cur.hello_seq, 5);
    assert_null(cur.resync_reason);
    assert_false(stream_cursor_replaying(&cur));
    assert_int_equal(replay_all(&cur, b, 6), 0);
    bus_destroy(b);
}

static void test_plan_resume_inside_the_ring(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_cursor cur;
    stream_request r = resume(2, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_int_equal(cur.hello_seq, 5);
    assert_null(cur.resync_reason);
    assert_true(stream_cursor_replaying(&cur));
    assert_int_equal(replay_all(&cur, b, 3), 3); /* 3, 4, 5 */
    assert_false(stream_cursor_replaying(&cur));

    /* since=0 on a ring that still holds seq 1: everything. */
    r = resume(0, NULL);
    stream_cursor_plan(&cur, &r, b);
    assert_null(cur.resync_reason);
    assert_int_equal(replay_all(&cur, b, 1), 5);
    bus_destroy(b);
}

static void test_plan_resume_at_the_head(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_cursor cur;
    stream_request r = resume(5, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_null(cur.resync_reason); /* nothing missed: no resync, no replay */
    assert_false(stream_cursor_replaying(&cur));
    assert_int_equal(cur.hello_seq, 5);
    /* The same on an empty bus resumed from 0. */
    bus *empty = bus_with(0);
    r = resume(0, bus_epoch(empty));
    stream_cursor_plan(&cur, &r, empty);
    assert_null(cur.resync_reason);
    assert_false(stream_cursor_replaying(&cur));
    assert_int_equal(cur.hello_seq, 0);
    bus_destroy(empty);
    bus_destroy(b);
}

static void test_plan_resume_ahead_of_the_head(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_cursor cur;
    stream_request r = resume(6, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    assert_non_null(strstr(cur.resync_reason, "ahead"));
    assert_false(stream_cursor_replaying(&cur));
    assert_int_equal(cur.hello_seq, 5);
    r = resume(UINT64_MAX, NULL);
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    assert_false(stream_cursor_replaying(&cur));
    bus_destroy(b);
}

static void test_plan_resume_under_another_epoch(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_cursor cur;
    /* A point the ring holds, but from another run. */
    const char *other = strcmp(bus_epoch(b), "0000000000000000") ? "0000000000000000" : "1111111111111111";
    stream_request r = resume(2, other);
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    assert_non_null(strstr(cur.resync_reason, "epoch"));
    assert_false(stream_cursor_replaying(&cur));
    /* Without an epoch, only the ring is asked. */
    r = resume(2, NULL);
    stream_cursor_plan(&cur, &r, b);
    assert_null(cur.resync_reason);
    assert_int_equal(replay_all(&cur, b, 3), 3);
    bus_destroy(b);
}

/* A cluster node lost events before seq 4 (its buffer overflowed): a
 * resume from before 4 cannot be complete; from 4 on it can. */
static void test_plan_resume_across_a_loss(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    bus_note_loss(b, 4);
    stream_cursor cur;
    stream_request r = resume(3, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    assert_non_null(strstr(cur.resync_reason, "cluster.buffer"));
    assert_false(stream_cursor_replaying(&cur));
    r = resume(4, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_null(cur.resync_reason);
    assert_int_equal(replay_all(&cur, b, 5), 1);
    bus_destroy(b);
}

static void test_plan_resume_from_a_point_the_ring_lost(void **state)
{
    (void)state;
    bus *b = bus_with(20); /* the ring holds 13..20 */
    assert_int_equal(bus_oldest_seq(b), 13);
    stream_cursor cur;
    /* since=12: 13 is the oldest held, so everything after it replays. */
    stream_request r = resume(12, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_null(cur.resync_reason);
    assert_int_equal(replay_all(&cur, b, 13), HISTORY);
    /* since=11: 12 is gone. */
    r = resume(11, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    assert_non_null(strstr(cur.resync_reason, "history"));
    assert_false(stream_cursor_replaying(&cur));
    assert_int_equal(cur.hello_seq, 20);
    r = resume(0, NULL);
    stream_cursor_plan(&cur, &r, b);
    assert_non_null(cur.resync_reason);
    bus_destroy(b);
}

static void test_replay_honours_the_filter(void **state)
{
    (void)state;
    bus *b = bus_with(6);                 /* a, b, a, b, a, b */
    publish(b, EVENT_TOOLS_UPDATED, "a"); /* 7 */
    stream_request r = parse_ok("server=a&types=tool_called&since=1", false);
    stream_cursor cur;
    stream_cursor_plan(&cur, &r, b);
    bus_filter f = stream_request_filter(&r);
    send_queue q;
    send_queue_init(&q, 16);
    uint64_t got[8];
    size_t n = 0;
    event_msg *m;
    while ((m = stream_cursor_next(&cur, b, &f, &q))) {
        assert_true(n < 8);
        got[n++] = m->seq;
        event_msg_unref(m);
    }
    assert_int_equal(n, 2);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], 5);
    send_queue_free(&q);
    bus_destroy(b);
}

static void test_replay_reports_what_the_ring_lost_meanwhile(void **state)
{
    (void)state;
    bus *b = bus_with(10); /* ring 3..10 */
    stream_request r = resume(4, NULL);
    stream_cursor cur;
    stream_cursor_plan(&cur, &r, b); /* owes 5..10 */
    assert_null(cur.resync_reason);
    /* Five more before the replay starts: the ring now holds 8..15, so 5, 6
     * and 7 are gone. */
    for (int i = 0; i < 5; i++)
        publish(b, EVENT_TOOL_CALLED, "a");
    bus_filter all = {.types = EVENT_MASK_ALL};
    send_queue q;
    send_queue_init(&q, 16);
    event_msg *m = stream_cursor_next(&cur, b, &all, &q);
    assert_non_null(m);
    assert_int_equal(m->seq, 8);
    event_msg_unref(m);
    send_drops d;
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_seq, 5);
    assert_int_equal(d.last_seq, 7);
    /* The replay ends at the head of the plan (10): 11..15 come live. */
    uint64_t more = 0;
    while ((m = stream_cursor_next(&cur, b, &all, &q))) {
        assert_int_equal(m->seq, 9 + more);
        event_msg_unref(m);
        more++;
    }
    assert_int_equal(more, 2);
    send_queue_free(&q);
    bus_destroy(b);
}

static void test_control_messages(void **state)
{
    (void)state;
    bus *b = bus_with(5);
    stream_cursor cur;
    stream_request r = resume(9, bus_epoch(b));
    stream_cursor_plan(&cur, &r, b);

    json_error_t err;
    char *text = stream_hello_json(&cur, b);
    json_t *hello = json_loads(text, 0, &err);
    free(text);
    assert_non_null(hello);
    assert_string_equal(json_string_value(json_object_get(hello, "type")), "hello");
    assert_int_equal(json_integer_value(json_object_get(hello, "seq")), 5);
    assert_string_equal(json_string_value(json_object_get(hello, "epoch")), bus_epoch(b));
    assert_string_equal(json_string_value(json_object_get(hello, "version")), MCPPROXY_VERSION);
    json_decref(hello);

    text = stream_resync_json(&cur, b);
    json_t *resync = json_loads(text, 0, &err);
    free(text);
    assert_non_null(resync);
    assert_string_equal(json_string_value(json_object_get(resync, "type")), "resync_required");
    assert_string_equal(json_string_value(json_object_get(resync, "reason")), cur.resync_reason);
    assert_int_equal(json_integer_value(json_object_get(resync, "seq")), 5);
    assert_string_equal(json_string_value(json_object_get(resync, "epoch")), bus_epoch(b));
    json_decref(resync);

    send_drops drops = {.count = 3, .first_seq = 4, .last_seq = 9};
    text = stream_dropped_json(&drops);
    assert_string_equal(text, "{\"type\":\"events_dropped\",\"count\":3,\"first_seq\":4,\"last_seq\":9}");
    free(text);
    bus_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_server),
        cmocka_unit_test(test_parse_types),
        cmocka_unit_test(test_parse_batch),
        cmocka_unit_test(test_parse_since_and_epoch),
        cmocka_unit_test(test_parse_everything_at_once),
        cmocka_unit_test(test_plan_without_resume),
        cmocka_unit_test(test_plan_resume_inside_the_ring),
        cmocka_unit_test(test_plan_resume_at_the_head),
        cmocka_unit_test(test_plan_resume_ahead_of_the_head),
        cmocka_unit_test(test_plan_resume_under_another_epoch),
        cmocka_unit_test(test_plan_resume_from_a_point_the_ring_lost),
        cmocka_unit_test(test_replay_honours_the_filter),
        cmocka_unit_test(test_replay_reports_what_the_ring_lost_meanwhile),
        cmocka_unit_test(test_control_messages),
        cmocka_unit_test(test_plan_resume_across_a_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
