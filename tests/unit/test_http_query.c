/* test_http_query.c - http_query_get() (src/http/request.c), which every
 * endpoint uses to read its query parameters: present, absent and empty
 * values, percent-decoding and '+', malformed escapes, values that do not
 * fit the caller's buffer, and names that are prefixes or suffixes of
 * others. Against the real mcp_http library. */
#include "http/request.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Marks `out` so a test can tell whether the function wrote to it. */
#define UNTOUCHED "\x7f\x7f\x7f"

static void test_present_and_absent(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(http_query_get("server=alpha", "server", out, sizeof out), 1);
    assert_string_equal(out, "alpha");
    assert_int_equal(http_query_get("types=tool_called&server=beta&batch=1", "server", out, sizeof out), 1);
    assert_string_equal(out, "beta");
    assert_int_equal(http_query_get("types=tool_called&server=beta&batch=1", "batch", out, sizeof out), 1);
    assert_string_equal(out, "1");
    assert_int_equal(http_query_get("types=tool_called&server=beta&batch=1", "types", out, sizeof out), 1);
    assert_string_equal(out, "tool_called");

    strcpy(out, UNTOUCHED);
    assert_int_equal(http_query_get("types=tool_called&batch=1", "server", out, sizeof out), 0);
    assert_string_equal(out, UNTOUCHED);
    assert_int_equal(http_query_get("", "server", out, sizeof out), 0);
    assert_int_equal(http_query_get(NULL, "server", out, sizeof out), 0);
    /* Names are case-sensitive. */
    assert_int_equal(http_query_get("SERVER=x", "server", out, sizeof out), 0);
}

static void test_empty_values(void **state)
{
    (void)state;
    char out[64];
    strcpy(out, UNTOUCHED);
    assert_int_equal(http_query_get("server=", "server", out, sizeof out), 1);
    assert_string_equal(out, "");
    strcpy(out, UNTOUCHED);
    assert_int_equal(http_query_get("batch", "batch", out, sizeof out), 1);
    assert_string_equal(out, "");
    strcpy(out, UNTOUCHED);
    assert_int_equal(http_query_get("a=1&batch&b=2", "batch", out, sizeof out), 1);
    assert_string_equal(out, "");
    /* Empty pairs between separators are skipped. */
    assert_int_equal(http_query_get("&&server=x&", "server", out, sizeof out), 1);
    assert_string_equal(out, "x");
}

static void test_percent_decoding_and_plus(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(http_query_get("q=a%20b", "q", out, sizeof out), 1);
    assert_string_equal(out, "a b");
    assert_int_equal(http_query_get("q=a+b+c", "q", out, sizeof out), 1);
    assert_string_equal(out, "a b c");
    assert_int_equal(http_query_get("q=%2B%26%3d%25", "q", out, sizeof out), 1); /* both cases of hex */
    assert_string_equal(out, "+&=%");
    assert_int_equal(http_query_get("q=%41", "q", out, sizeof out), 1); /* an escape at the very end */
    assert_string_equal(out, "A");
    assert_int_equal(http_query_get("q=%c3%a9t%C3%A9", "q", out, sizeof out), 1); /* UTF-8 bytes */
    assert_string_equal(out, "\xc3\xa9t\xc3\xa9");
    /* A decoded '&' or '=' is part of the value, not a separator. */
    assert_int_equal(http_query_get("apikey=a%26b%3Dc&x=1", "apikey", out, sizeof out), 1);
    assert_string_equal(out, "a&b=c");
    /* A raw '=' inside the value is kept as it is. */
    assert_int_equal(http_query_get("q=a=b", "q", out, sizeof out), 1);
    assert_string_equal(out, "a=b");
}

static void test_malformed_escapes(void **state)
{
    (void)state;
    char out[64];
    static const char *const bad[] = {"q=%", "q=%4", "q=abc%", "q=%zz", "q=%4g", "q=%g4", "q=%%41", "q=% 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (http_query_get(bad[i], "q", out, sizeof out) != -1)
            fail_msg("%s should be malformed", bad[i]);
    }
    /* "%4" followed by another parameter: the escape does not borrow from it. */
    assert_int_equal(http_query_get("q=%4&r=1", "q", out, sizeof out), -1);
    assert_int_equal(http_query_get("q=%4&r=1", "r", out, sizeof out), 1);
    assert_string_equal(out, "1");
}

static void test_value_too_long_for_buffer(void **state)
{
    (void)state;
    char out[8];
    /* Seven characters and the NUL fit exactly. */
    assert_int_equal(http_query_get("q=1234567", "q", out, sizeof out), 1);
    assert_string_equal(out, "1234567");
    /* One more does not. */
    assert_int_equal(http_query_get("q=12345678", "q", out, sizeof out), -1);
    /* Decoded length is what counts: 7 escapes decode to 7 bytes. */
    assert_int_equal(http_query_get("q=%41%42%43%44%45%46%47", "q", out, sizeof out), 1);
    assert_string_equal(out, "ABCDEFG");
    assert_int_equal(http_query_get("q=%41%42%43%44%45%46%47%48", "q", out, sizeof out), -1);
    /* The guard never writes past the buffer (ASan would tell). */
    char tiny[1];
    assert_int_equal(http_query_get("q=x", "q", tiny, sizeof tiny), -1);
    assert_int_equal(http_query_get("q=", "q", tiny, sizeof tiny), 1);
    assert_int_equal(tiny[0], '\0');
}

static void test_names_that_prefix_others(void **state)
{
    (void)state;
    char out[64];
    /* "apikey" must not match "apikey2" or "apikeys", wherever they stand. */
    assert_int_equal(http_query_get("apikey2=wrong&apikey=right", "apikey", out, sizeof out), 1);
    assert_string_equal(out, "right");
    assert_int_equal(http_query_get("apikeys=wrong", "apikey", out, sizeof out), 0);
    assert_int_equal(http_query_get("apikeys", "apikey", out, sizeof out), 0);
    /* Nor the other way round. */
    assert_int_equal(http_query_get("api=wrong", "apikey", out, sizeof out), 0);
    /* Nor a name that ends with it. */
    assert_int_equal(http_query_get("xapikey=wrong&y=1", "apikey", out, sizeof out), 0);
    assert_int_equal(http_query_get("since_epoch=1&since=5", "since", out, sizeof out), 1);
    assert_string_equal(out, "5");
    /* Nor a value that looks like it. */
    assert_int_equal(http_query_get("x=apikey=wrong", "apikey", out, sizeof out), 0);
    /* The first occurrence wins. */
    assert_int_equal(http_query_get("server=a&server=b", "server", out, sizeof out), 1);
    assert_string_equal(out, "a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_present_and_absent),        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_percent_decoding_and_plus), cmocka_unit_test(test_malformed_escapes),
        cmocka_unit_test(test_value_too_long_for_buffer), cmocka_unit_test(test_names_that_prefix_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
