/* test_upstream_ring_backoff.c - the per-server stderr ring (capacity,
 * partial lines, tails) and the reconnect backoff (doubling, cap, jitter). */
#include "upstream/backoff.h"
#include "upstream/line_ring.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_ring_keeps_the_newest(void **state)
{
    (void)state;
    line_ring r;
    line_ring_init(&r, 3);
    assert_null(line_ring_last(&r));
    for (int i = 1; i <= 5; i++) {
        char line[16];
        int n = snprintf(line, sizeof(line), "line %d", i);
        line_ring_push(&r, line, (size_t)n);
    }
    assert_int_equal(r.count, 3);
    /* total numbers every line ever pushed, overwritten ones too: the logs
     * API's ?since= counts on it. */
    assert_int_equal(r.total, 5);
    assert_string_equal(line_ring_last(&r), "line 5");
    json_t *all = line_ring_tail_json(&r, 0);
    assert_int_equal(json_array_size(all), 3);
    assert_string_equal(json_string_value(json_array_get(all, 0)), "line 3");
    json_decref(all);
    char *text = line_ring_tail_text(&r, 2);
    assert_string_equal(text, "line 4\nline 5");
    free(text);
    line_ring_free(&r);
}

static void test_ring_feed_partial_and_crlf(void **state)
{
    (void)state;
    line_ring r;
    line_ring_init(&r, 10);
    line_ring_feed(&r, "one\r\ntw", 7);
    assert_int_equal(r.count, 1);
    line_ring_feed(&r, "o\nthr", 5);
    assert_int_equal(r.count, 2);
    assert_string_equal(line_ring_last(&r), "two");
    line_ring_flush(&r); /* the process exited mid-line */
    assert_string_equal(line_ring_last(&r), "thr");
    char *empty_tail;
    line_ring tmp;
    line_ring_init(&tmp, 2);
    empty_tail = line_ring_tail_text(&tmp, 5);
    assert_string_equal(empty_tail, "");
    free(empty_tail);
    line_ring_free(&tmp);
    line_ring_free(&r);
}

static void test_ring_cuts_long_lines(void **state)
{
    (void)state;
    line_ring r;
    line_ring_init(&r, 2);
    size_t big = LINE_RING_MAX_LINE * 3;
    char *bytes = malloc(big + 1);
    memset(bytes, 'x', big);
    bytes[big] = '\n';
    line_ring_feed(&r, bytes, big + 1);
    assert_int_equal(r.count, 1);
    assert_int_equal(strlen(line_ring_last(&r)), LINE_RING_MAX_LINE);
    free(bytes);
    line_ring_free(&r);
}

/* server_log publishes the lines a read added: `total` counts them even
 * once the ring is full, and nth_newest finds them. */
static void test_ring_counts_pushed_lines(void **state)
{
    (void)state;
    line_ring r;
    line_ring_init(&r, 3);
    line_ring_feed(&r, "a\nb\nc\nd\ne", 9);
    assert_int_equal(r.total, 4); /* "e" waits for its newline */
    assert_string_equal(line_ring_nth_newest(&r, 0), "d");
    assert_string_equal(line_ring_nth_newest(&r, 2), "b");
    assert_null(line_ring_nth_newest(&r, 3));
    line_ring_flush(&r);
    assert_int_equal(r.total, 5);
    assert_string_equal(line_ring_nth_newest(&r, 0), "e");
    line_ring_free(&r);
}

/* A crash's reason quotes the error, not Node's version banner below it. */
static void test_ring_telling_line(void **state)
{
    (void)state;
    line_ring r;
    line_ring_init(&r, 50);
    assert_null(line_ring_telling_line(&r, 20));
    const char *node = "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\n"
                       "Error: Cannot find module '/x/server.js'\n"
                       "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)\n"
                       "    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:142:12) {\n"
                       "  code: 'MODULE_NOT_FOUND',\n  requireStack: []\n}\n\nNode.js v20.19.2\n";
    line_ring_feed(&r, node, strlen(node));
    assert_string_equal(line_ring_telling_line(&r, 20), "Error: Cannot find module '/x/server.js'");
    /* Nothing like an error: the newest line. */
    line_ring_feed(&r, "a\nb\nc\n", 6);
    assert_string_equal(line_ring_telling_line(&r, 3), "c");
    line_ring_free(&r);
}

static void test_backoff_doubles_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(backoff_delay_ms(1, 1000, 300000), 1000);
    assert_int_equal(backoff_delay_ms(2, 1000, 300000), 2000);
    assert_int_equal(backoff_delay_ms(5, 1000, 300000), 16000);
    assert_int_equal(backoff_delay_ms(9, 1000, 300000), 256000);
    assert_int_equal(backoff_delay_ms(10, 1000, 300000), 300000);
    assert_int_equal(backoff_delay_ms(4000000000u, 1000, 300000), 300000); /* no overflow */
    assert_int_equal(backoff_delay_ms(0, 1000, 300000), 1000);
}

static void test_jitter_stays_in_the_upper_half(void **state)
{
    (void)state;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t r = 0; r < 5000; r++) {
        uint64_t d = backoff_jitter_ms(1000, r * 2654435761u);
        assert_true(d >= 500 && d <= 1000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 550 && hi > 950); /* it really spreads */
    assert_int_equal(backoff_jitter_ms(1, 12345), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_keeps_the_newest),
        cmocka_unit_test(test_ring_feed_partial_and_crlf),
        cmocka_unit_test(test_ring_cuts_long_lines),
        cmocka_unit_test(test_backoff_doubles_to_the_cap),
        cmocka_unit_test(test_jitter_stays_in_the_upper_half),
        cmocka_unit_test(test_ring_counts_pushed_lines),
        cmocka_unit_test(test_ring_telling_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
