/* test_store.c - the database (store/store.h) and the activity log in it
 * (store/activity.h), on real SQLite files in a temp directory: migrations
 * from nothing and from an older file, refusals (a newer schema, a file
 * that is no database, a migration that fails and leaves the file as it
 * was), 0600, rows written per loop turn, filters, pages, cut arguments,
 * retention, and a writer killed with SIGKILL mid-burst leaving only whole
 * transactions. */
#include "config/config.h"
#include "store/activity.h"
#include "store/store.h"
#include "store/tool_index.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmp_dir.h"

typedef tmp_dir fixture;

static int setup(void **state)
{
    return tmp_dir_setup(state, "sub/mcpproxy.db");
}

static int teardown(void **state)
{
    return tmp_dir_teardown(state);
}

/* One value of a query on a separate connection, as another reader sees
 * the file. */
static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_new_file_is_migrated_wal_and_private(void **state)
{
    fixture *fx = *state;
    char err[1024];
    store *s = store_open(fx->path, err, sizeof err); /* its directory is made too */
    assert_non_null(s);
    assert_int_equal(store_file_version(s), store_schema_version());
    assert_true(store_schema_version() >= 1);
    assert_string_equal(store_path(s), fx->path);
    store_destroy(s);
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), store_schema_version());
    assert_int_equal(
        query_int(fx->path,
                  "SELECT count(*) FROM sqlite_master WHERE name IN ('activity','mcp_sessions','server_trust',"
                  "'tool_pins','meta')"),
        5);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    struct stat sb;
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* Opened again: nothing is re-run, what was there stays. */
    raw_exec(fx->path, "INSERT INTO mcp_sessions (id, started_ms) VALUES ('keep', 1)");
    s = store_open(fx->path, err, sizeof err);
    assert_non_null(s);
    store_destroy(s);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM mcp_sessions WHERE id = 'keep'"), 1);
}

static void test_newer_schema_is_refused(void **state)
{
    fixture *fx = *state;
    char err[1024];
    store_destroy(store_open(fx->path, err, sizeof err));
    raw_exec(fx->path, "PRAGMA user_version = 9999");
    assert_null(store_open(fx->path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 9999"));
    assert_non_null(strstr(err, "newer mcpproxy"));
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 9999); /* untouched */
}

static void test_not_a_database_is_refused(void **state)
{
    fixture *fx = *state;
    char err[1024];
    mkdir(fx->dir, 0700);
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", fx->dir);
    mkdir(sub, 0700);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("this is a config file, not a database\n", f);
    fclose(f);
    assert_null(store_open(fx->path, err, sizeof err));
    assert_non_null(strstr(err, fx->path));
    assert_non_null(strstr(err, "move it away"));
}

/* A migration that fails rolls back whole: the file stays at the version
 * it had, and the message names the step. */
static void test_failed_migration_leaves_file_as_it_was(void **state)
{
    fixture *fx = *state;
    char err[1024];
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", fx->dir);
    mkdir(sub, 0700);
    /* A version-0 file that already has an index named like one that
     * migration 1 makes: the CREATE INDEX fails after its CREATE TABLEs. */
    raw_exec(fx->path, "CREATE TABLE other (x); CREATE INDEX activity_ts ON other(x);");
    assert_null(store_open(fx->path, err, sizeof err));
    assert_non_null(strstr(err, "migration to schema version 1 failed"));
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 0);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE name = 'activity'"), 0);
    /* Once the clash is gone, the same file migrates. */
    raw_exec(fx->path, "DROP INDEX activity_ts");
    store *s = store_open(fx->path, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_file_version(s), store_schema_version());
    store_destroy(s);
}

/* A file an older mcpproxy wrote (schema 1: the activity log only) is
 * migrated, its rows kept. */
static void test_older_file_is_migrated_keeping_rows(void **state)
{
    fixture *fx = *state;
    char err[1024];
    store_destroy(store_open(fx->path, err, sizeof err));
    raw_exec(fx->path, "DROP TABLE server_trust; DROP TABLE tool_pins; DROP TABLE meta; PRAGMA user_version = 1;"
                       "CREATE INDEX activity_ts ON activity(ts_ms);" /* schema 1 had it */
                       "INSERT INTO activity (ts_ms, method, name, ok, duration_ms, response_bytes) "
                       "VALUES (1, 'tools/call', 'kept', 1, 2, 3);");
    store *s = store_open(fx->path, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_file_version(s), store_schema_version());
    store_destroy(s);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity WHERE name = 'kept'"), 1);
    assert_int_equal(
        query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE name IN ('server_trust','tool_pins')"), 2);
    /* Schema 3 dropped the start-time index; the (server, name) one stays. */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE name = 'activity_ts'"), 0);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE name = 'activity_server'"), 1);
}

static void test_resolve_path(void **state)
{
    (void)state;
    char *p = store_resolve_path("", "/home/u/.mcpproxy/mcp_config.json");
    assert_string_equal(p, "/home/u/.mcpproxy/mcpproxy.db");
    free(p);
    p = store_resolve_path("data/x.db", "/etc/mcp.json");
    assert_string_equal(p, "/etc/data/x.db");
    free(p);
    p = store_resolve_path("/var/lib/m.db", "/etc/mcp.json");
    assert_string_equal(p, "/var/lib/m.db");
    free(p);
}

/* ---- the activity log --------------------------------------------------- */

typedef struct logfx {
    uv_loop_t loop;
    store *db;
    activity_log *log;
    activity_settings settings;
} logfx;

static void log_open(logfx *lf, const char *path)
{
    char err[1024];
    uv_loop_init(&lf->loop);
    lf->db = store_open(path, err, sizeof err);
    assert_non_null(lf->db);
    if (!lf->settings.max_rows)
        lf->settings = (activity_settings){.retention_days = 30, .max_rows = 100000, .max_argument_bytes = 4096};
    lf->log = activity_log_create(&lf->loop, lf->db, &lf->settings);
}

static void log_close(logfx *lf)
{
    activity_log_close(lf->log);
    uv_run(&lf->loop, UV_RUN_DEFAULT);
    activity_log_destroy(lf->log);
    store_destroy(lf->db);
    assert_int_equal(uv_loop_close(&lf->loop), 0);
}

static void add(logfx *lf, int64_t ts, const char *server, const char *tool, const char *error, const char *args_json)
{
    json_t *args = args_json ? json_loads(args_json, 0, NULL) : NULL;
    activity_log_add(lf->log, &(activity_record){.ts_ms = ts,
                                                 .session_id = "s1",
                                                 .server = server,
                                                 .method = "tools/call",
                                                 .name = tool,
                                                 .arguments = args,
                                                 .error = error,
                                                 .duration_ms = 7,
                                                 .response_bytes = 42});
    json_decref(args);
}

static json_t *query(logfx *lf, activity_filter f, int64_t *next)
{
    json_t *rows;
    char err[512];
    int64_t ignored;
    if (!f.limit)
        f.limit = 100;
    assert_true(activity_log_query(lf->log, &f, &rows, next ? next : &ignored, err, sizeof err));
    return rows;
}

/* Rows wait for the flush timer, then are one transaction. (That a turn
 * alone does not write them depends on the clock: not asserted.) */
static void test_rows_are_written_on_the_timer(void **state)
{
    fixture *fx = *state;
    logfx lf = {0};
    log_open(&lf, fx->path);
    activity_log_session(lf.log, "s1", "claude-code", "1.2");
    int64_t t = now_ms();
    add(&lf, t, "demo", "add", NULL, "{\"a\":2,\"b\":3}");
    add(&lf, t + 1, "demo", "echo", "boom", NULL);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 0); /* not in the add */
    assert_int_equal(activity_log_count(lf.log), 2);                           /* but counted */
    uv_run(&lf.loop, UV_RUN_DEFAULT); /* the flush timer is the only handle that keeps it running */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 2);
    assert_int_equal(activity_log_count(lf.log), 2);

    json_t *rows = query(&lf, (activity_filter){0}, NULL);
    assert_int_equal(json_array_size(rows), 2);
    json_t *newest = json_array_get(rows, 0), *oldest = json_array_get(rows, 1);
    assert_string_equal(json_string_value(json_object_get(newest, "tool")), "echo");
    assert_string_equal(json_string_value(json_object_get(newest, "outcome")), "error");
    assert_string_equal(json_string_value(json_object_get(newest, "error")), "boom");
    assert_true(json_is_null(json_object_get(newest, "arguments")));
    assert_string_equal(json_string_value(json_object_get(oldest, "outcome")), "ok");
    assert_string_equal(json_string_value(json_object_get(oldest, "client_name")), "claude-code");
    assert_string_equal(json_string_value(json_object_get(oldest, "server")), "demo");
    assert_string_equal(json_string_value(json_object_get(oldest, "session_id")), "s1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(oldest, "arguments"), "b")), 3);
    assert_int_equal(json_integer_value(json_object_get(oldest, "duration_ms")), 7);
    assert_int_equal(json_integer_value(json_object_get(oldest, "response_bytes")), 42);
    assert_int_equal(strlen(json_string_value(json_object_get(oldest, "timestamp"))), 24);
    json_decref(rows);
    log_close(&lf);
}

static void test_filters_and_pages(void **state)
{
    fixture *fx = *state;
    logfx lf = {0};
    log_open(&lf, fx->path);
    int64_t t = now_ms() - 100000;
    for (int i = 0; i < 25; i++)
        add(&lf, t + i * 1000, i % 2 ? "github" : "demo", i % 5 == 0 ? "search" : "add",
            i % 3 == 0 ? "it failed" : NULL, i == 7 ? "{\"path\":\"100%_done\"}" : "{}");
    json_t *rows = query(&lf, (activity_filter){.server = "github"}, NULL);
    assert_int_equal(json_array_size(rows), 12);
    json_decref(rows);
    rows = query(&lf, (activity_filter){.server = "demo", .tool = "search"}, NULL); /* 0, 10, 20 */
    assert_int_equal(json_array_size(rows), 3);
    json_decref(rows);
    rows = query(&lf, (activity_filter){.outcome = "error"}, NULL); /* 0, 3, ... 24 */
    assert_int_equal(json_array_size(rows), 9);
    json_decref(rows);
    rows = query(&lf, (activity_filter){.outcome = "ok", .server = "github"}, NULL);
    assert_int_equal(json_array_size(rows), 8); /* odd i, not multiples of 3: 1 5 7 11 13 17 19 23 */
    json_decref(rows);
    /* since is inclusive, until exclusive */
    rows = query(&lf, (activity_filter){.since_ms = t + 10000, .until_ms = t + 15000}, NULL);
    assert_int_equal(json_array_size(rows), 5);
    json_decref(rows);
    /* q: LIKE's own characters are plain text */
    rows = query(&lf, (activity_filter){.q = "100%_d"}, NULL);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    rows = query(&lf, (activity_filter){.q = "0%x"}, NULL);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    rows = query(&lf, (activity_filter){.q = "failed"}, NULL);
    assert_int_equal(json_array_size(rows), 9);
    json_decref(rows);

    /* Pages of 10 walk every row once, newest first. */
    int64_t cursor = 0, seen = 0, last_id = INT64_MAX;
    int pages = 0;
    do {
        int64_t next;
        rows = query(&lf, (activity_filter){.cursor = cursor, .limit = 10}, &next);
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            int64_t id = json_integer_value(json_object_get(row, "id"));
            assert_true(id < last_id);
            last_id = id;
            seen++;
        }
        json_decref(rows);
        cursor = next;
        pages++;
    } while (cursor);
    assert_int_equal(seen, 25);
    assert_int_equal(pages, 3);
    log_close(&lf);
}

/* Arguments past max_argument_bytes are cut on a character boundary and
 * said to be. */
/* Schema 3 has no index on start times: `since` reads the ids after the
 * newest row that ended before it (rows go in as calls end). A call that
 * started before `since` and ended after it is written after rows that
 * started later: it must still be found or left out by its start alone. */
static void test_time_filters_follow_call_ends(void **state)
{
    fixture *fx = *state;
    logfx lf = {0};
    log_open(&lf, fx->path);
    int64_t t = now_ms() - 100000;
    struct {
        int64_t ts, duration;
        const char *name;
    } calls[] = {
        {t - 5000, 100, "ended-before"}, /* ends t - 4900 */
        {t + 100, 0, "after"},           /* ends t + 100 */
        {t - 2000, 3000, "spans-since"}, /* ends t + 1000 */
        {t + 200, 7, "after-too"},       /* ends t + 207 */
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        activity_log_add(lf.log, &(activity_record){.ts_ms = calls[i].ts,
                                                    .server = "demo",
                                                    .method = "tools/call",
                                                    .name = calls[i].name,
                                                    .duration_ms = (uint64_t)calls[i].duration});
    json_t *rows = query(&lf, (activity_filter){.since_ms = t}, NULL);
    assert_int_equal(json_array_size(rows), 2); /* newest first */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "tool")), "after-too");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "tool")), "after");
    json_decref(rows);
    rows = query(&lf, (activity_filter){.since_ms = t - 3000}, NULL);
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "tool")), "spans-since");
    json_decref(rows);
    rows = query(&lf, (activity_filter){.until_ms = t}, NULL);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "tool")), "spans-since");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "tool")), "ended-before");
    json_decref(rows);
    /* A window inside the long call's span: only rows that started in it. */
    rows = query(&lf, (activity_filter){.since_ms = t + 150, .until_ms = t + 5000}, NULL);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "tool")), "after-too");
    json_decref(rows);
    log_close(&lf);
}

static void test_arguments_are_cut(void **state)
{
    fixture *fx = *state;
    logfx lf = {.settings = {.retention_days = 30, .max_rows = 1000, .max_argument_bytes = 12}};
    log_open(&lf, fx->path);
    add(&lf, now_ms(), "demo", "echo", NULL, "{\"m\":\"ééééééééé\"}"); /* {"m":" is 6 bytes, then 2-byte é */
    add(&lf, now_ms(), "demo", "echo", NULL, "{\"m\":1}");
    json_t *rows = query(&lf, (activity_filter){0}, NULL);
    json_t *small = json_array_get(rows, 0), *cut = json_array_get(rows, 1);
    assert_false(json_is_true(json_object_get(small, "arguments_truncated")));
    assert_true(json_is_object(json_object_get(small, "arguments")));
    assert_true(json_is_true(json_object_get(cut, "arguments_truncated")));
    assert_string_equal(json_string_value(json_object_get(cut, "arguments")), "{\"m\":\"ééé");
    json_decref(rows);
    log_close(&lf);
}

/* The client's own text is kept as it is, cut on a character boundary the
 * same way; a tree is not needed. */
static void test_arguments_as_text(void **state)
{
    fixture *fx = *state;
    logfx lf = {.settings = {.retention_days = 30, .max_rows = 1000, .max_argument_bytes = 12}};
    log_open(&lf, fx->path);
    const char *cut = "{\"m\": \"ééééé\"}XYZ"; /* only the first 17 bytes are passed */
    const char *small = "{ \"m\" : 1 }";
    activity_log_add(lf.log,
                     &(activity_record){.server = "demo", .name = "echo", .arguments_text = cut, .arguments_len = 17});
    activity_log_add(
        lf.log,
        &(activity_record){.server = "demo", .name = "echo", .arguments_text = small, .arguments_len = strlen(small)});
    json_t *rows = query(&lf, (activity_filter){0}, NULL);
    json_t *s = json_array_get(rows, 0), *c = json_array_get(rows, 1);
    assert_false(json_is_true(json_object_get(s, "arguments_truncated")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "arguments"), "m")), 1);
    assert_true(json_is_true(json_object_get(c, "arguments_truncated")));
    assert_string_equal(json_string_value(json_object_get(c, "arguments")), "{\"m\": \"éé"); /* 7 + 2*2 = 11 bytes */
    json_decref(rows);
    log_close(&lf);
}

/* The queue's bound: once 128 rows wait they are written in the add itself,
 * no timer or turn needed; the rest at close. */
static void test_full_queue_is_written_at_once(void **state)
{
    fixture *fx = *state;
    logfx lf = {0};
    log_open(&lf, fx->path);
    for (int i = 0; i < 130; i++)
        add(&lf, now_ms(), "demo", "burst", NULL, NULL);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 128);
    assert_int_equal(activity_log_count(lf.log), 130);
    assert_int_equal(activity_log_dropped(lf.log), 0);
    log_close(&lf);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 130); /* close wrote the rest */
}

static void test_retention_by_age_and_rows(void **state)
{
    fixture *fx = *state;
    logfx lf = {.settings = {.retention_days = 1, .max_rows = 100, .max_argument_bytes = 100}};
    log_open(&lf, fx->path);
    int64_t t = now_ms();
    add(&lf, t - 2LL * 24 * 3600 * 1000, "demo", "old", NULL, NULL);
    for (int i = 0; i < 120; i++)
        add(&lf, t + i, "demo", "new", NULL, NULL);
    uv_run(&lf.loop, UV_RUN_DEFAULT); /* the timer's write; 121 rows > 100 + 10: pruned after it */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 100);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity WHERE name = 'old'"), 0);
    /* the newest are the ones kept */
    assert_int_equal(query_int(fx->path, "SELECT min(ts_ms) FROM activity") - t, 20);
    log_close(&lf);

    /* Age alone, at open. */
    raw_exec(fx->path, "UPDATE activity SET ts_ms = ts_ms - 3 * 24 * 3600 * 1000 WHERE id % 2 = 0");
    log_open(&lf, fx->path);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity"), 50);
    assert_int_equal(activity_log_count(lf.log), 50);
    log_close(&lf);
}

/* A writer killed with SIGKILL in the middle of a burst: the file opens
 * clean and holds whole turns only (each turn is 50 rows, one transaction),
 * every row complete. */
#define BURST_ROWS 50
static void test_kill_9_mid_burst_leaves_whole_rows(void **state)
{
    fixture *fx = *state;
    char err[1024];
    store_destroy(store_open(fx->path, err, sizeof err)); /* made before the child races */
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        logfx lf = {0};
        log_open(&lf, fx->path);
        char big[2000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        json_t *args = json_pack("{s:s}", "blob", big);
        for (long turn = 0;; turn++) {
            for (int i = 0; i < BURST_ROWS; i++)
                activity_log_add(lf.log, &(activity_record){.ts_ms = now_ms(),
                                                            .server = "demo",
                                                            .method = "tools/call",
                                                            .name = "burst",
                                                            .arguments = args,
                                                            .error = i % 2 ? "odd" : NULL,
                                                            .duration_ms = (uint64_t)turn,
                                                            .response_bytes = (uint64_t)i});
            uv_run(&lf.loop, UV_RUN_DEFAULT); /* until the flush timer wrote the burst: one transaction */
            if (turn == 20 && write(ready[1], "r", 1) != 1)
                _exit(3);
        }
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1); /* 20 turns are in: now it is mid-burst */
    close(ready[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    store *s = store_open(fx->path, err, sizeof err); /* runs quick_check */
    assert_non_null(s);
    store_destroy(s);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM pragma_integrity_check() WHERE integrity_check != 'ok'"),
                     0);
    long long rows = query_int(fx->path, "SELECT count(*) FROM activity");
    assert_true(rows >= 20 * BURST_ROWS);
    assert_int_equal(rows % BURST_ROWS, 0);
    /* every turn whole: 50 rows per duration_ms value */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM (SELECT duration_ms, count(*) AS n FROM activity "
                                         "GROUP BY duration_ms HAVING n != 50)"),
                     0);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM activity WHERE length(arguments) != 2010 OR "
                                         "(error IS NULL) != (response_bytes % 2 = 0)"),
                     0);
}

/* ---- the tool index ------------------------------------------------------ */

static void put(tool_index *ix, const char *server, const char *tool, const char *desc)
{
    char name[128];
    snprintf(name, sizeof name, "%s__%s", server, tool);
    json_t *def =
        json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}}}", "name", tool, "description", desc, "inputSchema", "type",
                  "object", "properties", "repoName", "type", "string", "description", "the repository to act on");
    tool_index_put(ix, name, server, def);
    json_decref(def);
}

static size_t search(tool_index *ix, const char *q, const char *server, size_t limit, char out[][64])
{
    tool_hit hits[10];
    size_t n = tool_index_search(ix, q, server, limit, hits);
    for (size_t i = 0; i < n; i++)
        snprintf(out[i], 64, "%s", hits[i].name);
    tool_hits_free(hits, n);
    return n;
}

static void test_tool_index_name_words(void **state)
{
    (void)state;
    const char *cases[][2] = {{"get-sum", "get sum"},    {"create_issue", "create issue"},
                              {"getSum", "get Sum"},     {"HTTPServer", "HTTP Server"},
                              {"v2Upload", "v2 Upload"}, {"server.name", "server name"},
                              {"plain", "plain"},        {"", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *w = tool_index_name_words(cases[i][0]);
        assert_string_equal(w, cases[i][1]);
        free(w);
    }
}

static void test_tool_index_ranks_and_follows_changes(void **state)
{
    (void)state;
    char err[256];
    tool_index *ix = tool_index_create(err, sizeof err);
    assert_non_null(ix);
    char out[10][64];
    tool_index_begin(ix);
    put(ix, "github", "create_issue", "Creates a new issue in a repository.");
    put(ix, "github", "list_issues", "Lists the issues of a repository.");
    put(ix, "github", "createPullRequest", "Opens a pull request.");
    put(ix, "jira", "create_ticket", "Creates a ticket (an issue) in a project.");
    put(ix, "files", "read_file", "Reads a file from disk.");
    tool_index_commit(ix);
    assert_int_equal(tool_index_count(ix), 5);

    /* Every word beats most words: only one tool has create, issue and github. */
    assert_true(search(ix, "create a github issue", NULL, 5, out) >= 3);
    assert_string_equal(out[0], "github__create_issue");
    /* Stems: "reading files" finds read_file. */
    assert_int_equal(search(ix, "reading files", NULL, 5, out), 1);
    assert_string_equal(out[0], "files__read_file");
    /* camelCase names are words; the parameter's description counts too. */
    assert_true(search(ix, "pull request", NULL, 5, out) >= 1);
    assert_string_equal(out[0], "github__createPullRequest");
    assert_true(search(ix, "repository to act on", NULL, 5, out) >= 5);
    /* server filter */
    assert_int_equal(search(ix, "create issue", "jira", 5, out), 1);
    assert_string_equal(out[0], "jira__create_ticket");
    /* limit, stopwords alone still search, and nothing for no word or FTS5 syntax */
    assert_int_equal(search(ix, "issue", NULL, 1, out), 1);
    assert_int_equal(search(ix, "the", NULL, 5, out), 5); /* only stopwords: they are searched */
    assert_int_equal(search(ix, "!!! ***", NULL, 5, out), 0);
    assert_int_equal(search(ix, "\"issue\" NEAR(x y) OR", NULL, 5, out), 3);

    /* Replaced and removed tools are what the index says. */
    tool_index_begin(ix);
    put(ix, "files", "read_file", "Opens a document for reading.");
    tool_index_remove(ix, "github__list_issues");
    tool_index_remove(ix, "nothing__here");
    tool_index_commit(ix);
    assert_int_equal(tool_index_count(ix), 4);
    assert_int_equal(search(ix, "document", NULL, 5, out), 1);
    assert_int_equal(search(ix, "disk", NULL, 5, out), 0);
    assert_int_equal(search(ix, "list issues", NULL, 5, out), 2); /* the two others with "issue" */
    tool_index_destroy(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file_is_migrated_wal_and_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_migration_leaves_file_as_it_was, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_file_is_migrated_keeping_rows, setup, teardown),
        cmocka_unit_test(test_resolve_path),
        cmocka_unit_test_setup_teardown(test_rows_are_written_on_the_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_filters_follow_call_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments_are_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments_as_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_is_written_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_age_and_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_mid_burst_leaves_whole_rows, setup, teardown),
        cmocka_unit_test(test_tool_index_name_words),
        cmocka_unit_test(test_tool_index_ranks_and_follows_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
