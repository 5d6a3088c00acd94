/* test_outbox.c - the cluster's outbox (src/cluster/outbox.h): order,
 * acks, sending again after a lost link, and overflow counting only what
 * was never sent as lost. */
#include "cluster/outbox.h"
#include "core/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t push(outbox *o, int i)
{
    char text[16];
    snprintf(text, sizeof text, "e%d", i);
    return outbox_push(o, xstrdup("mcpproxy.events.a.tool_called"), xstrdup(text), strlen(text));
}

/* The payload of the next entry to send, or "" when none. */
static const char *next(outbox *o)
{
    outbox_entry *e = outbox_next_unsent(o);
    return e ? e->payload : "";
}

static void test_in_order_until_acked(void **state)
{
    (void)state;
    outbox *o = outbox_create(8);
    assert_int_equal(push(o, 0), 1);
    assert_int_equal(push(o, 1), 2);
    assert_int_equal(outbox_unsent(o), 2);
    assert_string_equal(next(o), "e0");
    assert_string_equal(next(o), "e1");
    assert_string_equal(next(o), "");
    assert_int_equal(outbox_size(o), 2);
    /* An ack out of order frees nothing until the front is acked. */
    outbox_ack(o, 2);
    assert_int_equal(outbox_size(o), 2);
    outbox_ack(o, 1);
    assert_int_equal(outbox_size(o), 0);
    outbox_ack(o, 1); /* late or repeated: ignored */
    outbox_ack(o, 99);
    assert_int_equal(push(o, 2), 3);
    assert_string_equal(next(o), "e2");
    outbox_destroy(o);
}

static void test_link_lost_sends_all_again(void **state)
{
    (void)state;
    outbox *o = outbox_create(8);
    for (int i = 0; i < 4; i++)
        push(o, i);
    for (int i = 0; i < 4; i++)
        next(o);
    outbox_ack(o, 1);
    outbox_ack(o, 3); /* acked behind an unacked one */
    outbox_resend_all(o);
    assert_int_equal(outbox_unsent(o), 3);
    assert_string_equal(next(o), "e1");
    assert_string_equal(next(o), "e3"); /* e2 is acked: the stream has it */
    assert_string_equal(next(o), "");
    /* One failure: it and all after it go again, in order (but not what
     * the stream has acked). */
    outbox_resend_from(o, 2);
    assert_string_equal(next(o), "e1");
    assert_string_equal(next(o), "e3");
    assert_string_equal(next(o), "");
    outbox_destroy(o);
}

static void test_overflow_drops_oldest_and_counts_unsent(void **state)
{
    (void)state;
    outbox *o = outbox_create(3);
    push(o, 0);
    assert_string_equal(next(o), "e0"); /* sent, not acked */
    push(o, 1);
    push(o, 2);
    push(o, 3); /* e0 leaves: it was sent, so not counted */
    assert_int_equal(outbox_lost(o), 0);
    push(o, 4); /* e1 leaves unsent: lost */
    push(o, 5);
    assert_int_equal(outbox_lost(o), 2);
    assert_int_equal(outbox_size(o), 3);
    assert_string_equal(next(o), "e3");
    assert_string_equal(next(o), "e4");
    assert_string_equal(next(o), "e5");
    outbox_ack(o, 1); /* gone already */
    outbox_ack(o, 4);
    outbox_ack(o, 5);
    outbox_ack(o, 6);
    assert_int_equal(outbox_size(o), 0);
    outbox_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_until_acked),
        cmocka_unit_test(test_link_lost_sends_all_again),
        cmocka_unit_test(test_overflow_drops_oldest_and_counts_unsent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
