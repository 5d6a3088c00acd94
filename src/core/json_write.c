/* json_write.c - jansson's compact JSON text, written directly (json_write.h). */
#include "core/json_write.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As jansson's dump_string: '"', '\\' and control characters are escaped,
 * the short forms where JSON has them; everything else is copied. */
void json_write_str(strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    strbuf_reserve(sb, len + 2);
    strbuf_append(sb, "\"", 1);
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(sb, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        strbuf_append(sb, esc, n);
    }
    strbuf_append(sb, s + run, len - run);
    strbuf_append(sb, "\"", 1);
}

void json_write_int(strbuf *sb, json_int_t v)
{
    char digits[24];
    char *p = digits + sizeof digits;
    /* Unsigned, so the most negative value has a magnitude too. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    strbuf_append(sb, p, (size_t)(digits + sizeof digits - p));
}

void json_write(strbuf *sb, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        strbuf_append(sb, "{", 1);
        bool first = true;
        for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                strbuf_append(sb, ",", 1);
            first = false;
            json_write_str(sb, json_object_iter_key(it), json_object_iter_key_len(it));
            strbuf_append(sb, ":", 1);
            json_write(sb, json_object_iter_value(it));
        }
        strbuf_append(sb, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        strbuf_append(sb, "[", 1);
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i)
                strbuf_append(sb, ",", 1);
            json_write(sb, json_array_get(v, i));
        }
        strbuf_append(sb, "]", 1);
        break;
    }
    case JSON_STRING:
        json_write_str(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        json_write_int(sb, json_integer_value(v));
        break;
    case JSON_REAL: {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        strbuf_append(sb, text, strlen(text));
        free(text);
        break;
    }
    case JSON_TRUE:
        strbuf_append(sb, "true", 4);
        break;
    case JSON_FALSE:
        strbuf_append(sb, "false", 5);
        break;
    case JSON_NULL:
        strbuf_append(sb, "null", 4);
        break;
    }
}

char *json_write_string(const json_t *v, size_t *len)
{
    strbuf sb = {0};
    json_write(&sb, v);
    strbuf_append(&sb, "", 0); /* never NULL, always terminated */
    if (len)
        *len = sb.len;
    return sb.data;
}
