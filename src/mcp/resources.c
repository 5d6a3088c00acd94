/* resources.c - collecting the resources /mcp offers and routing URIs. */
#include "mcp/resources.h"

#include "core/log.h"
#include "core/util.h"
#include "store/quarantine.h"
#include "upstream/manager.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MATCH_MAX 4096

static void add(mcp_resource_entry **arr, size_t *n, size_t *cap, const char *server, json_t *def, bool held)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = xrealloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[*n].server = xstrdup(server);
    (*arr)[*n].def = json_incref(def);
    (*arr)[*n].held = held;
    (*arr)[*n].node = NULL;
    (*n)++;
}

void mcp_resources_build(mcp_resources *out, struct manager *m, const config *cfg, struct quarantine *q)
{
    *out = (mcp_resources){.index = json_object()};
    if (!m)
        return;
    if (!quarantine_enabled(q))
        q = NULL;
    if (q)
        quarantine_batch_begin(q);
    size_t cap_r = 0, cap_t = 0;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const server_config *srv = &cfg->servers[i];
        if (!srv->enabled)
            continue;
        json_t *list = manager_server_list(m, srv->name, MCP_LIST_RESOURCES);
        json_t *templates = manager_server_list(m, srv->name, MCP_LIST_TEMPLATES);
        /* Asked only of a server with lists, as the tool catalog asks: the
         * first question records (and announces) a new server, which must
         * not happen before its tools can be reviewed. */
        if (!list && !templates)
            continue;
        bool held = q && !quarantine_server_allowed(q, srv);
        size_t k;
        json_t *def;
        json_array_foreach(list, k, def) {
            const char *uri = json_string_value(json_object_get(def, "uri"));
            json_t *owner = json_object_get(out->index, uri);
            if (owner) {
                log_kv(LOG_DEBUG, "resource not offered twice: an earlier server lists the same URI",
                       LOG_FIELDS(LOG_STR("server", srv->name), LOG_STR("uri", uri),
                                  LOG_STR("offered_by", out->resources[json_integer_value(owner)].server)));
                continue;
            }
            /* json_object_set_new checks the key is UTF-8: a URI that is not
             * is left out (the server sent it as a JSON string, so it is). */
            if (json_object_set_new(out->index, uri, json_integer((json_int_t)out->n_resources)) == 0)
                add(&out->resources, &out->n_resources, &cap_r, srv->name, def, held);
        }
        json_array_foreach(templates, k, def)
            add(&out->templates, &out->n_templates, &cap_t, srv->name, def, held);
    }
    if (q)
        quarantine_batch_end(q);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void mcp_resources_add_remote(mcp_resources *out, json_t *remote)
{
    size_t n = json_object_size(remote), i = 0;
    if (!n)
        return;
    /* In name order: the same offer on every turn, whatever order the
     * registry heard of the servers in. */
    const char **names = xcalloc(n, sizeof *names);
    const char *server;
    json_t *entry;
    json_object_foreach(remote, server, entry)
        names[i++] = server;
    qsort(names, n, sizeof *names, by_name);
    size_t cap_r = out->n_resources, cap_t = out->n_templates; /* add() grows them from here */
    for (i = 0; i < n; i++) {
        entry = json_object_get(remote, names[i]);
        const char *status = json_string_value(json_object_get(entry, "status"));
        const char *node = json_string_value(json_object_get(entry, "node"));
        if (!status || strcmp(status, "Ready") != 0 || json_is_true(json_object_get(entry, "quarantined")) || !node)
            continue;
        size_t k;
        json_t *def;
        json_array_foreach(json_object_get(entry, "resources"), k, def) {
            const char *uri = json_string_value(json_object_get(def, "uri"));
            if (!uri || json_object_get(out->index, uri))
                continue;
            if (json_object_set_new(out->index, uri, json_integer((json_int_t)out->n_resources)) == 0) {
                add(&out->resources, &out->n_resources, &cap_r, names[i], def, false);
                out->resources[out->n_resources - 1].node = xstrdup(node);
            }
        }
        json_array_foreach(json_object_get(entry, "resource_templates"), k, def) {
            add(&out->templates, &out->n_templates, &cap_t, names[i], def, false);
            out->templates[out->n_templates - 1].node = xstrdup(node);
        }
    }
    free(names);
}

static bool same_node(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool entries_equal(const mcp_resource_entry *a, const mcp_resource_entry *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].server, b[i].server) != 0 || a[i].held != b[i].held || !same_node(a[i].node, b[i].node) ||
            !json_equal(a[i].def, b[i].def))
            return false;
    }
    return true;
}

bool mcp_resources_equal(const mcp_resources *a, const mcp_resources *b)
{
    return a->n_resources == b->n_resources && a->n_templates == b->n_templates &&
           entries_equal(a->resources, b->resources, a->n_resources) &&
           entries_equal(a->templates, b->templates, a->n_templates);
}

/* Whether an expression starting with `op` may match a '/', '?' or '#'. */
static bool crosses_segments(char op)
{
    return op == '/' || op == '?' || op == '&' || op == '+' || op == '#';
}

/* Dynamic programming over (template position, URI position): linear in
 * each, so no template a server sends can make matching explode the way
 * backtracking would. ok[j]: the template so far matches uri[0..j). */
bool mcp_uri_template_match(const char *tmpl, const char *uri)
{
    size_t tn = strlen(tmpl), un = strlen(uri);
    if (tn > TEMPLATE_MATCH_MAX || un > TEMPLATE_MATCH_MAX)
        return false;
    bool *ok = xcalloc(un + 1, sizeof *ok);
    bool *next = xcalloc(un + 1, sizeof *next);
    ok[0] = true;
    for (size_t t = 0; t < tn;) {
        if (tmpl[t] == '{') {
            const char *close = strchr(tmpl + t, '}');
            if (!close) { /* not a template: nothing matches */
                memset(ok, 0, (un + 1) * sizeof *ok);
                break;
            }
            bool any = crosses_segments(tmpl[t + 1]);
            /* Any run (possibly empty) from a position that matched so far. */
            bool reach = false;
            for (size_t j = 0; j <= un; j++) {
                reach = ok[j] || (reach && j > 0 && (any || !strchr("/?#", uri[j - 1])));
                next[j] = reach;
            }
            t = (size_t)(close - tmpl) + 1;
        } else {
            next[0] = false;
            for (size_t j = 1; j <= un; j++)
                next[j] = ok[j - 1] && uri[j - 1] == tmpl[t];
            t++;
        }
        bool *swap = ok;
        ok = next;
        next = swap;
    }
    bool matched = ok[un];
    free(ok);
    free(next);
    return matched;
}

const char *mcp_resources_route(const mcp_resources *r, const char *uri, bool *by_template, const char **node)
{
    *by_template = false;
    *node = NULL;
    json_t *pos = r->index ? json_object_get(r->index, uri) : NULL;
    if (pos) {
        *node = r->resources[json_integer_value(pos)].node;
        return r->resources[json_integer_value(pos)].server;
    }
    for (size_t i = 0; i < r->n_templates; i++) {
        const char *tmpl = json_string_value(json_object_get(r->templates[i].def, "uriTemplate"));
        if (tmpl && mcp_uri_template_match(tmpl, uri)) {
            *by_template = true;
            *node = r->templates[i].node;
            return r->templates[i].server;
        }
    }
    return NULL;
}

static json_t *defs_json(const mcp_resource_entry *e, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!e[i].held)
            json_array_append(arr, e[i].def);
    }
    return arr;
}

json_t *mcp_resources_list_json(const mcp_resources *r)
{
    return defs_json(r->resources, r->n_resources);
}

json_t *mcp_resources_templates_json(const mcp_resources *r)
{
    return defs_json(r->templates, r->n_templates);
}

static void entries_free(mcp_resource_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].server);
        free(e[i].node);
        json_decref(e[i].def);
    }
    free(e);
}

void mcp_resources_free(mcp_resources *r)
{
    entries_free(r->resources, r->n_resources);
    entries_free(r->templates, r->n_templates);
    json_decref(r->index);
    *r = (mcp_resources){0};
}
