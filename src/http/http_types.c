/* http_types.c - building responses and reading query strings. */
#include "http/http_types.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_respond_bytes(http_response *res, int status, const char *content_type, const void *bytes, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    res->body.len = 0;
    strbuf_append(&res->body, bytes, len);
}

bool http_headers_add(http_header headers[HTTP_MAX_EXTRA_HEADERS], size_t *n, const char *name, const char *value)
{
    if (*n >= HTTP_MAX_EXTRA_HEADERS || strlen(name) >= sizeof headers[0].name ||
        strlen(value) >= sizeof headers[0].value)
        return false;
    http_header *h = &headers[(*n)++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
    return true;
}

bool http_response_add_header(http_response *res, const char *name, const char *value)
{
    return http_headers_add(res->extra, &res->n_extra, name, value);
}

void http_respond_json(http_response *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!text) {
        http_respond_bytes(res, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
        return;
    }
    http_respond_bytes(res, status, "application/json", text, strlen(text));
    free(text);
}

void http_respond_error(http_response *res, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_respond_json(res, status, json_pack("{s:s}", "error", msg));
}

json_t *http_parse_json_body(const http_request *req, http_response *res)
{
    if (req->body_len == 0) {
        http_respond_error(res, 400, "request body is empty: send JSON with Content-Type: application/json");
        return NULL;
    }
    json_error_t err;
    json_t *json = json_loadb(req->body, req->body_len, 0, &err);
    if (!json)
        http_respond_error(res, 400, "invalid JSON at line %d, column %d: %s", err.line, err.column, err.text);
    return json;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' from src[0..len) into out. Returns false if malformed
 * or too long for out (which always ends NUL-terminated). */
static bool url_decode(const char *src, size_t len, char *out, size_t out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= out_len)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

int http_query_get(const char *query, const char *name, char *out, size_t out_len)
{
    size_t name_len = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= name_len && memcmp(p, name, name_len) == 0 && (len == name_len || p[name_len] == '=')) {
            const char *value = len == name_len ? p + len : p + name_len + 1;
            size_t value_len = (size_t)(p + len - value);
            return url_decode(value, value_len, out, out_len) ? 1 : -1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}
