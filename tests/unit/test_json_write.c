/* test_json_write.c - json_write gives exactly the bytes of
 * json_dumps(v, JSON_COMPACT): escapes, integers at their limits, reals,
 * nesting, key order, keys holding NUL, and random trees. */
#include "core/json_write.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* json_write of v must equal jansson's own compact dump. Takes v. */
static void check_same(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    size_t len;
    char *got = json_write_string(v, &len);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    strbuf sb = {0};
    strbuf_append(&sb, "x", 1); /* appends after what is there */
    json_write(&sb, v);
    assert_int_equal(sb.len, len + 1);
    assert_memory_equal(sb.data + 1, want, len);
    strbuf_free(&sb);
    free(got);
    free(want);
    json_decref(v);
}

static void test_scalars(void **state)
{
    (void)state;
    check_same(json_null());
    check_same(json_true());
    check_same(json_false());
    check_same(json_integer(0));
    check_same(json_integer(-1));
    check_same(json_integer(42));
    check_same(json_integer(INT64_MAX));
    check_same(json_integer(INT64_MIN));
    check_same(json_real(0.5));
    check_same(json_real(-1e300));
    check_same(json_real(3.0));
    check_same(json_real(0.1));
}

static void test_strings(void **state)
{
    (void)state;
    check_same(json_string(""));
    check_same(json_string("plain"));
    check_same(json_string("quote \" backslash \\ slash / tab\t nl\n cr\r bs\b ff\f"));
    check_same(json_string("\x01\x02\x1f\x7f end"));
    check_same(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE2\x80\xA8"));
    check_same(json_stringn("nul\0inside", 10));
    check_same(json_string("\\u0000 looks like an escape"));
}

static void test_containers(void **state)
{
    (void)state;
    check_same(json_object());
    check_same(json_array());
    check_same(json_pack("{s:s, s:I, s:[i, s, {}], s:{s:{s:n}}, s:b}", "jsonrpc", "2.0", "id", (json_int_t)7, "a", 1,
                         "two", "c", "d", "e", "f", "t", 1));
    /* Insertion order is kept, as jansson keeps it. */
    json_t *o = json_object();
    for (int i = 9; i >= 0; i--) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(o, key, json_integer(i));
    }
    json_object_del(o, "k5");
    json_object_set_new(o, "k5", json_string("last"));
    check_same(o);
    /* A key with a NUL and one needing escapes. */
    json_t *k = json_object();
    json_object_setn_new(k, "a\0b", 3, json_true());
    json_object_set_new(k, "q\"\n", json_false());
    check_same(k);
}

/* Random trees: whatever the shape, the bytes are jansson's. */
static json_t *random_value(unsigned *seed, int depth)
{
    int kind = depth > 4 ? rand_r(seed) % 6 : rand_r(seed) % 8;
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rand_r(seed) & 1);
    case 2:
        return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) & 1 ? -1 : 1) * 1000003);
    case 3:
        return json_real((double)rand_r(seed) / 7.0);
    case 4:
    case 5: {
        char s[16];
        size_t n = (size_t)(rand_r(seed) % (int)sizeof s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(rand_r(seed) % 128); /* ASCII, control characters and NUL included */
        return json_stringn(s, n);
    }
    case 6: {
        json_t *a = json_array();
        for (int i = rand_r(seed) % 5; i > 0; i--)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rand_r(seed) % 5; i > 0; i--) {
            char key[8];
            snprintf(key, sizeof key, "k%d", rand_r(seed) % 100);
            json_object_set_new(o, key, random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_random_trees(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int i = 0; i < 2000; i++)
        check_same(random_value(&seed, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_random_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
