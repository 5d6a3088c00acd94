/* jsonrpc.c - line framing and message shapes for JSON-RPC over stdio. */
#include "core/jsonrpc.h"

#include "core/utf8.h"

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

void jsonrpc_framer_feed(jsonrpc_framer *f, const char *bytes, size_t len, jsonrpc_line_fn on_line,
                         jsonrpc_overflow_fn on_overflow, void *ctx)
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

jsonrpc_kind jsonrpc_classify_parts(const json_t *msg, jsonrpc_parts *parts)
{
    jsonrpc_parts none;
    if (!parts)
        parts = &none;
    *parts = (jsonrpc_parts){0};
    if (!json_is_object(msg))
        return JSONRPC_INVALID;
    const json_t *version = json_object_get(msg, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        return JSONRPC_INVALID;
    json_t *method = json_object_get(msg, "method");
    json_t *id = json_object_get(msg, "id");
    json_t *params = json_object_get(msg, "params");
    if (method) {
        if (!json_is_string(method) || (params && !json_is_object(params) && !json_is_array(params)))
            return JSONRPC_INVALID;
        parts->method = json_string_value(method);
        parts->params = params;
        if (!id)
            return JSONRPC_NOTIFICATION;
        if (!json_is_string(id) && !json_is_integer(id))
            return JSONRPC_INVALID;
        parts->id = id;
        return JSONRPC_REQUEST;
    }
    if (!id)
        return JSONRPC_INVALID;
    parts->id = id;
    if (json_object_get(msg, "result"))
        return JSONRPC_RESPONSE;
    if (json_is_object(json_object_get(msg, "error")))
        return JSONRPC_ERROR;
    parts->id = NULL;
    return JSONRPC_INVALID;
}

jsonrpc_kind jsonrpc_classify(const json_t *msg, int64_t *id_out)
{
    jsonrpc_parts parts;
    jsonrpc_kind kind = jsonrpc_classify_parts(msg, &parts);
    if (id_out) {
        bool response = kind == JSONRPC_RESPONSE || kind == JSONRPC_ERROR;
        *id_out = response && json_is_integer(parts.id) && json_integer_value(parts.id) >= 1
                      ? (int64_t)json_integer_value(parts.id)
                      : 0;
    }
    return kind;
}

json_t *jsonrpc_request_new(int64_t id, const char *method, json_t *params)
{
    /* Built member by member: json_pack's format parsing cost more than
     * the building on the tool call path (callgrind). */
    json_t *msg = json_object();
    json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    json_object_set_new(msg, "id", json_integer((json_int_t)id));
    json_object_set_new(msg, "method", json_string(method));
    if (params)
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
    json_t *msg = json_object();
    json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    json_object_set(msg, "id", id ? id : json_null());
    json_object_set_new(msg, "result", result);
    return msg;
}

json_t *jsonrpc_error_new(json_t *id, int code, const char *message, json_t *data)
{
    json_t *err = json_pack("{s:i, s:o}", "code", code, "message", json_string_lossy(message, strlen(message)));
    if (data)
        json_object_set(err, "data", data);
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
}
