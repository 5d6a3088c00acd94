/* line_ring.c - fixed-capacity ring of text lines. */
#include "upstream/line_ring.h"

#include "core/utf8.h"
#include "core/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void line_ring_init(line_ring *r, size_t capacity)
{
    memset(r, 0, sizeof(*r));
    r->capacity = capacity ? capacity : LINE_RING_DEFAULT_CAPACITY;
    r->lines = xcalloc(r->capacity, sizeof(char *));
    r->partial = xmalloc(LINE_RING_MAX_LINE + 1);
}

void line_ring_free(line_ring *r)
{
    if (r->lines) {
        for (size_t i = 0; i < r->capacity; i++)
            free(r->lines[i]);
        free(r->lines);
    }
    free(r->partial);
    memset(r, 0, sizeof(*r));
}

void line_ring_push(line_ring *r, const char *line, size_t len)
{
    /* Made valid first, then cut: the cut sees only whole characters and
     * U+FFFD, so it always lands on a boundary. A character that the feed
     * split (it keeps LINE_RING_MAX_LINE + 1 bytes of a long line) became a
     * U+FFFD starting at most two bytes before the cut; three bytes long,
     * it reaches past the cut and goes with the rest. */
    strbuf valid = {0};
    utf8_append_lossy(&valid, line, len);
    size_t n = utf8_prefix_len(valid.data, valid.len, LINE_RING_MAX_LINE);
    char *copy = xmalloc(n + 1);
    memcpy(copy, valid.data, n);
    copy[n] = '\0';
    strbuf_free(&valid);
    size_t slot = (r->start + r->count) % r->capacity;
    if (r->count == r->capacity) {
        free(r->lines[r->start]);
        r->start = (r->start + 1) % r->capacity;
    } else {
        r->count++;
    }
    r->lines[slot] = copy;
    r->total++;
}

void line_ring_feed(line_ring *r, const char *bytes, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(bytes, '\n', len);
        size_t chunk = nl ? (size_t)(nl - bytes) : len;
        size_t room = LINE_RING_MAX_LINE + 1 - r->partial_len;
        size_t take = chunk < room ? chunk : room;
        memcpy(r->partial + r->partial_len, bytes, take);
        r->partial_len += take;
        if (!nl)
            break;
        size_t l = r->partial_len;
        if (l > 0 && r->partial[l - 1] == '\r')
            l--;
        line_ring_push(r, r->partial, l);
        r->partial_len = 0;
        bytes += chunk + 1;
        len -= chunk + 1;
    }
}

void line_ring_flush(line_ring *r)
{
    if (r->partial_len > 0) {
        line_ring_push(r, r->partial, r->partial_len);
        r->partial_len = 0;
    }
}

static size_t first_of_tail(const line_ring *r, size_t n)
{
    return (n == 0 || n > r->count) ? 0 : r->count - n;
}

json_t *line_ring_tail_json(const line_ring *r, size_t n)
{
    json_t *arr = json_array();
    /* Stored valid (line_ring_push): no second check. */
    for (size_t i = first_of_tail(r, n); i < r->count; i++)
        json_array_append_new(arr, json_string_nocheck(r->lines[(r->start + i) % r->capacity]));
    return arr;
}

char *line_ring_tail_text(const line_ring *r, size_t n)
{
    strbuf sb = {0};
    for (size_t i = first_of_tail(r, n); i < r->count; i++) {
        if (sb.len)
            strbuf_append(&sb, "\n", 1);
        const char *line = r->lines[(r->start + i) % r->capacity];
        strbuf_append(&sb, line, strlen(line));
    }
    if (!sb.data)
        return xstrdup("");
    strbuf_append(&sb, "", 1); /* NUL */
    return sb.data;
}

const char *line_ring_last(const line_ring *r)
{
    if (r->count == 0)
        return NULL;
    return r->lines[(r->start + r->count - 1) % r->capacity];
}

const char *line_ring_nth_newest(const line_ring *r, size_t back)
{
    if (back >= r->count)
        return NULL;
    return r->lines[(r->start + r->count - 1 - back) % r->capacity];
}

/* Whether a line reads like an error message rather than a stack frame or
 * a version banner. */
static bool reads_like_error(const char *line)
{
    static const char *const marks[] = {"Error", "error:", "ERROR", "Exception",
                                        "panic", "fatal",  "FATAL", "Traceback"};
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "at ", 3) == 0) /* a stack frame naming an Error class */
        return false;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(line, marks[i]))
            return true;
    return false;
}

const char *line_ring_telling_line(const line_ring *r, size_t n)
{
    if (n == 0 || n > r->count)
        n = r->count;
    for (size_t back = 0; back < n; back++) {
        const char *line = line_ring_nth_newest(r, back);
        if (reads_like_error(line))
            return line;
    }
    return line_ring_last(r);
}
