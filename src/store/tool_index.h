/* tool_index.h - full-text search over tools: SQLite FTS5 ranked by
 * bm25(), in a database of its own in memory (the index is derived from
 * what the Ready servers list now, rebuilt as they change; nothing in it
 * needs to outlive the process).
 *
 * Each tool is one row keyed by the name /mcp offers it under, with its
 * words (server and tool names split at _ - . and camelCase), title,
 * description, and its parameters' names and descriptions; the Porter
 * stemmer makes "files" find "file". Columns weigh differently: a word of
 * the name counts most, then the title, description and parameters. */
#ifndef MCPPROXY_STORE_TOOL_INDEX_H
#define MCPPROXY_STORE_TOOL_INDEX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tool_index tool_index;

/* NULL with the reason in err (SQLite without FTS5). */
tool_index *tool_index_create(char *err, size_t err_len);
void tool_index_destroy(tool_index *ix);

/* Changes go in batches: begin, any number of put and remove, commit (one
 * transaction: a search never sees half a change). */
void tool_index_begin(tool_index *ix);
void tool_index_commit(tool_index *ix);

/* Adds or replaces the tool offered as `name` (server and def borrowed:
 * def is the tool object as its server listed it). */
void tool_index_put(tool_index *ix, const char *name, const char *server, json_t *def);
void tool_index_remove(tool_index *ix, const char *name);

/* Tools in the index. */
size_t tool_index_count(tool_index *ix);

typedef struct tool_hit {
    char *name;   /* as offered; owned by the caller's array (tool_hits_free) */
    int missing;  /* how many of the query's words it lacks (0: all, 1: all but one; 2: more) */
    double score; /* bm25's among those that lack as many: lower is better */
} tool_hit;

/* The best `limit` matches of the words of `query`, best first: tools with
 * all of its words, then with all but one, then with any; each group by
 * bm25 (rarer words and name matches count more). Stopwords ("a", "the",
 * "in" ...) are left out. Only tools of `server` when it is not NULL or "".
 * Returns how many were found (into hits, an array of at least `limit`).
 * A query with no word finds nothing. */
size_t tool_index_search(tool_index *ix, const char *query, const char *server, size_t limit, tool_hit *hits);
void tool_hits_free(tool_hit *hits, size_t n);

/* The words of a name for the index: "getSum" and "get_sum" both give
 * "get sum" (new string). Pure; exposed for tests. */
char *tool_index_name_words(const char *name);

#endif
