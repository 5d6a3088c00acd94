/* test_mcp_call_text.c - which POST /mcp bodies are plain tools/calls
 * (read without a tree) and what is read from them; everything else must
 * be left to the general path. */
#include "mcp/call_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static bool parse(const char *body, mcp_call_text *ct)
{
    return mcp_call_text_parse(body, strlen(body), ct);
}

static void test_plain(void **state)
{
    (void)state;
    mcp_call_text ct;
    const char *body = " {\"params\":{\"arguments\":{\"text\":\"a\\nb\" ,\n\"n\":[1]},\"name\":\"demo__echo\"},"
                       "\"method\":\"tools/call\",\"jsonrpc\":\"2.0\",\"id\":-17,\"extra\":true}\n";
    assert_true(parse(body, &ct));
    assert_true(json_is_integer(ct.id));
    assert_int_equal(json_integer_value(ct.id), -17);
    assert_string_equal(ct.name, "demo__echo");
    const char args[] = "{\"text\":\"a\\nb\" ,\n\"n\":[1]}";
    assert_int_equal(ct.arguments_len, sizeof args - 1);
    assert_memory_equal(ct.arguments, args, sizeof args - 1);
    mcp_call_text_free(&ct);

    assert_true(
        parse("{\"jsonrpc\":\"2.0\",\"id\":\"r\\u00e9q\",\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}", &ct));
    assert_string_equal(json_string_value(ct.id), "r\xC3\xA9q");
    assert_null(ct.arguments);
    mcp_call_text_free(&ct);

    assert_true(parse(
        "{\"jsonrpc\":\"2.0\",\"id\":\"caf\xC3\xA9\",\"method\":\"tools/call\",\"params\":{\"name\":\"\"}}", &ct));
    assert_string_equal(json_string_value(ct.id), "caf\xC3\xA9");
    assert_string_equal(ct.name, "");
    mcp_call_text_free(&ct);
}

/* Left to the general path. */
static void test_not_plain(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}]", /* a batch */
        "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",            /* no id */
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1234567890123456789,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools\\/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":[]}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":7}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\\u005fb\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":[1]}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"_meta\":{\"progressToken\":1}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"name\":\"u\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"i\\u0064\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}",     /* cut short */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"\xFF\"}}", /* not UTF-8 */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}} {}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        mcp_call_text ct = {0};
        if (parse(bodies[i], &ct))
            fail_msg("taken as plain: %s", bodies[i]);
    }
    /* A name longer than the room for it. */
    char body[600];
    char name[300];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}",
             name);
    mcp_call_text ct;
    assert_false(parse(body, &ct));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_plain), cmocka_unit_test(test_not_plain)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
