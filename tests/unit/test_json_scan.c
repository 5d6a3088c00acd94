/* test_json_scan.c - the tree-less JSON scanner: what it accepts jansson
 * accepts too, what jansson refuses it refuses, member spans are exactly the
 * members' bytes, and keys that need a tree to decide are reported. */
#include "core/json_scan.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool jansson_accepts(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    json_decref(v);
    return v != NULL;
}

/* Accepted by both. */
static void ok(const char *text)
{
    size_t len = strlen(text);
    if (!json_scan_valid(text, len))
        fail_msg("scanner refused %s", text);
    assert_true(jansson_accepts(text, len));
}

/* Refused by the scanner (and, where `jansson_too`, by jansson). */
static void bad_len(const char *text, size_t len, bool jansson_too)
{
    if (json_scan_valid(text, len))
        fail_msg("scanner accepted %.*s", (int)len, text);
    if (jansson_too)
        assert_false(jansson_accepts(text, len));
}

static void bad(const char *text, bool jansson_too)
{
    bad_len(text, strlen(text), jansson_too);
}

static void test_grammar(void **state)
{
    (void)state;
    ok("{}");
    ok(" [ ] ");
    ok("\t\r\n{\"a\" : [1, -2, 3.5e-3, true, false, null, \"x\", {}]}\n");
    ok("0");
    ok("-0");
    ok("\"\"");
    ok("[[[[[]]]]]");
    ok("-123456789012345678");
    ok("1.5E+10");
    ok("1e-9999");
    ok("{\"k\":{\"k\":{\"k\":[{\"z\":\"\"}]}}}");
    bad("", true);
    bad("   ", true);
    bad("{", true);
    bad("{\"a\"}", true);
    bad("{\"a\":}", true);
    bad("{\"a\":1,}", true);
    bad("[1,]", true);
    bad("[1 2]", true);
    bad("{a:1}", true);
    bad("{'a':1}", true);
    bad("01", true);
    bad("1.", true);
    bad(".5", true);
    bad("+1", true);
    bad("1e", true);
    bad("-", true);
    bad("tru", true);
    bad("nul", true);
    bad("{} {}", true);
    bad("{}x", true);
    bad("[1]]", true);
    bad_len("[1,\0]", 5, true);
    bad_len("{}\0", 3, true);
}

static void test_strings(void **state)
{
    (void)state;
    ok("\"plain \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    ok("\"\\u00e9 \\u20AC \\ud83d\\ude00\"");
    ok("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \x7F\"");
    bad("\"unterminated", true);
    bad("\"tab\tinside\"", true);
    bad("\"nl\ninside\"", true);
    bad("\"\\x41\"", true);
    bad("\"\\u12\"", true);
    bad("\"\\u12G4\"", true);
    bad("\"\\u0000\"", true);          /* jansson needs JSON_ALLOW_NUL */
    bad("\"\\ud800\"", true);          /* a high surrogate alone */
    bad("\"\\ud800\\u0041\"", true);   /* not followed by a low one */
    bad("\"\\udc00\"", true);          /* a low one alone */
    bad("\"\xC3\"", true);             /* cut short */
    bad("\"\xC0\x80\"", true);         /* overlong NUL */
    bad("\"\xE0\x80\xAF\"", true);     /* overlong '/' */
    bad("\"\xED\xA0\x80\"", true);     /* an encoded surrogate */
    bad("\"\xF4\x90\x80\x80\"", true); /* past U+10FFFF */
    bad("\"\xF8\x88\x80\x80\x80\"", true);
    bad("\"\x80\"", true); /* a continuation byte alone */
    bad("\"\xFF\"", true);
}

/* Numbers jansson might refuse (range) are refused here, to be safe. */
static void test_number_bounds(void **state)
{
    (void)state;
    ok("999999999999999999");             /* 18 digits */
    bad("1234567890123456789", false);    /* 19: jansson may take it; we do not decide */
    bad("99999999999999999999999", true); /* jansson: too big an integer */
    ok("1e299");
    ok("123.5e297");
    bad("1e300", false);
    bad("1e309", true); /* jansson: real number overflow */
    bad("1e99999", true);
    ok("0.5e-300");
}

static void test_depth(void **state)
{
    (void)state;
    char deep[2 * JSON_SCAN_MAX_DEPTH + 3];
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[2 * JSON_SCAN_MAX_DEPTH - 1 - i] = ']';
    }
    assert_true(json_scan_valid(deep, 2 * JSON_SCAN_MAX_DEPTH));
    memmove(deep + 1, deep, 2 * JSON_SCAN_MAX_DEPTH);
    deep[0] = '[';
    deep[2 * JSON_SCAN_MAX_DEPTH + 1] = ']';
    assert_false(json_scan_valid(deep, 2 * JSON_SCAN_MAX_DEPTH + 2));
    /* The top-level object counts as one level too. */
    char obj[2 * JSON_SCAN_MAX_DEPTH + 16];
    int n = snprintf(obj, sizeof obj, "{\"a\":");
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH - 1; i++)
        obj[n++] = '[';
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH - 1; i++)
        obj[n++] = ']';
    obj[n++] = '}';
    size_t count;
    json_member m[2];
    assert_true(json_scan_object(obj, (size_t)n, m, 2, &count));
}

static void test_members(void **state)
{
    (void)state;
    const char *text =
        " {\"jsonrpc\": \"2.0\" , \"id\":-42,\"result\" :{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]} }";
    json_member m[4];
    size_t n;
    assert_true(json_scan_object(text, strlen(text), m, 4, &n));
    assert_int_equal(n, 3);
    const json_member *id = json_member_find(m, n, "id", NULL);
    assert_non_null(id);
    int64_t v;
    assert_true(json_span_int64(id->value, id->value_len, &v));
    assert_int_equal(v, -42);
    const json_member *result = json_member_find(m, n, "result", NULL);
    assert_non_null(result);
    const char want[] = "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}";
    assert_int_equal(result->value_len, sizeof want - 1);
    assert_memory_equal(result->value, want, sizeof want - 1);
    const json_member *version = json_member_find(m, n, "jsonrpc", NULL);
    assert_int_equal(version->value_len, 5);
    assert_memory_equal(version->value, "\"2.0\"", 5);
    assert_null(json_member_find(m, n, "error", NULL));

    /* More members than room: counted, the first ones stored. */
    assert_true(json_scan_object(text, strlen(text), m, 1, &n));
    assert_int_equal(n, 3);
    assert_int_equal(m[0].key_len, 7);

    /* Not an object, or not valid. */
    assert_false(json_scan_object("[1]", 3, m, 4, &n));
    assert_false(json_scan_object("{\"a\":1", 6, m, 4, &n));
    assert_false(json_scan_object("{\"a\":1} 2", 9, m, 4, &n));
    assert_true(json_scan_object("{}", 2, m, 4, &n));
    assert_int_equal(n, 0);
}

static void test_ambiguous_keys(void **state)
{
    (void)state;
    json_member m[4];
    size_t n;
    bool ambiguous;
    const char *dup = "{\"id\":1,\"id\":2}";
    assert_true(json_scan_object(dup, strlen(dup), m, 4, &n));
    assert_null(json_member_find(m, n, "id", &ambiguous));
    assert_true(ambiguous);
    const char *esc = "{\"i\\u0064\":1}"; /* spells "id" */
    assert_true(json_scan_object(esc, strlen(esc), m, 4, &n));
    assert_true(m[0].key_escaped);
    assert_null(json_member_find(m, n, "id", &ambiguous));
    assert_true(ambiguous);
    const char *plain = "{\"idx\":1,\"id\":2}";
    assert_true(json_scan_object(plain, strlen(plain), m, 4, &n));
    const json_member *id = json_member_find(m, n, "id", &ambiguous);
    assert_false(ambiguous);
    assert_non_null(id);
    assert_memory_equal(id->value, "2", 1);
}

static void test_int64(void **state)
{
    (void)state;
    int64_t v;
    assert_true(json_span_int64("0", 1, &v));
    assert_int_equal(v, 0);
    assert_true(json_span_int64("999999999999999999", 18, &v));
    assert_int_equal(v, 999999999999999999LL);
    assert_false(json_span_int64("1.0", 3, &v));
    assert_false(json_span_int64("1e3", 3, &v));
    assert_false(json_span_int64("\"1\"", 3, &v));
    assert_false(json_span_int64("-", 1, &v));
    assert_false(json_span_int64("", 0, &v));
    assert_false(json_span_int64("1234567890123456789", 19, &v));
}

/* Random mutations of valid texts: whatever the scanner accepts, jansson
 * accepts (the fuzzer fuzz_json_scan does the same at length). */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"h\\u00e9\"}]}}",
        "[1,-2.5e3,true,false,null,\"\xC3\xA9\\ud83d\\ude00\",{\"a\":[]}]",
    };
    static const char alphabet[] = "{}[]\",:.-+eE0123456789\\u tfnrl\x80\xC3\xED\xF4";
    srand(1234);
    char buf[256];
    for (int round = 0; round < 200000; round++) {
        const char *seed = seeds[round % 2];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + rand() % 3;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % len;
            buf[at] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        }
        if (json_scan_valid(buf, len) && !jansson_accepts(buf, len))
            fail_msg("scanner accepted what jansson refuses: %.*s", (int)len, buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar), cmocka_unit_test(test_strings),   cmocka_unit_test(test_number_bounds),
        cmocka_unit_test(test_depth),   cmocka_unit_test(test_members),   cmocka_unit_test(test_ambiguous_keys),
        cmocka_unit_test(test_int64),   cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
