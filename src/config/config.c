/* config.c - defaults, strict parsing and validation of the config file.
 *
 * Jansson reports line and column for syntax errors but keeps no positions
 * for values, so for an unknown key or a bad value we find the key's text in
 * the source ("key" followed by a colon) and report where it first appears.
 * That is exact for the usual case of a unique key; a full position-tracking
 * parser would be exact always, and is not worth its size here. */
#include "config/config.h"

#include "config/schema.h"
#include "core/strmap.h"
#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

typedef struct parse_ctx {
    const char *text;
    size_t len;
    const char *origin;
    char *err;
} parse_ctx;

static size_t skip_space(const parse_ctx *pc, size_t j)
{
    while (j < pc->len && strchr(" \t\r\n", pc->text[j]))
        j++;
    return j;
}

/* Finds `"key"` followed by optional whitespace and ':' in the source - and
 * then, when `value` is given, that string value as JSON writes it - and
 * gives the position of the key's occurrence number `skip` (0: the first).
 * A value written with other escapes than jansson's is not found: the
 * message then goes without a position. */
static void pair_position(const parse_ctx *pc, const char *key, const char *value, int skip, int *line, int *col)
{
    size_t klen = strlen(key);
    *line = *col = 0;
    char *encoded = NULL;
    if (value) {
        json_t *v = json_string(value);
        encoded = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
        json_decref(v);
        if (!encoded)
            return;
    }
    size_t vlen = encoded ? strlen(encoded) : 0;
    for (size_t i = 0; i + klen + 2 <= pc->len; i++) {
        if (pc->text[i] != '"' || memcmp(pc->text + i + 1, key, klen) != 0 || pc->text[i + 1 + klen] != '"')
            continue;
        size_t j = skip_space(pc, i + klen + 2);
        if (j >= pc->len || pc->text[j] != ':')
            continue;
        j = skip_space(pc, j + 1);
        if (encoded && (pc->len - j < vlen || memcmp(pc->text + j, encoded, vlen) != 0))
            continue;
        if (skip-- > 0)
            continue;
        int l = 1, c = 1;
        for (size_t k = 0; k < i; k++) {
            if (pc->text[k] == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
        }
        *line = l;
        *col = c;
        break;
    }
    free(encoded);
}

static void key_position(const parse_ctx *pc, const char *key, int *line, int *col)
{
    pair_position(pc, key, NULL, 0, line, col);
}

/* Writes "origin:line:col: message" (position omitted when unknown). */
static bool fail_at(const parse_ctx *pc, int line, int col, const char *msg)
{
    strbuf full = {0};
    if (line)
        strbuf_appendf(&full, "%s:%d:%d: %s", pc->origin, line, col, msg);
    else
        strbuf_appendf(&full, "%s: %s", pc->origin, msg);
    /* A message cut at CONFIG_ERR_LEN still names the file and the key first. */
    snprintf(pc->err, CONFIG_ERR_LEN, "%s", full.data ? full.data : msg);
    strbuf_free(&full);
    return false;
}

static bool fail_at_key(const parse_ctx *pc, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message at the key's first appearance. */
static bool fail_at_key(const parse_ctx *pc, const char *key, const char *fmt, ...)
{
    char msg[CONFIG_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    if (key)
        key_position(pc, key, &line, &col);
    return fail_at(pc, line, col, msg);
}

static bool fail_at_pair(const parse_ctx *pc, const char *key, const char *value, int skip, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The message at the `skip`th appearance of "key": "value" (a server's
 * name or group: the same key is in every server, its value tells which). */
static bool fail_at_pair(const parse_ctx *pc, const char *key, const char *value, int skip, const char *fmt, ...)
{
    char msg[CONFIG_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    if (value)
        pair_position(pc, key, value, skip, &line, &col);
    return fail_at(pc, line, col, msg);
}

static bool get_string(const parse_ctx *pc, json_t *value, const char *key, char **out)
{
    if (!json_is_string(value))
        return fail_at_key(pc, key, "\"%s\" must be a string", key);
    free(*out);
    *out = xstrdup(json_string_value(value));
    return true;
}

static bool get_bool(const parse_ctx *pc, json_t *value, const char *key, bool *out)
{
    if (!json_is_boolean(value))
        return fail_at_key(pc, key, "\"%s\" must be true or false", key);
    *out = json_is_true(value);
    return true;
}

static bool get_u32(const parse_ctx *pc, json_t *value, const char *key, uint32_t min, uint32_t *out)
{
    if (!json_is_integer(value) || json_integer_value(value) < (json_int_t)min ||
        json_integer_value(value) > (json_int_t)UINT32_MAX)
        return fail_at_key(pc, key, "\"%s\" must be an integer from %u to %u", key, min, UINT32_MAX);
    *out = (uint32_t)json_integer_value(value);
    return true;
}

static bool get_string_array(const parse_ctx *pc, json_t *value, const char *key, char ***out, size_t *n_out)
{
    if (!json_is_array(value))
        return fail_at_key(pc, key, "\"%s\" must be an array of strings", key);
    size_t n = json_array_size(value);
    char **items = xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(value, i);
        if (!json_is_string(item)) {
            for (size_t k = 0; k < i; k++)
                free(items[k]);
            free(items);
            return fail_at_key(pc, key, "\"%s\"[%zu] must be a string", key, i);
        }
        items[i] = xstrdup(json_string_value(item));
    }
    *out = items;
    *n_out = n;
    return true;
}

/* ---- the settings sections (schema.h) ----------------------------------- */

/* clang-format cannot lay out a braced initializer in a macro. */
/* clang-format off */
#define U32(section, field, lo, hi) {#field, CONFIG_U32, offsetof(config, section.field), (lo), (hi)}
#define BOOL(section, field) {#field, CONFIG_BOOL, offsetof(config, section.field), 0, 0}
/* clang-format on */

static const config_field websocket_fields[] = {
    U32(websocket, ping_interval_ms, 10, UINT32_MAX),
    U32(websocket, pong_timeout_ms, 10, UINT32_MAX),
    U32(websocket, write_timeout_ms, 10, UINT32_MAX),
    U32(websocket, max_message_bytes, 16, UINT32_MAX),
    U32(websocket, send_queue, 1, UINT32_MAX),
    U32(websocket, max_clients, 1, UINT32_MAX),
    U32(websocket, history, 1, UINT32_MAX),
    U32(websocket, history_bytes, 65536, UINT32_MAX),
    U32(websocket, send_queue_bytes, 65536, UINT32_MAX),
    U32(websocket, max_event_bytes, 1024, UINT32_MAX),
};
static const config_field limits_fields[] = {
    U32(limits, max_header_bytes, 1024, 65535), /* lws keeps header sizes in 16 bits */
    U32(limits, max_body_bytes, 1024, UINT32_MAX),
    U32(limits, max_connections, 1, UINT32_MAX),
    U32(limits, max_connections_per_address, 1, UINT32_MAX),
    U32(limits, handshake_timeout_ms, 1000, UINT32_MAX),
    U32(limits, keepalive_timeout_ms, 1000, UINT32_MAX),
    U32(limits, request_timeout_ms, 1000, UINT32_MAX),
    U32(limits, max_pending_bodies_per_address, 1, UINT32_MAX),
};
static const config_field mcp_fields[] = {
    U32(mcp, call_timeout_ms, 100, UINT32_MAX),
    U32(mcp, session_ttl_ms, 100, UINT32_MAX),
    U32(mcp, ping_interval_ms, 10, UINT32_MAX),
    U32(mcp, unused_session_ttl_ms, 100, UINT32_MAX),
    U32(mcp, max_sessions, 1, UINT32_MAX),
    U32(mcp, max_sessions_per_address, 1, UINT32_MAX),
    BOOL(mcp, log_tool_arguments),
    U32(mcp, list_page_size, 1, UINT32_MAX),
};
static const config_field upstream_fields[] = {
    U32(upstream, backoff_base_ms, 10, UINT32_MAX),
    U32(upstream, backoff_max_ms, 10, UINT32_MAX),
    U32(upstream, ready_reset_ms, 10, UINT32_MAX),
    U32(upstream, request_timeout_ms, 10, UINT32_MAX),
    /* A disable, restart or delete waits this long; a process stop waits at
     * most 1 s of it, so the proxy still exits within 2 s of SIGTERM. */
    U32(upstream, stop_grace_ms, 10, 60000),
    /* At least one pipe's worth: a server reading at its own pace never
     * comes near it. */
    U32(upstream, max_queued_bytes, 65536, 1024u * 1024 * 1024),
    U32(upstream, max_tool_pages, 1, UINT32_MAX),
    U32(upstream, max_tool_list_bytes, 65536, UINT32_MAX),
    U32(upstream, max_tools, 1, UINT32_MAX),
    /* One message of a remote server (a JSON answer body, one event of
     * an event stream); the stdio line limit is the same 16 MiB. */
    U32(upstream, max_message_bytes, 4096, 1024u * 1024 * 1024),
};
static const config_field activity_fields[] = {
    U32(activity, retention_days, 1, 36500),
    U32(activity, max_rows, 100, UINT32_MAX),
    U32(activity, max_argument_bytes, 0, 16u * 1024 * 1024),
};
static const config_field quarantine_fields[] = {
    BOOL(quarantine, new_servers),
    BOOL(quarantine, changed_tools),
};

#undef U32
#undef BOOL

#define SECTION(name, fields)                                                                                          \
    {                                                                                                                  \
        name, fields, sizeof fields / sizeof fields[0]                                                                 \
    }
/* clang-format off */
const config_section config_sections[] = {
    SECTION("websocket", websocket_fields),
    SECTION("limits", limits_fields),
    SECTION("mcp", mcp_fields),
    SECTION("upstream", upstream_fields),
    SECTION("activity", activity_fields),
    SECTION("quarantine", quarantine_fields),
};
/* clang-format on */
#undef SECTION
const size_t config_section_count = sizeof config_sections / sizeof config_sections[0];

static const config_section *find_section(const char *name)
{
    for (size_t i = 0; i < config_section_count; i++) {
        if (strcmp(config_sections[i].name, name) == 0)
            return &config_sections[i];
    }
    return NULL;
}

/* Parses one settings object against its table. */
static bool parse_section(const parse_ctx *pc, const config_section *sec, json_t *obj, config *cfg)
{
    if (!json_is_object(obj))
        return fail_at_key(pc, sec->name, "\"%s\" must be an object", sec->name);
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        const config_field *f = NULL;
        for (size_t i = 0; i < sec->n_fields && !f; i++)
            f = strcmp(sec->fields[i].key, key) == 0 ? &sec->fields[i] : NULL;
        if (!f) {
            strbuf known = {0};
            for (size_t i = 0; i < sec->n_fields; i++)
                strbuf_appendf(&known, "%s%s", i ? ", " : "", sec->fields[i].key);
            fail_at_key(pc, key, "unknown key \"%s.%s\" (known: %s)", sec->name, key, known.data);
            strbuf_free(&known);
            return false;
        }
        char *slot = (char *)cfg + f->offset;
        if (f->kind == CONFIG_BOOL) {
            if (!json_is_boolean(value))
                return fail_at_key(pc, key, "\"%s.%s\" must be true or false", sec->name, key);
            *(bool *)slot = json_is_true(value);
        } else {
            if (!json_is_integer(value) || json_integer_value(value) < (json_int_t)f->min ||
                json_integer_value(value) > (json_int_t)f->max)
                return fail_at_key(pc, key, "\"%s.%s\" must be an integer from %u to %u", sec->name, key, f->min,
                                   f->max);
            *(uint32_t *)slot = (uint32_t)json_integer_value(value);
        }
    }
    return true;
}

/* Rules that tie two settings together. */
static bool check_relations(const parse_ctx *pc, const config *cfg)
{
    if (cfg->websocket.history < cfg->websocket.send_queue)
        return fail_at_key(pc, "history", "\"websocket.history\" (%u) must be at least \"websocket.send_queue\" (%u)",
                           cfg->websocket.history, cfg->websocket.send_queue);
    if (cfg->upstream.backoff_max_ms < cfg->upstream.backoff_base_ms)
        return fail_at_key(pc, "backoff_max_ms", "\"upstream.backoff_max_ms\" must be at least backoff_base_ms");
    return true;
}

/* A stream or node name: it becomes a NATS subject token and a stream name. */
static bool cluster_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    }
    return true;
}

/* One NATS server URL: [nats:// or tls://][user[:pass]@]host[:port] with
 * a port of 1 to 65535 (what nats.c accepts), checked here so that a typo
 * fails the start instead of being retried for ever. */
static bool nats_url_ok(const char *url, size_t len)
{
    const char *p = url, *end = url + len;
    const char *scheme = NULL;
    for (const char *q = p; q + 2 < end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            scheme = q;
            break;
        }
    if (scheme) {
        size_t n = (size_t)(scheme - p);
        if (!((n == 4 && strncmp(p, "nats", 4) == 0) || (n == 3 && strncmp(p, "tls", 3) == 0)))
            return false;
        p = scheme + 3;
    }
    for (const char *q = end; q > p; q--) /* user info ends at the last '@' */
        if (q[-1] == '@') {
            p = q;
            break;
        }
    const char *colon = NULL;
    for (const char *q = p; q < end; q++) {
        if (*q == '/' || *q == ' ' || *q == '@')
            return false;
        if (*q == ':')
            colon = q;
    }
    if (p[0] == '[') /* [IPv6]:port */
        colon = NULL;
    if (colon == p || p == end)
        return false; /* no host */
    if (!colon)
        return true;
    if (colon + 1 == end || end - colon > 6)
        return false;
    unsigned port = 0;
    for (const char *q = colon + 1; q < end; q++) {
        if (*q < '0' || *q > '9')
            return false;
        port = port * 10 + (unsigned)(*q - '0');
    }
    return port >= 1 && port <= 65535;
}

/* nats_url: one URL or several comma-separated (servers of one NATS
 * cluster). */
static bool nats_urls_ok(const char *list)
{
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (!len || !nats_url_ok(p, len))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

/* "cluster": {nats_url, stream, node, history, credentials, buffer, replicas, heartbeat_ms}. */
static bool parse_cluster(const parse_ctx *pc, json_t *obj, config *cfg)
{
    cluster_settings *c = &cfg->cluster;
    if (!json_is_object(obj))
        return fail_at_key(pc, "cluster", "\"cluster\" must be an object");
    c->enabled = true;
    c->nats_url = xstrdup("nats://127.0.0.1:4222");
    c->stream = xstrdup("MCPPROXY_EVENTS");
    c->credentials = xstrdup("");
    c->history = 100000;
    c->buffer = 10000;
    c->replicas = 1;
    c->heartbeat_ms = 1000;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        bool ok;
        if (strcmp(key, "nats_url") == 0)
            ok = get_string(pc, value, key, &c->nats_url);
        else if (strcmp(key, "stream") == 0)
            ok = get_string(pc, value, key, &c->stream);
        else if (strcmp(key, "node") == 0)
            ok = get_string(pc, value, key, &c->node);
        else if (strcmp(key, "credentials") == 0)
            ok = get_string(pc, value, key, &c->credentials);
        else if (strcmp(key, "history") == 0)
            ok = get_u32(pc, value, key, 1, &c->history);
        else if (strcmp(key, "buffer") == 0)
            ok = get_u32(pc, value, key, 1, &c->buffer);
        else if (strcmp(key, "replicas") == 0) {
            ok = get_u32(pc, value, key, 1, &c->replicas);
            if (ok && c->replicas > 5)
                ok = fail_at_key(pc, key, "\"cluster.replicas\" must be 1 to 5 (JetStream keeps at most 5 copies)");
        } else if (strcmp(key, "heartbeat_ms") == 0)
            ok = get_u32(pc, value, key, 50, &c->heartbeat_ms);
        else
            ok = fail_at_key(pc, key,
                             "unknown key \"cluster.%s\" (known: nats_url, stream, node, history, credentials, "
                             "buffer, replicas, heartbeat_ms)",
                             key);
        if (!ok)
            return false;
    }
    if (!c->node)
        return fail_at_key(pc, "cluster", "\"cluster.node\" is required: this node's name, unique in the cluster");
    if (!cluster_name_ok(c->node))
        return fail_at_key(pc, "node", "\"cluster.node\" must be 1 to 64 letters, digits, '_' or '-' (got \"%s\")",
                           c->node);
    if (!cluster_name_ok(c->stream))
        return fail_at_key(pc, "stream", "\"cluster.stream\" must be 1 to 64 letters, digits, '_' or '-' (got \"%s\")",
                           c->stream);
    if (c->heartbeat_ms > 60000)
        return fail_at_key(pc, "heartbeat_ms",
                           "\"cluster.heartbeat_ms\" must be from 50 to 60000 (a node silent for 3 of them is "
                           "unreachable; got %u)",
                           c->heartbeat_ms);
    if (c->nats_url[0] == '\0')
        return fail_at_key(pc, "nats_url", "\"cluster.nats_url\" must not be empty (e.g. nats://127.0.0.1:4222)");
    if (!nats_urls_ok(c->nats_url))
        return fail_at_key(pc, "nats_url",
                           "\"cluster.nats_url\" must be nats://HOST:PORT (or tls://), several separated by commas, "
                           "with ports 1 to 65535 (got \"%s\")",
                           c->nats_url);
    return true;
}

void config_cluster_free(cluster_settings *c)
{
    free(c->nats_url);
    free(c->stream);
    free(c->node);
    free(c->credentials);
    *c = (cluster_settings){0};
}

/* env and headers: an object of strings. */
static bool parse_pairs(const parse_ctx *pc, json_t *obj, const char *what, env_var **out, size_t *n)
{
    if (!json_is_object(obj))
        return fail_at_key(pc, what, "\"%s\" must be an object of strings", what);
    free(*out); /* a duplicate key was refused by the JSON parser; this is the defaults' NULL */
    *out = xcalloc(json_object_size(obj) ? json_object_size(obj) : 1, sizeof **out);
    *n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        if (!json_is_string(value))
            return fail_at_key(pc, key, "%s \"%s\" must be a string", what, key);
        (*out)[*n].name = xstrdup(key);
        (*out)[*n].value = xstrdup(json_string_value(value));
        (*n)++;
    }
    return true;
}

/* "oauth": {client_id, client_secret, scopes, redirect_uri}, each optional;
 * scopes is an array of strings (kept space-separated, as OAuth sends them). */
static bool parse_oauth(const parse_ctx *pc, json_t *obj, oauth_settings *o)
{
    if (!json_is_object(obj))
        return fail_at_key(pc, "oauth", "\"oauth\" must be an object (client_id, client_secret, scopes, redirect_uri)");
    o->present = true;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        bool ok;
        if (strcmp(key, "client_id") == 0)
            ok = get_string(pc, value, key, &o->client_id);
        else if (strcmp(key, "client_secret") == 0)
            ok = get_string(pc, value, key, &o->client_secret);
        else if (strcmp(key, "redirect_uri") == 0)
            ok = get_string(pc, value, key, &o->redirect_uri);
        else if (strcmp(key, "scopes") == 0) {
            char **v = NULL;
            size_t n = 0;
            ok = get_string_array(pc, value, key, &v, &n);
            strbuf sb = {0};
            for (size_t i = 0; i < n; i++) {
                if (ok && (!*v[i] || strpbrk(v[i], " \t\r\n\"\\")))
                    ok = fail_at_key(pc, key, "\"oauth.scopes\" must be scope names without spaces or quotes");
                if (ok)
                    strbuf_appendf(&sb, "%s%s", i ? " " : "", v[i]);
                free(v[i]);
            }
            free(v);
            free(o->scopes);
            o->scopes = ok && sb.len ? xstrdup(sb.data) : NULL;
            strbuf_free(&sb);
        } else
            ok = fail_at_key(pc, key,
                             "unknown key \"oauth.%s\" (known: client_id, client_secret, scopes, redirect_uri)", key);
        if (!ok)
            return false;
    }
    return true;
}

static void server_init_defaults(server_config *srv)
{
    *srv = (server_config){0};
    srv->working_dir = xstrdup("");
    srv->group = xstrdup("");
    srv->enabled = true;
}

/* Where a server is in the file, for messages: "mcpServers"[2] in an
 * array, "mcpServers"."github" in an object keyed by name. */
typedef struct server_place {
    const char *list_key; /* "mcpServers" or "servers" */
    size_t index;
    const char *key; /* the object's key, or NULL in an array */
} server_place;

static void place_label(const server_place *at, char *out, size_t len)
{
    if (at->key)
        snprintf(out, len, "\"%s\".\"%.80s\"", at->list_key, at->key);
    else
        snprintf(out, len, "\"%s\"[%zu]", at->list_key, at->index);
}

static bool fail_at_server(const parse_ctx *pc, const server_place *at, const char *name, int skip, const char *msg)
    __attribute__((nonnull(1, 2, 5)));

/* A message about a whole server, at its name: the key of an object
 * keyed by name, or the `skip`th "name": "..." pair of an array. */
static bool fail_at_server(const parse_ctx *pc, const server_place *at, const char *name, int skip, const char *msg)
{
    char label[128];
    place_label(at, label, sizeof label);
    if (at->key)
        return fail_at_key(pc, at->key, "%s: %s", label, msg);
    return fail_at_pair(pc, "name", name, skip, "%s: %s", label, msg);
}

/* Keys other tools write in a server entry that mcpproxy does not take, and
 * what to do instead: refused, like any unknown key (nothing in the file is
 * silently left out), but with the way forward. */
static const char *foreign_server_key_hint(const char *key)
{
    if (strcmp(key, "envFile") == 0)
        return "\"envFile\" (VS Code) is not supported: copy its variables into \"env\"";
    if (strcmp(key, "dev") == 0)
        return "\"dev\" (VS Code's watch-and-debug mode) is not supported: remove it";
    if (strcmp(key, "cwd") == 0)
        return "\"cwd\" is spelled \"working_dir\" here";
    return NULL;
}

static bool parse_server(const parse_ctx *pc, json_t *obj, const server_place *at, server_config *srv)
{
    char label[128];
    place_label(at, label, sizeof label);
    if (!json_is_object(obj))
        return fail_at_key(pc, at->key ? at->key : at->list_key, "%s must be an object", label);
    bool protocol_seen = false;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        bool ok;
        const char *hint;
        if (strcmp(key, "name") == 0) {
            ok = get_string(pc, value, key, &srv->name);
            /* In an object keyed by name the key is the name; a "name"
             * inside may only repeat it. */
            if (ok && at->key && strcmp(srv->name, at->key) != 0)
                ok = fail_at_key(pc, at->key,
                                 "%s: \"name\" \"%.80s\" differs from its key: remove it or make them equal", label,
                                 srv->name);
        } else if (strcmp(key, "protocol") == 0 || strcmp(key, "type") == 0) {
            /* "type" is what Claude Desktop, Cursor and VS Code call it. */
            if (protocol_seen)
                ok = fail_at_key(pc, key, "%s: give \"protocol\" or \"type\", not both", label);
            else
                ok = get_string(pc, value, key, &srv->protocol);
            protocol_seen = true;
        } else if (strcmp(key, "command") == 0) {
            ok = get_string(pc, value, key, &srv->command);
        } else if (strcmp(key, "args") == 0) {
            ok = get_string_array(pc, value, key, &srv->args, &srv->n_args);
        } else if (strcmp(key, "env") == 0) {
            ok = parse_pairs(pc, value, "env", &srv->env, &srv->n_env);
        } else if (strcmp(key, "url") == 0) {
            ok = get_string(pc, value, key, &srv->url);
        } else if (strcmp(key, "headers") == 0) {
            ok = parse_pairs(pc, value, "headers", &srv->headers, &srv->n_headers);
        } else if (strcmp(key, "tls_skip_verify") == 0) {
            ok = get_bool(pc, value, key, &srv->tls_skip_verify);
        } else if (strcmp(key, "oauth") == 0) {
            ok = parse_oauth(pc, value, &srv->oauth);
        } else if (strcmp(key, "working_dir") == 0) {
            ok = get_string(pc, value, key, &srv->working_dir);
        } else if (strcmp(key, "enabled") == 0) {
            ok = get_bool(pc, value, key, &srv->enabled);
        } else if (strcmp(key, "group") == 0) {
            ok = get_string(pc, value, key, &srv->group);
        } else if ((hint = foreign_server_key_hint(key))) {
            ok = fail_at_key(pc, key, "%s: %s", label, hint);
        } else {
            ok = fail_at_key(pc, key,
                             "unknown key \"%s\" in %s (known: name, protocol or type, command, "
                             "args, env, working_dir, url, headers, tls_skip_verify, oauth, enabled, group)",
                             key, label);
        }
        if (!ok)
            return false;
    }
    if (at->key && !srv->name)
        srv->name = xstrdup(at->key);
    config_server_default_protocol(srv);
    char err[CONFIG_ERR_LEN];
    if (srv->name && !config_name_valid(srv->name, "server name", err))
        return fail_at_server(pc, at, srv->name, 0, err);
    if (*srv->group && !config_name_valid(srv->group, "group", err))
        return fail_at_pair(pc, "group", srv->group, 0, "%s: %s", label, err);
    if (!config_server_validate(srv, err))
        return fail_at_server(pc, at, srv->name, 0, err);
    return true;
}

/* "mcpServers" (or VS Code's "servers"): our array of objects with a
 * "name", or an object keyed by name as Claude Desktop, Cursor and VS Code
 * write it. The form is recorded, so a save writes it back the same way. */
static bool parse_servers(const parse_ctx *pc, const char *list_key, json_t *list, config *cfg)
{
    bool by_name = json_is_object(list);
    if (!by_name && !json_is_array(list))
        return fail_at_key(pc, list_key,
                           "\"%s\" must be an array of server objects, or an object of server objects keyed by name",
                           list_key);
    cfg->servers_form.by_name = by_name;
    cfg->servers_form.vscode_key = strcmp(list_key, "servers") == 0;
    size_t n = by_name ? json_object_size(list) : json_array_size(list);
    cfg->servers = xcalloc(n ? n : 1, sizeof *cfg->servers);
    strmap seen = {0}; /* names so far: a scan per server would be quadratic */
    bool ok = true;
    /* Insertion order: jansson keeps an object's keys in the order read. */
    void *iter = by_name ? json_object_iter(list) : NULL;
    for (size_t i = 0; i < n && ok; i++) {
        server_config *srv = &cfg->servers[i];
        server_init_defaults(srv);
        cfg->n_servers = i + 1; /* so config_free releases what was parsed so far */
        server_place at = {.list_key = list_key, .index = i, .key = by_name ? json_object_iter_key(iter) : NULL};
        json_t *obj = by_name ? json_object_iter_value(iter) : json_array_get(list, i);
        iter = by_name ? json_object_iter_next(list, iter) : NULL;
        ok = parse_server(pc, obj, &at, srv);
        /* Keys of one object are unique (duplicates are refused on load). */
        if (ok && strmap_get(&seen, srv->name)) {
            char msg[CONFIG_ERR_LEN];
            snprintf(msg, sizeof msg, "duplicate server name \"%s\"", srv->name);
            ok = fail_at_server(pc, &at, srv->name, 1, msg);
        } else if (ok) {
            strmap_put(&seen, srv->name, srv);
        }
    }
    strmap_free(&seen);
    return ok;
}

void config_init_defaults(config *cfg)
{
    *cfg = (config){0};
    cfg->listen = xstrdup("127.0.0.1:8080");
    cfg->api_key = xstrdup("");
    cfg->database = xstrdup("");
    cfg->routing = xstrdup("direct");
    cfg->auto_disable_threshold = 3;
    cfg->websocket = (ws_settings){
        .ping_interval_ms = 54000,
        .pong_timeout_ms = 60000,
        .write_timeout_ms = 10000,
        .max_message_bytes = 512 * 1024,
        .send_queue = 256,
        .max_clients = 10000,
        .history = 4096,
        .history_bytes = 64 * 1024 * 1024,
        .send_queue_bytes = 8 * 1024 * 1024,
        .max_event_bytes = 1024 * 1024,
    };
    cfg->limits = (limits_settings){
        .max_header_bytes = 8192,
        .max_body_bytes = 4 * 1024 * 1024,
        .max_connections = 2048,
        .max_connections_per_address = 512,
        .handshake_timeout_ms = 10000,
        .keepalive_timeout_ms = 15000,
        .request_timeout_ms = 10000,
        .max_pending_bodies_per_address = 32,
    };
    cfg->upstream = (upstream_settings){
        .backoff_base_ms = 1000,
        .backoff_max_ms = 300000,
        .ready_reset_ms = 30000,
        .request_timeout_ms = 30000,
        .stop_grace_ms = 1000,
        .max_queued_bytes = 8 * 1024 * 1024,
        .max_tool_pages = 1000,
        .max_tool_list_bytes = 32 * 1024 * 1024,
        .max_tools = 10000,
        .max_message_bytes = 16 * 1024 * 1024,
    };
    cfg->mcp = (mcp_settings){
        .call_timeout_ms = 300000,
        .session_ttl_ms = 1800000,
        .ping_interval_ms = 15000,
        .unused_session_ttl_ms = 60000,
        .max_sessions = 1024,
        .max_sessions_per_address = 256,
        .list_page_size = 100,
        .log_tool_arguments = false,
    };
    cfg->quarantine = (quarantine_settings){.new_servers = true, .changed_tools = true};
    cfg->activity = (activity_settings){
        .retention_days = 30,
        .max_rows = 100000,
        .max_argument_bytes = 4096,
    };
}

static bool parse_root(const parse_ctx *pc, json_t *root, config *cfg)
{
    if (!json_is_object(root))
        return fail_at_key(pc, NULL, "the top level must be a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        bool ok;
        const config_section *section;
        if (strcmp(key, "listen") == 0) {
            char host[256];
            int port;
            ok = get_string(pc, value, key, &cfg->listen);
            if (ok && !config_split_listen(cfg->listen, host, sizeof host, &port))
                ok =
                    fail_at_key(pc, key, "\"listen\" must be HOST:PORT, e.g. 127.0.0.1:8080 (got \"%s\")", cfg->listen);
        } else if (strcmp(key, "api_key") == 0) {
            ok = get_string(pc, value, key, &cfg->api_key);
        } else if (strcmp(key, "database") == 0) {
            ok = get_string(pc, value, key, &cfg->database);
        } else if (strcmp(key, "routing") == 0) {
            ok = get_string(pc, value, key, &cfg->routing);
            if (ok && strcmp(cfg->routing, "direct") != 0 && strcmp(cfg->routing, "search") != 0)
                ok = fail_at_key(pc, key, "\"routing\" must be \"direct\" or \"search\" (got \"%s\")", cfg->routing);
        } else if (strcmp(key, "allowed_origins") == 0) {
            ok = get_string_array(pc, value, key, &cfg->allowed_origins, &cfg->n_allowed_origins);
        } else if (strcmp(key, "auto_disable_threshold") == 0) {
            ok = get_u32(pc, value, key, 1, &cfg->auto_disable_threshold);
        } else if (strcmp(key, "mcpServers") == 0 || strcmp(key, "servers") == 0) {
            if (cfg->servers)
                ok = fail_at_key(pc, key, "give \"mcpServers\" or \"servers\" (VS Code's name), not both");
            else
                ok = parse_servers(pc, key, value, cfg);
        } else if (strcmp(key, "inputs") == 0) {
            ok = fail_at_key(pc, key,
                             "\"inputs\" (VS Code's prompted values) is not supported: put the values in each "
                             "server's \"env\" and remove \"inputs\"");
        } else if (strcmp(key, "cluster") == 0) {
            ok = parse_cluster(pc, value, cfg);
        } else if ((section = find_section(key))) {
            ok = parse_section(pc, section, value, cfg);
        } else {
            ok = fail_at_key(
                pc, key,
                "unknown key \"%s\" (known: listen, api_key, database, routing, allowed_origins, "
                "auto_disable_threshold, websocket, limits, mcp, upstream, activity, quarantine, cluster, mcpServers or servers); "
                "to take the servers of another tool's file, use mcpproxy import FILE",
                key);
        }
        if (!ok)
            return false;
    }
    return check_relations(pc, cfg);
}

bool config_parse(const char *text, size_t len, const char *origin, config *cfg, char err[CONFIG_ERR_LEN])
{
    config_init_defaults(cfg);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, CONFIG_ERR_LEN, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
        config_free(cfg);
        return false;
    }
    parse_ctx pc = {.text = text, .len = len, .origin = origin, .err = err};
    bool ok = parse_root(&pc, root, cfg);
    json_decref(root);
    if (!ok)
        config_free(cfg);
    return ok;
}

bool config_split_listen(const char *listen, char *host_out, size_t host_len, int *port_out)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return false;
    const char *host = listen;
    size_t hlen = (size_t)(colon - listen);
    if (host[0] == '[') { /* [::1]:8080 */
        if (hlen < 3 || host[hlen - 1] != ']')
            return false;
        host++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_len)
        return false;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return false;
    memcpy(host_out, host, hlen);
    host_out[hlen] = '\0';
    *port_out = (int)port;
    return true;
}

bool config_name_valid(const char *name, const char *what, char err[CONFIG_ERR_LEN])
{
    size_t len = strlen(name);
    bool ok = len >= 1 && len <= CONFIG_NAME_MAX && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
    for (const char *p = name; *p && ok; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
             *p == '-' || *p == '.';
    if (!ok) {
        /* The name quoted as JSON: it may hold any character, quotes and
         * control characters included. */
        json_t *v = json_string(name);
        char *quoted = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
        json_decref(v);
        snprintf(err, CONFIG_ERR_LEN, "%s %.80s must be %s", what, quoted ? quoted : "(not UTF-8)", CONFIG_NAME_RULE);
        free(quoted);
    }
    return ok;
}

bool config_server_validate(const server_config *srv, char err[CONFIG_ERR_LEN])
{
    if (!srv->name || !*srv->name) {
        snprintf(err, CONFIG_ERR_LEN, "\"name\" is required: %s", CONFIG_NAME_RULE);
        return false;
    }
    if (!config_name_valid(srv->name, "server name", err))
        return false;
    if (srv->group && *srv->group && !config_name_valid(srv->group, "group", err))
        return false;
    bool has_command = srv->command && *srv->command, has_url = srv->url && *srv->url;
    if (has_command == has_url) {
        snprintf(err, CONFIG_ERR_LEN,
                 "server \"%s\": give exactly one of \"command\" (a local stdio server) and \"url\" (a remote "
                 "server), not %s",
                 srv->name, has_command ? "both" : "neither");
        return false;
    }
    const char *protocol = srv->protocol && *srv->protocol ? srv->protocol : (has_url ? "auto" : "stdio");
    bool remote_protocol = strcmp(protocol, "streamable-http") == 0 || strcmp(protocol, "http") == 0 ||
                           strcmp(protocol, "sse") == 0 || strcmp(protocol, "auto") == 0;
    if (!remote_protocol && strcmp(protocol, "stdio") != 0) {
        snprintf(err, CONFIG_ERR_LEN,
                 "server \"%s\": protocol \"%.40s\" is not supported (use \"stdio\", \"streamable-http\", \"http\", "
                 "\"sse\" or \"auto\")",
                 srv->name, protocol);
        return false;
    }
    if (has_command && remote_protocol) {
        snprintf(err, CONFIG_ERR_LEN, "server \"%s\": protocol \"%s\" needs a \"url\", not a \"command\"", srv->name,
                 protocol);
        return false;
    }
    if (has_url && !remote_protocol) {
        snprintf(err, CONFIG_ERR_LEN,
                 "server \"%s\": a \"url\" server speaks \"streamable-http\", \"sse\" or \"auto\", not \"stdio\"",
                 srv->name);
        return false;
    }
    if (has_url && strncasecmp(srv->url, "http://", 7) != 0 && strncasecmp(srv->url, "https://", 8) != 0) {
        snprintf(err, CONFIG_ERR_LEN, "server \"%s\": \"url\" must start with http:// or https:// (got \"%.80s\")",
                 srv->name, srv->url);
        return false;
    }
    if (srv->oauth.present && !has_url) {
        snprintf(err, CONFIG_ERR_LEN, "server \"%s\": \"oauth\" is for a \"url\" server, not a \"command\"", srv->name);
        return false;
    }
    const char *ru = srv->oauth.redirect_uri;
    if (ru && strncasecmp(ru, "http://", 7) != 0 && strncasecmp(ru, "https://", 8) != 0) {
        snprintf(err, CONFIG_ERR_LEN,
                 "server \"%s\": \"oauth.redirect_uri\" must be an http(s) URL that reaches this proxy's "
                 "/oauth/callback (got \"%.80s\")",
                 srv->name, ru);
        return false;
    }
    for (size_t i = 0; i < srv->n_headers; i++) {
        const char *h = srv->headers[i].name;
        bool ok = *h != '\0';
        for (const char *c = h; *c && ok; c++)
            ok = *c > 32 && *c < 127 && *c != ':';
        const char *v = srv->headers[i].value ? srv->headers[i].value : "";
        for (const char *c = v; *c && ok; c++)
            ok = *c != '\r' && *c != '\n';
        if (!ok) {
            snprintf(err, CONFIG_ERR_LEN,
                     "server \"%s\": header \"%.60s\" is not a valid HTTP header (a name of visible characters "
                     "without ':', a value without line breaks)",
                     srv->name, h);
            return false;
        }
    }
    return true;
}

void config_server_default_protocol(server_config *srv)
{
    if (srv->protocol && *srv->protocol)
        return;
    free(srv->protocol);
    srv->protocol = xstrdup(srv->url && *srv->url ? "auto" : "stdio");
}

server_config *config_find_server(const config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_servers; i++) {
        if (strcmp(cfg->servers[i].name, name) == 0)
            return &cfg->servers[i];
    }
    return NULL;
}

void server_config_free(server_config *srv)
{
    free(srv->name);
    free(srv->protocol);
    free(srv->command);
    for (size_t i = 0; i < srv->n_args; i++)
        free(srv->args[i]);
    free(srv->args);
    for (size_t i = 0; i < srv->n_env; i++) {
        free(srv->env[i].name);
        free(srv->env[i].value);
    }
    free(srv->env);
    free(srv->url);
    for (size_t i = 0; i < srv->n_headers; i++) {
        free(srv->headers[i].name);
        free(srv->headers[i].value);
    }
    free(srv->headers);
    free(srv->oauth.client_id);
    free(srv->oauth.client_secret);
    free(srv->oauth.scopes);
    free(srv->oauth.redirect_uri);
    free(srv->working_dir);
    free(srv->group);
    *srv = (server_config){0};
}

void config_free(config *cfg)
{
    free(cfg->listen);
    free(cfg->api_key);
    free(cfg->database);
    free(cfg->routing);
    for (size_t i = 0; i < cfg->n_allowed_origins; i++)
        free(cfg->allowed_origins[i]);
    free(cfg->allowed_origins);
    for (size_t i = 0; i < cfg->n_servers; i++)
        server_config_free(&cfg->servers[i]);
    free(cfg->servers);
    config_cluster_free(&cfg->cluster);
    *cfg = (config){0};
}
