/* test_mcp_resources.c - how /mcp routes resource URIs: RFC 6570 templates
 * matched loosely (src/mcp/resources.c), and the resources/subscribe records
 * that decide which sessions hear an update (src/mcp/subscriptions.c). */
#include "mcp/resources.h"
#include "mcp/subscriptions.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_template_simple_expressions(void **state)
{
    (void)state;
    assert_true(mcp_uri_template_match("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/text/12"));
    assert_true(mcp_uri_template_match("file:///{name}.txt", "file:///notes.txt"));
    /* Literal text must match exactly, both before and after. */
    assert_false(
        mcp_uri_template_match("demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/blob/12"));
    assert_false(mcp_uri_template_match("file:///{name}.txt", "file:///notes.md"));
    /* A simple expression stays within one path segment. */
    assert_false(mcp_uri_template_match("demo://x/{id}", "demo://x/1/2"));
    assert_true(mcp_uri_template_match("demo://{a}/{b}", "demo://1/2"));
    /* No expression: the URI itself. */
    assert_true(mcp_uri_template_match("demo://exact", "demo://exact"));
    assert_false(mcp_uri_template_match("demo://exact", "demo://exactly"));
}

static void test_template_operators(void **state)
{
    (void)state;
    assert_true(mcp_uri_template_match("file://{+path}", "file://a/b/c.txt"));
    assert_true(mcp_uri_template_match("search://q{?term,limit}", "search://q?term=x&limit=3"));
    assert_true(mcp_uri_template_match("search://q{?term}", "search://q"));
    assert_true(mcp_uri_template_match("repo://{owner}{/path}", "repo://me/src/main.c"));
    /* An unterminated expression is no template: nothing matches. */
    assert_false(mcp_uri_template_match("demo://{id", "demo://{id"));
}

static void test_template_bounded(void **state)
{
    (void)state;
    /* Many expressions against a long URI: linear, not backtracking. */
    char tmpl[4001], uri[4001];
    for (int i = 0; i < 1000; i++)
        memcpy(tmpl + 4 * i, "{a}x", 4);
    tmpl[4000] = '\0';
    memset(uri, 'x', 4000);
    uri[4000] = '\0';
    assert_true(mcp_uri_template_match(tmpl, uri));
    uri[3999] = 'y';
    assert_false(mcp_uri_template_match(tmpl, uri));
    /* Past 4096 bytes nothing matches. */
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    assert_false(mcp_uri_template_match("{+all}", big));
    free(big);
}

static bool record_send(const char *session_id, void *ctx)
{
    char *seen = ctx;
    strcat(seen, session_id);
    return strcmp(session_id, "gone") != 0; /* "gone" has ended */
}

static void test_subscriptions(void **state)
{
    (void)state;
    mcp_subs *t = mcp_subs_create();
    assert_true(mcp_subs_add(t, "s1", "srv", "u://a"));
    assert_true(mcp_subs_add(t, "s1", "srv", "u://a")); /* once */
    assert_true(mcp_subs_add(t, "s2", "srv", "u://a"));
    assert_true(mcp_subs_add(t, "gone", "srv", "u://a"));
    assert_true(mcp_subs_add(t, "s3", "other", "u://a")); /* another server's u://a */
    assert_int_equal(mcp_subs_count(t), 4);

    char seen[64] = "";
    assert_int_equal(mcp_subs_deliver(t, "srv", "u://a", record_send, seen), 2);
    assert_non_null(strstr(seen, "s1"));
    assert_non_null(strstr(seen, "s2"));
    assert_null(strstr(seen, "s3"));
    assert_int_equal(mcp_subs_count(t), 3); /* "gone" dropped */

    /* The upstream keeps its subscription while another session holds one. */
    assert_true(mcp_subs_remove(t, "s1", "srv", "u://a"));
    assert_false(mcp_subs_remove(t, "s2", "srv", "u://a"));
    assert_int_equal(mcp_subs_count(t), 1);

    /* A session holds a bounded number. */
    char uri[32];
    for (int i = 0; i < MCP_SUBS_PER_SESSION; i++) {
        snprintf(uri, sizeof uri, "u://%d", i);
        assert_true(mcp_subs_add(t, "many", "srv", uri));
    }
    assert_false(mcp_subs_add(t, "many", "srv", "u://one-more"));
    assert_true(mcp_subs_add(t, "many", "srv", "u://0")); /* already held */
    mcp_subs_destroy(t);
}

static void record_gone(const char *server, const char *uri, void *ctx)
{
    char *seen = ctx;
    strcat(seen, server);
    strcat(seen, " ");
    strcat(seen, uri);
    strcat(seen, ";");
}

static void test_session_end_drops_its_subscriptions(void **state)
{
    (void)state;
    mcp_subs *t = mcp_subs_create();
    assert_true(mcp_subs_add(t, "s1", "srv", "u://shared"));
    assert_true(mcp_subs_add(t, "s2", "srv", "u://shared"));
    assert_true(mcp_subs_add(t, "s1", "srv", "u://own"));
    char seen[128] = "";
    mcp_subs_drop_session(t, "s1", record_gone, seen);
    /* Only what no other session holds is gone upstream. */
    assert_string_equal(seen, "srv u://own;");
    assert_int_equal(mcp_subs_count(t), 1);
    mcp_subs_drop_session(t, "s2", record_gone, seen);
    assert_string_equal(seen, "srv u://own;srv u://shared;");
    assert_int_equal(mcp_subs_count(t), 0);
    mcp_subs_destroy(t);
}

static void test_empty_without_manager(void **state)
{
    (void)state;
    config cfg = {0};
    mcp_resources r;
    mcp_resources_build(&r, NULL, &cfg, NULL);
    bool by_template = true;
    const char *node = "x";
    assert_null(mcp_resources_route(&r, "u://a", &by_template, &node));
    assert_false(by_template);
    assert_null(node);
    json_t *list = mcp_resources_list_json(&r);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    mcp_resources_free(&r);
}

/* Other cluster nodes' servers (registry entries): only Ready, unquarantined
 * ones, in name order, a URI kept by its first server, each routed to its node. */
static void test_remote(void **state)
{
    (void)state;
    config cfg = {0};
    mcp_resources r;
    mcp_resources_build(&r, NULL, &cfg, NULL);
    json_error_t jerr;
    json_t *remote = json_loads(
        "{\"zeta\": {\"node\": \"b\", \"status\": \"Ready\","
        "  \"resources\": [{\"uri\": \"u://shared\", \"name\": \"z\"}, {\"uri\": \"u://z\", \"name\": \"z2\"}],"
        "  \"resource_templates\": [{\"uriTemplate\": \"t://{id}\", \"name\": \"t\"}]},"
        " \"alpha\": {\"node\": \"a\", \"status\": \"Ready\","
        "  \"resources\": [{\"uri\": \"u://shared\", \"name\": \"a\"}]},"
        " \"down\": {\"node\": \"c\", \"status\": \"Unreachable\","
        "  \"resources\": [{\"uri\": \"u://down\", \"name\": \"d\"}]},"
        " \"held\": {\"node\": \"c\", \"status\": \"Ready\", \"quarantined\": true,"
        "  \"resources\": [{\"uri\": \"u://held\", \"name\": \"h\"}]}}",
        0, &jerr);
    assert_non_null(remote);
    mcp_resources_add_remote(&r, remote);
    json_decref(remote);
    assert_int_equal(r.n_resources, 2);
    assert_int_equal(r.n_templates, 1);
    bool by_template;
    const char *node;
    assert_string_equal(mcp_resources_route(&r, "u://shared", &by_template, &node), "alpha");
    assert_string_equal(node, "a");
    assert_string_equal(mcp_resources_route(&r, "u://z", &by_template, &node), "zeta");
    assert_string_equal(node, "b");
    assert_string_equal(mcp_resources_route(&r, "t://7", &by_template, &node), "zeta");
    assert_true(by_template);
    assert_string_equal(node, "b");
    assert_null(mcp_resources_route(&r, "u://down", &by_template, &node));
    assert_null(mcp_resources_route(&r, "u://held", &by_template, &node));
    mcp_resources_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_simple_expressions),
        cmocka_unit_test(test_template_operators),
        cmocka_unit_test(test_template_bounded),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_session_end_drops_its_subscriptions),
        cmocka_unit_test(test_empty_without_manager),
        cmocka_unit_test(test_remote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
