#include "wsclients.h"

#include "procstat.h"
#include "tcpbytes.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Small enough that a stopped slow client fills up after a few hundred
 * events instead of tens of thousands (loopback autotunes to megabytes). */
#define SLOW_RCVBUF 4096

typedef struct rawconn rawconn;

typedef struct client {
    wsc_pool *pool;  /* not owned */
    rawconn *raw;    /* WSC_RAW: its connection, owned (freed once its handle is closed) */
    struct lws *wsi; /* owned by lws; NULL once closed */
    bool slow;
    bool hello;
    bool settled; /* hello received or connection failed */
    bool in_use;  /* churn: the slot holds a connection under way */
    bool closing; /* churn: ready, a close frame is due */
    char *frag;   /* a message arriving in pieces, owned */
    size_t frag_len, frag_cap;
} client;

struct wsc_pool {
    uv_loop_t *loop;
    struct lws_context *ctx;
    char *host, *path, *host_header, *origin;
    int port;
    client *clients; /* array of cap, owned; never moves once clients exist */
    int cap, started, target, pending, parallel;
    void (*ready)(void *);
    void *ready_arg;
    wsc_stats stats[2]; /* [0] normal, [1] slow */
    hist hists[2];
    int flags;
    /* churn */
    bool churning;
    int churn_cycles, churn_opened, churn_closed, churn_every;
    void (*churn_progress)(void *, int);
    void (*churn_done)(void *);
    void *churn_arg;
};

static void die_oom(void)
{
    fprintf(stderr, "ws-bench: out of memory\n");
    exit(1);
}

static void pool_fill(wsc_pool *p);

/* The first decimal integer after `key` in m[0..len), or -1. */
static int64_t find_int(const char *m, size_t len, const char *key, const char **after)
{
    size_t kl = strlen(key);
    const char *k = memmem(m, len, key, kl);
    if (!k)
        return -1;
    const char *d = k + kl, *end = m + len;
    int64_t v = 0;
    while (d < end && *d >= '0' && *d <= '9')
        v = v * 10 + (*d++ - '0');
    if (after)
        *after = d;
    return v;
}

static void churn_open(wsc_pool *p);

/* The client got its hello (or, from a peer that sends none, its upgrade). */
static void client_ready(client *c)
{
    wsc_pool *p = c->pool;
    c->hello = true;
    c->settled = true;
    if (p->churning) {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
        return;
    }
    p->stats[c->slow].ready++;
    p->pending--;
    if (c->slow) {
        /* Stop reading: the proxy's writes back up into its send queue. */
        int fd = lws_get_socket_fd(c->wsi), sz = SLOW_RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        lws_rx_flow_control(c->wsi, 0);
    }
    pool_fill(p);
}

/* Churn: one connection is over (closed, or failed); the slot opens the next. */
static void churn_slot_done(client *c, bool failed)
{
    wsc_pool *p = c->pool;
    if (!c->in_use)
        return;
    c->in_use = false;
    if (failed)
        p->stats[0].conn_errors++;
    p->churn_closed++;
    if (p->churn_progress && p->churn_every && p->churn_closed % p->churn_every == 0)
        p->churn_progress(p->churn_arg, p->churn_closed);
    if (p->churn_closed == p->churn_cycles) {
        p->churning = false;
        p->churn_done(p->churn_arg);
        return;
    }
    churn_open(p);
}

static void client_message(client *c, const char *m, size_t len)
{
    wsc_pool *p = c->pool;
    int64_t now = procstat_realtime_us();
    wsc_stats *st = &p->stats[c->slow];
    hist *h = &p->hists[c->slow];
    if (!c->hello) {
        if (memmem(m, len, "\"type\":\"hello\"", 14))
            client_ready(c);
        return;
    }
    st->messages++;
    /* Events: one "t": per event in its data (the key "timestamp" does not match). */
    const char *s = m;
    size_t left = len;
    bool any = false;
    bool array = len && m[0] == '[';
    for (;;) {
        const char *after;
        int64_t t = find_int(s, left, "\"t\":", &after);
        if (t < 0)
            break;
        any = true;
        hist_add(h, now - t);
        st->events++;
        if (!array)
            break; /* one event: the rest (padding) need not be searched */
        left -= (size_t)(after - s);
        s = after;
    }
    if (any) {
        st->last_event_us = procstat_monotonic_us();
        return;
    }
    if (memmem(m, len, "\"events_dropped\"", 16)) {
        st->dropped_notices++;
        int64_t k = find_int(m, len, "\"count\":", NULL);
        if (k > 0)
            st->dropped_events += (uint64_t)k;
    } else if (memmem(m, len, "\"resync_required\"", 17)) {
        st->resyncs++;
    }
}

/* lws hands a message over in pieces when it is larger than the rx buffer or
 * arrives across reads; it is whole when the final fragment has no payload left. */
static void client_receive(client *c, struct lws *wsi, const char *in, size_t len)
{
    bool done = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (done && !c->frag_len) {
        client_message(c, in, len);
        return;
    }
    if (c->frag_len + len > c->frag_cap) {
        c->frag_cap = (c->frag_len + len) * 2;
        c->frag = realloc(c->frag, c->frag_cap);
        if (!c->frag)
            die_oom();
    }
    memcpy(c->frag + c->frag_len, in, len);
    c->frag_len += len;
    if (done) {
        client_message(c, c->frag, c->frag_len);
        c->frag_len = 0;
    }
}

/* A client that will never get its hello; counted once. */
static void client_failed(client *c)
{
    if (c->settled)
        return;
    c->settled = true;
    c->pool->stats[c->slow].conn_errors++;
    c->pool->pending--;
    pool_fill(c->pool);
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    client *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            fprintf(stderr, "ws-bench: client connection failed: %s\n", in ? (const char *)in : "?");
            c->wsi = NULL;
            if (c->pool->churning)
                churn_slot_done(c, true);
            else
                client_failed(c);
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c && (c->pool->flags & WSC_NO_HELLO))
            client_ready(c);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c && c->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c)
            client_receive(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && c->pool->churning) {
            c->wsi = NULL;
            churn_slot_done(c, !c->hello);
        } else if (c) {
            c->wsi = NULL;
            if (c->hello)
                c->pool->stats[c->slow].closed++;
            else
                client_failed(c);
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"ws-bench", on_lws, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- WSC_RAW: frames read straight off a libuv TCP stream ---------------- */

struct rawconn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    client *c; /* NULL once the client gave up on it */
    char *buf;
    size_t len, cap;
    bool upgraded;
    char request[512];
};

static void raw_closed(uv_handle_t *h)
{
    rawconn *r = h->data;
    free(r->buf);
    free(r);
}

static void raw_close(rawconn *r)
{
    if (r->c)
        r->c->raw = NULL;
    r->c = NULL;
    if (!uv_is_closing((uv_handle_t *)&r->tcp))
        uv_close((uv_handle_t *)&r->tcp, raw_closed);
}

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    rawconn *r = h->data;
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            die_oom();
    }
    b->base = r->buf + r->len;
    b->len = r->cap - r->len;
}

/* Whole frames from r->buf: text frames are messages (servers here send
 * events unfragmented), a close ends the client, anything else is skipped. */
static void raw_frames(rawconn *r)
{
    size_t off = 0;
    while (r->c && r->len - off >= 2) {
        const unsigned char *f = (const unsigned char *)r->buf + off;
        uint64_t n = f[1] & 0x7f;
        size_t hl = 2;
        if (n == 126) {
            if (r->len - off < 4)
                break;
            n = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (n == 127) {
            if (r->len - off < 10)
                break;
            n = 0;
            for (int i = 2; i < 10; i++)
                n = n << 8 | f[i];
            hl = 10;
        }
        if (r->len - off < hl + n)
            break;
        int opcode = f[0] & 0x0f;
        if (opcode == 1)
            client_message(r->c, (const char *)f + hl, (size_t)n);
        else if (opcode == 8) {
            client *c = r->c;
            raw_close(r);
            if (c->hello)
                c->pool->stats[c->slow].closed++;
            else
                client_failed(c);
            return;
        }
        off += hl + (size_t)n;
    }
    memmove(r->buf, r->buf + off, r->len - off);
    r->len -= off;
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    rawconn *r = s->data;
    if (!r->c)
        return;
    if (nread < 0) {
        client *c = r->c;
        raw_close(r);
        if (c->hello)
            c->pool->stats[c->slow].closed++;
        else
            client_failed(c);
        return;
    }
    r->len += (size_t)nread;
    if (!r->upgraded) {
        char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (r->len < 12 || memcmp(r->buf, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "ws-bench: upgrade refused: %.*s\n", (int)(strchr(r->buf, '\r') - r->buf), r->buf);
            client *c = r->c;
            raw_close(r);
            client_failed(c);
            return;
        }
        size_t head = (size_t)(end - r->buf) + 4;
        memmove(r->buf, r->buf + head, r->len - head);
        r->len -= head;
        r->upgraded = true;
        if (r->c->pool->flags & WSC_NO_HELLO)
            client_ready(r->c);
    }
    raw_frames(r);
}

static void raw_connected(uv_connect_t *req, int status)
{
    rawconn *r = req->data;
    if (!r->c)
        return;
    if (status < 0) {
        fprintf(stderr, "ws-bench: client connection failed: %s\n", uv_strerror(status));
        client *c = r->c;
        raw_close(r);
        client_failed(c);
        return;
    }
    wsc_pool *p = r->c->pool;
    int n = snprintf(r->request, sizeof r->request,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     p->path, p->host_header, p->origin);
    uv_buf_t b = uv_buf_init(r->request, (unsigned)n);
    uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, NULL);
    uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void raw_open(wsc_pool *p, client *c)
{
    rawconn *r = calloc(1, sizeof *r);
    if (!r)
        die_oom();
    r->c = c;
    c->raw = r;
    uv_tcp_init(p->loop, &r->tcp);
    r->tcp.data = r;
    r->connect.data = r;
    struct sockaddr_in addr;
    uv_ip4_addr(p->host, p->port, &addr);
    p->pending++;
    if (uv_tcp_connect(&r->connect, &r->tcp, (const struct sockaddr *)&addr, raw_connected) < 0) {
        raw_close(r);
        client_failed(c);
    }
}

static void client_open(wsc_pool *p, client *c)
{
    if (p->flags & WSC_RAW) {
        raw_open(p, c);
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = p->ctx;
    ci.address = p->host;
    ci.port = p->port;
    ci.path = p->path;
    ci.host = p->host_header;
    ci.origin = p->origin;
    /* No subprotocol asked for, like a browser; bind to our handler locally. */
    ci.local_protocol_name = protocols[0].name;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    p->pending++;
    if (!lws_client_connect_via_info(&ci)) {
        /* lws may or may not have said CONNECTION_ERROR already. */
        c->wsi = NULL;
        client_failed(c);
    }
}

/* Starts handshakes up to the parallel limit; reports when the target is settled. */
static void pool_fill(wsc_pool *p)
{
    while (p->started < p->target && p->pending < p->parallel) {
        client *c = &p->clients[p->started++];
        client_open(p, c);
    }
    int settled = p->stats[0].ready + p->stats[1].ready + p->stats[0].conn_errors + p->stats[1].conn_errors;
    if (p->ready && p->started == p->target && settled >= p->target) {
        void (*ready)(void *) = p->ready;
        p->ready = NULL;
        ready(p->ready_arg);
    }
}

wsc_pool *wsc_pool_new(uv_loop_t *loop, const char *host, int port, const char *path, int max_clients, int flags)
{
    wsc_pool *p = calloc(1, sizeof *p);
    if (!p)
        die_oom();
    /* lws keeps pointers to clients (opaque user data): the array never moves. */
    p->cap = max_clients;
    p->clients = calloc(max_clients > 0 ? (size_t)max_clients : 1, sizeof *p->clients);
    if (!p->clients)
        die_oom();
    p->loop = loop;
    p->port = port;
    p->flags = flags;
    p->host = strdup(host);
    p->path = strdup(path);
    char buf[128];
    snprintf(buf, sizeof buf, "%s:%d", host, port);
    p->host_header = strdup(buf);
    /* lws' client writes "Origin: http://" + this, so no scheme here. */
    snprintf(buf, sizeof buf, "%s:%d", host, port);
    p->origin = strdup(buf);
    if (!p->host || !p->path || !p->host_header || !p->origin)
        die_oom();
    hist_init(&p->hists[0]);
    hist_init(&p->hists[1]);

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *foreign_loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = foreign_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.timeout_secs = 30;
    p->ctx = lws_create_context(&info);
    if (!p->ctx) {
        wsc_pool_free(p);
        return NULL;
    }
    return p;
}

void wsc_pool_grow(wsc_pool *p, int total, int slow, int parallel, void (*ready)(void *), void *arg)
{
    if (total > p->cap)
        total = p->cap;
    for (int i = p->started; i < total; i++) {
        p->clients[i].pool = p;
        p->clients[i].slow = i - p->started < slow;
    }
    p->target = total;
    p->parallel = parallel;
    p->ready = ready;
    p->ready_arg = arg;
    pool_fill(p);
}

static void churn_open(wsc_pool *p)
{
    if (p->churn_opened == p->churn_cycles)
        return;
    for (int i = 0; i < p->cap; i++) {
        client *c = &p->clients[i];
        if (c->in_use)
            continue;
        free(c->frag);
        *c = (client){.pool = p, .in_use = true};
        p->churn_opened++;
        client_open(p, c);
        return;
    }
}

void wsc_pool_churn(wsc_pool *p, int cycles, int parallel, int every, void (*progress)(void *, int),
                    void (*done)(void *), void *arg)
{
    p->churning = true;
    p->churn_cycles = cycles;
    p->churn_opened = p->churn_closed = 0;
    p->churn_every = every;
    p->churn_progress = progress;
    p->churn_done = done;
    p->churn_arg = arg;
    for (int i = 0; i < parallel && i < p->cap; i++)
        churn_open(p);
}

uint64_t wsc_pool_rx_bytes(const wsc_pool *p)
{
    uint64_t sum = 0;
    for (int i = 0; i < p->started; i++) {
        const client *c = &p->clients[i];
        uv_os_fd_t fd;
        if (c->raw && uv_fileno((const uv_handle_t *)&c->raw->tcp, &fd) == 0)
            sum += tcp_bytes_received(fd);
        else if (c->wsi)
            sum += tcp_bytes_received(lws_get_socket_fd(c->wsi));
    }
    return sum;
}

void wsc_pool_resume_slow(wsc_pool *p)
{
    for (int i = 0; i < p->started; i++) {
        client *c = &p->clients[i];
        if (!c->slow || !c->wsi)
            continue;
        /* A 4 KiB window would make catching up crawl; give it room again. */
        int fd = lws_get_socket_fd(c->wsi), sz = 1 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        lws_rx_flow_control(c->wsi, 1);
    }
}

void wsc_pool_reset(wsc_pool *p)
{
    for (int s = 0; s < 2; s++) {
        wsc_stats *st = &p->stats[s];
        int ready = st->ready, errors = st->conn_errors, closed = st->closed;
        memset(st, 0, sizeof *st);
        st->ready = ready;
        st->conn_errors = errors;
        st->closed = closed;
        hist_reset(&p->hists[s]);
    }
}

const wsc_stats *wsc_pool_stats(const wsc_pool *p, bool slow)
{
    return &p->stats[slow];
}

const hist *wsc_pool_hist(const wsc_pool *p, bool slow)
{
    return &p->hists[slow];
}

void wsc_pool_destroy(wsc_pool *p)
{
    for (int i = 0; i < p->started; i++)
        if (p->clients[i].raw)
            raw_close(p->clients[i].raw);
    if (p->ctx)
        lws_context_destroy(p->ctx);
    p->ctx = NULL;
}

void wsc_pool_free(wsc_pool *p)
{
    for (int i = 0; i < p->cap; i++)
        free(p->clients[i].frag);
    free(p->clients);
    hist_free(&p->hists[0]);
    hist_free(&p->hists[1]);
    free(p->host);
    free(p->path);
    free(p->host_header);
    free(p->origin);
    free(p);
}
