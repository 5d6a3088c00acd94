/* store.c - the SQLite file, its pragmas and its migrations (store.h). */
#include "store/store.h"

#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store {
    sqlite3 *db;
    char *path;
};

/* Migration N (1-based) takes a file from version N-1 to N. Never edit one
 * that has shipped: add the next. Each runs in one transaction with the
 * version bump, so a crash leaves the file at N-1 or N, never between. */
static const char *const migrations[] = {
    /* 1: the activity log, and the /mcp sessions its rows name. */
    "CREATE TABLE activity ("
    "  id INTEGER PRIMARY KEY,"
    "  ts_ms INTEGER NOT NULL," /* when the call started, ms since the epoch */
    "  session_id TEXT,"        /* the /mcp session; NULL when none */
    "  server TEXT,"            /* NULL when no server could be named */
    "  method TEXT NOT NULL,"   /* tools/call, prompts/get, resources/read */
    "  name TEXT NOT NULL,"     /* the upstream's own tool (prompt, resource) name */
    "  arguments TEXT,"         /* JSON text, NULL when none; cut when truncated */
    "  arguments_truncated INTEGER NOT NULL DEFAULT 0,"
    "  ok INTEGER NOT NULL,"
    "  error TEXT,"
    "  duration_ms INTEGER NOT NULL,"
    "  response_bytes INTEGER NOT NULL"
    ");"
    "CREATE INDEX activity_ts ON activity(ts_ms);"
    "CREATE INDEX activity_server ON activity(server, name);"
    "CREATE TABLE mcp_sessions ("
    "  id TEXT PRIMARY KEY,"
    "  client_name TEXT,"
    "  client_version TEXT,"
    "  started_ms INTEGER NOT NULL"
    ");",
    /* 2: quarantine: which servers are approved (and as what command or
     * url), and each approved tool's definition, pinned. */
    "CREATE TABLE server_trust ("
    "  name TEXT PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL," /* its command and arguments, or its url */
    "  approved INTEGER NOT NULL,"
    "  since_ms INTEGER NOT NULL"
    ");"
    "CREATE TABLE tool_pins ("
    "  server TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  definition TEXT NOT NULL," /* {description, inputSchema} as canonical JSON */
    "  hash TEXT NOT NULL,"
    "  pinned_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (server, tool)"
    ");"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 3: no index on the activity log's start times. Rows go in in the
     * order the calls end, so the id (the table's own key) orders them by
     * time already, and time filters read id ranges (activity.c); the
     * index was a third B-tree to write for every call, about a sixth of
     * a tool call's proxy CPU (docs/BENCHMARKS.md). */
    "DROP INDEX IF EXISTS activity_ts;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_version(void)
{
    return N_MIGRATIONS;
}

bool store_exec(store *s, const char *sql, char *err, size_t err_len)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    snprintf(err, err_len, "%s", msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return false;
}

static int pragma_int(store *s, const char *sql)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int store_file_version(store *s)
{
    return pragma_int(s, "PRAGMA user_version");
}

static bool migrate(store *s, char *err, size_t err_len)
{
    int version = store_file_version(s);
    if (version < 0) {
        snprintf(err, err_len, "database %s: cannot read its schema version: %s (is it an SQLite file?)", s->path,
                 sqlite3_errmsg(s->db));
        return false;
    }
    if (version > N_MIGRATIONS) {
        snprintf(err, err_len,
                 "database %s has schema version %d, written by a newer mcpproxy (this one knows up to %d): "
                 "run that version, or set \"database\" in the config to another file",
                 s->path, version, N_MIGRATIONS);
        return false;
    }
    for (int v = version; v < N_MIGRATIONS; v++) {
        char sqlerr[400];
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (!store_exec(s, "BEGIN IMMEDIATE", sqlerr, sizeof sqlerr) ||
            !store_exec(s, migrations[v], sqlerr, sizeof sqlerr) || !store_exec(s, bump, sqlerr, sizeof sqlerr) ||
            !store_exec(s, "COMMIT", sqlerr, sizeof sqlerr)) {
            char ignored[64];
            store_exec(s, "ROLLBACK", ignored, sizeof ignored);
            snprintf(err, err_len, "database %s: migration to schema version %d failed: %s", s->path, v + 1, sqlerr);
            return false;
        }
        log_kv(LOG_DEBUG, "database migrated", LOG_FIELDS(LOG_STR("path", s->path), LOG_INT("schema_version", v + 1)));
    }
    return true;
}

/* The directory of the file, made if missing (one level: the config's). */
static bool make_parent(const char *path, char *err, size_t err_len)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    bool ok = true;
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "database %s: cannot create its directory %s: %s", path, dir, strerror(errno));
            ok = false;
        }
    }
    free(dir);
    return ok;
}

store *store_open(const char *path, char *err, size_t err_len)
{
    if (!make_parent(path, err, err_len))
        return NULL;
    /* Made by us first, 0600: it holds tool arguments (SQLite would make
     * it 0644, and its -wal and -shm files follow the file's mode). */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "database %s: cannot open it: %s", path, strerror(errno));
        return NULL;
    }
    close(fd);
    store *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "database %s: cannot open it: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_destroy(s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* A writer waits for another (a second mcpproxy on the same file, a
     * sqlite3 shell) only briefly: the loop must not stall. */
    sqlite3_busy_timeout(s->db, 100);
    char sqlerr[400];
    /* WAL: readers never wait for the writer, a commit is one append.
     * synchronous=NORMAL: a commit is durable once the WAL is checkpointed
     * and atomic always; a kill -9 loses at most the last transactions,
     * never leaves half of one. */
    if (!store_exec(s, "PRAGMA journal_mode = WAL", sqlerr, sizeof sqlerr) ||
        !store_exec(s, "PRAGMA synchronous = NORMAL", sqlerr, sizeof sqlerr) ||
        !store_exec(s, "PRAGMA foreign_keys = ON", sqlerr, sizeof sqlerr)) {
        snprintf(err, err_len, "database %s: %s (is it an SQLite file? move it away to start a new one)", path, sqlerr);
        store_destroy(s);
        return NULL;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK) {
        const char *res = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        bool ok = res && strcmp(res, "ok") == 0;
        if (!ok)
            snprintf(err, err_len, "database %s is damaged (%s): move it away to start a new one", path,
                     res ? res : sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        if (!ok) {
            store_destroy(s);
            return NULL;
        }
    }
    if (!migrate(s, err, err_len)) {
        store_destroy(s);
        return NULL;
    }
    return s;
}

void store_destroy(store *s)
{
    if (!s)
        return;
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_kv(LOG_WARN, "database closed with statements open", LOG_FIELDS(LOG_STR("path", s->path)));
    free(s->path);
    free(s);
}

sqlite3 *store_db(store *s)
{
    return s->db;
}

const char *store_path(const store *s)
{
    return s->path;
}

char *store_resolve_path(const char *configured, const char *config_path)
{
    if (configured && configured[0] == '/')
        return xstrdup(configured);
    const char *slash = strrchr(config_path, '/');
    strbuf sb = {0};
    if (slash)
        strbuf_append(&sb, config_path, (size_t)(slash - config_path) + 1);
    strbuf_appendf(&sb, "%s", configured && *configured ? configured : "mcpproxy.db");
    return sb.data;
}
