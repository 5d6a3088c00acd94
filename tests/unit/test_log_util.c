/* test_log_util.c - structured log lines (JSON and key=value) and the small
 * helpers in util.h. Log output is captured by pointing fd 2 at a temp file. */
#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* --- capturing stderr ------------------------------------------------------ */

static int saved_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_fd = dup(2);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture_file), 2) >= 0);
}

/* Returns what was written to stderr since capture_begin(); caller frees. */
static char *capture_end(void)
{
    fflush(stderr);
    assert_true(dup2(saved_fd, 2) >= 0);
    close(saved_fd);
    off_t size = lseek(fileno(capture_file), 0, SEEK_END);
    char *buf = calloc(1, (size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fileno(capture_file), buf, (size_t)size, 0), size);
    fclose(capture_file);
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static bool is_timestamp(const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (!s || strlen(s) != sizeof pattern - 1)
        return false;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pattern[i])
            return false;
    }
    return true;
}

/* --- log -------------------------------------------------------------------- */

static void test_level_and_format_parse(void **state)
{
    (void)state;
    log_level l;
    assert_true(log_level_parse("debug", &l));
    assert_int_equal(l, LOG_DEBUG);
    assert_true(log_level_parse("info", &l));
    assert_int_equal(l, LOG_INFO);
    assert_true(log_level_parse("warn", &l));
    assert_int_equal(l, LOG_WARN);
    assert_true(log_level_parse("error", &l));
    assert_int_equal(l, LOG_ERROR);
    assert_false(log_level_parse("verbose", &l));
    assert_false(log_level_parse("", &l));
    log_format f;
    assert_true(log_format_parse("text", &f));
    assert_int_equal(f, LOG_FORMAT_TEXT);
    assert_true(log_format_parse("json", &f));
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_false(log_format_parse("xml", &f));
}

static void test_json_line(void **state)
{
    (void)state;
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    capture_begin();
    log_kv(LOG_INFO, "WebSocket client registered",
           LOG_FIELDS(LOG_INT("total_clients", 3), LOG_STR("endpoint", "/ws/events")));
    char *out = capture_end();
    assert_int_equal(count_lines(out), 1);
    json_error_t jerr;
    json_t *line = json_loads(out, 0, &jerr);
    if (!line)
        fail_msg("not a JSON line: %s (%s)", out, jerr.text);
    assert_true(is_timestamp(json_string_value(json_object_get(line, "ts"))));
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(line, "msg")), "WebSocket client registered");
    assert_true(json_is_integer(json_object_get(line, "total_clients")));
    assert_int_equal(json_integer_value(json_object_get(line, "total_clients")), 3);
    assert_string_equal(json_string_value(json_object_get(line, "endpoint")), "/ws/events");
    json_decref(line);
    free(out);
}

static void test_json_levels_and_escaping(void **state)
{
    (void)state;
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    capture_begin();
    log_msg(LOG_DEBUG, "d");
    log_msg(LOG_WARN, "w");
    log_kv(LOG_ERROR, "quote\" and\nnewline",
           LOG_FIELDS(LOG_STR("k", "back\\slash \"q\" \t\x01"), LOG_STR("nul", NULL), LOG_INT("neg", -42),
                      LOG_INT("big", 9007199254740993LL)));
    char *out = capture_end();
    assert_int_equal(count_lines(out), 3);
    const char *levels[] = {"debug", "warn", "error"};
    char *save = NULL;
    char *lineptr = strtok_r(out, "\n", &save);
    for (int i = 0; i < 3; i++) {
        assert_non_null(lineptr);
        json_t *line = json_loads(lineptr, 0, NULL);
        if (!line)
            fail_msg("not a JSON line: %s", lineptr);
        assert_string_equal(json_string_value(json_object_get(line, "level")), levels[i]);
        if (i == 2) {
            assert_string_equal(json_string_value(json_object_get(line, "msg")), "quote\" and\nnewline");
            assert_string_equal(json_string_value(json_object_get(line, "k")), "back\\slash \"q\" \t\x01");
            assert_true(json_is_null(json_object_get(line, "nul")));
            assert_int_equal(json_integer_value(json_object_get(line, "neg")), -42);
            assert_int_equal(json_integer_value(json_object_get(line, "big")), 9007199254740993LL);
        }
        json_decref(line);
        lineptr = strtok_r(NULL, "\n", &save);
    }
    free(out);
}

static void test_level_filter(void **state)
{
    (void)state;
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    capture_begin();
    log_msg(LOG_DEBUG, "hidden-debug");
    log_msg(LOG_INFO, "hidden-info");
    log_msg(LOG_WARN, "shown-warn");
    log_msg(LOG_ERROR, "shown-error");
    char *out = capture_end();
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "shown-warn"));
    assert_non_null(strstr(out, "shown-error"));
    assert_int_equal(count_lines(out), 2);
    free(out);
}

static void test_text_line(void **state)
{
    (void)state;
    log_setup(LOG_DEBUG, LOG_FORMAT_TEXT);
    capture_begin();
    log_kv(LOG_INFO, "WebSocket client unregistered",
           LOG_FIELDS(LOG_INT("total_clients", 0), LOG_STR("reason", "peer closed"), LOG_STR("simple", "word")));
    char *out = capture_end();
    assert_int_equal(count_lines(out), 1);
    /* key=value; a value with a space is quoted so the line stays parseable. */
    assert_non_null(strstr(out, "WebSocket client unregistered"));
    assert_non_null(strstr(out, "total_clients=0"));
    assert_non_null(strstr(out, "simple=word"));
    assert_non_null(strstr(out, "reason=\"peer closed\""));
    assert_non_null(strstr(out, "info"));
    free(out);
}

static void test_text_newline_stays_one_line(void **state)
{
    (void)state;
    log_setup(LOG_DEBUG, LOG_FORMAT_TEXT);
    capture_begin();
    log_kv(LOG_WARN, "multi", LOG_FIELDS(LOG_STR("v", "a\nb")));
    char *out = capture_end();
    /* A value cannot forge a second log line. */
    assert_int_equal(count_lines(out), 1);
    free(out);
}

/* --- util ------------------------------------------------------------------- */

static void test_timestamp(void **state)
{
    (void)state;
    char a[TIMESTAMP_LEN], b[TIMESTAMP_LEN];
    assert_int_equal(TIMESTAMP_LEN, 28);
    timestamp_now(a);
    timestamp_now(b);
    if (!is_timestamp(a))
        fail_msg("bad timestamp %s", a);
    assert_true(strcmp(a, b) <= 0);
    /* Plausible year: the clock is not at the epoch. */
    assert_true(strncmp(a, "2024", 4) >= 0);
}

static void test_random_bytes(void **state)
{
    (void)state;
    unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};
    random_bytes(a, sizeof a);
    random_bytes(b, sizeof b);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);
    random_bytes(a, 0);
}

static void test_secure_equals(void **state)
{
    (void)state;
    assert_true(secure_equals("secret", 6, "secret", 6));
    assert_false(secure_equals("secret", 6, "secreT", 6));
    assert_false(secure_equals("secret", 6, "secret1", 7));
    assert_false(secure_equals("", 0, "x", 1));
    assert_true(secure_equals("", 0, "", 0));
    /* Bytes after a NUL still count. */
    assert_false(secure_equals("a\0b", 3, "a\0c", 3));
}

static void test_strbuf(void **state)
{
    (void)state;
    strbuf sb = {0};
    strbuf_append(&sb, "hello", 5);
    assert_int_equal(sb.len, 5);
    strbuf_appendf(&sb, " %d %s", 42, "world");
    assert_int_equal(sb.len, strlen("hello 42 world"));
    assert_memory_equal(sb.data, "hello 42 world", sb.len);
    /* Grow well past any initial capacity, including a long formatted chunk. */
    for (int i = 0; i < 10000; i++)
        strbuf_append(&sb, "0123456789", 10);
    assert_int_equal(sb.len, 14 + 100000);
    assert_true(sb.cap >= sb.len);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t before = sb.len;
    strbuf_appendf(&sb, "%s!", big);
    assert_int_equal(sb.len, before + 5000);
    assert_int_equal(sb.data[sb.len - 1], '!');
    strbuf_reserve(&sb, 1 << 20);
    assert_true(sb.cap >= sb.len + (1 << 20));
    strbuf_append(&sb, "", 0);
    strbuf_free(&sb);
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    /* Usable again after free. */
    strbuf_appendf(&sb, "%s", "again");
    assert_memory_equal(sb.data, "again", 5);
    strbuf_free(&sb);
}

static void test_x_alloc(void **state)
{
    (void)state;
    char *s = xstrdup("dup me");
    assert_string_equal(s, "dup me");
    int *z = xcalloc(16, sizeof *z);
    for (int i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    z = xrealloc(z, 1000 * sizeof *z);
    z[999] = 1;
    void *m = xmalloc(10);
    free(m);
    free(z);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_and_format_parse),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_json_levels_and_escaping),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_text_newline_stays_one_line),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_secure_equals),
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_x_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
