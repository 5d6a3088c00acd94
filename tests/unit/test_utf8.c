/* test_utf8.c - bytes from outside made valid UTF-8 (U+FFFD replacement as
 * the WHATWG decoder does it), and cuts that never split a character. */
#include "core/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FFFD "\xEF\xBF\xBD"

/* utf8_append_lossy over `in` (len bytes) must give exactly `want`. */
static void check_lossy(const char *in, size_t len, const char *want)
{
    strbuf sb = {0};
    utf8_append_lossy(&sb, in, len);
    assert_int_equal(sb.len, strlen(want));
    assert_memory_equal(sb.data ? sb.data : "", want, sb.len);
    strbuf_free(&sb);
    /* jansson, which refuses invalid UTF-8, takes the result. */
    json_t *s = json_string_lossy(in, len);
    assert_non_null(s);
    assert_string_equal(json_string_value(s), want);
    json_decref(s);
}

#define LOSSY(in, want) check_lossy((in), sizeof(in) - 1, (want))

static void test_valid_text_is_kept(void **state)
{
    (void)state;
    LOSSY("", "");
    LOSSY("plain ASCII\t\x7f", "plain ASCII\t\x7f");
    /* 2-, 3- and 4-byte characters, and the edges of each length's range */
    LOSSY("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    LOSSY("\xC2\x80\xDF\xBF", "\xC2\x80\xDF\xBF");                                 /* U+0080, U+07FF */
    LOSSY("\xE0\xA0\x80\xED\x9F\xBF", "\xE0\xA0\x80\xED\x9F\xBF");                 /* U+0800, U+D7FF */
    LOSSY("\xEE\x80\x80\xEF\xBF\xBF", "\xEE\x80\x80\xEF\xBF\xBF");                 /* U+E000, U+FFFF */
    LOSSY("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"); /* U+10000, U+10FFFF */
    LOSSY(FFFD, FFFD); /* a real U+FFFD is text like any other */
}

static void test_stray_continuation_bytes(void **state)
{
    (void)state;
    LOSSY("a\x80z", "a" FFFD "z");
    LOSSY("\x80\xBF", FFFD FFFD);
    /* one too many after a whole character */
    LOSSY("\xC3\xA9\xA9", "\xC3\xA9" FFFD);
}

static void test_overlong_forms(void **state)
{
    (void)state;
    LOSSY("\xC0\xAF", FFFD FFFD); /* '/' in two bytes */
    LOSSY("\xC1\xBF", FFFD FFFD);
    LOSSY("\xE0\x80\xAF", FFFD FFFD FFFD); /* '/' in three */
    LOSSY("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD);
}

static void test_surrogates(void **state)
{
    (void)state;
    LOSSY("\xED\xA0\x80", FFFD FFFD FFFD);           /* U+D800 */
    LOSSY("x\xED\xBF\xBFy", "x" FFFD FFFD FFFD "y"); /* U+DFFF */
}

static void test_beyond_u10ffff(void **state)
{
    (void)state;
    LOSSY("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* U+110000 */
    LOSSY("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD);
    LOSSY("\xF8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD);
    LOSSY("\xFE\xFF", FFFD FFFD);
}

static void test_truncated_sequences(void **state)
{
    (void)state;
    /* cut short by the end of the input: one U+FFFD for what was there */
    LOSSY("ok\xC3", "ok" FFFD);
    LOSSY("ok\xE2\x82", "ok" FFFD);
    LOSSY("ok\xF0\x9F\x98", "ok" FFFD);
    LOSSY("\xF0", FFFD);
    /* cut short by a byte that cannot continue it: that byte is kept */
    LOSSY("\xE2\x82z", FFFD "z");
    LOSSY("\xF0\x9F\x98\xC3\xA9", FFFD "\xC3\xA9");
    LOSSY("\xE2\xE2\x82\xAC", FFFD "\xE2\x82\xAC");
}

static void test_embedded_nul_is_kept(void **state)
{
    (void)state;
    json_t *s = json_string_lossy("a\0\xFF", 3);
    assert_int_equal(json_string_length(s), 5);
    assert_memory_equal(json_string_value(s), "a\0" FFFD, 5);
    json_decref(s);
}

/* Whatever the bytes, the output is valid UTF-8: jansson accepts it, and
 * a second pass changes nothing. */
static void test_random_bytes_always_come_out_valid(void **state)
{
    (void)state;
    uint32_t x = 12345; /* xorshift: the same bytes on every run */
    for (int round = 0; round < 2000; round++) {
        unsigned char in[64];
        size_t len = (size_t)(round % 64);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* mostly high bytes, where the invalid classes live */
            in[i] = (unsigned char)(x % 3 ? 0x80 | (x >> 8) : x >> 8);
        }
        strbuf once = {0};
        utf8_append_lossy(&once, (const char *)in, len);
        json_t *j = json_stringn(once.data ? once.data : "", once.len);
        assert_non_null(j);
        json_decref(j);
        strbuf twice = {0};
        utf8_append_lossy(&twice, once.data ? once.data : "", once.len);
        assert_int_equal(twice.len, once.len);
        assert_memory_equal(twice.data ? twice.data : "", once.data ? once.data : "", once.len);
        strbuf_free(&once);
        strbuf_free(&twice);
    }
}

/* ---- cuts ------------------------------------------------------------------ */

/* For "ab" + ch + "cd", every max from 0 to the length: the cut is the
 * largest character boundary at or below max. */
static void check_cuts_around(const char *ch)
{
    size_t w = strlen(ch);
    char text[16];
    size_t len = (size_t)snprintf(text, sizeof(text), "ab%scd", ch);
    for (size_t max = 0; max <= len + 1; max++) {
        size_t want;
        if (max >= len)
            want = len;
        else if (max > 2 && max < 2 + w)
            want = 2; /* inside the character: cut before it */
        else
            want = max;
        assert_int_equal(utf8_prefix_len(text, len, max), want);

        char out[16];
        utf8_copy(out, max + 1, text);
        assert_int_equal(strlen(out), want);
        assert_memory_equal(out, text, want);
    }
}

static void test_prefix_never_splits_a_character(void **state)
{
    (void)state;
    check_cuts_around("\xC3\xA9");         /* 2 bytes */
    check_cuts_around("\xE2\x82\xAC");     /* 3 bytes */
    check_cuts_around("\xF0\x9F\x98\x80"); /* 4 bytes */
}

static void test_prefix_between_characters(void **state)
{
    (void)state;
    /* two 3-byte characters back to back: each boundary is a valid cut */
    const char *s = "\xE2\x82\xAC\xE2\x82\xAC";
    assert_int_equal(utf8_prefix_len(s, 6, 3), 3);
    assert_int_equal(utf8_prefix_len(s, 6, 4), 3);
    assert_int_equal(utf8_prefix_len(s, 6, 5), 3);
    assert_int_equal(utf8_prefix_len(s, 6, 2), 0);
    assert_int_equal(utf8_prefix_len(s, 6, 0), 0);
}

static void test_prefix_of_invalid_input(void **state)
{
    (void)state;
    /* A run of stray continuation bytes starts no character: the cut
     * stays at max instead of walking back over the whole run. */
    const char *stray = "a\xE2\x82\xAC\x80\x80\x80\x80\x80";
    assert_int_equal(utf8_prefix_len(stray, 9, 7), 7);
    assert_int_equal(utf8_prefix_len("\x80\x80\x80\x80\x80\x80", 6, 4), 4);
    /* a whole character followed by a stray byte: nothing to shorten */
    assert_int_equal(utf8_prefix_len("\xE2\x82\xAC\x80", 4, 3), 3);
    /* a lead byte whose character would reach past the cut */
    assert_int_equal(utf8_prefix_len("ab\xF0\x80", 4, 3), 2);
}

static void test_copy_short_strings_whole(void **state)
{
    (void)state;
    char out[8];
    assert_string_equal(utf8_copy(out, sizeof(out), "caf\xC3\xA9"), "caf\xC3\xA9");
    assert_string_equal(utf8_copy(out, 1, "abc"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_is_kept),
        cmocka_unit_test(test_stray_continuation_bytes),
        cmocka_unit_test(test_overlong_forms),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_beyond_u10ffff),
        cmocka_unit_test(test_truncated_sequences),
        cmocka_unit_test(test_embedded_nul_is_kept),
        cmocka_unit_test(test_random_bytes_always_come_out_valid),
        cmocka_unit_test(test_prefix_never_splits_a_character),
        cmocka_unit_test(test_prefix_between_characters),
        cmocka_unit_test(test_prefix_of_invalid_input),
        cmocka_unit_test(test_copy_short_strings_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
