/* session.c - the /mcp session table, its GET streams and its expiry.
 *
 * Sessions are in a list (for the expiry sweep and broadcasts) and in a hash
 * table by id (the ids are random, so their first bytes are the hash), so a
 * request finds its session in O(1) however many there are. How many there
 * can be is capped in total and per client address. */
#include "mcp/session.h"

#include "core/dlist.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "http/addr_limit.h"
#include "http/ticker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mcp_session {
    dlist_node link;          /* in mcp_sessions.all */
    mcp_session *bucket_next; /* in its hash bucket */
    mcp_sessions *table;
    char id[MCP_SESSION_ID_LEN + 1];
    char protocol_version[32];
    uint64_t last_active; /* uv_now() of the last request */
    bool used;            /* a request came after initialize */
    addr_count *token;    /* its count in the caps */
    http_pending *stream; /* the GET stream, or NULL */
    bool search;          /* sees retrieve_tools and call_tool (search.h) */
    char client[64];      /* clientInfo.name of its initialize, cut; "" when none */
};

struct mcp_sessions {
    uv_loop_t *loop;
    ticker *ticker;
    ticker_job sweep; /* expiry and stream keep-alive; on while any session lives */
    const mcp_settings *settings;
    uint64_t last_ping;
    dlist all;
    mcp_session **buckets;
    size_t n_buckets; /* a power of two */
    addr_limit *caps;
    void (*on_end)(const char *id, void *ctx); /* mcp_sessions_on_end; may be NULL */
    void *on_end_ctx;
    bool closed;
};

/* ---- the hash table ----------------------------------------------------- */

static size_t bucket_of(const mcp_sessions *t, const char *id)
{
    /* The ids are 128 random bits in hex: any 16 hex digits are a uniform hash. */
    uint64_t h = 0;
    for (size_t i = 0; i < 16 && id[i]; i++)
        h = h * 16 + (uint64_t)(id[i] <= '9' ? id[i] - '0' : (id[i] | 0x20) - 'a' + 10);
    return (size_t)h & (t->n_buckets - 1);
}

static void bucket_insert(mcp_sessions *t, mcp_session *s)
{
    size_t b = bucket_of(t, s->id);
    s->bucket_next = t->buckets[b];
    t->buckets[b] = s;
}

static void bucket_remove(mcp_sessions *t, mcp_session *s)
{
    for (mcp_session **pp = &t->buckets[bucket_of(t, s->id)]; *pp; pp = &(*pp)->bucket_next) {
        if (*pp == s) {
            *pp = s->bucket_next;
            return;
        }
    }
}

/* Keeps the load at most one session per bucket. */
static void maybe_grow(mcp_sessions *t)
{
    if (t->all.count < t->n_buckets)
        return;
    free(t->buckets);
    t->n_buckets *= 2;
    t->buckets = xcalloc(t->n_buckets, sizeof *t->buckets);
    for (dlist_node *n = t->all.head; n; n = n->next)
        bucket_insert(t, DLIST_ENTRY(n, mcp_session, link));
}

/* ---- life and death ----------------------------------------------------- */

static void session_remove(mcp_sessions *t, mcp_session *s)
{
    dlist_remove(&t->all, &s->link);
    bucket_remove(t, s);
    addr_limit_release(t->caps, s->token);
    if (s->stream)
        http_stream_end(s->stream);
    if (t->on_end)
        t->on_end(s->id, t->on_end_ctx);
    free(s);
    if (t->all.count == 0)
        ticker_job_stop(t->ticker, &t->sweep);
}

/* A session that never made a request after initialize expires sooner:
 * clients that initialize and leave (or a flood of initializes) do not hold
 * their place for the full idle time. */
static uint64_t ttl_of(const mcp_sessions *t, const mcp_session *s)
{
    const mcp_settings *m = t->settings;
    return s->used || m->unused_session_ttl_ms > m->session_ttl_ms ? m->session_ttl_ms : m->unused_session_ttl_ms;
}

static void sweep(ticker_job *job)
{
    mcp_sessions *t = CONTAINER_OF(job, mcp_sessions, sweep);
    uint64_t now = uv_now(t->loop);
    bool ping = ticker_due(&t->last_ping, now, t->settings->ping_interval_ms);
    dlist_node *next;
    for (dlist_node *n = t->all.head; n; n = next) {
        next = n->next;
        mcp_session *s = DLIST_ENTRY(n, mcp_session, link);
        if (s->stream) {
            /* A live stream keeps its session; the comment finds a peer
             * that went away without closing. */
            if (ping)
                http_stream_sse_comment(s->stream, "ping");
            s->last_active = now;
        }
        if (now - s->last_active >= ttl_of(t, s)) {
            log_kv(LOG_INFO, "mcp session expired", LOG_FIELDS(LOG_STR("session_id", s->id), LOG_INT("used", s->used)));
            session_remove(t, s); /* may stop this job: the ticker allows it */
        }
    }
}

void mcp_sessions_on_end(mcp_sessions *t, void (*fn)(const char *id, void *ctx), void *ctx)
{
    t->on_end = fn;
    t->on_end_ctx = ctx;
}

mcp_sessions *mcp_sessions_create(uv_loop_t *loop, ticker *tk, const mcp_settings *settings)
{
    mcp_sessions *t = xcalloc(1, sizeof *t);
    t->loop = loop;
    t->ticker = tk;
    t->settings = settings;
    t->n_buckets = 64;
    t->buckets = xcalloc(t->n_buckets, sizeof *t->buckets);
    t->caps = addr_limit_create(settings->max_sessions, settings->max_sessions_per_address,
                                "too many MCP sessions (mcp.max_sessions)",
                                "too many MCP sessions from this address (mcp.max_sessions_per_address)");
    return t;
}

/* Fine enough for both jobs; a session lives at most one period longer. */
static uint64_t sweep_period_ms(const mcp_sessions *t)
{
    const mcp_settings *m = t->settings;
    uint64_t ttl = m->unused_session_ttl_ms < m->session_ttl_ms ? m->unused_session_ttl_ms : m->session_ttl_ms;
    uint64_t period = ttl / 4 < m->ping_interval_ms ? ttl / 4 : m->ping_interval_ms;
    return period < 50 ? 50 : period;
}

void mcp_sessions_close(mcp_sessions *t)
{
    if (!t || t->closed)
        return;
    t->closed = true;
    while (t->all.head)
        session_remove(t, DLIST_ENTRY(t->all.head, mcp_session, link));
}

void mcp_sessions_destroy(mcp_sessions *t)
{
    if (!t)
        return;
    mcp_sessions_close(t);
    addr_limit_destroy(t->caps);
    free(t->buckets);
    free(t);
}

mcp_session *mcp_session_new(mcp_sessions *t, const char *protocol_version, const char *peer, const char **why)
{
    addr_count *token = addr_limit_acquire(t->caps, peer, why);
    if (!token) {
        log_kv(LOG_WARN, "mcp session refused", LOG_FIELDS(LOG_STR("reason", *why), LOG_STR("peer", peer)));
        return NULL;
    }
    mcp_session *s = xcalloc(1, sizeof *s);
    unsigned char raw[MCP_SESSION_ID_LEN / 2];
    random_bytes(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    snprintf(s->protocol_version, sizeof s->protocol_version, "%s", protocol_version);
    s->table = t;
    s->token = token;
    s->last_active = uv_now(t->loop);
    dlist_push_front(&t->all, &s->link);
    bucket_insert(t, s);
    maybe_grow(t);
    if (t->all.count == 1) {
        t->last_ping = uv_now(t->loop);
        ticker_job_start(t->ticker, &t->sweep, sweep_period_ms(t), sweep);
    }
    log_kv(LOG_INFO, "mcp session started",
           LOG_FIELDS(LOG_STR("session_id", s->id), LOG_STR("protocol_version", protocol_version)));
    return s;
}

static mcp_session *lookup(mcp_sessions *t, const char *id)
{
    for (mcp_session *s = t->buckets[bucket_of(t, id)]; s; s = s->bucket_next) {
        if (strcmp(s->id, id) == 0)
            return s;
    }
    return NULL;
}

mcp_session *mcp_session_find(mcp_sessions *t, const char *id)
{
    mcp_session *s = lookup(t, id);
    if (s) {
        s->last_active = uv_now(t->loop);
        s->used = true;
    }
    return s;
}

bool mcp_sessions_send(mcp_sessions *t, const char *id, const char *json, size_t len)
{
    mcp_session *s = lookup(t, id);
    if (!s)
        return false;
    if (s->stream)
        http_stream_sse(s->stream, "message", 0, json, len);
    return true;
}

void mcp_session_end(mcp_sessions *t, mcp_session *s)
{
    log_kv(LOG_INFO, "mcp session ended", LOG_FIELDS(LOG_STR("session_id", s->id)));
    session_remove(t, s);
}

const char *mcp_session_id(const mcp_session *s)
{
    return s->id;
}

void mcp_session_set_search(mcp_session *s, bool on)
{
    s->search = on;
}

bool mcp_session_search(const mcp_session *s)
{
    return s->search;
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
    for (dlist_node *node = t->all.head; node; node = node->next) {
        mcp_session *s = DLIST_ENTRY(node, mcp_session, link);
        if (s->stream) {
            http_stream_sse(s->stream, "message", 0, json, len);
            n++;
        }
    }
    return n;
}

size_t mcp_sessions_broadcast_direct(mcp_sessions *t, const char *json, size_t len)
{
    size_t n = 0;
    for (dlist_node *node = t->all.head; node; node = node->next) {
        mcp_session *s = DLIST_ENTRY(node, mcp_session, link);
        if (s->stream && !s->search) {
            http_stream_sse(s->stream, "message", 0, json, len);
            n++;
        }
    }
    return n;
}

size_t mcp_sessions_count(const mcp_sessions *t)
{
    return t->all.count;
}

void mcp_session_set_client(mcp_session *s, const char *name)
{
    size_t n = name ? utf8_prefix_len(name, strlen(name), sizeof s->client - 1) : 0;
    memcpy(s->client, name ? name : "", n);
    s->client[n] = '\0';
}

const char *mcp_session_client(mcp_sessions *t, const char *id)
{
    const mcp_session *s = id && *id ? mcp_session_find(t, id) : NULL;
    return s && s->client[0] ? s->client : NULL;
}
