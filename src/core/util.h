/* util.h - small helpers shared by every part: time, randomness, buffers. */
#ifndef MCPPROXY_CORE_UTIL_H
#define MCPPROXY_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The struct of type `type` whose member `member` is at `ptr`. */
#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* RFC 3339 UTC with microseconds: "2026-11-28T01:02:03.456789Z" + NUL. */
#define TIMESTAMP_LEN 28
void timestamp_now(char out[TIMESTAMP_LEN]);

/* Fills buf with random bytes from the kernel (getrandom). */
void random_bytes(void *buf, size_t len);

/* Constant-time comparison of two byte strings (length leaks, content does not). */
bool secure_equals(const char *a, size_t a_len, const char *b, size_t b_len);

/* The value of one hex digit (0-9, a-f, A-F), -1 for any other byte. */
static inline int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The first `len` bytes of `src` (cut to size - 1) into `dst`, NUL-terminated:
 * what snprintf(dst, size, "%.*s", len, src) does, without parsing a format
 * (four of those per tool call were ~2,400 instructions). size > 0. */
static inline void copy_text(char *dst, size_t size, const char *src, size_t len)
{
    if (len > size - 1)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* A growable byte buffer. Owns `data`; zero-initialize, then append. */
typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
} strbuf;

/* Out of memory aborts (xrealloc), so appending cannot fail. The data is
 * always NUL-terminated once anything was appended. Reserving and
 * appending are inline: a tool call makes about a hundred small appends,
 * and the call and return of each cost more than its copy
 * (docs/BENCHMARKS.md); only growing the buffer is a call. */
void strbuf_grow(strbuf *sb, size_t extra); /* room for `extra` more bytes and a NUL */

static inline void strbuf_reserve(strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 > sb->cap)
        strbuf_grow(sb, extra);
}

static inline void strbuf_append(strbuf *sb, const void *bytes, size_t len)
{
    strbuf_reserve(sb, len);
    if (len) /* bytes may be NULL when len is 0 (an empty request body) */
        memcpy(sb->data + sb->len, bytes, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void strbuf_appendf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(strbuf *sb);

/* Out of memory is fatal: these print a line and abort. Nothing in
 * mcpproxy has a sensible fallback for a failed small allocation, so no
 * caller checks for one. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
