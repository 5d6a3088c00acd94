/* mcp_session.c - the /mcp session table, its GET streams and its expiry.
 *
 * A linked list: sessions are few (one per connected MCP client) and a
 * lookup per request is cheap next to the request. A hash table would be the
 * next step for thousands of clients. */
#include "mcp/session.h"

#include "core/log.h"
#include "core/util.h"
#include "http/ticker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mcp_session {
    mcp_session *next;
    mcp_sessions *table;
    char id[MCP_SESSION_ID_LEN + 1];
    char protocol_version[32];
    uint64_t last_active; /* uv_now() of the last request */
    http_pending *stream; /* the GET stream, or NULL */
};

struct mcp_sessions {
    uv_loop_t *loop;
    ticker *ticker;
    ticker_job sweep; /* expiry and stream keep-alive; on while any session lives */
    uint64_t ttl_ms;
    uint64_t ping_ms;
    uint64_t last_ping;
    mcp_session *list;
    size_t count;
    bool closed;
};

static void session_free(mcp_session *s)
{
    if (s->stream)
        http_stream_end(s->stream);
    free(s);
}

static void count_down(mcp_sessions *t)
{
    if (--t->count == 0)
        ticker_job_stop(t->ticker, &t->sweep);
}

static void unlink_session(mcp_sessions *t, mcp_session *s)
{
    for (mcp_session **pp = &t->list; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            count_down(t);
            return;
        }
    }
}

static void sweep(ticker_job *job)
{
    mcp_sessions *t = CONTAINER_OF(job, mcp_sessions, sweep);
    uint64_t now = uv_now(t->loop);
    bool ping = now - t->last_ping >= t->ping_ms;
    if (ping)
        t->last_ping = now;
    for (mcp_session **pp = &t->list; *pp;) {
        mcp_session *s = *pp;
        if (s->stream) {
            /* A live stream keeps its session; the comment finds a peer
             * that went away without closing. */
            if (ping)
                http_stream_sse_comment(s->stream, "ping");
            s->last_active = now;
        }
        if (now - s->last_active >= t->ttl_ms) {
            log_kv(LOG_INFO, "mcp session expired", LOG_FIELDS(LOG_STR("session_id", s->id)));
            *pp = s->next;
            session_free(s);
            count_down(t); /* may stop this job: the ticker allows it */
            continue;
        }
        pp = &s->next;
    }
}

mcp_sessions *mcp_sessions_create(uv_loop_t *loop, ticker *tk, uint64_t ttl_ms, uint64_t ping_ms)
{
    mcp_sessions *t = xcalloc(1, sizeof *t);
    t->loop = loop;
    t->ticker = tk;
    t->ttl_ms = ttl_ms ? ttl_ms : 1;
    t->ping_ms = ping_ms ? ping_ms : 1;
    return t;
}

/* Fine enough for both jobs; a session lives at most one period longer. */
static uint64_t sweep_period_ms(const mcp_sessions *t)
{
    uint64_t period = t->ttl_ms / 4 < t->ping_ms ? t->ttl_ms / 4 : t->ping_ms;
    return period < 50 ? 50 : period;
}

void mcp_sessions_close(mcp_sessions *t)
{
    if (!t || t->closed)
        return;
    t->closed = true;
    while (t->list) {
        mcp_session *s = t->list;
        t->list = s->next;
        session_free(s);
    }
    t->count = 0;
    ticker_job_stop(t->ticker, &t->sweep);
}

void mcp_sessions_destroy(mcp_sessions *t)
{
    if (!t)
        return;
    mcp_sessions_close(t);
    free(t);
}

mcp_session *mcp_session_new(mcp_sessions *t, const char *protocol_version)
{
    mcp_session *s = xcalloc(1, sizeof *s);
    unsigned char raw[MCP_SESSION_ID_LEN / 2];
    random_bytes(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    snprintf(s->protocol_version, sizeof s->protocol_version, "%s", protocol_version);
    s->table = t;
    s->last_active = uv_now(t->loop);
    s->next = t->list;
    t->list = s;
    if (t->count++ == 0) {
        t->last_ping = uv_now(t->loop);
        ticker_job_start(t->ticker, &t->sweep, sweep_period_ms(t), sweep);
    }
    log_kv(LOG_INFO, "mcp session started",
           LOG_FIELDS(LOG_STR("session_id", s->id), LOG_STR("protocol_version", protocol_version)));
    return s;
}

mcp_session *mcp_session_find(mcp_sessions *t, const char *id)
{
    for (mcp_session *s = t->list; s; s = s->next) {
        if (strcmp(s->id, id) == 0) {
            s->last_active = uv_now(t->loop);
            return s;
        }
    }
    return NULL;
}

void mcp_session_end(mcp_sessions *t, mcp_session *s)
{
    log_kv(LOG_INFO, "mcp session ended", LOG_FIELDS(LOG_STR("session_id", s->id)));
    unlink_session(t, s);
    session_free(s);
}

const char *mcp_session_id(const mcp_session *s)
{
    return s->id;
}

const char *mcp_session_protocol_version(const mcp_session *s)
{
    return s->protocol_version;
}

/* The client closed its GET stream: the session lives on without it. */
static void stream_gone(void *ctx)
{
    mcp_session *s = ctx;
    log_kv(LOG_DEBUG, "mcp session stream closed", LOG_FIELDS(LOG_STR("session_id", s->id)));
    http_pending_release(s->stream);
    s->stream = NULL;
    s->last_active = uv_now(s->table->loop);
}

bool mcp_session_open_stream(mcp_session *s, const http_request *req)
{
    if (s->stream)
        return false;
    s->stream = http_respond_later(req, stream_gone, s);
    http_stream_begin(s->stream, 200, "text/event-stream");
    /* A first comment, so the client sees the stream is live at once. */
    http_stream_sse_comment(s->stream, "stream open");
    log_kv(LOG_DEBUG, "mcp session stream opened", LOG_FIELDS(LOG_STR("session_id", s->id)));
    return true;
}

size_t mcp_sessions_broadcast(mcp_sessions *t, const char *json, size_t len)
{
    size_t n = 0;
    for (mcp_session *s = t->list; s; s = s->next) {
        if (s->stream) {
            http_stream_sse(s->stream, "message", 0, json, len);
            n++;
        }
    }
    return n;
}

size_t mcp_sessions_count(const mcp_sessions *t)
{
    return t->count;
}
