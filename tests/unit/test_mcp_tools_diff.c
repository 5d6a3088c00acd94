/* test_mcp_tools_diff.c - mcp_tools_diff() (src/upstream/mcp_client.c), the
 * counts behind tools_updated's `added` and `removed`: tools compared by
 * name only, each list entry counted, entries without a string name (or
 * that are not objects at all) ignored, and lists of 100,000 tools compared
 * by hash (pairwise, that is 10^10 comparisons: the test's timeout would
 * end it). Against the real mcp_upstream library, with tool lists built as
 * an upstream would send them. */
#include "upstream/mcp_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* A tool list from JSON text. */
static json_t *tools(const char *text)
{
    json_error_t err;
    json_t *t = json_loads(text, 0, &err);
    if (!t)
        fail_msg("bad test JSON %s: %s", text, err.text);
    return t;
}

static void diff(const char *before_text, const char *now_text, size_t want_added, size_t want_removed)
{
    json_t *before = before_text ? tools(before_text) : NULL;
    json_t *now = tools(now_text);
    size_t added = 99, removed = 99;
    mcp_tools_diff(before, now, &added, &removed);
    if (added != want_added || removed != want_removed)
        fail_msg("%s -> %s: added %zu removed %zu, want %zu and %zu", before_text ? before_text : "NULL", now_text,
                 added, removed, want_added, want_removed);
    json_decref(before);
    json_decref(now);
}

static void test_same_lists(void **state)
{
    (void)state;
    diff("[]", "[]", 0, 0);
    diff("[{\"name\":\"a\"},{\"name\":\"b\"}]", "[{\"name\":\"a\"},{\"name\":\"b\"}]", 0, 0);
    /* Order does not matter. */
    diff("[{\"name\":\"a\"},{\"name\":\"b\"}]", "[{\"name\":\"b\"},{\"name\":\"a\"}]", 0, 0);
}

static void test_added_and_removed_by_name(void **state)
{
    (void)state;
    diff("[{\"name\":\"a\"}]", "[{\"name\":\"a\"},{\"name\":\"b\"}]", 1, 0);
    diff("[{\"name\":\"a\"},{\"name\":\"b\"}]", "[{\"name\":\"a\"}]", 0, 1);
    diff("[{\"name\":\"a\"},{\"name\":\"b\"}]", "[{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"}]", 2, 1);
    diff("[{\"name\":\"a\"}]", "[{\"name\":\"b\"}]", 1, 1);
    /* Everything else about a tool is not compared: a new description or
     * schema is the same tool. */
    diff("[{\"name\":\"a\",\"description\":\"old\",\"inputSchema\":{\"type\":\"object\"}}]",
         "[{\"name\":\"a\",\"description\":\"new\"}]", 0, 0);
    /* Names are compared exactly. */
    diff("[{\"name\":\"echo\"}]", "[{\"name\":\"Echo\"}]", 1, 1);
    diff("[{\"name\":\"echo\"}]", "[{\"name\":\"echo2\"}]", 1, 1);
}

static void test_first_listing(void **state)
{
    (void)state;
    /* No previous list (the first tools/list): every tool is new. */
    diff(NULL, "[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]", 3, 0);
    diff(NULL, "[]", 0, 0);
}

static void test_duplicates_count_per_entry(void **state)
{
    (void)state;
    /* A name already there is not added, however often it is listed now. */
    diff("[{\"name\":\"a\"}]", "[{\"name\":\"a\"},{\"name\":\"a\"}]", 0, 0);
    diff("[{\"name\":\"a\"},{\"name\":\"a\"}]", "[{\"name\":\"a\"}]", 0, 0);
    /* Each entry of a new or gone name counts. */
    diff("[]", "[{\"name\":\"b\"},{\"name\":\"b\"}]", 2, 0);
    diff("[{\"name\":\"b\"},{\"name\":\"b\"}]", "[]", 0, 2);
}

static void test_entries_without_a_name_are_ignored(void **state)
{
    (void)state;
    static const char *const junk = "[42,\"a\",null,[],{},{\"name\":7},{\"name\":null},{\"title\":\"a\"}]";
    diff("[]", junk, 0, 0);
    diff(junk, "[]", 0, 0);
    diff("[{\"name\":\"a\"}]", "[\"a\",{\"name\":\"a\"},17]", 0, 0);
    diff("[{\"name\":\"a\"},\"b\"]", "[{\"name\":\"b\"},{\"name\":7}]", 1, 1);
}

/* n tools named <prefix><i>. */
static json_t *numbered(const char *prefix, size_t from, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = from; i < from + n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%zu", prefix, i);
        json_array_append_new(arr, json_pack("{s:s, s:s}", "name", name, "description", "d"));
    }
    return arr;
}

static void test_large_lists(void **state)
{
    (void)state;
    enum { N = 100000 };
    /* The second half renamed, as a list_changed from a big server might. */
    json_t *before = numbered("t", 0, N);
    json_t *now = numbered("t", 0, N / 2);
    json_t *renamed = numbered("u", N / 2, N / 2);
    json_array_extend(now, renamed);
    size_t added, removed;
    mcp_tools_diff(before, now, &added, &removed);
    assert_int_equal(added, N / 2);
    assert_int_equal(removed, N / 2);
    mcp_tools_diff(before, before, &added, &removed);
    assert_int_equal(added, 0);
    assert_int_equal(removed, 0);
    json_decref(before);
    json_decref(now);
    json_decref(renamed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_lists),
        cmocka_unit_test(test_added_and_removed_by_name),
        cmocka_unit_test(test_first_listing),
        cmocka_unit_test(test_duplicates_count_per_entry),
        cmocka_unit_test(test_entries_without_a_name_are_ignored),
        cmocka_unit_test(test_large_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
