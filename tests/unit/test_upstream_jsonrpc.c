/* test_upstream_jsonrpc.c - line framing (limits, split reads, CRLF) and
 * JSON-RPC message classification. */
#include "core/jsonrpc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct seen {
    char lines[8][64];
    size_t n_lines;
    size_t overflows[8];
    size_t n_overflows;
} seen;

static void on_line(const char *line, size_t len, void *ctx)
{
    seen *s = ctx;
    assert_true(s->n_lines < 8 && len < 64);
    memcpy(s->lines[s->n_lines], line, len);
    s->lines[s->n_lines][len] = '\0';
    s->n_lines++;
}

static void on_overflow(size_t len, void *ctx)
{
    seen *s = ctx;
    s->overflows[s->n_overflows++] = len;
}

static void feed(jsonrpc_framer *f, const char *text, seen *s)
{
    jsonrpc_framer_feed(f, text, strlen(text), on_line, on_overflow, s);
}

static void test_lines_split_across_reads(void **state)
{
    (void)state;
    jsonrpc_framer f;
    jsonrpc_framer_init(&f, 100);
    seen s = {0};
    feed(&f, "{\"a\":1}\n{\"b\"", &s);
    feed(&f, ":2}\r\n\n", &s);
    feed(&f, "{\"c\":3}", &s);
    assert_int_equal(s.n_lines, 2);
    assert_string_equal(s.lines[0], "{\"a\":1}");
    assert_string_equal(s.lines[1], "{\"b\":2}");
    feed(&f, "\n", &s);
    assert_int_equal(s.n_lines, 3);
    assert_string_equal(s.lines[2], "{\"c\":3}");
    jsonrpc_framer_free(&f);
}

static void test_overlong_line_is_dropped_whole(void **state)
{
    (void)state;
    jsonrpc_framer f;
    jsonrpc_framer_init(&f, 10);
    seen s = {0};
    feed(&f, "0123456789", &s); /* exactly the limit, still open */
    feed(&f, "abcdef", &s);     /* now over: dropped */
    feed(&f, "ghij\nok\n", &s); /* the rest of it, then a good line */
    assert_int_equal(s.n_overflows, 1);
    assert_int_equal(s.overflows[0], 20);
    assert_int_equal(s.n_lines, 1);
    assert_string_equal(s.lines[0], "ok");
    feed(&f, "this line is too long\nfine\n", &s); /* over the limit within one read */
    assert_int_equal(s.n_overflows, 2);
    assert_int_equal(s.n_lines, 2);
    assert_string_equal(s.lines[1], "fine");
    jsonrpc_framer_free(&f);
}

static jsonrpc_kind classify_text(const char *text, int64_t *id)
{
    json_t *msg = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(msg);
    jsonrpc_kind k = jsonrpc_classify(msg, id);
    json_decref(msg);
    return k;
}

static void test_classify(void **state)
{
    (void)state;
    int64_t id;
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", &id), JSONRPC_RESPONSE);
    assert_int_equal(id, 7);
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":1,\"message\":\"x\"}}", &id),
                     JSONRPC_ERROR);
    assert_int_equal(id, 8);
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":1}", &id), JSONRPC_RESPONSE);
    assert_int_equal(id, 0); /* not an id we issue */
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", &id), JSONRPC_NOTIFICATION);
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"x\"}", &id), JSONRPC_REQUEST);
    assert_int_equal(classify_text("{\"jsonrpc\":\"1.0\",\"method\":\"n\"}", &id), JSONRPC_INVALID);
    assert_int_equal(classify_text("[1,2]", &id), JSONRPC_INVALID);
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"id\":1}", &id), JSONRPC_INVALID);
    assert_int_equal(classify_text("{\"jsonrpc\":\"2.0\",\"method\":5}", &id), JSONRPC_INVALID);
}

static void test_builders(void **state)
{
    (void)state;
    json_t *params = json_pack("{s:s}", "cursor", "c1");
    json_t *req = jsonrpc_request_new(3, "tools/list", params);
    json_decref(params);
    char *text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
                        "{\"id\":3,\"jsonrpc\":\"2.0\",\"method\":\"tools/list\",\"params\":{\"cursor\":\"c1\"}}");
    free(text);
    json_decref(req);
    json_t *id = json_string("abc");
    json_t *err = jsonrpc_error_new(id, -32601, "nope", NULL);
    assert_int_equal(jsonrpc_classify(err, NULL), JSONRPC_ERROR);
    assert_string_equal(json_string_value(json_object_get(err, "id")), "abc");
    json_decref(err);
    json_decref(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_split_across_reads),
        cmocka_unit_test(test_overlong_line_is_dropped_whole),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
