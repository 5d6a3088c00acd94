/* activity.c - /api/activity: the activity log's rows, filtered and paged,
 * and their export as JSON Lines or CSV (store/activity.h keeps them). */
#include "api/routes.h"
#include "core/log.h"
#include "core/util.h"
#include "store/activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define EXPORT_DEFAULT 100000
#define EXPORT_MAX 10000000

/* RFC 3339 ("2026-11-28T01:02:03Z", with an optional fraction and an
 * offset instead of Z) or milliseconds since the epoch. */
static bool parse_time(const char *text, int64_t *ms)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (*text && *end == '\0' && errno == 0 && n >= 0) {
        *ms = n;
        return true;
    }
    struct tm tm = {0};
    const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return false;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return false;
        offset_s = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    *ms = ((int64_t)timegm(&tm) - offset_s) * 1000 + frac_ms;
    return true;
}

static bool parse_count(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (!*text || *end || errno || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* The query's filter; false when a parameter is wrong (answered 400).
 * The strings live in `bufs`. */
typedef struct filter_bufs {
    char server[256], tool[256], outcome[16], q[1024], since[64], until[64], limit[32], cursor[32], format[16];
} filter_bufs;

static bool read_filter(const http_request *req, bool export, filter_bufs *b, activity_filter *f, http_response *res)
{
    struct {
        const char *name;
        char *buf;
        size_t len;
    } params[] = {
        {"server", b->server, sizeof b->server},    {"tool", b->tool, sizeof b->tool},
        {"outcome", b->outcome, sizeof b->outcome}, {"q", b->q, sizeof b->q},
        {"since", b->since, sizeof b->since},       {"until", b->until, sizeof b->until},
        {"limit", b->limit, sizeof b->limit},       {"cursor", b->cursor, sizeof b->cursor},
        {"format", b->format, sizeof b->format},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        params[i].buf[0] = '\0';
        if (http_query_get(req->query, params[i].name, params[i].buf, params[i].len) < 0) {
            http_respond_error(res, 400, "query parameter \"%s\" is too long or malformed", params[i].name);
            return false;
        }
    }
    *f = (activity_filter){.server = b->server, .tool = b->tool, .outcome = b->outcome, .q = b->q};
    if (*b->outcome && strcmp(b->outcome, "ok") != 0 && strcmp(b->outcome, "error") != 0) {
        http_respond_error(res, 400, "outcome must be ok or error (got \"%s\")", b->outcome);
        return false;
    }
    if ((*b->since && !parse_time(b->since, &f->since_ms)) || (*b->until && !parse_time(b->until, &f->until_ms))) {
        http_respond_error(res, 400,
                           "since and until must be RFC 3339 times (2026-11-28T01:02:03Z) or milliseconds since "
                           "the epoch (got \"%s\")",
                           *b->since && !parse_time(b->since, &f->since_ms) ? b->since : b->until);
        return false;
    }
    int64_t limit = export ? EXPORT_DEFAULT : PAGE_DEFAULT;
    int64_t max = export ? EXPORT_MAX : PAGE_MAX;
    if (*b->limit && !parse_count(b->limit, 1, max, &limit)) {
        http_respond_error(res, 400, "limit must be a whole number from 1 to %lld (got \"%s\")", (long long)max,
                           b->limit);
        return false;
    }
    f->limit = (size_t)limit;
    if (*b->cursor && !parse_count(b->cursor, 1, INT64_MAX, &f->cursor)) {
        http_respond_error(res, 400, "cursor must be the next_cursor of an earlier page (got \"%s\")", b->cursor);
        return false;
    }
    return true;
}

static void list(app *a, const http_request *req, http_response *res)
{
    filter_bufs b;
    activity_filter f;
    if (!read_filter(req, false, &b, &f, res))
        return;
    json_t *rows;
    int64_t next;
    char err[512];
    if (!activity_log_query(a->activity, &f, &rows, &next, err, sizeof err)) {
        http_respond_error(res, 500, "the activity log could not be read: %s", err);
        return;
    }
    http_respond_json(res, 200,
                      json_pack("{s:o, s:o}", "rows", rows, "next_cursor", next ? json_integer(next) : json_null()));
}

/* One CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(strbuf *out, const char *s, bool last)
{
    if (s && strpbrk(s, ",\"\r\n")) {
        strbuf_append(out, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                strbuf_append(out, "\"", 1);
            strbuf_append(out, p, 1);
        }
        strbuf_append(out, "\"", 1);
    } else if (s) {
        strbuf_append(out, s, strlen(s));
    }
    strbuf_append(out, last ? "\r\n" : ",", last ? 2 : 1);
}

static const char *const csv_columns[] = {
    "id",    "timestamp",   "session_id",     "client_name",         "server",    "method", "tool", "outcome",
    "error", "duration_ms", "response_bytes", "arguments_truncated", "arguments",
};
#define N_CSV_COLUMNS (sizeof csv_columns / sizeof csv_columns[0])

static void csv_row(strbuf *out, json_t *row)
{
    for (size_t i = 0; i < N_CSV_COLUMNS; i++) {
        json_t *v = json_object_get(row, csv_columns[i]);
        char *text = NULL;
        const char *s = NULL;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        else if (v && !json_is_null(v))
            s = text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        csv_field(out, s, i + 1 == N_CSV_COLUMNS);
        free(text);
    }
}

/* ---- export: streamed, a page per loop turn ------------------------------ */

#define EXPORT_PAGE 500
#define EXPORT_MAX_QUEUED (4u * 1024 * 1024) /* past this a slow reader is waited for */

typedef struct export_job {
    app *a;
    http_pending *http;
    uv_timer_t timer;
    filter_bufs b; /* the strings f points to */
    activity_filter f;
    size_t left;
    bool csv;
} export_job;

static void job_closed(uv_handle_t *h)
{
    free(h->data);
}

static void job_end(export_job *j)
{
    if (http_pending_gone(j->http))
        http_pending_release(j->http);
    else
        http_stream_end(j->http);
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

/* One page into the stream; the next turn writes the next. A client that
 * reads slowly is waited for (its queue is bounded), one that left or a
 * proxy that is stopping ends the export. */
static void job_tick(uv_timer_t *t)
{
    export_job *j = t->data;
    if (http_pending_gone(j->http) || j->a->state == APP_STOPPING) {
        job_end(j);
        return;
    }
    activity_filter f = j->f;
    f.limit = j->left < EXPORT_PAGE ? j->left : EXPORT_PAGE;
    json_t *rows;
    char err[512];
    if (!activity_log_query(j->a->activity, &f, &rows, &j->f.cursor, err, sizeof err)) {
        /* The status is sent: the stream can only end short. */
        log_kv(LOG_ERROR, "activity export cut short: the database could not be read",
               LOG_FIELDS(LOG_STR("error", err)));
        job_end(j);
        return;
    }
    strbuf out = {0};
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (j->csv) {
            csv_row(&out, row);
        } else {
            char *text = json_dumps(row, JSON_COMPACT);
            strbuf_appendf(&out, "%s\n", text);
            free(text);
        }
    }
    j->left -= json_array_size(rows);
    json_decref(rows);
    size_t queued = out.len ? http_stream_write(j->http, out.data, out.len) : 0;
    strbuf_free(&out);
    if (!j->f.cursor || j->left == 0) {
        job_end(j);
        return;
    }
    uv_timer_start(&j->timer, job_tick, queued > EXPORT_MAX_QUEUED ? 10 : 0, 0);
}

/* Every matching row (up to limit), newest first, streamed: a large export
 * never holds the loop for more than a page, nor the whole body in memory. */
static void export(app *a, const http_request *req, http_response *res)
{
    export_job *j = xcalloc(1, sizeof *j);
    if (!read_filter(req, true, &j->b, &j->f, res)) {
        free(j);
        return;
    }
    j->csv = strcmp(j->b.format, "csv") == 0;
    if (*j->b.format && !j->csv && strcmp(j->b.format, "jsonl") != 0) {
        http_respond_error(res, 400, "format must be jsonl or csv (got \"%s\")", j->b.format);
        free(j);
        return;
    }
    const char *type = j->csv ? "text/csv; charset=utf-8" : "application/jsonl";
    const char *disposition =
        j->csv ? "attachment; filename=\"activity.csv\"" : "attachment; filename=\"activity.jsonl\"";
    if (req->head) { /* the status and type it would send */
        http_respond_bytes(res, 200, type, "", 0);
        http_response_add_header(res, "Content-Disposition", disposition);
        free(j);
        return;
    }
    j->a = a;
    j->left = j->f.limit;
    j->http = http_respond_later(req, NULL, NULL);
    http_pending_add_header(j->http, "Content-Disposition", disposition);
    http_stream_begin(j->http, 200, type);
    if (j->csv) {
        strbuf head = {0};
        for (size_t i = 0; i < N_CSV_COLUMNS; i++)
            csv_field(&head, csv_columns[i], i + 1 == N_CSV_COLUMNS);
        http_stream_write(j->http, head.data, head.len);
        strbuf_free(&head);
    }
    uv_timer_init(a->loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, job_tick, 0, 0);
}

bool api_activity_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    bool is_list = strcmp(req->path, "/api/activity") == 0;
    bool is_export = strcmp(req->path, "/api/activity/export") == 0;
    if (!is_list && !is_export)
        return false;
    if (req->method != HTTP_GET) {
        http_respond_not_allowed(res, "GET");
        return true;
    }
    if (!a->activity) {
        http_respond_error(res, 503, "the activity log is not open yet");
        return true;
    }
    if (is_list)
        list(a, req, res);
    else
        export(a, req, res);
    return true;
}
