/* utf8.c - lossy UTF-8 (see utf8.h). */
#include "core/utf8.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when s[0] does not
 * start one (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF). */
static size_t sequence_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
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
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
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
        size_t n = sequence_len(s + i, len - i);
        if (n) {
            i += n;
            run += n;
            continue;
        }
        strbuf_append(out, bytes + i - run, run);
        strbuf_append(out, "\xEF\xBF\xBD", 3);
        run = 0;
        i++;
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

size_t utf8_prefix_len(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    /* A continuation byte at the cut means the character it belongs to
     * started before the cut: cut before that character instead. */
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *utf8_copy(char *out, size_t out_len, const char *s)
{
    assert(out_len > 0);
    size_t n = utf8_prefix_len(s, strlen(s), out_len - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}
