/* activity.c - the activity log's rows: queued, written on a short timer
 * (or once FLUSH_ROWS wait), pruned, queried (activity.h). */
#include "store/activity.h"

#include "core/log.h"
#include "core/util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_INTERVAL_MS (60 * 60 * 1000)
/* A commit (WAL append and its syscalls) per loop turn was most of a tool
 * call's proxy CPU at concurrency 1 (docs/BENCHMARKS.md); one per interval
 * costs little, and a kill -9 loses at most the last interval's rows. */
#define FLUSH_INTERVAL_MS 20
/* The queue's bound: at this many rows they are written at once, in the
 * add, so the queue never holds more (nothing is dropped for room). */
#define FLUSH_ROWS 128
/* Calls written by one INSERT of this many rows: a statement's own cost
 * (its cursors, its end) is shared by the rows instead of paid by each. */
#define CALL_CHUNK 16
#define CALL_COLUMNS 11

typedef struct pending_row {
    struct pending_row *next;
    bool is_session; /* a session's client, else a call */
    int64_t ts_ms;
    char *session_id, *server, *method, *name, *arguments, *error;
    char *client_name, *client_version;
    bool arguments_truncated;
    bool ok;
    int64_t duration_ms, response_bytes;
} pending_row;

struct activity_log {
    store *db;
    const activity_settings *settings;
    uv_timer_t flush; /* on while rows wait: writes them FLUSH_INTERVAL_MS after the first */
    uv_timer_t prune; /* hourly retention */
    pending_row *head, **tail;
    size_t queued;
    size_t queued_calls; /* of those, calls (rows of the activity table; the rest are sessions) */
    int64_t rows;        /* in the table */
    uint64_t dropped;    /* rows lost to failed writes */
    bool drop_logged;    /* the first failed write is logged, the rest only counted */
    bool closed;
    /* Prepared at the first flush and kept until close: preparing them
     * again on every flush (one per loop turn with calls) was most of a
     * tool call's cost at concurrency 1 (docs/BENCHMARKS.md). */
    sqlite3_stmt *begin, *commit, *insert_call, *insert_session;
    sqlite3_stmt *insert_calls; /* CALL_CHUNK rows in one statement */
};

static void statements_free(activity_log *l)
{
    sqlite3_finalize(l->begin);
    sqlite3_finalize(l->commit);
    sqlite3_finalize(l->insert_call);
    sqlite3_finalize(l->insert_session);
    sqlite3_finalize(l->insert_calls);
    l->begin = l->commit = l->insert_call = l->insert_session = l->insert_calls = NULL;
}

#define INSERT_CALLS                                                                                                   \
    "INSERT INTO activity (ts_ms, session_id, server, method, name, arguments, arguments_truncated, ok, error, "       \
    "duration_ms, response_bytes) VALUES "
#define CALL_VALUES "(?,?,?,?,?,?,?,?,?,?,?)"

static bool statements_ready(activity_log *l, sqlite3 *db)
{
    if (l->insert_session)
        return true;
    strbuf chunk = {0};
    strbuf_appendf(&chunk, "%s", INSERT_CALLS);
    for (int i = 0; i < CALL_CHUNK; i++)
        strbuf_appendf(&chunk, "%s" CALL_VALUES, i ? "," : "");
    bool ok = sqlite3_prepare_v2(db, chunk.data, -1, &l->insert_calls, NULL) == SQLITE_OK;
    strbuf_free(&chunk);
    if (ok && sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &l->begin, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "COMMIT", -1, &l->commit, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, INSERT_CALLS CALL_VALUES, -1, &l->insert_call, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO mcp_sessions (id, client_name, client_version, started_ms) "
                           "VALUES (?,?,?,?)",
                           -1, &l->insert_session, NULL) == SQLITE_OK)
        return true;
    statements_free(l);
    return false;
}

/* Runs a prepared statement without a result, and resets it: no statement
 * is left open between uses. */
static bool step_done(sqlite3_stmt *st)
{
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void row_free(pending_row *r)
{
    free(r); /* its strings are in the same block */
}

/* The arguments' JSON text to keep: the client's own bytes when the caller
 * has them (no tree written out again), else the tree written out
 * (*dumped, for the caller to free); cut to `max` bytes on a character
 * boundary. NULL when there are none. */
static const char *arguments_span(const activity_record *rec, size_t max, size_t *len, bool *truncated, char **dumped)
{
    *truncated = false;
    *dumped = NULL;
    *len = 0;
    const char *text;
    size_t n;
    if (rec->arguments_text) {
        text = rec->arguments_text;
        n = rec->arguments_len;
    } else if (rec->arguments) {
        text = *dumped = json_dumps(rec->arguments, JSON_COMPACT);
        n = strlen(text);
    } else {
        return NULL;
    }
    if (n > max) { /* text[max], the first byte left out, says where a character starts */
        *truncated = true;
        while (max > 0 && ((unsigned char)text[max] & 0xC0) == 0x80)
            max--;
        n = max;
    }
    *len = n;
    return text;
}

/* A row and its strings in one allocation (a call's row was seven). */
typedef struct row_text {
    const char *s; /* NULL: the field stays NULL */
    size_t len;
} row_text;

static row_text text_of(const char *s)
{
    return s && *s ? (row_text){s, strlen(s)} : (row_text){NULL, 0};
}

/* texts[i] is copied into the block and field offsets[i] (a char * of
 * the row) points at it. */
static pending_row *row_new(const row_text *texts, const size_t *offsets, size_t n)
{
    size_t size = sizeof(pending_row);
    for (size_t i = 0; i < n; i++)
        size += texts[i].s ? texts[i].len + 1 : 0;
    pending_row *r = xmalloc(size);
    *r = (pending_row){0};
    char *at = (char *)(r + 1);
    for (size_t i = 0; i < n; i++) {
        if (!texts[i].s)
            continue;
        memcpy(at, texts[i].s, texts[i].len);
        at[texts[i].len] = '\0';
        memcpy((char *)r + offsets[i], &at, sizeof at);
        at += texts[i].len + 1;
    }
    return r;
}

static void on_flush(uv_timer_t *t);
static void prune(activity_log *l, bool by_time);

static void enqueue(activity_log *l, pending_row *r)
{
    if (l->closed) { /* after shutdown nothing can be written; said, not hidden */
        log_kv(LOG_WARN, "activity row after the log closed: not recorded",
               LOG_FIELDS(LOG_STR("name", r->name ? r->name : r->session_id)));
        row_free(r);
        return;
    }
    *l->tail = r;
    l->tail = &r->next;
    l->queued++;
    l->queued_calls += !r->is_session;
    if (l->queued >= FLUSH_ROWS)
        activity_log_flush(l);
    else if (!uv_is_active((uv_handle_t *)&l->flush))
        uv_timer_start(&l->flush, on_flush, FLUSH_INTERVAL_MS, 0);
}

void activity_log_add(activity_log *l, const activity_record *rec)
{
    if (!l)
        return;
    size_t args_len;
    bool truncated;
    char *dumped;
    const char *args = arguments_span(rec, l->settings->max_argument_bytes, &args_len, &truncated, &dumped);
    const char *method = rec->method ? rec->method : "tools/call";
    const char *name = rec->name ? rec->name : "";
    const row_text texts[] = {
        text_of(rec->session_id), text_of(rec->server), {method, strlen(method)},
        {name, strlen(name)},     {args, args_len},     {rec->error, rec->error ? strlen(rec->error) : 0},
    };
    static const size_t offsets[] = {
        offsetof(pending_row, session_id), offsetof(pending_row, server),    offsetof(pending_row, method),
        offsetof(pending_row, name),       offsetof(pending_row, arguments), offsetof(pending_row, error),
    };
    pending_row *r = row_new(texts, offsets, sizeof texts / sizeof texts[0]);
    free(dumped);
    r->ts_ms = rec->ts_ms;
    r->arguments_truncated = truncated;
    r->ok = rec->error == NULL;
    r->duration_ms = (int64_t)rec->duration_ms;
    r->response_bytes = (int64_t)rec->response_bytes;
    enqueue(l, r);
}

void activity_log_session(activity_log *l, const char *session_id, const char *client_name, const char *client_version)
{
    if (!l || !session_id || !*session_id)
        return;
    const row_text texts[] = {text_of(session_id), text_of(client_name), text_of(client_version)};
    static const size_t offsets[] = {offsetof(pending_row, session_id), offsetof(pending_row, client_name),
                                     offsetof(pending_row, client_version)};
    pending_row *r = row_new(texts, offsets, sizeof texts / sizeof texts[0]);
    r->is_session = true;
    r->ts_ms = now_ms();
    enqueue(l, r);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* A call's columns from parameter `at` on (1-based). Every parameter is
 * bound again, so no clearing is needed between uses. */
static void bind_call(sqlite3_stmt *st, int at, const pending_row *r)
{
    sqlite3_bind_int64(st, at, r->ts_ms);
    bind_text(st, at + 1, r->session_id);
    bind_text(st, at + 2, r->server);
    bind_text(st, at + 3, r->method);
    bind_text(st, at + 4, r->name);
    bind_text(st, at + 5, r->arguments);
    sqlite3_bind_int(st, at + 6, r->arguments_truncated);
    sqlite3_bind_int(st, at + 7, r->ok);
    bind_text(st, at + 8, r->error);
    sqlite3_bind_int64(st, at + 9, r->duration_ms);
    sqlite3_bind_int64(st, at + 10, r->response_bytes);
}

/* Writes rows from *r on: CALL_CHUNK calls in a row in one statement, else
 * one row (a session, or a call of a shorter run). Moves *r past them and
 * counts the calls. */
static bool write_rows(activity_log *l, pending_row **r, size_t *calls)
{
    pending_row *first = *r;
    if (first->is_session) {
        sqlite3_stmt *st = l->insert_session;
        bind_text(st, 1, first->session_id);
        bind_text(st, 2, first->client_name);
        bind_text(st, 3, first->client_version);
        sqlite3_bind_int64(st, 4, first->ts_ms);
        *r = first->next;
        return step_done(st);
    }
    int n = 0;
    for (pending_row *p = first; p && !p->is_session && n < CALL_CHUNK; p = p->next)
        n++;
    sqlite3_stmt *st = n == CALL_CHUNK ? l->insert_calls : l->insert_call;
    if (n < CALL_CHUNK)
        n = 1;
    for (int i = 0; i < n; i++, first = first->next)
        bind_call(st, 1 + i * CALL_COLUMNS, first);
    *r = first;
    *calls += (size_t)n;
    return step_done(st);
}

void activity_log_flush(activity_log *l)
{
    if (uv_is_active((uv_handle_t *)&l->flush))
        uv_timer_stop(&l->flush);
    if (!l->head)
        return;
    sqlite3 *db = store_db(l->db);
    char err[400] = "";
    size_t calls = 0;
    /* One transaction for the interval: one WAL append, and a kill -9 keeps
     * all of it or none, never half a row. */
    bool ok = statements_ready(l, db) && step_done(l->begin);
    if (!ok)
        snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
    for (pending_row *r = l->head; ok && r;)
        if (!(ok = write_rows(l, &r, &calls)))
            snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
    if (ok && !(ok = step_done(l->commit)))
        snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
    if (!ok) {
        char ignored[64];
        store_exec(l->db, "ROLLBACK", ignored, sizeof ignored);
        if (!l->drop_logged) { /* once: a failing disk would flood the log; the count says the rest */
            log_kv(LOG_ERROR, "activity log: rows could not be written and are lost (counted in /metrics)",
                   LOG_FIELDS(LOG_STR("database", store_path(l->db)), LOG_STR("error", err),
                              LOG_INT("rows", (long long)l->queued_calls)));
            l->drop_logged = true;
        }
        l->dropped += l->queued_calls;
    } else {
        l->rows += (int64_t)calls;
    }
    while (l->head) {
        pending_row *r = l->head;
        l->head = r->next;
        row_free(r);
    }
    l->tail = &l->head;
    l->queued = l->queued_calls = 0;
    if (ok && l->rows > (int64_t)l->settings->max_rows + (int64_t)l->settings->max_rows / 10)
        prune(l, false);
}

static void on_flush(uv_timer_t *t)
{
    activity_log_flush(t->data);
}

static int64_t count_rows(activity_log *l)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(store_db(l->db), "SELECT count(*) FROM activity", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The oldest rows past max_rows, and with `by_time` also the rows (and
 * then the sessions) older than retention_days. The count alone is an id
 * range; the time needs a read of the whole table (no index on ts_ms), so
 * it runs only hourly and at start, not every time the rows pass max_rows. */
static void prune(activity_log *l, bool by_time)
{
    sqlite3 *db = store_db(l->db);
    sqlite3_stmt *st;
    int64_t cutoff = now_ms() - (int64_t)l->settings->retention_days * 24 * 3600 * 1000;
    int changes = 0;
    bool counted = false;
    if (sqlite3_prepare_v2(db,
                           by_time ? "DELETE FROM activity WHERE ts_ms < ?1 OR id <= (SELECT id FROM activity ORDER BY "
                                     "id DESC LIMIT 1 OFFSET ?2)"
                                   : "DELETE FROM activity WHERE id <= (SELECT id FROM activity ORDER BY id DESC LIMIT "
                                     "1 OFFSET ?2)",
                           -1, &st, NULL) == SQLITE_OK) {
        if (by_time)
            sqlite3_bind_int64(st, 1, cutoff);
        sqlite3_bind_int64(st, 2, (int64_t)l->settings->max_rows);
        if (sqlite3_step(st) == SQLITE_DONE) {
            changes = sqlite3_changes(db);
            counted = true;
        } else {
            log_kv(LOG_ERROR, "activity log: pruning failed", LOG_FIELDS(LOG_STR("error", sqlite3_errmsg(db))));
        }
        sqlite3_finalize(st);
    }
    /* Sessions no row names any more. */
    if (by_time && sqlite3_prepare_v2(db,
                                      "DELETE FROM mcp_sessions WHERE started_ms < ?1 AND id NOT IN "
                                      "(SELECT session_id FROM activity WHERE session_id IS NOT NULL)",
                                      -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, cutoff);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (by_time || !counted)
        l->rows = count_rows(l);
    else
        l->rows -= changes;
    if (changes > 0)
        log_kv(LOG_INFO, "activity log pruned", LOG_FIELDS(LOG_INT("deleted", changes), LOG_INT("rows", l->rows)));
}

void activity_log_prune(activity_log *l)
{
    prune(l, true);
}

static void on_prune(uv_timer_t *t)
{
    activity_log_prune(t->data);
}

activity_log *activity_log_create(uv_loop_t *loop, store *db, const activity_settings *settings)
{
    activity_log *l = xcalloc(1, sizeof *l);
    l->db = db;
    l->settings = settings;
    l->tail = &l->head;
    uv_timer_init(loop, &l->flush);
    l->flush.data = l;
    uv_timer_init(loop, &l->prune);
    l->prune.data = l;
    uv_timer_start(&l->prune, on_prune, PRUNE_INTERVAL_MS, PRUNE_INTERVAL_MS);
    uv_unref((uv_handle_t *)&l->prune); /* retention alone keeps no loop running */
    activity_log_prune(l);
    return l;
}

void activity_log_close(activity_log *l)
{
    if (!l || l->closed)
        return;
    activity_log_flush(l);
    statements_free(l); /* before the store closes the database */
    l->closed = true;
    uv_timer_stop(&l->prune);
    uv_close((uv_handle_t *)&l->flush, NULL);
    uv_close((uv_handle_t *)&l->prune, NULL);
}

void activity_log_destroy(activity_log *l)
{
    if (!l)
        return;
    while (l->head) { /* only when never closed */
        pending_row *r = l->head;
        l->head = r->next;
        row_free(r);
    }
    statements_free(l);
    free(l);
}

uint64_t activity_log_dropped(const activity_log *l)
{
    return l ? l->dropped : 0;
}

int64_t activity_log_count(activity_log *l)
{
    return l->rows + (int64_t)l->queued_calls;
}

/* ---- queries ------------------------------------------------------------ */

static json_t *timestamp_json(int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[40];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

static json_t *column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *row_json(sqlite3_stmt *st)
{
    bool truncated = sqlite3_column_int(st, 7) != 0;
    const char *args = (const char *)sqlite3_column_text(st, 6);
    json_t *arguments = json_null();
    if (args && truncated)
        arguments = json_string(args); /* cut JSON is no JSON: the text as it was kept */
    else if (args && !(arguments = json_loads(args, 0, NULL)))
        arguments = json_string(args);
    json_t *row = json_object();
    json_object_set_new(row, "id", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(row, "timestamp", timestamp_json(sqlite3_column_int64(st, 1)));
    json_object_set_new(row, "session_id", column_text(st, 2));
    json_object_set_new(row, "client_name", column_text(st, 12));
    json_object_set_new(row, "server", column_text(st, 3));
    json_object_set_new(row, "method", column_text(st, 4));
    json_object_set_new(row, "tool", column_text(st, 5));
    json_object_set_new(row, "arguments", arguments);
    json_object_set_new(row, "arguments_truncated", json_boolean(truncated));
    json_object_set_new(row, "outcome", json_string(sqlite3_column_int(st, 8) ? "ok" : "error"));
    json_object_set_new(row, "error", column_text(st, 9));
    json_object_set_new(row, "duration_ms", json_integer(sqlite3_column_int64(st, 10)));
    json_object_set_new(row, "response_bytes", json_integer(sqlite3_column_int64(st, 11)));
    return row;
}

/* "%" q "%" with LIKE's own characters escaped by '\'. */
static char *like_pattern(const char *q)
{
    strbuf sb = {0};
    strbuf_append(&sb, "%", 1);
    for (const char *p = q; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            strbuf_append(&sb, "\\", 1);
        strbuf_append(&sb, p, 1);
    }
    strbuf_append(&sb, "%", 1);
    return sb.data;
}

static bool set(const char *s)
{
    return s && *s;
}

bool activity_log_query(activity_log *l, const activity_filter *f, json_t **rows, int64_t *next_cursor, char *err,
                        size_t err_len)
{
    activity_log_flush(l);
    strbuf sql = {0};
    strbuf_appendf(&sql, "SELECT a.id, a.ts_ms, a.session_id, a.server, a.method, a.name, a.arguments, "
                         "a.arguments_truncated, a.ok, a.error, a.duration_ms, a.response_bytes, s.client_name "
                         "FROM activity a LEFT JOIN mcp_sessions s ON s.id = a.session_id WHERE 1");
    /* Only the conditions asked for, so SQLite can use an index for them
     * (server and tool: activity_server, whose entries end in the id, so
     * the newest come first; times: id ranges, below). A condition written
     * "?1 IS NULL OR ..." is never served by an index: a filter that
     * matched little scanned the whole table. Parameter numbers stay fixed. */
    if (set(f->server))
        strbuf_appendf(&sql, " AND a.server = ?1");
    if (set(f->tool))
        strbuf_appendf(&sql, " AND a.name = ?2");
    if (set(f->outcome))
        strbuf_appendf(&sql, " AND a.ok = ?3");
    if (set(f->q))
        strbuf_appendf(&sql, " AND (a.name LIKE ?4 ESCAPE '\\' OR a.error LIKE ?4 ESCAPE '\\'"
                             " OR a.arguments LIKE ?4 ESCAPE '\\' OR s.client_name LIKE ?4 ESCAPE '\\')");
    /* Rows go in in the order their calls end, and ts_ms + duration_ms is
     * that end, so along the ids it never goes down (while the wall clock
     * does not step back): every row that started at or after `since`
     * comes after the newest row that ended before it. The id range is
     * read from the newest row down, not the whole table (there is no
     * index on ts_ms: schema version 3). */
    if (f->since_ms)
        strbuf_appendf(&sql, " AND a.ts_ms >= ?5 AND a.id > coalesce((SELECT id FROM activity WHERE ts_ms + "
                             "duration_ms < ?5 ORDER BY id DESC LIMIT 1), 0)");
    if (f->until_ms)
        strbuf_appendf(&sql, " AND a.ts_ms < ?6");
    if (f->cursor)
        strbuf_appendf(&sql, " AND a.id < ?7");
    strbuf_appendf(&sql, " ORDER BY a.id DESC LIMIT ?8");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db(l->db), sql.data, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "%s", sqlite3_errmsg(store_db(l->db)));
        strbuf_free(&sql);
        return false;
    }
    strbuf_free(&sql);
    char *pattern = set(f->q) ? like_pattern(f->q) : NULL;
    bind_text(st, 1, set(f->server) ? f->server : NULL);
    bind_text(st, 2, set(f->tool) ? f->tool : NULL);
    if (set(f->outcome))
        sqlite3_bind_int(st, 3, strcmp(f->outcome, "ok") == 0);
    bind_text(st, 4, pattern);
    if (f->since_ms)
        sqlite3_bind_int64(st, 5, f->since_ms);
    if (f->until_ms)
        sqlite3_bind_int64(st, 6, f->until_ms);
    if (f->cursor)
        sqlite3_bind_int64(st, 7, f->cursor);
    /* One more than asked says whether another page follows. */
    sqlite3_bind_int64(st, 8, (int64_t)f->limit + 1);
    json_t *out = json_array();
    int rc;
    int64_t last_id = 0;
    *next_cursor = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (json_array_size(out) == f->limit) {
            *next_cursor = last_id;
            break;
        }
        last_id = sqlite3_column_int64(st, 0);
        json_array_append_new(out, row_json(st));
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (!ok)
        snprintf(err, err_len, "%s", sqlite3_errmsg(store_db(l->db)));
    sqlite3_finalize(st);
    free(pattern);
    if (!ok) {
        json_decref(out);
        return false;
    }
    *rows = out;
    return true;
}
