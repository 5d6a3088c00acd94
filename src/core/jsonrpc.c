/* jsonrpc.c - line framing and message shapes for JSON-RPC over stdio. */
#include "core/jsonrpc.h"

#include <string.h>

void jsonrpc_framer_init(jsonrpc_framer *f, size_t max_line)
{
    memset(f, 0, sizeof(*f));
    f->max_line = max_line ? max_line : JSONRPC_MAX_LINE_DEFAULT;
}

void jsonrpc_framer_free(jsonrpc_framer *f)
{
    strbuf_free(&f->buf);
    memset(f, 0, sizeof(*f));
}

static void emit_line(const char *line, size_t len, jsonrpc_line_fn on_line, void *ctx)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > 0)
        on_line(line, len, ctx);
}

void jsonrpc_framer_feed(jsonrpc_framer *f, const char *bytes, size_t len,
                         jsonrpc_line_fn on_line, jsonrpc_overflow_fn on_overflow, void *ctx)
{
    while (len > 0) {
        const char *nl = memchr(bytes, '\n', len);
        size_t chunk = nl ? (size_t)(nl - bytes) : len;
        if (f->discarding) {
            /* Skipping the rest of a line that already broke the limit: no
             * copy, so a hostile server cannot make us buffer it. */
            f->discarded += chunk;
            if (nl) {
                on_overflow(f->discarded, ctx);
                f->discarding = false;
                f->discarded = 0;
            }
        } else if (f->buf.len + chunk > f->max_line) {
            f->discarded = f->buf.len + chunk;
            f->buf.len = 0;
            if (nl) {
                on_overflow(f->discarded, ctx);
                f->discarded = 0;
            } else {
                f->discarding = true;
            }
        } else if (nl && f->buf.len == 0) {
            /* Common case: the whole line is in this read; no copy. */
            emit_line(bytes, chunk, on_line, ctx);
        } else {
            strbuf_append(&f->buf, bytes, chunk);
            if (nl) {
                emit_line(f->buf.data, f->buf.len, on_line, ctx);
                f->buf.len = 0;
            }
        }
        if (!nl)
            break;
        bytes += chunk + 1;
        len -= chunk + 1;
    }
}

jsonrpc_kind jsonrpc_classify(const json_t *msg, int64_t *id_out)
{
    if (id_out)
        *id_out = 0;
    if (!json_is_object(msg))
        return JSONRPC_INVALID;
    const json_t *version = json_object_get(msg, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        return JSONRPC_INVALID;
    const json_t *method = json_object_get(msg, "method");
    const json_t *id = json_object_get(msg, "id");
    if (method) {
        if (!json_is_string(method))
            return JSONRPC_INVALID;
        if (!id)
            return JSONRPC_NOTIFICATION;
        if (!json_is_string(id) && !json_is_integer(id))
            return JSONRPC_INVALID;
        return JSONRPC_REQUEST;
    }
    if (!id)
        return JSONRPC_INVALID;
    if (json_is_integer(id) && json_integer_value(id) >= 1 && id_out)
        *id_out = (int64_t)json_integer_value(id);
    if (json_object_get(msg, "result"))
        return JSONRPC_RESPONSE;
    if (json_is_object(json_object_get(msg, "error")))
        return JSONRPC_ERROR;
    return JSONRPC_INVALID;
}

json_t *jsonrpc_request_new(int64_t id, const char *method, json_t *params)
{
    json_t *msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method);
    if (msg && params)
        json_object_set(msg, "params", params);
    return msg;
}

json_t *jsonrpc_notification_new(const char *method, json_t *params)
{
    json_t *msg = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (msg && params)
        json_object_set(msg, "params", params);
    return msg;
}

json_t *jsonrpc_result_new(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

json_t *jsonrpc_error_new(json_t *id, int code, const char *message)
{
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", code,
                     "message", message);
}
