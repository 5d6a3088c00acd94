/* utf8.c - lossy UTF-8 (see utf8.h). */
#include "core/utf8.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* How many bytes at s[0..len) the decoder consumes, and whether they form
 * one valid character (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF). When they do not, the count is the "maximal subpart": the
 * longest start of a valid sequence (at least one byte), which the WHATWG
 * decoder that browsers use replaces with a single U+FFFD. */
static size_t sequence_len(const unsigned char *s, size_t len, bool *valid)
{
    unsigned char c = s[0];
    *valid = true;
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *valid = false;
        return 1;
    }
    if (len < 2 || s[1] < lo || s[1] > hi) {
        *valid = false;
        return 1;
    }
    for (size_t i = 2; i < n; i++) {
        if (i >= len || !is_continuation(s[i])) {
            *valid = false;
            return i;
        }
    }
    return n;
}

void utf8_append_lossy(strbuf *out, const char *bytes, size_t len)
{
    const unsigned char *s = (const unsigned char *)bytes;
    size_t run = 0; /* valid bytes not yet copied, ending at i */
    size_t i = 0;
    strbuf_reserve(out, len);
    while (i < len) {
        bool valid;
        size_t n = sequence_len(s + i, len - i, &valid);
        if (valid) {
            i += n;
            run += n;
            continue;
        }
        strbuf_append(out, bytes + i - run, run);
        strbuf_append(out, "\xEF\xBF\xBD", 3);
        run = 0;
        i += n;
    }
    strbuf_append(out, bytes + i - run, run);
}

json_t *json_string_lossy(const char *bytes, size_t len)
{
    strbuf sb = {0};
    utf8_append_lossy(&sb, bytes, len);
    json_t *s = json_stringn(sb.data ? sb.data : "", sb.len);
    strbuf_free(&sb);
    assert(s); /* valid UTF-8 now; jansson's allocations abort (main) */
    return s;
}

/* Bytes in the character a lead byte starts, by its bit pattern alone (1
 * for anything that is not a multi-byte lead). */
static size_t lead_len(unsigned char c)
{
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

size_t utf8_prefix_len(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    const unsigned char *u = (const unsigned char *)s;
    if (!is_continuation(u[max]))
        return max;
    /* s[max] continues a character: find its lead byte, at most three bytes
     * back, and cut before it when the character reaches past max. Stray
     * continuation bytes (invalid input) have no such lead, and a long run
     * of them is cut at max rather than walked back to nothing. */
    for (size_t back = 1; back <= 3 && back <= max; back++) {
        unsigned char c = u[max - back];
        if (!is_continuation(c))
            return lead_len(c) > back ? max - back : max;
    }
    return max;
}

char *utf8_copy(char *out, size_t out_len, const char *s)
{
    assert(out_len > 0);
    size_t n = utf8_prefix_len(s, strlen(s), out_len - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}
