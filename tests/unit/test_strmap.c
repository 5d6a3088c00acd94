/* test_strmap.c - the string-keyed hash table: put, replace, get, delete,
 * and a seeded random run of puts and deletes checked against a plain
 * array after every step (deletions in the middle of probe chains and
 * across the table's wrap-around included). */
#include "core/strmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_empty(void **state)
{
    (void)state;
    strmap m = {0};
    assert_null(strmap_get(&m, "x"));
    assert_null(strmap_del(&m, "x"));
    strmap_free(&m);
}

static void test_put_get_replace_del(void **state)
{
    (void)state;
    strmap m = {0};
    int a = 1, b = 2, c = 3;
    strmap_put(&m, "a", &a);
    strmap_put(&m, "b", &b);
    assert_ptr_equal(strmap_get(&m, "a"), &a);
    assert_ptr_equal(strmap_get(&m, "b"), &b);
    assert_null(strmap_get(&m, "c"));
    /* An equal key in other memory finds and replaces the entry. */
    char key_a[] = "a";
    strmap_put(&m, key_a, &c);
    assert_int_equal(m.count, 2);
    assert_ptr_equal(strmap_get(&m, "a"), &c);
    assert_ptr_equal(strmap_del(&m, "a"), &c);
    assert_null(strmap_get(&m, "a"));
    assert_null(strmap_del(&m, "a"));
    assert_ptr_equal(strmap_get(&m, "b"), &b);
    assert_int_equal(m.count, 1);
    strmap_free(&m);
    assert_int_equal(m.count, 0);
    assert_null(strmap_get(&m, "b"));
}

#define N_KEYS 600

/* Small keys in a table that grows from 16 slots: long probe chains, many
 * of them wrapping around the end. */
static void test_random_against_array(void **state)
{
    (void)state;
    static char keys[N_KEYS][16];
    static int values[N_KEYS];
    bool present[N_KEYS] = {0};
    size_t count = 0;
    for (int i = 0; i < N_KEYS; i++)
        snprintf(keys[i], sizeof keys[i], "k%d", i);
    strmap m = {0};
    uint32_t seed = 12345;
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % N_KEYS);
        bool put = ((seed >> 4) & 3) != 0; /* more puts than deletes: the table grows */
        if (put) {
            strmap_put(&m, keys[k], &values[k]);
            count += !present[k];
            present[k] = true;
        } else {
            void *v = strmap_del(&m, keys[k]);
            assert_ptr_equal(v, present[k] ? &values[k] : NULL);
            count -= present[k];
            present[k] = false;
        }
        assert_int_equal(m.count, count);
        if (step % 97 == 0 || step > 19900) {
            for (int i = 0; i < N_KEYS; i++)
                assert_ptr_equal(strmap_get(&m, keys[i]), present[i] ? &values[i] : NULL);
        }
    }
    /* Everything out again, in order: the table ends empty. */
    for (int i = 0; i < N_KEYS; i++)
        assert_ptr_equal(strmap_del(&m, keys[i]), present[i] ? &values[i] : NULL);
    assert_int_equal(m.count, 0);
    for (size_t i = 0; i < m.n_slots; i++)
        assert_null(m.slots[i].key);
    strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_random_against_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
