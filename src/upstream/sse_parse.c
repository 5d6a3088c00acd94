/* sse_parse.c - the event stream format (sse_parse.h). */
#include "upstream/sse_parse.h"

#include <stdlib.h>
#include <string.h>

void sse_parser_init(sse_parser *p, size_t max_bytes)
{
    *p = (sse_parser){.max_bytes = max_bytes, .retry_ms = -1};
}

void sse_parser_free(sse_parser *p)
{
    strbuf_free(&p->line);
    strbuf_free(&p->data);
    free(p->type);
    free(p->last_id);
    *p = (sse_parser){0};
}

static char *dup_n(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void reset_event(sse_parser *p)
{
    p->data.len = 0;
    if (p->data.data)
        p->data.data[0] = '\0';
    free(p->type);
    p->type = NULL;
}

/* A blank line: the event, if it has data. */
static bool dispatch(sse_parser *p, sse_event_fn cb, void *ctx)
{
    if (p->data.len == 0) {
        reset_event(p);
        return true;
    }
    size_t len = p->data.len - 1; /* the '\n' after the last data line */
    p->data.data[len] = '\0';
    bool go = cb(p->type ? p->type : "message", p->data.data, len, p->last_id, ctx);
    reset_event(p);
    return go;
}

static bool field(sse_parser *p, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = (size_t)(line + len - value);
    if (value_len > 0 && *value == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->data.len + value_len + 1 > p->max_bytes)
            return false;
        strbuf_append(&p->data, value, value_len);
        strbuf_append(&p->data, "\n", 1);
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        free(p->type);
        p->type = dup_n(value, value_len);
    } else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(value, '\0', value_len)) {
            free(p->last_id);
            p->last_id = dup_n(value, value_len);
        }
    } else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
        int64_t ms = value_len ? 0 : -1;
        for (size_t i = 0; i < value_len && ms >= 0; i++)
            ms = (value[i] >= '0' && value[i] <= '9' && ms < INT32_MAX) ? ms * 10 + (value[i] - '0') : -1;
        if (ms >= 0)
            p->retry_ms = ms;
    }
    return true; /* other fields are ignored, as the format says */
}

static bool end_line(sse_parser *p, sse_event_fn cb, void *ctx)
{
    const char *line = p->line.data ? p->line.data : "";
    size_t len = p->line.len;
    bool ok;
    if (len == 0)
        ok = dispatch(p, cb, ctx);
    else if (line[0] == ':')
        ok = true; /* a comment (keep-alive) */
    else if (!field(p, line, len)) {
        reset_event(p);
        ok = false;
    } else
        ok = true;
    p->line.len = 0;
    return ok;
}

bool sse_parser_feed(sse_parser *p, const char *bytes, size_t len, sse_event_fn cb, void *ctx)
{
    static const char bom[] = "\xEF\xBB\xBF";
    for (size_t i = 0; i < len; i++) {
        char c = bytes[i];
        if (!p->started) {
            /* The BOM, possibly split across feeds, is held in `line`. */
            size_t k = p->line.len;
            if (k < 3 && c == bom[k]) {
                strbuf_append(&p->line, &c, 1);
                if (k + 1 == 3) {
                    p->line.len = 0;
                    p->started = true;
                }
                continue;
            }
            p->started = true; /* not a BOM: what was held is line text */
        }
        if (p->cr) {
            p->cr = false;
            if (c == '\n')
                continue;
        }
        if (c == '\r' || c == '\n') {
            p->cr = c == '\r';
            if (!end_line(p, cb, ctx))
                return false;
            continue;
        }
        /* The rest of the line in this feed, at once. */
        size_t end = i + 1;
        while (end < len && bytes[end] != '\r' && bytes[end] != '\n')
            end++;
        if (p->line.len + (end - i) > p->max_bytes)
            return false;
        strbuf_append(&p->line, bytes + i, end - i);
        i = end - 1;
    }
    return true;
}
