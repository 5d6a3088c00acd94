/* event_stream.c - following /events with retries (event_stream.h). */
#include "cli/event_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 10000

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void cli_catch_stop_signals(void)
{
    /* No SA_RESTART: a sleep is cut short, and curl's progress callback
     * (at least once a second) sees the flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_stop_requested(void)
{
    return stop_requested != 0;
}

bool cli_sleep_ms(long ms)
{
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (!stop_requested && nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    return !stop_requested;
}

/* One connection's reading state. */
typedef struct reader {
    event_stream *s;
    CURL *curl;
    long status;       /* 0 until the first byte */
    strbuf line;       /* a line still arriving */
    strbuf data;       /* the data: lines of the message being read */
    strbuf error_body; /* the body of an answer that is not 200 */
    bool stop;         /* on_message asked to stop */
} reader;

static void handle_message(reader *r, const char *text)
{
    event_stream *s = r->s;
    json_t *msg = json_loads(text, 0, NULL);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        fprintf(stderr, "mcpproxy %s: unreadable message from the proxy: %.200s\n", s->api->cmd, text);
        json_decref(msg);
        return;
    }
    if (strcmp(type, "hello") == 0) {
        const char *epoch = json_string_value(json_object_get(msg, "epoch"));
        if (s->epoch[0] && epoch && strcmp(s->epoch, epoch) != 0) {
            fprintf(stderr, "mcpproxy %s: the proxy restarted (new epoch %s)\n", s->api->cmd, epoch);
            s->last_seq = 0;
        }
        snprintf(s->epoch, sizeof s->epoch, "%s", epoch ? epoch : "");
    } else if (strcmp(type, "resync_required") == 0) {
        fprintf(stderr, "mcpproxy %s: could not resume (%s); continuing live\n", s->api->cmd,
                json_string_value(json_object_get(msg, "reason")));
    } else if (strcmp(type, "events_dropped") == 0) {
        fprintf(stderr,
                "mcpproxy %s: %" JSON_INTEGER_FORMAT " events dropped (seq %" JSON_INTEGER_FORMAT
                "..%" JSON_INTEGER_FORMAT "): this terminal fell behind\n",
                s->api->cmd, json_integer_value(json_object_get(msg, "count")),
                json_integer_value(json_object_get(msg, "first_seq")),
                json_integer_value(json_object_get(msg, "last_seq")));
    } else if (json_is_integer(json_object_get(msg, "seq"))) {
        s->last_seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
    }
    if (!s->on_message(msg, text, s->ctx))
        r->stop = true;
    json_decref(msg);
}

/* One line of the SSE stream: "data: ..." lines make up a message, a blank
 * line ends it; comments (": ping") and ids are skipped (the JSON has the
 * seq). */
static void handle_line(reader *r, const char *line, size_t len)
{
    if (len == 0) {
        if (r->data.len) {
            handle_message(r, r->data.data);
            r->data.len = 0;
        }
        return;
    }
    if (len >= 5 && strncmp(line, "data:", 5) == 0) {
        size_t skip = len > 5 && line[5] == ' ' ? 6 : 5;
        if (r->data.len)
            strbuf_append(&r->data, "\n", 1);
        strbuf_append(&r->data, line + skip, len - skip);
        strbuf_append(&r->data, "", 0);
    }
}

static size_t on_bytes(char *bytes, size_t size, size_t n, void *ctx)
{
    reader *r = ctx;
    size_t len = size * n;
    if (!r->status) {
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status == 200)
            fprintf(stderr, "mcpproxy %s: connected to %s\n", r->s->api->cmd, r->s->api->url);
    }
    if (r->status != 200) {
        strbuf_append(&r->error_body, bytes, len);
        strbuf_append(&r->error_body, "", 0);
        return len;
    }
    for (size_t i = 0; i < len && !r->stop; i++) {
        if (bytes[i] == '\n') {
            size_t l = r->line.len;
            if (l && r->line.data[l - 1] == '\r')
                l--;
            handle_line(r, r->line.data ? r->line.data : "", l);
            r->line.len = 0;
        } else {
            strbuf_append(&r->line, &bytes[i], 1);
        }
    }
    return r->stop ? 0 : len; /* 0 ends the transfer */
}

/* libcurl calls this at least once a second during a transfer, idle or
 * not: the place to see a stop request and to tick. */
static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    reader *r = ctx;
    if (!stop_requested && !r->stop && r->status == 200 && r->s->on_tick && !r->s->on_tick(r->s->ctx))
        r->stop = true;
    return stop_requested || r->stop ? 1 : 0;
}

/* NOT_REACHED: nothing answered; BUSY: the proxy answered 5xx (starting,
 * stopping, too many clients); ENDED: a stream we had was cut. */
typedef enum outcome { NOT_REACHED, BUSY, ENDED, REFUSED, STOPPED } outcome;

/* One connection, from connect to its end. */
static outcome follow_once(event_stream *s, CURL *curl, int *exit_code, char *why, size_t why_len)
{
    strbuf url = {0};
    strbuf_appendf(&url, "%s%s", s->api->url, s->path);
    if (s->resume && s->last_seq && s->epoch[0])
        strbuf_appendf(&url, "%csince=%" PRIu64 "&epoch=%s", strchr(s->path, '?') ? '&' : '?', s->last_seq, s->epoch);
    reader r = {.s = s, .curl = curl};
    struct curl_slist *headers = NULL;
    curl_easy_reset(curl);
    api_client_setup(s->api, curl, &headers);
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_bytes);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    strbuf_free(&url);
    outcome out;
    if (stop_requested || r.stop) {
        out = STOPPED;
    } else if (r.status && r.status != 200) {
        api_response res = {.status = r.status, .body = r.error_body};
        if (r.status >= 500) {
            json_t *j = json_loads(r.error_body.data ? r.error_body.data : "", 0, NULL);
            const char *msg = json_string_value(json_object_get(j, "error"));
            snprintf(why, why_len, "HTTP %ld%s%s", r.status, msg ? ": " : "", msg ? msg : "");
            json_decref(j);
            out = BUSY;
        } else {
            *exit_code = api_report_status(s->api, &res);
            out = REFUSED;
        }
    } else if (r.status == 200) {
        snprintf(why, why_len, "%s",
                 rc == CURLE_OK ? "the proxy ended the stream"
                 : errbuf[0]    ? errbuf
                                : curl_easy_strerror(rc));
        out = ENDED;
    } else {
        snprintf(why, why_len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        out = NOT_REACHED;
    }
    strbuf_free(&r.line);
    strbuf_free(&r.data);
    strbuf_free(&r.error_body);
    return out;
}

int event_stream_run(event_stream *s)
{
    cli_catch_stop_signals();
    CURL *curl = curl_easy_init();
    if (!curl) {
        fprintf(stderr, "mcpproxy %s: libcurl could not start\n", s->api->cmd);
        return CLI_ERROR;
    }
    long retry_ms = RETRY_FIRST_MS;
    outcome said = STOPPED; /* the last kind of trouble reported: each is said once */
    int exit_code = CLI_OK;
    for (;;) {
        char why[CURL_ERROR_SIZE + 300];
        outcome o = follow_once(s, curl, &exit_code, why, sizeof why);
        if (o == STOPPED || o == REFUSED)
            break;
        if (o == ENDED) {
            retry_ms = RETRY_FIRST_MS;
            fprintf(stderr, "mcpproxy %s: disconnected (%s); retrying in %.1f s\n", s->api->cmd, why,
                    retry_ms / 1000.0);
        } else if (o != said && o == NOT_REACHED) {
            fprintf(stderr, "mcpproxy %s: waiting for mcpproxy on %s (%s); start it with `mcpproxy`\n", s->api->cmd,
                    s->api->where, why);
        } else if (o != said) {
            fprintf(stderr, "mcpproxy %s: the proxy at %s cannot take this stream now (%s); retrying\n", s->api->cmd,
                    s->api->where, why);
        }
        said = o;
        if (!cli_sleep_ms(retry_ms))
            break;
        if (o != ENDED)
            retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2;
    }
    curl_easy_cleanup(curl);
    return exit_code;
}
