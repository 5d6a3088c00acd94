/* call_text.c - a plain tools/call read without a tree (call_text.h). */
#include "mcp/call_text.h"

#include "core/json_scan.h"

#include <string.h>

/* The member `key` of m[0..n): false when it cannot be settled without a
 * tree (escaped or repeated keys); *found is NULL when it is absent. */
static bool member(const json_member *m, size_t n, const char *key, const json_member **found)
{
    bool unsure;
    *found = json_member_find(m, n, key, &unsure);
    return !unsure;
}

static bool is_literal(const json_member *v, const char *text)
{
    size_t len = strlen(text);
    return v && v->value_len == len && memcmp(v->value, text, len) == 0;
}

/* The id's value as a tree: a string (unescaped, or decoded by jansson) or
 * an integer of at most 18 digits. NULL for anything else. */
static json_t *id_value(const json_member *v)
{
    int64_t i;
    if (v->value[0] == '"') {
        if (!memchr(v->value, '\\', v->value_len))
            return json_stringn(v->value + 1, v->value_len - 2); /* UTF-8 checked by the scan */
        return json_loadb(v->value, v->value_len, JSON_DECODE_ANY, NULL);
    }
    if (json_span_int64(v->value, v->value_len, &i))
        return json_integer((json_int_t)i);
    return NULL;
}

bool mcp_call_text_parse(const char *body, size_t len, mcp_call_text *out)
{
    json_member top[8], params[4];
    size_t n, np;
    const json_member *version, *id, *method, *p, *name, *arguments;
    if (!json_scan_object(body, len, top, 8, &n) || n > 8 || !member(top, n, "jsonrpc", &version) ||
        !member(top, n, "id", &id) || !member(top, n, "method", &method) || !member(top, n, "params", &p) ||
        !is_literal(version, "\"2.0\"") || !is_literal(method, "\"tools/call\"") || !id || !p)
        return false;
    /* params, already checked as part of the body. */
    if (p->value[0] != '{' || !json_scan_object(p->value, p->value_len, params, 4, &np) || np > 2 ||
        !member(params, np, "name", &name) || !member(params, np, "arguments", &arguments) || !name ||
        np != 1u + (arguments != NULL))
        return false;
    if (name->value[0] != '"' || name->value_len - 2 >= sizeof out->name || memchr(name->value, '\\', name->value_len))
        return false;
    if (arguments && arguments->value[0] != '{')
        return false; /* the general path says what is wrong */
    json_t *idv = id_value(id);
    if (!json_is_string(idv) && !json_is_integer(idv)) {
        json_decref(idv);
        return false;
    }
    out->id = idv;
    memcpy(out->name, name->value + 1, name->value_len - 2);
    out->name[name->value_len - 2] = '\0';
    out->arguments = arguments ? arguments->value : NULL;
    out->arguments_len = arguments ? arguments->value_len : 0;
    return true;
}

void mcp_call_text_free(mcp_call_text *ct)
{
    json_decref(ct->id);
    ct->id = NULL;
}
