/* test_upstream_proc_scan.c - the process tree as mcpproxy-exec and the
 * reaper read it (src/upstream/proc_scan.c, compiled in directly): every
 * process below a root found through ppid links however deep, unrelated
 * ones left out, and this process found in a real /proc with its parent. */
#include "upstream/proc_scan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

static bool in_front(const proc_entry *v, size_t k, int pid)
{
    for (size_t i = 0; i < k; i++)
        if (v[i].pid == pid)
            return true;
    return false;
}

static void test_descendants_at_any_depth(void **state)
{
    (void)state;
    /* 10 -> 11 -> 12 -> 13 (listed deepest first, as /proc may order
     * them after pid reuse), 10 -> 14; 20 and 21 are someone else's, and
     * 1 (init) is the root's own parent. */
    proc_entry v[] = {
        {13, 12, 'S'}, {20, 1, 'S'},  {12, 11, 'S'}, {1, 0, 'S'},
        {14, 10, 'Z'}, {21, 20, 'S'}, {11, 10, 'S'}, {10, 1, 'S'},
    };
    size_t n = sizeof v / sizeof v[0];
    size_t k = proc_descendants(v, n, 10);
    assert_int_equal(k, 4);
    assert_true(in_front(v, k, 11) && in_front(v, k, 12) && in_front(v, k, 13) && in_front(v, k, 14));
    /* Nothing was lost: the rest are the others. */
    assert_true(!in_front(v, k, 10) && !in_front(v, k, 20) && !in_front(v, k, 21) && !in_front(v, k, 1));
    assert_true(in_front(v, n, 10) && in_front(v, n, 20) && in_front(v, n, 21) && in_front(v, n, 1));
}

static void test_no_descendants(void **state)
{
    (void)state;
    proc_entry v[] = {{2, 1, 'S'}, {3, 2, 'S'}};
    assert_int_equal(proc_descendants(v, 2, 3), 0);
    assert_int_equal(proc_descendants(NULL, 0, 3), 0);
}

static void test_scan_finds_this_process(void **state)
{
    (void)state;
    size_t n;
    proc_entry *v = proc_scan(&n);
    assert_non_null(v);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].pid == (int)getpid()) {
            found = true;
            assert_int_equal(v[i].ppid, (int)getppid());
            assert_int_equal(v[i].state, 'R');
        }
    }
    assert_true(found);
    /* This process is below its parent. */
    assert_true(proc_descendants(v, n, (int)getppid()) >= 1);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descendants_at_any_depth),
        cmocka_unit_test(test_no_descendants),
        cmocka_unit_test(test_scan_finds_this_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
