/* test_send_queue.c - the per-client send budget: FIFO order, drop-oldest past
 * the budget, drop accounting (count / first_seq / last_seq) and reference
 * ownership. Reference counts are checked directly on real event_msgs. */
#include "stream/send_queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static event_msg *make(uint64_t seq)
{
    event_fields f = {.type = EVENT_TOOL_CALLED, .server_name = "s"};
    event_msg *m = event_msg_create(seq, &f, "2026-11-28T01:02:03.456789Z");
    assert_non_null(m);
    return m;
}

static void test_empty(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 4);
    assert_null(send_queue_peek(&q));
    assert_null(send_queue_pop(&q));
    send_drops d;
    assert_false(send_queue_take_drops(&q, &d));
    assert_int_equal(q.dropped_total, 0);
    send_queue_free(&q);
    send_queue_free(&q); /* idempotent after free */
}

static void test_fifo_and_refs(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 8);
    event_msg *m[5];
    for (int i = 0; i < 5; i++) {
        m[i] = make((uint64_t)i + 1);
        assert_null(send_queue_push(&q, m[i]));
        /* The queue took its own reference. */
        assert_int_equal(m[i]->refs, 2);
    }
    assert_int_equal(q.len, 5);
    assert_ptr_equal(send_queue_peek(&q), m[0]);
    assert_int_equal(m[0]->refs, 2); /* peek borrows */
    for (int i = 0; i < 5; i++) {
        event_msg *p = send_queue_pop(&q);
        assert_ptr_equal(p, m[i]);
        assert_int_equal(p->refs, 2); /* the popped reference is now ours */
        event_msg_unref(p);
        assert_int_equal(m[i]->refs, 1);
    }
    assert_null(send_queue_pop(&q));
    send_drops d;
    assert_false(send_queue_take_drops(&q, &d));
    for (int i = 0; i < 5; i++)
        event_msg_unref(m[i]);
    send_queue_free(&q);
}

static void test_overflow_drops_oldest(void **state)
{
    (void)state;
    enum { BUDGET = 4, N = 10 };
    send_queue q;
    send_queue_init(&q, BUDGET);
    event_msg *m[N];
    for (int i = 0; i < N; i++) {
        m[i] = make((uint64_t)i + 1);
        event_msg *dropped = send_queue_push(&q, m[i]);
        if (i < BUDGET) {
            assert_null(dropped);
        } else {
            /* The oldest pending one goes, and its reference comes back to us. */
            assert_ptr_equal(dropped, m[i - BUDGET]);
            assert_int_equal(dropped->seq, (uint64_t)(i - BUDGET + 1));
            event_msg_unref(dropped);
        }
        assert_true(q.len <= BUDGET);
    }
    assert_int_equal(q.len, BUDGET);
    assert_int_equal(q.dropped_total, N - BUDGET);

    send_drops d;
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, N - BUDGET);
    assert_int_equal(d.first_seq, 1);
    assert_int_equal(d.last_seq, N - BUDGET);
    /* Reported once, then cleared; the total stays. */
    assert_false(send_queue_take_drops(&q, &d));
    assert_int_equal(q.dropped_total, N - BUDGET);

    /* What remains is the newest BUDGET, in order. */
    for (int i = N - BUDGET; i < N; i++) {
        event_msg *p = send_queue_pop(&q);
        assert_int_equal(p->seq, (uint64_t)i + 1);
        event_msg_unref(p);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(m[i]->refs, 1); /* nothing leaked, nothing over-released */
        event_msg_unref(m[i]);
    }
    send_queue_free(&q);
}

static void test_second_drop_round(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 2);
    send_drops d;
    uint64_t seq = 0;
    for (int i = 0; i < 5; i++) { /* drops 1,2,3 */
        event_msg *m = make(++seq);
        event_msg_unref(send_queue_push(&q, m));
        event_msg_unref(m);
    }
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_seq, 1);
    assert_int_equal(d.last_seq, 3);
    /* Drain one, then overflow again: a fresh range is reported. */
    event_msg_unref(send_queue_pop(&q)); /* 4 delivered */
    for (int i = 0; i < 4; i++) {        /* 6..9; drops 5,6,7 */
        event_msg *m = make(++seq);
        event_msg_unref(send_queue_push(&q, m));
        event_msg_unref(m);
    }
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_seq, 5);
    assert_int_equal(d.last_seq, 7);
    assert_int_equal(q.dropped_total, 6);
    assert_int_equal(send_queue_peek(&q)->seq, 8);
    send_queue_free(&q);
}

static void test_note_drop_merges(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 1);
    send_queue_note_drop(&q, 10);
    send_queue_note_drop(&q, 11);
    event_msg *a = make(12), *b = make(13);
    assert_null(send_queue_push(&q, a));
    event_msg *dropped = send_queue_push(&q, b);
    assert_ptr_equal(dropped, a);
    event_msg_unref(dropped);
    send_drops d;
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_seq, 10);
    assert_int_equal(d.last_seq, 12);
    assert_int_equal(q.dropped_total, 3);
    event_msg_unref(a);
    event_msg_unref(b);
    send_queue_free(&q);
}

static void test_grow_while_wrapped(void **state)
{
    (void)state;
    /* Move the head forward, then fill past the initial allocation so storage
     * grows while the circle is wrapped: order must survive the unwrap. */
    send_queue q;
    send_queue_init(&q, 256);
    uint64_t next_in = 1, next_out = 1;
    for (int round = 0; round < 50; round++) {
        int push = 3 + round % 7, pop = 1 + round % 5;
        for (int i = 0; i < push; i++) {
            event_msg *m = make(next_in++);
            assert_null(send_queue_push(&q, m));
            event_msg_unref(m);
        }
        for (int i = 0; i < pop; i++) {
            event_msg *p = send_queue_pop(&q);
            assert_non_null(p);
            assert_int_equal(p->seq, next_out++);
            event_msg_unref(p);
        }
    }
    assert_int_equal(q.len, next_in - next_out);
    assert_int_equal(q.dropped_total, 0);
    event_msg *p;
    while ((p = send_queue_pop(&q))) {
        assert_int_equal(p->seq, next_out++);
        event_msg_unref(p);
    }
    assert_int_equal(next_out, next_in);
    send_queue_free(&q);
}

static void test_default_budget_flood(void **state)
{
    (void)state;
    /* The real default: 256 pending; a flood of 10,000 keeps the newest 256. */
    send_queue q;
    send_queue_init(&q, 256);
    for (uint64_t s = 1; s <= 10000; s++) {
        event_msg *m = make(s);
        event_msg_unref(send_queue_push(&q, m));
        event_msg_unref(m);
    }
    assert_int_equal(q.len, 256);
    assert_true(q.alloc <= 256);
    send_drops d;
    assert_true(send_queue_take_drops(&q, &d));
    assert_int_equal(d.count, 10000 - 256);
    assert_int_equal(d.first_seq, 1);
    assert_int_equal(d.last_seq, 10000 - 256);
    assert_int_equal(send_queue_peek(&q)->seq, 10000 - 256 + 1);
    /* free releases the queued references (ASan: no leak). */
    send_queue_free(&q);
}

static void test_free_releases_refs(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 16);
    event_msg *m = make(1);
    for (int i = 0; i < 10; i++)
        assert_null(send_queue_push(&q, m));
    assert_int_equal(m->refs, 11);
    send_queue_free(&q);
    assert_int_equal(m->refs, 1);
    event_msg_unref(m);
}

static void test_zero_budget_is_one(void **state)
{
    (void)state;
    send_queue q;
    send_queue_init(&q, 0);
    event_msg *a = make(1), *b = make(2);
    assert_null(send_queue_push(&q, a));
    event_msg *d = send_queue_push(&q, b);
    assert_ptr_equal(d, a);
    event_msg_unref(d);
    assert_int_equal(q.len, 1);
    event_msg_unref(a);
    event_msg_unref(b);
    send_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_fifo_and_refs),
        cmocka_unit_test(test_overflow_drops_oldest),
        cmocka_unit_test(test_second_drop_round),
        cmocka_unit_test(test_note_drop_merges),
        cmocka_unit_test(test_grow_while_wrapped),
        cmocka_unit_test(test_default_budget_flood),
        cmocka_unit_test(test_free_releases_refs),
        cmocka_unit_test(test_zero_budget_is_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
