#include "publisher.h"

#include "procstat.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCONN_IN_MAX (64 * 1024)

typedef struct pconn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    publisher *pub;
    bool connected;
    bool busy; /* a request is in flight */
    bool closing;
    char *out; /* the request being written, owned */
    size_t in_len;
    char in[PCONN_IN_MAX];
    size_t req_events;
    int64_t req_sent_us;
} pconn;

struct publisher {
    uv_loop_t *loop;
    uv_timer_t tick;
    char *host;
    int port;
    int nconns;
    pconn *conns;
    int open_handles; /* handles not yet closed: conns + timer */
    size_t pad_bytes;
    char *pad; /* pad_bytes of 'x', owned */
    bool mix;  /* the typical event mix instead of bare tool_called events */

    double rate;
    int bulk;
    int64_t start_us;
    int64_t duration_us;
    uint64_t generated; /* events that fell due so far */
    uint64_t backlog;   /* due but not yet written */
    uint64_t next_index;
    bool running;
    bool shutting_down;
    void (*done)(void *);
    void *done_arg;
    publisher_stats stats;
};

static void pconn_connect(pconn *c);
static void publisher_dispatch(publisher *p);

static void die_oom(void)
{
    fprintf(stderr, "ws-bench: out of memory\n");
    exit(1);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    pconn *c = h->data;
    buf->base = c->in + c->in_len;
    buf->len = PCONN_IN_MAX - c->in_len;
}

static void maybe_done(publisher *p)
{
    if (p->running || !p->done || p->backlog)
        return;
    for (int i = 0; i < p->nconns; i++)
        if (p->conns[i].busy)
            return;
    void (*done)(void *) = p->done;
    p->done = NULL;
    done(p->done_arg);
}

static void request_finished(pconn *c, bool ok)
{
    publisher *p = c->pub;
    int64_t rtt = procstat_monotonic_us() - c->req_sent_us;
    if (ok) {
        p->stats.events += c->req_events;
        p->stats.requests++;
    } else {
        p->stats.errors++;
    }
    if (rtt > p->stats.rtt_max_us)
        p->stats.rtt_max_us = rtt;
    p->stats.rtt_sum_us += (double)rtt;
    c->busy = false;
    free(c->out);
    c->out = NULL;
}

static void on_final_close(uv_handle_t *h);

/* After a loss: open the connection again, unless the publisher is closing. */
static void on_closed(uv_handle_t *h)
{
    pconn *c = h->data;
    c->closing = false;
    if (c->pub->shutting_down)
        on_final_close(h);
    else
        pconn_connect(c);
}

/* A lost connection loses its in-flight request; it is counted and the
 * connection is opened again so the run can go on. */
static void pconn_lost(pconn *c, const char *why)
{
    if (c->closing)
        return;
    /* The proxy may close an idle keep-alive connection: only a loss with a
     * request in flight is worth a word. */
    if (c->busy) {
        fprintf(stderr, "ws-bench: publisher connection lost with a request in flight: %s\n", why);
        request_finished(c, false);
    }
    c->connected = false;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    maybe_done(c->pub);
}

/* Consumes complete responses from c->in: status line, headers with
 * Content-Length, body. */
static void parse_responses(pconn *c)
{
    for (;;) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t head_len = (size_t)(end - c->in) + 4;
        int status = 0;
        if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
            status = 0;
        size_t body_len = 0;
        bool chunked = false;
        for (char *line = c->in; line < end;) {
            char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
            if (strncasecmp(line, "content-length:", 15) == 0)
                body_len = strtoul(line + 15, NULL, 10);
            else if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
                     memmem(line, (size_t)(eol - line), "chunked", 7))
                chunked = true;
            line = eol + 2;
        }
        if (chunked) {
            /* Node answers in chunks; answers are small, so the body ends at
             * the first zero-size chunk (the body text is only printed). */
            char *last = memmem(c->in + head_len, c->in_len - head_len, "\r\n0\r\n\r\n", 7);
            if (!last && !(c->in_len - head_len >= 5 && memcmp(c->in + head_len, "0\r\n\r\n", 5) == 0))
                return;
            body_len = last ? (size_t)(last - (c->in + head_len)) + 7 : 5;
        }
        if (c->in_len < head_len + body_len)
            return;
        /* 202: a cluster node took the events (the stream numbers them later). */
        bool ok = status == 200 || status == 202;
        if (!ok)
            fprintf(stderr, "ws-bench: POST /api/events answered %d: %.*s\n", status, (int)body_len, c->in + head_len);
        if (c->busy)
            request_finished(c, ok);
        memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
        c->in_len -= head_len + body_len;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    pconn *c = s->data;
    if (nread < 0) {
        pconn_lost(c, uv_strerror((int)nread));
        return;
    }
    c->in_len += (size_t)nread;
    parse_responses(c);
    if (c->in_len == PCONN_IN_MAX) {
        pconn_lost(c, "response too large");
        return;
    }
    publisher_dispatch(c->pub);
    maybe_done(c->pub);
}

static void on_written(uv_write_t *req, int status)
{
    pconn *c = req->data;
    if (status < 0)
        pconn_lost(c, uv_strerror(status));
}

static void on_connected(uv_connect_t *req, int status)
{
    pconn *c = req->data;
    if (status < 0) {
        pconn_lost(c, uv_strerror(status));
        return;
    }
    c->connected = true;
    c->in_len = 0;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    publisher_dispatch(c->pub);
}

static void pconn_connect(pconn *c)
{
    publisher *p = c->pub;
    struct sockaddr_in addr;
    uv_ip4_addr(p->host, p->port, &addr);
    uv_tcp_init(p->loop, &c->tcp);
    c->tcp.data = c;
    c->connect_req.data = c;
    c->write_req.data = c;
    int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connected);
    if (rc < 0) {
        fprintf(stderr, "ws-bench: cannot connect to %s:%d: %s\n", p->host, p->port, uv_strerror(rc));
        exit(1);
    }
}

/* The typical mix (publisher_set_mix): of every 10 events, 6 tool calls with
 * their arguments, 3 state changes and one tool list of 20 tools. */
static const char *const mix_tools =
    ",\"tools\":[\"search_repositories\",\"get_file_contents\",\"create_issue\",\"list_issues\","
    "\"update_issue\",\"add_issue_comment\",\"create_pull_request\",\"list_pull_requests\",\"merge_pull_request\","
    "\"get_pull_request_diff\",\"list_commits\",\"get_commit\",\"create_branch\",\"list_branches\",\"push_files\","
    "\"search_code\",\"search_issues\",\"get_me\",\"list_notifications\",\"fork_repository\"]";

static int write_mix_head(char *b, uint64_t i)
{
    switch (i % 10) {
    case 1:
    case 5:
    case 8:
        return sprintf(b,
                       "{\"type\":\"server_state_changed\",\"server_name\":\"github\",\"old_state\":\"Connecting\","
                       "\"new_state\":\"Ready\",\"data\":{\"tool_count\":20,\"pid\":%llu",
                       (unsigned long long)(41000 + i % 977));
    case 9:
        return sprintf(b,
                       "{\"type\":\"tools_updated\",\"server_name\":\"github\",\"data\":{\"tool_count\":20,"
                       "\"added\":1,\"removed\":0%s",
                       mix_tools);
    default:
        return sprintf(b,
                       "{\"type\":\"tool_called\",\"server_name\":\"github\",\"data\":{\"tool\":\"search_code\","
                       "\"duration_ms\":%llu,\"ok\":true,\"arguments\":{\"q\":\"repo:acme/widgets "
                       "language:c uv_prepare_start\",\"per_page\":30,\"page\":%llu}",
                       (unsigned long long)(12 + i % 300), (unsigned long long)(1 + i % 5));
    }
}

/* Appends one event to `b` (which has room: sized by the caller). */
static size_t write_event(publisher *p, char *b, int64_t t_us)
{
    uint64_t i = p->next_index++;
    int n;
    if (p->mix) {
        n = write_mix_head(b, i);
        n += sprintf(b + n, ",\"t\":%lld,\"i\":%llu", (long long)t_us, (unsigned long long)i);
    } else
        n = sprintf(b, "{\"type\":\"tool_called\",\"server_name\":\"bench\",\"data\":{\"t\":%lld,\"i\":%llu",
                    (long long)t_us, (unsigned long long)i);
    if (p->pad_bytes) {
        n += sprintf(b + n, ",\"pad\":\"%s\"", p->pad);
    }
    n += sprintf(b + n, "}}");
    return (size_t)n;
}

static void pconn_send(pconn *c, size_t nevents)
{
    publisher *p = c->pub;
    size_t per_event = 128 + p->pad_bytes + (p->mix ? 1024 : 0);
    size_t cap = 256 + nevents * per_event;
    char *req = malloc(cap);
    if (!req)
        die_oom();
    /* The body goes after a header of known maximum size, then the header is
     * written in front of it once Content-Length is known. */
    size_t head_room = 200;
    char *body = req + head_room;
    size_t len = 0;
    int64_t t = procstat_realtime_us();
    if (p->bulk > 1)
        body[len++] = '[';
    for (size_t i = 0; i < nevents; i++) {
        if (i)
            body[len++] = ',';
        len += write_event(p, body + len, t);
    }
    if (p->bulk > 1)
        body[len++] = ']';
    char head[200];
    int hl = snprintf(head, sizeof head,
                      "POST /api/events HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      p->host, p->port, len);
    char *start = body - hl;
    memcpy(start, head, (size_t)hl);
    c->out = req;
    c->busy = true;
    c->req_events = nevents;
    c->req_sent_us = procstat_monotonic_us();
    if (!p->stats.first_send_us)
        p->stats.first_send_us = c->req_sent_us;
    p->stats.last_send_us = c->req_sent_us;
    uv_buf_t buf = uv_buf_init(start, (unsigned)(len + (size_t)hl));
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
    if (rc < 0)
        pconn_lost(c, uv_strerror(rc));
}

/* Hands due events to free connections. With bulk > 1 a request waits for a
 * full array while the run goes on, and takes the remainder at the end. */
static void publisher_dispatch(publisher *p)
{
    for (int i = 0; i < p->nconns && p->backlog; i++) {
        pconn *c = &p->conns[i];
        if (!c->connected || c->busy || c->closing)
            continue;
        uint64_t take = p->backlog < (uint64_t)p->bulk ? p->backlog : (uint64_t)p->bulk;
        if (take < (uint64_t)p->bulk && p->running)
            return;
        p->backlog -= take;
        pconn_send(c, take);
    }
}

static void on_tick(uv_timer_t *t)
{
    publisher *p = t->data;
    if (!p->running)
        return;
    int64_t now = procstat_monotonic_us();
    int64_t elapsed = now - p->start_us;
    bool last = elapsed >= p->duration_us;
    if (last)
        elapsed = p->duration_us;
    uint64_t due = (uint64_t)(p->rate * (double)elapsed / 1e6);
    if (due > p->generated) {
        p->backlog += due - p->generated;
        p->generated = due;
    }
    if (p->backlog > p->stats.backlog_max)
        p->stats.backlog_max = p->backlog;
    if (last) {
        p->running = false;
        uv_timer_stop(&p->tick);
        /* A proxy that could not keep up leaves a backlog: it is not sent
         * (the run would otherwise stretch far past its duration) but counted.
         * The last partial array of a bulk run still goes. */
        if (p->backlog > (uint64_t)p->bulk) {
            p->stats.unsent = p->backlog - (uint64_t)p->bulk;
            p->backlog = (uint64_t)p->bulk;
        }
    }
    publisher_dispatch(p);
    maybe_done(p);
}

publisher *publisher_new(uv_loop_t *loop, const char *host, int port, int conns, size_t pad_bytes)
{
    publisher *p = calloc(1, sizeof *p);
    if (!p)
        die_oom();
    p->loop = loop;
    p->host = strdup(host);
    p->port = port;
    p->nconns = conns;
    p->conns = calloc((size_t)conns, sizeof *p->conns);
    p->pad_bytes = pad_bytes;
    p->pad = malloc(pad_bytes + 1);
    if (!p->host || !p->conns || !p->pad)
        die_oom();
    memset(p->pad, 'x', pad_bytes);
    p->pad[pad_bytes] = '\0';
    uv_timer_init(loop, &p->tick);
    p->tick.data = p;
    p->open_handles = 1 + conns;
    for (int i = 0; i < conns; i++) {
        p->conns[i].pub = p;
        pconn_connect(&p->conns[i]);
    }
    return p;
}

void publisher_run(publisher *p, double rate, int bulk, int64_t duration_us, void (*done)(void *), void *arg)
{
    memset(&p->stats, 0, sizeof p->stats);
    p->rate = rate;
    p->bulk = bulk < 1 ? 1 : bulk;
    p->duration_us = duration_us;
    p->start_us = procstat_monotonic_us();
    p->generated = 0;
    p->backlog = 0;
    p->running = true;
    p->done = done;
    p->done_arg = arg;
    uv_timer_start(&p->tick, on_tick, 1, 1);
}

void publisher_burst(publisher *p, uint64_t events, int bulk, void (*done)(void *), void *arg)
{
    memset(&p->stats, 0, sizeof p->stats);
    p->bulk = bulk < 1 ? 1 : bulk;
    p->generated = p->backlog = events;
    p->running = false; /* nothing more falls due: every request takes a full array */
    p->done = done;
    p->done_arg = arg;
    publisher_dispatch(p);
}

void publisher_set_mix(publisher *p, bool mix)
{
    p->mix = mix;
}

const publisher_stats *publisher_get_stats(const publisher *p)
{
    return &p->stats;
}

static void on_final_close(uv_handle_t *h)
{
    publisher *p = h->data;
    if (h != (uv_handle_t *)&p->tick)
        p = ((pconn *)h->data)->pub;
    if (--p->open_handles > 0)
        return;
    for (int i = 0; i < p->nconns; i++)
        free(p->conns[i].out);
    free(p->conns);
    free(p->pad);
    free(p->host);
    free(p);
}

void publisher_close(publisher *p)
{
    p->running = false;
    p->shutting_down = true;
    p->done = NULL;
    uv_close((uv_handle_t *)&p->tick, on_final_close);
    for (int i = 0; i < p->nconns; i++)
        if (!p->conns[i].closing) /* one closing after a loss ends in on_closed */
            uv_close((uv_handle_t *)&p->conns[i].tcp, on_final_close);
}
