/* test_mcp_catalog.c - the names /mcp offers for upstream tools: plain
 * <server>__<tool> when it fits, sanitized to [A-Za-z0-9_-], and a 64-byte
 * hashed form that tells apart pairs sanitizing merged or length cut. */
#include "mcp/catalog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static bool charset_ok(const char *name)
{
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    }
    return true;
}

static void test_plain_name(void **state)
{
    (void)state;
    char out[MCP_TOOL_NAME_MAX + 1];
    mcp_tool_name("github", "create_issue", false, out);
    assert_string_equal(out, "github__create_issue");
}

static void test_sanitized_name(void **state)
{
    (void)state;
    char out[MCP_TOOL_NAME_MAX + 1];
    mcp_tool_name("my.server", "do/thing now", false, out);
    assert_string_equal(out, "my_server__do_thing_now");
    assert_true(charset_ok(out));
}

static void test_long_name_is_hashed_and_fits(void **state)
{
    (void)state;
    char server[61], out[MCP_TOOL_NAME_MAX + 1], again[MCP_TOOL_NAME_MAX + 1];
    memset(server, 's', 60);
    server[60] = '\0';
    mcp_tool_name(server, "echo", false, out);
    assert_int_equal(strlen(out), MCP_TOOL_NAME_MAX);
    assert_true(charset_ok(out));
    /* 55 bytes of the name, then "_" and 8 hex digits. */
    assert_int_equal(out[55], '_');
    assert_memory_equal(out, server, 55);
    mcp_tool_name(server, "echo", false, again);
    assert_string_equal(out, again); /* stable across calls */
}

static void test_hash_tells_merged_names_apart(void **state)
{
    (void)state;
    char a[MCP_TOOL_NAME_MAX + 1], b[MCP_TOOL_NAME_MAX + 1];
    /* Sanitizing makes both "my_server__echo"; the hashed forms differ. */
    mcp_tool_name("my.server", "echo", false, a);
    mcp_tool_name("my_server", "echo", false, b);
    assert_string_equal(a, b);
    mcp_tool_name("my.server", "echo", true, a);
    mcp_tool_name("my_server", "echo", true, b);
    assert_string_not_equal(a, b);
    assert_true(strncmp(a, "my_server__echo_", 16) == 0);
    assert_int_equal(strlen(a), strlen("my_server__echo_") + 8);
}

static void test_empty_catalog_without_manager(void **state)
{
    (void)state;
    config cfg;
    config_init_defaults(&cfg);
    mcp_catalog c = {0}, d = {0};
    mcp_catalog_build(&c, NULL, &cfg);
    mcp_catalog_build(&d, NULL, &cfg);
    assert_int_equal(c.n, 0);
    assert_null(mcp_catalog_find(&c, "demo__echo"));
    assert_true(mcp_catalog_equal(&c, &d));
    json_t *tools = mcp_catalog_tools_json(&c);
    assert_int_equal(json_array_size(tools), 0);
    json_decref(tools);
    mcp_catalog_free(&c);
    mcp_catalog_free(&d);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_name),
        cmocka_unit_test(test_sanitized_name),
        cmocka_unit_test(test_long_name_is_hashed_and_fits),
        cmocka_unit_test(test_hash_tells_merged_names_apart),
        cmocka_unit_test(test_empty_catalog_without_manager),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
