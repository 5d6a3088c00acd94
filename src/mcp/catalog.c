/* mcp_catalog.c - naming and collecting the tools /mcp offers. */
#include "mcp/catalog.h"

#include "cluster/registry.h"
#include "store/quarantine.h"

#include "core/log.h"
#include "core/util.h"
#include "upstream/manager.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room kept for "_" + 8 hex digits when a name has to be shortened. */
#define HASHED_PREFIX (MCP_TOOL_NAME_MAX - 9)

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends s to out[*len..], replacing characters clients reject; stops at
 * `cap` bytes. */
static void append_sanitized(char *out, size_t *len, size_t cap, const char *s)
{
    for (; *s && *len < cap; s++)
        out[(*len)++] = name_char_ok((unsigned char)*s) ? *s : '_';
}

static uint32_t fnv1a(uint32_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void mcp_tool_name(const char *server, const char *tool, bool hashed, char out[MCP_TOOL_NAME_MAX + 1])
{
    /* Built long first (sanitizing keeps the length), then cut if needed. */
    size_t full_len = strlen(server) + 2 + strlen(tool);
    if (!hashed && full_len <= MCP_TOOL_NAME_MAX) {
        size_t len = 0;
        append_sanitized(out, &len, MCP_TOOL_NAME_MAX, server);
        append_sanitized(out, &len, MCP_TOOL_NAME_MAX, "__");
        append_sanitized(out, &len, MCP_TOOL_NAME_MAX, tool);
        out[len] = '\0';
        return;
    }
    /* The hash covers the original names with a separator that cannot occur
     * in either, so different pairs differ even where sanitizing merged them. */
    uint32_t h = fnv1a(2166136261u, server, strlen(server));
    h = fnv1a(h, "\0", 1);
    h = fnv1a(h, tool, strlen(tool));
    size_t len = 0;
    append_sanitized(out, &len, HASHED_PREFIX, server);
    append_sanitized(out, &len, HASHED_PREFIX, "__");
    append_sanitized(out, &len, HASHED_PREFIX, tool);
    snprintf(out + len, MCP_TOOL_NAME_MAX + 1 - len, "_%08x", h);
}

/* Names are found through an index, a JSON object (jansson hashes its keys
 * with a random per-process seed, so a hostile server's tool names cannot
 * make lookups collide): building a catalog of tens of thousands of tools
 * checks each name in constant time instead of against every earlier one. */
const mcp_catalog_entry *mcp_catalog_find(const mcp_catalog *c, const char *name)
{
    json_t *pos = c->index ? json_object_get(c->index, name) : NULL;
    return pos ? &c->entries[json_integer_value(pos)] : NULL;
}

static mcp_catalog_entry *add_entry(mcp_catalog *c, size_t *cap, const char *server, const char *tool, json_t *def)
{
    char name[MCP_TOOL_NAME_MAX + 1];
    mcp_tool_name(server, tool, false, name);
    if (mcp_catalog_find(c, name)) {
        /* Two tools sanitized to one name: the later one is told apart by
         * the hash of its original names. */
        mcp_tool_name(server, tool, true, name);
        if (mcp_catalog_find(c, name)) {
            log_kv(LOG_WARN, "tool not offered: its name collides with another",
                   LOG_FIELDS(LOG_STR("server", server), LOG_STR("tool", tool), LOG_STR("name", name)));
            return NULL;
        }
    }
    if (c->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        c->entries = xrealloc(c->entries, *cap * sizeof *c->entries);
    }
    if (!c->index)
        c->index = json_object();
    /* Offered names are [A-Za-z0-9_-]: valid UTF-8, no check needed. */
    json_object_set_new_nocheck(c->index, name, json_integer((json_int_t)c->n));
    mcp_catalog_entry *e = &c->entries[c->n++];
    memcpy(e->name, name, sizeof name);
    e->server = xstrdup(server);
    e->tool = xstrdup(tool);
    e->def = json_incref(def);
    e->node = NULL;
    return e;
}

/* One list of every enabled server, leaving out what quarantine `q` holds
 * (NULL: nothing): every list of a quarantined server, and changed tools. */
static void build(mcp_catalog *out, struct manager *m, const config *cfg, mcp_list_kind kind, struct quarantine *q)
{
    *out = (mcp_catalog){0};
    if (!m)
        return;
    if (!quarantine_enabled(q))
        q = NULL;
    if (q)
        quarantine_batch_begin(q);
    size_t cap = 0;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const server_config *srv = &cfg->servers[i];
        json_t *tools = srv->enabled ? manager_server_list(m, srv->name, kind) : NULL;
        if (!tools || (q && !quarantine_server_allowed(q, srv)))
            continue;
        size_t k;
        json_t *def;
        json_array_foreach(tools, k, def) {
            const char *tool = json_string_value(json_object_get(def, "name"));
            if (tool && *tool && (!q || kind != MCP_LIST_TOOLS || quarantine_tool_allowed(q, srv->name, def)))
                add_entry(out, &cap, srv->name, tool, def);
        }
    }
    if (q)
        quarantine_batch_end(q);
}

void mcp_catalog_build(mcp_catalog *out, struct manager *m, const config *cfg)
{
    build(out, m, cfg, MCP_LIST_TOOLS, NULL);
}

void mcp_catalog_build_list(mcp_catalog *out, struct manager *m, const config *cfg, mcp_list_kind kind)
{
    build(out, m, cfg, kind, NULL);
}

void mcp_catalog_build_checked(mcp_catalog *out, struct manager *m, const config *cfg, struct quarantine *q)
{
    build(out, m, cfg, MCP_LIST_TOOLS, q);
}

void mcp_catalog_build_list_checked(mcp_catalog *out, struct manager *m, const config *cfg, mcp_list_kind kind,
                                    struct quarantine *q)
{
    build(out, m, cfg, kind, q);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void mcp_catalog_add_remote(mcp_catalog *c, struct registry *r)
{
    mcp_catalog_add_remote_list(c, r, "tools");
}

void mcp_catalog_add_remote_list(mcp_catalog *c, struct registry *r, const char *key)
{
    json_t *all = r ? registry_remote_all(r) : NULL;
    size_t n = json_object_size(all), i = 0;
    if (!n)
        return;
    /* In name order: the same list on every turn, whatever order the
     * registry heard of the servers in. */
    const char **names = xcalloc(n, sizeof *names);
    const char *server;
    json_t *entry;
    json_object_foreach(all, server, entry)
        names[i++] = server;
    qsort(names, n, sizeof *names, by_name);
    size_t cap = c->n; /* add_entry grows it from here */
    for (i = 0; i < n; i++) {
        entry = json_object_get(all, names[i]);
        const char *status = json_string_value(json_object_get(entry, "status"));
        if (!status || strcmp(status, "Ready") != 0 || json_is_true(json_object_get(entry, "quarantined")))
            continue;
        const char *node = json_string_value(json_object_get(entry, "node"));
        size_t k;
        json_t *def;
        json_array_foreach(json_object_get(entry, key), k, def) {
            const char *tool = json_string_value(json_object_get(def, "name"));
            mcp_catalog_entry *e = tool && *tool ? add_entry(c, &cap, names[i], tool, def) : NULL;
            if (e)
                e->node = xstrdup(node);
        }
    }
    free(names);
}

bool mcp_catalog_equal(const mcp_catalog *a, const mcp_catalog *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->entries[i].name, b->entries[i].name) != 0 || !json_equal(a->entries[i].def, b->entries[i].def))
            return false;
    }
    return true;
}

json_t *mcp_catalog_tools_json(const mcp_catalog *c)
{
    json_t *tools = json_array();
    for (size_t i = 0; i < c->n; i++) {
        /* A shallow copy: description, schemas and annotations stay the
         * server's own objects, only the name differs. */
        json_t *def = json_copy(c->entries[i].def);
        json_object_set_new(def, "name", json_string(c->entries[i].name));
        json_array_append_new(tools, def);
    }
    return tools;
}

const char *mcp_catalog_guess_server(const config *cfg, const char *name, size_t *prefix_len)
{
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        char prefix[MCP_TOOL_NAME_MAX + 3];
        size_t len = 0;
        append_sanitized(prefix, &len, MCP_TOOL_NAME_MAX, cfg->servers[i].name);
        append_sanitized(prefix, &len, sizeof prefix - 1, "__");
        prefix[len] = '\0';
        if (len > best_len && strncmp(name, prefix, len) == 0) {
            best = cfg->servers[i].name;
            best_len = len;
        }
    }
    *prefix_len = best_len;
    return best;
}

void mcp_catalog_free(mcp_catalog *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].server);
        free(c->entries[i].tool);
        free(c->entries[i].node);
        json_decref(c->entries[i].def);
    }
    free(c->entries);
    json_decref(c->index);
    *c = (mcp_catalog){0};
}
