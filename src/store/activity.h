/* activity.h - the activity log: every /mcp call (tools, prompts,
 * resources) as one row of the database, the durable record beside the
 * tool_called events.
 *
 * Writes never wait: activity_log_add() copies the row into memory and the
 * queued rows are written together, in one transaction, 20 ms after the
 * first of them (a timer), or at once when 128 wait (the queue's bound:
 * nothing is dropped for room), and at close; a query writes them first.
 * A kill -9 loses at most the last 20 ms. Rows a failed write loses are
 * counted (activity_log_dropped) and logged once. Rows older than
 * activity.retention_days, and the oldest past activity.max_rows, are
 * deleted at start and hourly; the oldest past max_rows also whenever the
 * rows pass it by a tenth. Rows are stored in the order calls end (the
 * ids); a query's `since` relies on that (activity_filter).
 * Arguments are kept as JSON text cut to activity.max_argument_bytes; the
 * proxy's own secrets (env, headers) are never in them. */
#ifndef MCPPROXY_STORE_ACTIVITY_H
#define MCPPROXY_STORE_ACTIVITY_H

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* One call as it ended. Every pointer is borrowed for the add only. */
typedef struct activity_record {
    int64_t ts_ms;              /* when the call started (ms since the epoch) */
    const char *session_id;     /* the /mcp session; NULL or "" when none */
    const char *server;         /* NULL when no server could be named */
    const char *method;         /* "tools/call", "prompts/get", "resources/read" */
    const char *name;           /* the upstream's own tool (prompt, resource) name */
    json_t *arguments;          /* NULL when none (or given as text below) */
    const char *arguments_text; /* the arguments' JSON text as the client sent it (valid JSON, an
                                 * object); when set, used instead of `arguments` (nothing written
                                 * out again). Not NUL-terminated: arguments_len bytes. */
    size_t arguments_len;
    const char *error; /* NULL: it succeeded */
    uint64_t duration_ms;
    uint64_t response_bytes; /* of the answer's JSON text */
} activity_record;

/* Which rows a query returns, newest first. Strings are borrowed; NULL or
 * "" means any. */
typedef struct activity_filter {
    const char *server;
    const char *tool;
    const char *outcome; /* "ok" or "error" */
    const char *q;       /* a substring of the tool, error, arguments or client name */
    int64_t since_ms;    /* rows that started at or after; 0 = any. Read as the ids after the newest
                          * row that ended before it: a clock stepped back can hide older rows */
    int64_t until_ms;    /* rows before; 0 = any */
    int64_t cursor;      /* rows with an id below it (the last page's next_cursor); 0 = from the newest */
    size_t limit;        /* at most this many (1 or more) */
} activity_filter;

typedef struct activity_log activity_log;

/* `loop`, `db` and `settings` (read when used) are borrowed. */
activity_log *activity_log_create(uv_loop_t *loop, store *db, const activity_settings *settings);

/* Queues one row (copied), written within FLUSH_INTERVAL_MS. A NULL
 * log (no database: a part tested alone) records nothing. */
void activity_log_add(activity_log *l, const activity_record *r);

/* Remembers which client a /mcp session is (its initialize's clientInfo),
 * so rows name it. Strings borrowed; NULL is fine. */
void activity_log_session(activity_log *l, const char *session_id, const char *client_name, const char *client_version);

/* Writes what is queued now (close does too). */
void activity_log_flush(activity_log *l);

/* Deletes rows past the retention settings now. */
void activity_log_prune(activity_log *l);

/* Writes what is queued and stops the handles (they close with the loop). */
void activity_log_close(activity_log *l);

/* Frees the log, after close and once the loop has run. NULL is ignored. */
void activity_log_destroy(activity_log *l);

/* The rows the filter selects, newest first, as a JSON array (new
 * reference in *rows): {"id","timestamp","session_id","client_name",
 * "server","method","tool","arguments","arguments_truncated","outcome",
 * "error","duration_ms","response_bytes"}. *next_cursor is the cursor of the
 * next page, or 0 when this one is the last. False with sqlite's message
 * in err. Queued rows are written first, so a query sees every call that
 * has ended. */
bool activity_log_query(activity_log *l, const activity_filter *f, json_t **rows, int64_t *next_cursor, char *err,
                        size_t err_len);

/* Rows lost because their write failed, since start (0 for a NULL log). */
uint64_t activity_log_dropped(const activity_log *l);

/* Rows in the table now (including the queued ones). */
int64_t activity_log_count(activity_log *l);

#endif
