/* request.c - query strings, and reading a request's parts from lws. */
#include "http/request.h"

#include "core/util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
            int hi = hex_digit((unsigned char)src[i + 1]), lo = hex_digit((unsigned char)src[i + 2]);
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

bool http_accepts(const char *accept, const char *type)
{
    if (!accept)
        return true;
    size_t type_len = strlen(type);
    size_t slash = (size_t)(strchr(type, '/') - type);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",;");
        while (len && p[len - 1] == ' ')
            len--;
        bool exact = len == type_len && strncasecmp(p, type, len) == 0;
        bool any = len == 3 && strncmp(p, "*/*", 3) == 0;
        bool any_sub = len == slash + 2 && strncasecmp(p, type, slash + 1) == 0 && p[slash + 1] == '*';
        if (exact || any || any_sub)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

http_method http_request_method(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes token;
        http_method method;
    } methods[] = {
        {WSI_TOKEN_GET_URI, HTTP_GET},     {WSI_TOKEN_POST_URI, HTTP_POST},     {WSI_TOKEN_PUT_URI, HTTP_PUT},
        {WSI_TOKEN_PATCH_URI, HTTP_PATCH}, {WSI_TOKEN_DELETE_URI, HTTP_DELETE}, {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
        {WSI_TOKEN_HEAD_URI, HTTP_HEAD},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0)
            return methods[i].method;
    }
    return HTTP_OTHER;
}

bool http_request_query(struct lws *wsi, strbuf *out)
{
    char frag[HTTP_MAX_QUERY_PARAM];
    bool whole = true;
    for (int i = 0;; i++) {
        if (lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            /* The end of the arguments, or one too long to copy: only the
             * length tells which. */
            if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) >= (int)sizeof frag)
                whole = false;
            break;
        }
        if (i)
            strbuf_append(out, "&", 1);
        const char *eq = strchr(frag, '=');
        size_t name_len = eq ? (size_t)(eq - frag) + 1 : strlen(frag);
        strbuf_append(out, frag, name_len);
        for (const char *p = frag + name_len; *p; p++) {
            if (*p == '%' || *p == '&' || *p == '+')
                strbuf_appendf(out, "%%%02X", (unsigned char)*p);
            else
                strbuf_append(out, p, 1);
        }
    }
    if (!out->data)
        strbuf_append(out, "", 0);
    return whole;
}

const char *http_request_header(struct lws *wsi, int token, const char *custom, char *buf, size_t len)
{
    int n = custom ? lws_hdr_custom_copy(wsi, buf, (int)len, custom, (int)strlen(custom))
                   : lws_hdr_copy(wsi, buf, (int)len, (enum lws_token_indexes)token);
    return n > 0 ? buf : NULL;
}
