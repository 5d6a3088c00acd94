/* fuzz_sse_parse.c - the event stream parser of the remote transports
 * (upstream/sse_parse.h) fed whatever a remote server could send.
 *
 * Input layout: byte 0 picks the bound on a line and an event (small, so
 * refusals are common), byte 1 the read size; the rest is the stream. The
 * same stream is parsed in one feed and in feeds of that size: both must
 * give the same events and the same refusal, since how TCP splits the
 * bytes must never change what mcpproxy sees. */
#include "upstream/sse_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void trap_unless(int ok)
{
    if (!ok)
        abort();
}

typedef struct record {
    strbuf text;
    size_t max;
} record;

static bool on_event(const char *type, const char *data, size_t len, const char *last_id, void *ctx)
{
    record *r = ctx;
    trap_unless(len < r->max && strlen(data) <= len);
    strbuf_appendf(&r->text, "E%zu:%s|%zu:", strlen(type), type, len);
    strbuf_append(&r->text, data, len);
    strbuf_appendf(&r->text, "|%s;", last_id ? last_id : "-");
    return true;
}

/* Returns whether the whole stream was taken. */
static bool parse(const uint8_t *data, size_t size, size_t max, size_t step, record *r)
{
    sse_parser p;
    sse_parser_init(&p, max);
    r->max = max;
    bool ok = true;
    for (size_t off = 0; off < size && ok; off += step) {
        size_t n = size - off < step ? size - off : step;
        ok = sse_parser_feed(&p, (const char *)data + off, n, on_event, r);
        /* Bounded memory: nothing held past the bound. */
        trap_unless(p.line.len <= max && p.data.len <= max);
    }
    sse_parser_free(&p);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = 1 + data[0] % 64 * 4;
    size_t step = 1 + data[1] % 16;
    data += 2;
    size -= 2;
    record whole = {0}, pieces = {0};
    bool ok_whole = parse(data, size, max, size ? size : 1, &whole);
    bool ok_pieces = parse(data, size, max, step, &pieces);
    trap_unless(ok_whole == ok_pieces);
    trap_unless(whole.text.len == pieces.text.len);
    trap_unless(whole.text.len == 0 || memcmp(whole.text.data, pieces.text.data, whole.text.len) == 0);
    strbuf_free(&whole.text);
    strbuf_free(&pieces.text);
    return 0;
}
