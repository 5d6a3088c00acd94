/* util.c - time, randomness, constant-time compare and a growable buffer. */
#include "core/util.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void timestamp_now(char out[TIMESTAMP_LEN])
{
    /* The date and time of day change once a second: formatted then only
     * (gmtime_r and strftime were a thousand instructions of every event,
     * one per tool call; docs/BENCHMARKS.md). Per thread, to stay safe. */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[TIMESTAMP_LEN];
    static _Thread_local size_t cached_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm); /* 19 chars until year 9999 */
        cached_sec = ts.tv_sec;
    }
    memcpy(out, cached, cached_len);
    char *p = out + cached_len;
    *p++ = '.';
    long us = ts.tv_nsec / 1000 % 1000000;
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + us % 10);
        us /= 10;
    }
    p[6] = 'Z';
    p[7] = '\0';
}

void random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("getrandom");
            abort(); /* no entropy means no safe epoch or key: nothing sensible to do */
        }
        p += n;
        len -= (size_t)n;
    }
}

bool secure_equals(const char *a, size_t a_len, const char *b, size_t b_len)
{
    /* Walk the whole of `a` whatever `b` holds, so the time taken depends only
     * on the length of the secret, not on where the first difference is. */
    unsigned char diff = (unsigned char)(a_len != b_len);
    for (size_t i = 0; i < a_len; i++)
        diff |= (unsigned char)(a[i] ^ (i < b_len ? b[i] : 0));
    return diff == 0;
}

void strbuf_grow(strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    sb->data = xrealloc(sb->data, cap);
    sb->cap = cap;
}

void strbuf_appendf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert(n >= 0); /* only an invalid format fails, and formats are literals */
    strbuf_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void strbuf_free(strbuf *sb)
{
    free(sb->data);
    *sb = (strbuf){0};
}

static void *check_alloc(void *p)
{
    if (!p) {
        fputs("mcpproxy: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xmalloc(size_t size)
{
    return check_alloc(malloc(size ? size : 1));
}

void *xcalloc(size_t n, size_t size)
{
    return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t size)
{
    return check_alloc(realloc(p, size ? size : 1));
}

char *xstrdup(const char *s)
{
    return check_alloc(strdup(s));
}
