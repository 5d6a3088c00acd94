/* tool_index.c - the FTS5 index of tools (tool_index.h). */
#include "store/tool_index.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tool_index {
    sqlite3 *db;
    sqlite3_stmt *insert, *remove, *search, *search_server, *count;
};

/* bm25 weights, in column order: name (unindexed), server (unindexed),
 * words, title, description, params. */
#define RANK "bm25(tools, 0, 0, 10.0, 5.0, 2.0, 1.0)"

static bool prepare(tool_index *ix, const char *sql, sqlite3_stmt **st, char *err, size_t err_len)
{
    if (sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return true;
    snprintf(err, err_len, "search index: %s", sqlite3_errmsg(ix->db));
    return false;
}

tool_index *tool_index_create(char *err, size_t err_len)
{
    tool_index *ix = xcalloc(1, sizeof *ix);
    if (sqlite3_open_v2(":memory:", &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(ix->db,
                     "CREATE VIRTUAL TABLE tools USING fts5(name UNINDEXED, server UNINDEXED, words, title, "
                     "description, params, tokenize = 'porter unicode61 remove_diacritics 2')",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "search index: %s (SQLite needs FTS5)",
                 ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        tool_index_destroy(ix);
        return NULL;
    }
    if (!prepare(ix, "INSERT INTO tools (name, server, words, title, description, params) VALUES (?,?,?,?,?,?)",
                 &ix->insert, err, err_len) ||
        !prepare(ix, "DELETE FROM tools WHERE name = ?", &ix->remove, err, err_len) ||
        !prepare(ix, "SELECT name, " RANK " AS score FROM tools WHERE tools MATCH ?1 ORDER BY score LIMIT ?2",
                 &ix->search, err, err_len) ||
        !prepare(ix,
                 "SELECT name, " RANK " AS score FROM tools WHERE tools MATCH ?1 AND server = ?3 "
                 "ORDER BY score LIMIT ?2",
                 &ix->search_server, err, err_len) ||
        !prepare(ix, "SELECT count(*) FROM tools", &ix->count, err, err_len)) {
        tool_index_destroy(ix);
        return NULL;
    }
    return ix;
}

void tool_index_destroy(tool_index *ix)
{
    if (!ix)
        return;
    sqlite3_finalize(ix->insert);
    sqlite3_finalize(ix->remove);
    sqlite3_finalize(ix->search);
    sqlite3_finalize(ix->search_server);
    sqlite3_finalize(ix->count);
    sqlite3_close(ix->db);
    free(ix);
}

void tool_index_begin(tool_index *ix)
{
    sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL);
}

void tool_index_commit(tool_index *ix)
{
    if (sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        log_kv(LOG_ERROR, "search index: commit failed", LOG_FIELDS(LOG_STR("error", sqlite3_errmsg(ix->db))));
}

char *tool_index_name_words(const char *name)
{
    strbuf sb = {0};
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        unsigned char prev = p > name ? (unsigned char)p[-1] : 0;
        if (c == '_' || c == '-' || c == '.' || c == '/' || c == ':') {
            strbuf_append(&sb, " ", 1);
            continue;
        }
        /* getSum, HTTPServer: a word starts at a capital after a small
         * letter or digit, or before a small letter after capitals. */
        if (isupper(c) && prev &&
            (islower(prev) || isdigit(prev) || (isupper(prev) && p[1] && islower((unsigned char)p[1]))))
            strbuf_append(&sb, " ", 1);
        strbuf_append(&sb, p, 1);
    }
    return sb.data ? sb.data : xstrdup("");
}

/* Parameter names (split like names) and descriptions, one text. */
static char *params_text(json_t *def)
{
    strbuf sb = {0};
    const char *key;
    json_t *prop;
    json_object_foreach(json_object_get(json_object_get(def, "inputSchema"), "properties"), key, prop) {
        char *words = tool_index_name_words(key);
        const char *desc = json_string_value(json_object_get(prop, "description"));
        strbuf_appendf(&sb, "%s%s %s", sb.len ? ". " : "", words, desc ? desc : "");
        free(words);
    }
    return sb.data ? sb.data : xstrdup("");
}

static void bind_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void tool_index_remove(tool_index *ix, const char *name)
{
    sqlite3_reset(ix->remove);
    sqlite3_bind_text(ix->remove, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_step(ix->remove);
}

void tool_index_put(tool_index *ix, const char *name, const char *server, json_t *def)
{
    tool_index_remove(ix, name);
    const char *tool = json_string_value(json_object_get(def, "name"));
    const char *title = json_string_value(json_object_get(def, "title"));
    if (!title)
        title = json_string_value(json_object_get(json_object_get(def, "annotations"), "title"));
    strbuf words = {0};
    char *server_words = tool_index_name_words(server);
    char *tool_words = tool_index_name_words(tool ? tool : name);
    strbuf_appendf(&words, "%s %s", server_words, tool_words);
    free(server_words);
    free(tool_words);
    char *params = params_text(def);
    sqlite3_stmt *st = ix->insert;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, server, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, words.data, -1, SQLITE_TRANSIENT);
    bind_or_null(st, 4, title);
    bind_or_null(st, 5, json_string_value(json_object_get(def, "description")));
    sqlite3_bind_text(st, 6, params, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_kv(LOG_ERROR, "search index: a tool could not be indexed",
               LOG_FIELDS(LOG_STR("tool", name), LOG_STR("error", sqlite3_errmsg(ix->db))));
    strbuf_free(&words);
    free(params);
}

size_t tool_index_count(tool_index *ix)
{
    sqlite3_reset(ix->count);
    return sqlite3_step(ix->count) == SQLITE_ROW ? (size_t)sqlite3_column_int64(ix->count, 0) : 0;
}

/* The query's words as an FTS5 expression: each word quoted (so nothing
 * in it is FTS5 syntax), any of them may match. camelCase and snake_case
 * words are split as names are. NULL when it has none. */
static char *match_expression(const char *query)
{
    char *split = tool_index_name_words(query);
    strbuf sb = {0};
    const char *p = split;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80))
            p++;
        const char *start = p;
        while (*p && (isalnum((unsigned char)*p) || ((unsigned char)*p & 0x80)))
            p++;
        if (p > start)
            strbuf_appendf(&sb, "%s\"%.*s\"", sb.len ? " OR " : "", (int)(p - start), start);
    }
    free(split);
    return sb.data;
}

size_t tool_index_search(tool_index *ix, const char *query, const char *server, size_t limit, tool_hit *hits)
{
    char *expr = match_expression(query ? query : "");
    if (!expr || limit == 0) {
        free(expr);
        return 0;
    }
    bool by_server = server && *server;
    sqlite3_stmt *st = by_server ? ix->search_server : ix->search;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, expr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    if (by_server)
        sqlite3_bind_text(st, 3, server, -1, SQLITE_TRANSIENT);
    size_t n = 0;
    int rc;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        hits[n].name = xstrdup((const char *)sqlite3_column_text(st, 0));
        hits[n].score = sqlite3_column_double(st, 1);
        n++;
    }
    sqlite3_reset(st);
    free(expr);
    return n;
}

void tool_hits_free(tool_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(hits[i].name);
}
