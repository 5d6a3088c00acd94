/* json_scan.c - a checking JSON scanner that builds nothing (json_scan.h). */
#include "core/json_scan.h"

#include "core/util.h"

#include <string.h>

typedef struct scan {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool literal(scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* Four hex digits after "\u"; -1 when they are not. */
static long hex4(scan *s)
{
    if (s->end - s->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(s->p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    s->p += 4;
    return v;
}

/* After the backslash. */
static bool escape(scan *s)
{
    if (s->p >= s->end)
        return false;
    unsigned char c = *s->p++;
    if (strchr("\"\\/bfnrt", c) && c != '\0')
        return true;
    if (c != 'u')
        return false;
    long u = hex4(s);
    if (u <= 0) /* not hex, or \u0000 (jansson refuses it by default) */
        return false;
    if (u >= 0xDC00 && u <= 0xDFFF) /* a low surrogate alone */
        return false;
    if (u >= 0xD800 && u <= 0xDBFF) { /* a high one must be followed by a low one */
        if (!literal(s, "\\u", 2))
            return false;
        long low = hex4(s);
        return low >= 0xDC00 && low <= 0xDFFF;
    }
    return true;
}

/* One multi-byte UTF-8 character whose lead byte is at s->p (>= 0x80). */
static bool utf8_char(scan *s)
{
    const unsigned char *p = s->p;
    unsigned char c = p[0];
    size_t n;
    unsigned long cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return false; /* a continuation byte, an overlong lead (C0, C1) or past U+10FFFF */
    }
    if ((size_t)(s->end - p) < n)
        return false;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    s->p += n;
    return true;
}

/* 1 for a string's bytes that need no look: printable ASCII other than
 * '"' and '\\'. A run of them is skipped in a tight loop, one lookup a byte;
 * most of a tool call's JSON is such runs (docs/BENCHMARKS.md). */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xA0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xB0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xC0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xD0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xE0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xF0 */
};

/* At the opening quote; *escaped says whether a backslash was seen. */
static bool string(scan *s, bool *escaped)
{
    s->p++;
    *escaped = false;
    while (s->p < s->end) {
        while (plain[*s->p] && ++s->p < s->end)
            ;
        if (s->p >= s->end)
            break;
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            *escaped = true;
            s->p++;
            if (!escape(s))
                return false;
        } else if (c < 0x80) {
            s->p++;
        } else if (!utf8_char(s)) {
            return false;
        }
    }
    return false;
}

static size_t digits(scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return (size_t)(s->p - start);
}

static bool number(scan *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return false;
    size_t int_digits;
    if (*s->p == '0') {
        s->p++;
        int_digits = 1;
    } else if ((int_digits = digits(s)) == 0) {
        return false;
    }
    bool real = false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) == 0)
            return false;
        real = true;
    }
    long exp = 0;
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        bool negative = false;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            negative = *s->p++ == '-';
        const unsigned char *start = s->p;
        size_t n = digits(s);
        if (n == 0 || n > 4)
            return false;
        for (size_t i = 0; i < n; i++)
            exp = exp * 10 + (start[i] - '0');
        if (negative)
            exp = -exp;
        real = true;
    }
    if (!real)
        return int_digits <= 18;
    return (long)int_digits + exp <= 300;
}

static bool value(scan *s);

static bool array(scan *s)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (!value(s))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p++ != ',')
            return false;
    }
}

/* At the opening brace. Members go into out[0..max) when out is not NULL. */
static bool object(scan *s, json_member *out, size_t max, size_t *count)
{
    size_t n = 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        *count = 0;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return false;
        const unsigned char *key = s->p + 1;
        bool escaped;
        if (!string(s, &escaped))
            return false;
        size_t key_len = (size_t)(s->p - 1 - key);
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        const unsigned char *v = s->p;
        if (!value(s))
            return false;
        if (out && n < max)
            out[n] = (json_member){.key = (const char *)key,
                                   .key_len = key_len,
                                   .key_escaped = escaped,
                                   .value = (const char *)v,
                                   .value_len = (size_t)(s->p - v)};
        n++;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == '}') {
            s->p++;
            *count = n;
            return true;
        }
        if (*s->p++ != ',')
            return false;
    }
}

/* At the value's first byte (whitespace skipped). */
static bool value(scan *s)
{
    if (s->p >= s->end)
        return false;
    bool escaped, ok;
    size_t n;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > JSON_SCAN_MAX_DEPTH)
            return false;
        ok = *s->p == '{' ? object(s, NULL, 0, &n) : array(s);
        s->depth--;
        return ok;
    case '"':
        return string(s, &escaped);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        return number(s);
    }
}

bool json_scan_valid(const char *text, size_t len)
{
    scan s = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
    skip_ws(&s);
    if (!value(&s))
        return false;
    skip_ws(&s);
    return s.p == s.end;
}

bool json_scan_object(const char *text, size_t len, json_member *out, size_t max, size_t *n)
{
    scan s = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len, .depth = 1};
    size_t count = 0;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{' || !object(&s, out, max, &count))
        return false;
    skip_ws(&s);
    if (s.p != s.end)
        return false;
    *n = count;
    return true;
}

const json_member *json_member_find(const json_member *members, size_t n, const char *key, bool *ambiguous)
{
    size_t key_len = strlen(key);
    const json_member *found = NULL;
    bool unsure = false;
    for (size_t i = 0; i < n; i++) {
        const json_member *m = &members[i];
        if (m->key_escaped) {
            unsure = true; /* it might spell `key` */
        } else if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) {
            if (found)
                unsure = true;
            found = m;
        }
    }
    if (ambiguous)
        *ambiguous = unsure;
    return unsure ? NULL : found;
}

bool json_span_int64(const char *v, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = len > 0 && v[0] == '-';
    if (negative)
        i++;
    if (i == len || len - i > 18)
        return false; /* at most 18 digits: no overflow below */
    int64_t x = 0;
    for (; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (v[i] - '0');
    }
    *out = negative ? -x : x;
    return true;
}
