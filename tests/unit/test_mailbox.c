/* test_mailbox.c - letters from other threads to the loop
 * (src/cluster/mailbox.h): on a real loop, two real threads post; the loop
 * reads every letter once, each thread's in the order it posted them, with
 * its texts intact; the after-callback follows the letters of a wake-up;
 * nothing is read after close, and nothing leaks (ASan). */
#include "cluster/mailbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PER_THREAD 2000

typedef struct seen {
    mailbox box;
    uint64_t next[2]; /* the next num expected from thread 0 and 1 */
    size_t read, afters;
    bool read_after_close;
    bool closed;
} seen;

static void read_letter(const letter *l, void *ctx)
{
    seen *s = ctx;
    if (s->closed)
        s->read_after_close = true;
    assert_true(l->kind == 0 || l->kind == 1);
    assert_int_equal(l->num, s->next[l->kind]++); /* each thread's order kept */
    char want[32];
    snprintf(want, sizeof want, "t%d-%llu", l->kind, (unsigned long long)l->num);
    assert_string_equal(l->part[0], want);
    assert_int_equal(l->len[0], strlen(want));
    assert_string_equal(l->part[1], ""); /* not given */
    assert_int_equal(l->len[2], 3);
    assert_memory_equal(l->part[2], "a\0b", 3); /* bytes, NULs included */
    assert_true(l->flag == (l->num % 2 == 0));
    if (++s->read == 2 * PER_THREAD)
        uv_stop(s->box.wake.loop);
}

static void after_letters(void *ctx)
{
    seen *s = ctx;
    s->afters++;
}

typedef struct poster {
    seen *s;
    int kind;
} poster;

static void post_all(void *arg)
{
    poster *p = arg;
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        char text[32];
        snprintf(text, sizeof text, "t%d-%llu", p->kind, (unsigned long long)i);
        const char *part[MAILBOX_PARTS] = {text, NULL, "a\0b"};
        size_t len[MAILBOX_PARTS] = {strlen(text), 0, 3};
        mailbox_post(&p->s->box, p->kind, i, i % 2 == 0, part, len);
    }
}

static void test_threads_to_loop_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    seen s = {0};
    mailbox_init(&s.box, &loop, read_letter, after_letters, &s);
    poster p0 = {&s, 0}, p1 = {&s, 1};
    uv_thread_t t0, t1;
    uv_thread_create(&t0, post_all, &p0);
    uv_thread_create(&t1, post_all, &p1);
    uv_run(&loop, UV_RUN_DEFAULT); /* until the last letter stops it */
    uv_thread_join(&t0);
    uv_thread_join(&t1);
    assert_int_equal(s.read, 2 * PER_THREAD);
    assert_true(s.afters >= 1);

    /* Closed: what is posted now is dropped, and never read. */
    s.closed = true;
    mailbox_close(&s.box);
    mailbox_post_kind(&s.box, 0, 99);
    uv_run(&loop, UV_RUN_DEFAULT); /* the handle's close */
    assert_false(s.read_after_close);
    mailbox_destroy(&s.box);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_to_loop_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
