/* test_sse_parse.c - the event stream parser of the remote transports
 * (src/upstream/sse_parse.c, compiled in directly): the same events come
 * out whatever way the bytes are split, every line ending and field rule
 * the format has, and the bound on one event. */
#include "upstream/sse_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Events as one text: "type|data|id\n" each. */
static bool collect(const char *type, const char *data, size_t len, const char *last_id, void *ctx)
{
    strbuf *out = ctx;
    assert_int_equal(strlen(data), len);
    strbuf_appendf(out, "%s|%s|%s\n", type, data, last_id ? last_id : "-");
    return true;
}

static char *parse_split(const char *stream, size_t len, size_t cut1, size_t cut2, size_t max)
{
    sse_parser p;
    sse_parser_init(&p, max);
    strbuf out = {0};
    strbuf_append(&out, "", 0);
    assert_true(sse_parser_feed(&p, stream, cut1, collect, &out));
    assert_true(sse_parser_feed(&p, stream + cut1, cut2 - cut1, collect, &out));
    assert_true(sse_parser_feed(&p, stream + cut2, len - cut2, collect, &out));
    sse_parser_free(&p);
    return out.data ? out.data : strdup("");
}

static const char stream[] = "\xEF\xBB\xBF"
                             ": keep-alive comment\r\n"
                             "event: endpoint\r\n"
                             "data: /messages?sessionId=abc\r\n"
                             "\r\n"
                             "id: 7\n"
                             "data: {\"jsonrpc\":\"2.0\",\n"
                             "data:\"id\":1}\n"
                             "\n"
                             "retry: 3000\r"
                             "data\r"
                             "\r"
                             "event: ignored-without-data\n"
                             "\n"
                             "unknown: field\n"
                             "data: x: y\n"
                             "\n";
static const char expected[] = "endpoint|/messages?sessionId=abc|-\n"
                               "message|{\"jsonrpc\":\"2.0\",\n\"id\":1}|7\n"
                               "message||7\n"
                               "message|x: y|7\n";

static void test_every_split_gives_the_same_events(void **state)
{
    (void)state;
    size_t len = sizeof stream - 1;
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            char *got = parse_split(stream, len, a, b, 4096);
            if (strcmp(got, expected) != 0)
                fail_msg("split at %zu and %zu gave:\n%s", a, b, got);
            free(got);
        }
    }
}

static void test_retry_and_last_id(void **state)
{
    (void)state;
    sse_parser p;
    sse_parser_init(&p, 4096);
    strbuf out = {0};
    const char s[] = "retry: 1500\nid: a\ndata: 1\n\nid\ndata: 2\n\nretry: x\n";
    assert_true(sse_parser_feed(&p, s, sizeof s - 1, collect, &out));
    assert_string_equal(out.data, "message|1|a\nmessage|2|\n");
    assert_int_equal(p.retry_ms, 1500);
    strbuf_free(&out);
    sse_parser_free(&p);
}

static void test_an_event_past_the_bound_is_refused(void **state)
{
    (void)state;
    sse_parser p;
    sse_parser_init(&p, 16);
    strbuf out = {0};
    const char ok[] = "data: 0123456789\n\n"; /* 10 bytes of data and its '\n' */
    assert_true(sse_parser_feed(&p, ok, sizeof ok - 1, collect, &out));
    const char big[] = "data: 0123456789\ndata: 0123456789\n\n";
    assert_false(sse_parser_feed(&p, big, sizeof big - 1, collect, &out));
    assert_string_equal(out.data, "message|0123456789|-\n");
    sse_parser_free(&p);
    sse_parser_init(&p, 16);
    const char long_line[] = "data: 01234567890123456789";
    assert_false(sse_parser_feed(&p, long_line, sizeof long_line - 1, collect, &out));
    strbuf_free(&out);
    sse_parser_free(&p);
}

static bool stop_at_first(const char *type, const char *data, size_t len, const char *last_id, void *ctx)
{
    (void)type, (void)data, (void)len, (void)last_id;
    (*(int *)ctx)++;
    return false;
}

static void test_the_callback_can_stop_the_feed(void **state)
{
    (void)state;
    sse_parser p;
    sse_parser_init(&p, 4096);
    int calls = 0;
    const char s[] = "data: 1\n\ndata: 2\n\n";
    assert_false(sse_parser_feed(&p, s, sizeof s - 1, stop_at_first, &calls));
    assert_int_equal(calls, 1);
    sse_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split_gives_the_same_events),
        cmocka_unit_test(test_retry_and_last_id),
        cmocka_unit_test(test_an_event_past_the_bound_is_refused),
        cmocka_unit_test(test_the_callback_can_stop_the_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
