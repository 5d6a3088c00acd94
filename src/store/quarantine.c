/* quarantine.c - approvals and pins, in memory and in the database
 * (quarantine.h). */
#include "store/quarantine.h"

#include "core/log.h"
#include "core/strmap.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct trust {
    char *name; /* the map's key */
    char *fingerprint;
    bool approved;
    int64_t since_ms;
} trust;

/* A pinned definition, or a held one: key "server\ntool". */
typedef struct pin {
    char *key;
    char *server, *tool;
    char *definition; /* canonical JSON */
    char hash[17];
    json_t *seen; /* the tool object last found to match (a reference): the same object again needs no compare */
} pin;

typedef struct pending_event {
    struct pending_event *next;
    event_type type;
    char *server;
    json_t *data;
} pending_event;

struct quarantine {
    store *db;
    bus *bus;
    const quarantine_settings *settings;
    uv_check_t publish; /* on while events wait */
    strmap servers;     /* name -> trust */
    strmap pins;        /* key -> pin */
    strmap held;        /* key -> pin (the definition seen now, not offered) */
    pending_event *events, **events_tail;
    bool closed;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, 64 bits: shown to people to tell definitions apart. Pins are
 * compared by their whole text, so a collision cannot pass a change. */
static void hash_text(const char *text, char out[17])
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    snprintf(out, 17, "%016" PRIx64, h);
}

static char *definition_text(json_t *def)
{
    json_t *d = json_pack("{s:O?, s:O?}", "description", json_object_get(def, "description"), "inputSchema",
                          json_object_get(def, "inputSchema"));
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return text;
}

static char *pin_key(const char *server, const char *tool)
{
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s\n%s", server, tool);
    return sb.data;
}

static pin *pin_new(const char *server, const char *tool, char *definition)
{
    pin *p = xcalloc(1, sizeof *p);
    p->key = pin_key(server, tool);
    p->server = xstrdup(server);
    p->tool = xstrdup(tool);
    p->definition = definition;
    hash_text(definition, p->hash);
    return p;
}

static void pin_free(pin *p)
{
    if (!p)
        return;
    free(p->key);
    free(p->server);
    free(p->tool);
    free(p->definition);
    json_decref(p->seen);
    free(p);
}

static void trust_free(trust *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->fingerprint);
    free(t);
}

/* ---- events --------------------------------------------------------------- */

static void on_publish(uv_check_t *h)
{
    quarantine *q = h->data;
    uv_check_stop(&q->publish);
    while (q->events) {
        pending_event *e = q->events;
        q->events = e->next;
        bus_publish(q->bus, &(event_fields){.type = e->type, .server_name = e->server, .data = e->data});
        json_decref(e->data);
        free(e->server);
        free(e);
    }
    q->events_tail = &q->events;
}

/* Queued: the caller may be inside a bus delivery (the catalog is rebuilt
 * from one), where publishing would cut that delivery short. `data` is
 * stolen. */
static void announce(quarantine *q, event_type type, const char *server, json_t *data)
{
    if (q->closed) {
        json_decref(data);
        return;
    }
    pending_event *e = xcalloc(1, sizeof *e);
    e->type = type;
    e->server = xstrdup(server);
    e->data = data;
    *q->events_tail = e;
    q->events_tail = &e->next;
    if (!uv_is_active((uv_handle_t *)&q->publish))
        uv_check_start(&q->publish, on_publish);
}

/* ---- the database --------------------------------------------------------- */

static void exec_bound(quarantine *q, const char *sql, const char *a, const char *b, const char *c, int64_t n,
                       const char *d)
{
    sqlite3_stmt *st;
    sqlite3 *db = store_db(q->db);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_kv(LOG_ERROR, "quarantine: database", LOG_FIELDS(LOG_STR("error", sqlite3_errmsg(db))));
        return;
    }
    const char *texts[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (texts[i])
            sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, n);
    if (d)
        sqlite3_bind_text(st, 5, d, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_kv(LOG_ERROR, "quarantine: database write failed", LOG_FIELDS(LOG_STR("error", sqlite3_errmsg(db))));
    sqlite3_finalize(st);
}

static void save_trust(quarantine *q, const trust *t)
{
    exec_bound(q, "INSERT OR REPLACE INTO server_trust (name, fingerprint, approved, since_ms) VALUES (?1, ?2, ?5, ?4)",
               t->name, t->fingerprint, NULL, t->since_ms, t->approved ? "1" : "0");
}

static void save_pin(quarantine *q, const pin *p)
{
    exec_bound(q,
               "INSERT OR REPLACE INTO tool_pins (server, tool, definition, hash, pinned_ms) VALUES (?1, ?2, ?3, ?5, "
               "?4)",
               p->server, p->tool, p->definition, now_ms(), p->hash);
}

static void load(quarantine *q)
{
    sqlite3 *db = store_db(q->db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT name, fingerprint, approved, since_ms FROM server_trust", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            trust *t = xcalloc(1, sizeof *t);
            t->name = xstrdup((const char *)sqlite3_column_text(st, 0));
            t->fingerprint = xstrdup((const char *)sqlite3_column_text(st, 1));
            t->approved = sqlite3_column_int(st, 2) != 0;
            t->since_ms = sqlite3_column_int64(st, 3);
            strmap_put(&q->servers, t->name, t);
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db, "SELECT server, tool, definition FROM tool_pins", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            pin *p = pin_new((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
                             xstrdup((const char *)sqlite3_column_text(st, 2)));
            strmap_put(&q->pins, p->key, p);
        }
        sqlite3_finalize(st);
    }
}

/* ---- lifetime ------------------------------------------------------------- */

quarantine *quarantine_create(uv_loop_t *loop, store *db, bus *b, const quarantine_settings *settings)
{
    quarantine *q = xcalloc(1, sizeof *q);
    q->db = db;
    q->bus = b;
    q->settings = settings;
    q->events_tail = &q->events;
    uv_check_init(loop, &q->publish);
    q->publish.data = q;
    load(q);
    return q;
}

void quarantine_close(quarantine *q)
{
    if (!q || q->closed)
        return;
    on_publish(&q->publish);
    q->closed = true;
    uv_close((uv_handle_t *)&q->publish, NULL);
}

static void free_map(strmap *m, void (*fn)(void *))
{
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].key)
            fn(m->slots[i].value);
    strmap_free(m);
}

static void free_trust_v(void *p)
{
    trust_free(p);
}

static void free_pin_v(void *p)
{
    pin_free(p);
}

void quarantine_destroy(quarantine *q)
{
    if (!q)
        return;
    free_map(&q->servers, free_trust_v);
    free_map(&q->pins, free_pin_v);
    free_map(&q->held, free_pin_v);
    while (q->events) { /* only when never closed */
        pending_event *e = q->events;
        q->events = e->next;
        json_decref(e->data);
        free(e->server);
        free(e);
    }
    free(q);
}

bool quarantine_enabled(const quarantine *q)
{
    return q && (q->settings->new_servers || q->settings->changed_tools);
}

void quarantine_batch_begin(quarantine *q)
{
    char err[256];
    if (sqlite3_get_autocommit(store_db(q->db)))
        store_exec(q->db, "BEGIN", err, sizeof err);
}

void quarantine_batch_end(quarantine *q)
{
    char err[256];
    if (!sqlite3_get_autocommit(store_db(q->db)) && !store_exec(q->db, "COMMIT", err, sizeof err))
        log_kv(LOG_ERROR, "quarantine: pins could not be written", LOG_FIELDS(LOG_STR("error", err)));
}

/* ---- servers -------------------------------------------------------------- */

/* What the server runs: its url, or its command and arguments. */
static char *fingerprint(const server_config *srv)
{
    strbuf sb = {0};
    if (srv->url && *srv->url) {
        strbuf_appendf(&sb, "url %s", srv->url);
    } else {
        strbuf_appendf(&sb, "command %s", srv->command ? srv->command : "");
        for (size_t i = 0; i < srv->n_args; i++)
            strbuf_appendf(&sb, "\x1f%s", srv->args[i]);
    }
    return sb.data;
}

static trust *record(quarantine *q, const server_config *srv, bool approved)
{
    trust *t = strmap_get(&q->servers, srv->name);
    if (!t) {
        t = xcalloc(1, sizeof *t);
        t->name = xstrdup(srv->name);
        strmap_put(&q->servers, t->name, t);
    }
    free(t->fingerprint);
    t->fingerprint = fingerprint(srv);
    t->approved = approved;
    t->since_ms = now_ms();
    save_trust(q, t);
    return t;
}

void quarantine_trust_initial(quarantine *q, const config *cfg)
{
    sqlite3_stmt *st;
    bool done = false;
    if (sqlite3_prepare_v2(store_db(q->db), "SELECT 1 FROM meta WHERE key = 'servers_trusted'", -1, &st, NULL) ==
        SQLITE_OK) {
        done = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (done)
        return;
    char err[256];
    store_exec(q->db, "BEGIN", err, sizeof err);
    for (size_t i = 0; i < cfg->n_servers; i++)
        record(q, &cfg->servers[i], true);
    store_exec(q->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('servers_trusted', '1')", err, sizeof err);
    store_exec(q->db, "COMMIT", err, sizeof err);
    log_kv(LOG_INFO, "first start with this database: the configured servers are trusted",
           LOG_FIELDS(LOG_INT("servers", cfg->n_servers)));
}

bool quarantine_server_allowed(quarantine *q, const server_config *srv)
{
    trust *t = strmap_get(&q->servers, srv->name);
    char *fp = fingerprint(srv);
    bool same = t && strcmp(t->fingerprint, fp) == 0;
    free(fp);
    if (same)
        return t->approved;
    bool hold = q->settings->new_servers;
    bool changed = t != NULL;
    record(q, srv, !hold);
    if (hold) {
        log_kv(LOG_WARN, "server quarantined until approved",
               LOG_FIELDS(LOG_STR("server", srv->name), LOG_STR("reason", changed ? "changed" : "new")));
        announce(q, EVENT_SERVER_QUARANTINED, srv->name,
                 json_pack("{s:s, s:s}", "severity", "warning", "reason",
                           changed ? "its command, arguments or url changed" : "a new server"));
    }
    return !hold;
}

bool quarantine_server_held(quarantine *q, const char *server)
{
    trust *t = strmap_get(&q->servers, server);
    return t && !t->approved;
}

/* ---- tools ---------------------------------------------------------------- */

bool quarantine_tool_allowed(quarantine *q, const char *server, json_t *def)
{
    const char *tool = json_string_value(json_object_get(def, "name"));
    if (!tool)
        return false;
    char *key = pin_key(server, tool);
    pin *p = strmap_get(&q->pins, key);
    pin *seen_held = strmap_get(&q->held, key);
    /* A catalog is rebuilt on every change of any server: the tools of the
     * others come again as the same objects, and are not compared again. */
    if (p && p->seen == def && !seen_held) {
        free(key);
        return true;
    }
    if (seen_held && seen_held->seen == def) {
        free(key);
        return false;
    }
    char *text = definition_text(def);
    bool ok;
    if (!p || !q->settings->changed_tools) { /* first sight, or changes are not held: pinned as it is */
        if (!p || strcmp(p->definition, text) != 0) {
            pin *n = pin_new(server, tool, text);
            text = NULL;
            pin_free(strmap_del(&q->pins, key));
            strmap_put(&q->pins, n->key, n);
            save_pin(q, n);
            p = n;
        }
        ok = true;
    } else if (strcmp(p->definition, text) == 0) {
        pin_free(strmap_del(&q->held, key)); /* back to what was approved */
        ok = true;
    } else {
        pin *h = strmap_get(&q->held, key);
        if (!h || strcmp(h->definition, text) != 0) {
            pin *n = pin_new(server, tool, text);
            text = NULL;
            pin_free(strmap_del(&q->held, key));
            strmap_put(&q->held, n->key, n);
            log_kv(LOG_WARN, "tool changed since it was approved: held",
                   LOG_FIELDS(LOG_STR("server", server), LOG_STR("tool", tool), LOG_STR("pinned_hash", p->hash),
                              LOG_STR("current_hash", n->hash)));
            announce(q, EVENT_TOOL_CHANGED, server,
                     json_pack("{s:s, s:s, s:s, s:s}", "severity", "warning", "tool", tool, "pinned_hash", p->hash,
                               "current_hash", n->hash));
            h = n;
        }
        json_decref(h->seen);
        h->seen = json_incref(def);
        ok = false;
    }
    if (ok) {
        json_decref(p->seen);
        p->seen = json_incref(def);
    }
    free(text);
    free(key);
    return ok;
}

const char *quarantine_refusal(quarantine *q, const char *server, const char *tool, char *why, size_t why_len)
{
    if (!q || !server)
        return NULL;
    if (quarantine_server_held(q, server)) {
        snprintf(why, why_len,
                 "server \"%s\" is quarantined (new or changed): its tools are offered once it is approved "
                 "(mcpproxy servers approve %s, or POST /api/servers/%s/approve)",
                 server, server, server);
        return why;
    }
    if (!tool)
        return NULL;
    char *key = pin_key(server, tool);
    bool held = strmap_get(&q->held, key) != NULL;
    free(key);
    if (!held)
        return NULL;
    snprintf(why, why_len,
             "tool \"%s\" of server \"%s\" changed (description or input schema) since it was approved: it is "
             "held until the server is approved again (GET /api/quarantine shows the change)",
             tool, server);
    return why;
}

void quarantine_approve(quarantine *q, const server_config *srv, json_t *tools)
{
    char err[256];
    store_exec(q->db, "BEGIN", err, sizeof err);
    record(q, srv, true);
    size_t i;
    json_t *def;
    json_array_foreach(tools, i, def) {
        const char *tool = json_string_value(json_object_get(def, "name"));
        if (!tool)
            continue;
        pin *n = pin_new(srv->name, tool, definition_text(def));
        pin_free(strmap_del(&q->held, n->key));
        pin_free(strmap_del(&q->pins, n->key));
        strmap_put(&q->pins, n->key, n);
        save_pin(q, n);
    }
    store_exec(q->db, "COMMIT", err, sizeof err);
    log_kv(LOG_INFO, "server approved", LOG_FIELDS(LOG_STR("server", srv->name)));
    announce(q, EVENT_SERVER_APPROVED, srv->name,
             json_pack("{s:s, s:I}", "severity", "info", "tool_count", (json_int_t)json_array_size(tools)));
}

json_t *quarantine_json(quarantine *q)
{
    json_t *servers = json_array();
    for (size_t i = 0; i < q->servers.n_slots; i++) {
        trust *t = q->servers.slots[i].key ? q->servers.slots[i].value : NULL;
        if (t && !t->approved)
            json_array_append_new(servers,
                                  json_pack("{s:s, s:I}", "name", t->name, "since_ms", (json_int_t)t->since_ms));
    }
    json_t *tools = json_array();
    for (size_t i = 0; i < q->held.n_slots; i++) {
        pin *h = q->held.slots[i].key ? q->held.slots[i].value : NULL;
        if (!h)
            continue;
        pin *p = strmap_get(&q->pins, h->key);
        json_array_append_new(tools, json_pack("{s:s, s:s, s:o, s:s, s:o, s:s}", "server", h->server, "tool", h->tool,
                                               "pinned", p ? json_loads(p->definition, 0, NULL) : json_null(),
                                               "pinned_hash", p ? p->hash : "", "current",
                                               json_loads(h->definition, 0, NULL), "current_hash", h->hash));
    }
    return json_pack("{s:o, s:o}", "servers", servers, "tools", tools);
}
