/* tool_index.c - the FTS5 index of tools (tool_index.h). */
#include "store/tool_index.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tool_index {
    sqlite3 *db;
    sqlite3_stmt *insert, *insert_name, *find, *remove, *remove_name, *search, *search_server, *count;
};

/* The ranking is the table's `rank`: bm25 with weights in column order:
 * name and server (unindexed), words, title, description, params. */

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
                     "description, params, tokenize = 'porter unicode61 remove_diacritics 2');"
                     /* FTS5 finds rows by words, not by an unindexed column: names
                      * map to rowids here, so a removal is a lookup, not a scan. */
                     "CREATE TABLE names (name TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;"
                     "INSERT INTO tools (tools, rank) VALUES ('rank', 'bm25(0, 0, 10.0, 5.0, 2.0, 1.0)');",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "search index: %s (SQLite needs FTS5)",
                 ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        tool_index_destroy(ix);
        return NULL;
    }
    if (!prepare(ix, "INSERT INTO tools (name, server, words, title, description, params) VALUES (?,?,?,?,?,?)",
                 &ix->insert, err, err_len) ||
        !prepare(ix, "INSERT INTO names (name, id) VALUES (?, ?)", &ix->insert_name, err, err_len) ||
        !prepare(ix, "SELECT id FROM names WHERE name = ?", &ix->find, err, err_len) ||
        !prepare(ix, "DELETE FROM tools WHERE rowid = ?", &ix->remove, err, err_len) ||
        !prepare(ix, "DELETE FROM names WHERE name = ?", &ix->remove_name, err, err_len) ||
        !prepare(ix, "SELECT name, rank FROM tools WHERE tools MATCH ?1 ORDER BY rank LIMIT ?2", &ix->search, err,
                 err_len) ||
        !prepare(ix, "SELECT name, rank FROM tools WHERE tools MATCH ?1 AND server = ?3 ORDER BY rank LIMIT ?2",
                 &ix->search_server, err, err_len) ||
        !prepare(ix, "SELECT count(*) FROM names", &ix->count, err, err_len)) {
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
    sqlite3_finalize(ix->insert_name);
    sqlite3_finalize(ix->find);
    sqlite3_finalize(ix->remove);
    sqlite3_finalize(ix->remove_name);
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
    sqlite3_reset(ix->find);
    sqlite3_bind_text(ix->find, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ix->find) != SQLITE_ROW)
        return;
    sqlite3_int64 id = sqlite3_column_int64(ix->find, 0);
    sqlite3_reset(ix->find);
    sqlite3_reset(ix->remove);
    sqlite3_bind_int64(ix->remove, 1, id);
    sqlite3_step(ix->remove);
    sqlite3_reset(ix->remove_name);
    sqlite3_bind_text(ix->remove_name, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_step(ix->remove_name);
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
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (ok) {
        sqlite3_reset(ix->insert_name);
        sqlite3_bind_text(ix->insert_name, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ix->insert_name, 2, sqlite3_last_insert_rowid(ix->db));
        ok = sqlite3_step(ix->insert_name) == SQLITE_DONE;
    }
    if (!ok)
        log_kv(LOG_ERROR, "search index: a tool could not be indexed",
               LOG_FIELDS(LOG_STR("tool", name), LOG_STR("error", sqlite3_errmsg(ix->db))));
    strbuf_free(&words);
    free(params);
}

size_t tool_index_count(tool_index *ix)
{
    sqlite3_reset(ix->count);
    /* names, not tools: a count of an FTS5 table reads it all */
    return sqlite3_step(ix->count) == SQLITE_ROW ? (size_t)sqlite3_column_int64(ix->count, 0) : 0;
}

/* Words that say nothing about which tool is meant. Left in, each would
 * match nearly every description, and bm25 would score every row only to
 * give them no weight. */
static const char *const stopwords[] = {
    "a",    "about", "all", "an",   "and", "any",  "are",   "as",   "at",    "be",   "by",
    "can",  "do",    "for", "from", "i",   "in",   "into",  "is",   "it",    "its",  "me",
    "my",   "of",    "on",  "or",   "our", "some", "that",  "the",  "their", "them", "these",
    "this", "those", "to",  "us",   "we",  "what", "which", "with", "you",   "your",
};

static bool is_stopword(const char *w, size_t len)
{
    for (size_t i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++)
        if (strlen(stopwords[i]) == len && strncasecmp(stopwords[i], w, len) == 0)
            return true;
    return false;
}

#define MAX_WORDS 32

/* The query's words (pointers into `split`, lengths in len): camelCase and
 * snake_case split as names are; stopwords left out unless nothing else
 * is left. Returns how many. */
static size_t query_words(const char *split, const char **word, size_t *len)
{
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) { /* pass 1: only stopwords were there */
        const char *p = split;
        while (*p && n < MAX_WORDS) {
            while (*p && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80))
                p++;
            const char *start = p;
            while (*p && (isalnum((unsigned char)*p) || ((unsigned char)*p & 0x80)))
                p++;
            size_t l = (size_t)(p - start);
            if (l && (pass == 1 || !is_stopword(start, l))) {
                word[n] = start;
                len[n++] = l;
            }
        }
    }
    return n;
}

/* The words whose bit is set in `mask`, each quoted (nothing in a word is
 * FTS5 syntax), joined by `op`. */
static char *expression(const char **word, const size_t *len, size_t n, uint32_t mask, const char *op)
{
    strbuf sb = {0};
    for (size_t i = 0; i < n; i++)
        if (mask & (1u << i))
            strbuf_appendf(&sb, "%s\"%.*s\"", sb.len ? op : "", (int)len[i], word[i]);
    return sb.data;
}

/* Adds the rows of one MATCH that are not in hits[0..n) yet, keeping
 * hits sorted by score (best first) and at most `limit`; returns the new
 * n. */
static bool better(int missing, double score, const tool_hit *h)
{
    return missing < h->missing || (missing == h->missing && score < h->score);
}

static size_t run_search(tool_index *ix, const char *expr, int missing, const char *server, size_t limit,
                         tool_hit *hits, size_t n)
{
    bool by_server = server && *server;
    sqlite3_stmt *st = by_server ? ix->search_server : ix->search;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, expr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    if (by_server)
        sqlite3_bind_text(st, 3, server, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        double score = sqlite3_column_double(st, 1);
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = strcmp(hits[i].name, name) == 0;
        if (dup || (n == limit && !better(missing, score, &hits[n - 1])))
            continue;
        if (n == limit)
            free(hits[--n].name);
        size_t at = n;
        while (at > 0 && better(missing, score, &hits[at - 1])) {
            hits[at] = hits[at - 1];
            at--;
        }
        hits[at] = (tool_hit){.name = xstrdup(name), .missing = missing, .score = score};
        n++;
    }
    sqlite3_reset(st);
    return n;
}

/* Rows are ranked by how many of the words they have, then by bm25.
 * Tools with all of them come first (a query for all the words is cheap:
 * it is driven by the rarest word's rows). When those are fewer than
 * asked, tools with all but one follow, each subset a query of its own,
 * merged by bm25 (the same score an OR of every word gives a row missing
 * one word); then, if still too few, any word. An OR query scores every
 * row with any of the words, ten times the cost at 10,000 tools, so it
 * runs last and only when needed. */
size_t tool_index_search(tool_index *ix, const char *query, const char *server, size_t limit, tool_hit *hits)
{
    if (!query || limit == 0)
        return 0;
    char *split = tool_index_name_words(query);
    const char *word[MAX_WORDS];
    size_t len[MAX_WORDS];
    size_t n_words = query_words(split, word, len);
    size_t n = 0;
    if (n_words == 0) {
        free(split);
        return 0;
    }
    uint32_t all = n_words == 32 ? UINT32_MAX : (1u << n_words) - 1;
    char *expr = expression(word, len, n_words, all, " AND ");
    n = run_search(ix, expr, 0, server, limit, hits, n);
    free(expr);
    if (n < limit && n_words > 1 && n_words <= 4) {
        for (size_t drop = 0; drop < n_words; drop++) {
            expr = expression(word, len, n_words, all & ~(1u << drop), " AND ");
            n = run_search(ix, expr, 1, server, limit, hits, n);
            free(expr);
        }
    }
    if (n < limit && n_words > 1) {
        expr = expression(word, len, n_words, all, " OR ");
        n = run_search(ix, expr, n_words <= 2 ? 1 : 2, server, limit, hits, n);
        free(expr);
    }
    free(split);
    return n;
}

void tool_hits_free(tool_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(hits[i].name);
}
