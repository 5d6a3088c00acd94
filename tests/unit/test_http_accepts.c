/* test_http_accepts.c - http_accepts() (src/http/request.c), the Accept
 * negotiation /mcp answers by (JSON or a Server-Sent Events stream): exact
 * types, wildcards, parameters, case, lists with odd spacing, and types
 * that only share a prefix. Against the real mcp_http library. */
#include "http/request.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_no_header_admits_everything(void **state)
{
    (void)state;
    assert_true(http_accepts(NULL, "application/json"));
    assert_true(http_accepts(NULL, "text/event-stream"));
}

static void test_exact_types_and_lists(void **state)
{
    (void)state;
    const char *sdk = "application/json, text/event-stream";
    assert_true(http_accepts(sdk, "application/json"));
    assert_true(http_accepts(sdk, "text/event-stream"));
    assert_false(http_accepts(sdk, "text/html"));
    assert_true(http_accepts("text/event-stream", "text/event-stream"));
    assert_false(http_accepts("text/event-stream", "application/json"));
    /* Spacing and empty list members are tolerated. */
    assert_true(http_accepts("  text/html ,,application/json  ", "application/json"));
    assert_true(http_accepts("text/html,application/json", "application/json"));
    assert_false(http_accepts("", "application/json"));
}

static void test_parameters_are_ignored(void **state)
{
    (void)state;
    assert_true(http_accepts("application/json;q=0.9, text/event-stream;q=0.1", "text/event-stream"));
    assert_true(http_accepts("application/json; charset=utf-8", "application/json"));
}

static void test_wildcards(void **state)
{
    (void)state;
    assert_true(http_accepts("*/*", "application/json"));
    assert_true(http_accepts("text/html, */*;q=0.1", "text/event-stream"));
    assert_true(http_accepts("text/*", "text/event-stream"));
    assert_false(http_accepts("text/*", "application/json"));
    assert_true(http_accepts("application/*", "application/json"));
    /* A wildcard must be the whole subtype. */
    assert_false(http_accepts("text/event*", "text/event-stream"));
    assert_false(http_accepts("*/json", "application/json"));
}

static void test_case_and_prefixes(void **state)
{
    (void)state;
    assert_true(http_accepts("Application/JSON", "application/json"));
    assert_true(http_accepts("TEXT/*", "text/event-stream"));
    /* Sharing a prefix is not a match, either way round. */
    assert_false(http_accepts("application/jsonx", "application/json"));
    assert_false(http_accepts("application/js", "application/json"));
    assert_false(http_accepts("text/event-stream-x", "text/event-stream"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_header_admits_everything), cmocka_unit_test(test_exact_types_and_lists),
        cmocka_unit_test(test_parameters_are_ignored),      cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_case_and_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
