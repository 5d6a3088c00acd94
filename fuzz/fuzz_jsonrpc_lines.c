/* fuzz_jsonrpc_lines.c - the stdio line reader (upstream/jsonrpc.h) fed
 * whatever an upstream server could write to its stdout.
 *
 * Input layout: byte 0 picks the line limit (small, so over-long lines are
 * common), byte 1 the read size; the rest is the stream. The same stream is
 * framed twice - in one read and in reads of that size - and both must
 * report the same lines and overflows: how the kernel splits a pipe's
 * bytes must never change what mcpproxy sees. Every line is then parsed
 * and classified as the client would. */
#include "core/jsonrpc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct record {
    strbuf text; /* every line and overflow, serialized */
    size_t max_line;
} record;

static void trap_unless(int ok)
{
    if (!ok)
        abort();
}

static void on_line(const char *line, size_t len, void *ctx)
{
    record *r = ctx;
    trap_unless(len > 0 && len <= r->max_line);
    trap_unless(memchr(line, '\n', len) == NULL);
    strbuf_appendf(&r->text, "L%zu:", len);
    strbuf_append(&r->text, line, len);

    json_error_t err;
    json_t *msg = json_loadb(line, len, 0, &err);
    if (msg) {
        int64_t id = -1;
        jsonrpc_kind kind = jsonrpc_classify(msg, &id);
        trap_unless(kind >= JSONRPC_INVALID && kind <= JSONRPC_ERROR);
        trap_unless(id >= 0);
        json_decref(msg);
    }
}

static void on_overflow(size_t len, void *ctx)
{
    record *r = ctx;
    trap_unless(len > r->max_line);
    strbuf_appendf(&r->text, "O%zu;", len);
}

static void frame(const uint8_t *data, size_t size, size_t max_line, size_t step, record *r)
{
    jsonrpc_framer f;
    jsonrpc_framer_init(&f, max_line);
    r->max_line = max_line;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        jsonrpc_framer_feed(&f, (const char *)data + off, n, on_line, on_overflow, r);
        /* Bounded memory: a partial line never holds more than the limit. */
        trap_unless(f.buf.len <= max_line);
    }
    jsonrpc_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_line = 1 + data[0] % 64 * 4; /* 1..253 */
    size_t step = 1 + data[1] % 16;
    data += 2;
    size -= 2;

    record whole = {0}, pieces = {0};
    frame(data, size, max_line, size ? size : 1, &whole);
    frame(data, size, max_line, step, &pieces);
    trap_unless(whole.text.len == pieces.text.len);
    trap_unless(whole.text.len == 0 || memcmp(whole.text.data, pieces.text.data, whole.text.len) == 0);
    strbuf_free(&whole.text);
    strbuf_free(&pieces.text);
    return 0;
}
