/* sse.c - Server-Sent Events clients of the bus.
 *
 * A client is a bus subscriber whose events are written to its HTTP stream
 * at once (http_stream_write copies them into the connection's queue, which
 * drains as the socket allows). The slow-client rule is the WebSocket one,
 * counted in bytes here since the stream queue holds bytes: while a client
 * has more than send_queue × SSE_BYTES_PER_EVENT (at most send_queue_bytes)
 * unsent, new events are dropped for it, and an events_dropped message
 * precedes the next one that fits. A comment line every ping_interval_ms
 * keeps proxies from timing the stream out and reveals dead peers (lws
 * notices them only on a write); a client whose stream takes nothing for
 * write_timeout_ms is dropped. */
#include "stream/sse.h"

#include "core/dlist.h"
#include "core/log.h"
#include "http/exchange.h"
#include "http/ticker.h"
#include "stream/send_queue.h"
#include "stream/stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An event is a few hundred bytes; this sizes the byte budget generously. */
#define SSE_BYTES_PER_EVENT 1024

typedef struct sse_client {
    dlist_node link; /* in sse_manager.clients */
    struct sse_manager *m;
    http_pending *http;
    stream_request req;
    stream_cursor cursor;
    bus_sub *sub;
    send_queue drops; /* only its drop accounting is used: events go straight out */
    char peer[64];
    char connected_since[TIMESTAMP_LEN];
    uint64_t delivered;
    bool counted_dropping; /* in stats.clients_dropping */
} sse_client;

struct sse_manager {
    app *app;
    dlist clients;
    ticker_job keepalive; /* the sweep; on while any client is connected */
    uint64_t last_ping_ms;
    bool closed;
};

static void write_control(sse_client *c, char *json);

/* The history started over (bus_restart): what each client got is of the
 * old one, which the resync notice says (events go straight out, so
 * nothing of the old history is still to come). */
static void sse_on_restart(void *ctx)
{
    sse_manager *m = ctx;
    for (dlist_node *n = m->clients.head; n; n = n->next) {
        sse_client *c = DLIST_ENTRY(n, sse_client, link);
        stream_cursor_restart(&c->cursor, &c->drops);
        write_control(c, stream_resync_json(&c->cursor, m->app->bus));
        c->cursor.resync_reason = NULL;
    }
}

sse_manager *sse_manager_create(app *a)
{
    sse_manager *m = xcalloc(1, sizeof *m);
    m->app = a;
    bus_on_restart(a->bus, sse_on_restart, m);
    return m;
}

void sse_manager_clients_json(const sse_manager *m, json_t *into)
{
    for (const dlist_node *n = m->clients.head; n; n = n->next) {
        sse_client *c = DLIST_ENTRY(n, sse_client, link);
        json_t *o =
            stream_client_json("/events", c->peer, &c->req, c->connected_since, c->delivered, c->drops.dropped_total);
        json_object_set_new(o, "queued_bytes", json_integer((json_int_t)http_stream_write(c->http, "", 0)));
        json_array_append_new(into, o);
    }
}

/* A control message (hello, resync_required, events_dropped): no id, so a
 * reconnecting EventSource resumes from the last event. Takes `json`. */
static void write_control(sse_client *c, char *json)
{
    http_stream_sse(c->http, NULL, 0, json, strlen(json));
    free(json);
}

static size_t budget_bytes(const sse_client *c)
{
    const ws_settings *ws = &c->m->app->cfg.websocket;
    size_t by_count = (size_t)ws->send_queue * SSE_BYTES_PER_EVENT;
    return by_count < ws->send_queue_bytes ? by_count : ws->send_queue_bytes;
}

static void deliver(sse_client *c, event_msg *msg)
{
    /* Writing nothing reports what is still queued. */
    if (http_stream_write(c->http, "", 0) > budget_bytes(c)) {
        if (c->drops.unreported.count == 0)
            log_kv(LOG_WARN, "SSE client too slow, dropping event",
                   LOG_FIELDS(LOG_STR("event_type", event_type_name(msg->type)), LOG_INT("seq", msg->seq)));
        send_queue_note_drop(&c->drops, msg->seq);
        c->m->app->stats.sse_dropped++;
        if (!c->counted_dropping) {
            c->counted_dropping = true;
            c->m->app->stats.clients_dropping++;
        }
        return;
    }
    send_drops drops;
    if (send_queue_take_drops(&c->drops, &drops))
        write_control(c, stream_dropped_json(&drops));
    http_stream_sse(c->http, NULL, msg->seq, (const char *)msg->json, msg->json_len);
    c->delivered++;
    c->m->app->stats.sse_delivered++;
}

static void on_event(event_msg *msg, void *ctx)
{
    deliver(ctx, msg);
}

static void client_free(sse_client *c)
{
    sse_manager *m = c->m;
    bus_unsubscribe(m->app->bus, c->sub);
    send_queue_free(&c->drops);
    dlist_remove(&m->clients, &c->link);
    m->app->stats.clients[STATS_SSE]--;
    if (c->counted_dropping)
        m->app->stats.clients_dropping--;
    if (m->clients.count == 0)
        ticker_job_stop(m->app->ticker, &m->keepalive);
    log_kv(LOG_INFO, "SSE client unregistered", LOG_FIELDS(LOG_INT("total_clients", m->clients.count)));
    free(c);
}

/* The client went away: its handle is inert until released. */
static void on_gone(void *ctx)
{
    sse_client *c = ctx;
    http_pending_release(c->http);
    client_free(c);
}

/* Every client's clocks in one pass, as the WebSocket sweep does: a ping
 * every ping_interval_ms, and a client whose stream has not taken a byte
 * for write_timeout_ms is dropped (its unsent bytes are bounded by the
 * budget, but a peer that never reads would hold its connection for
 * ever). */
static void sweep(ticker_job *job)
{
    sse_manager *m = CONTAINER_OF(job, sse_manager, keepalive);
    const ws_settings *ws = &m->app->cfg.websocket;
    uint64_t now = uv_now(m->app->loop);
    bool ping = ticker_due(&m->last_ping_ms, now, ws->ping_interval_ms);
    dlist_node *next;
    for (dlist_node *n = m->clients.head; n; n = next) {
        next = n->next;
        sse_client *c = DLIST_ENTRY(n, sse_client, link);
        if (http_stream_stalled_ms(c->http) >= ws->write_timeout_ms) {
            log_kv(LOG_WARN, "SSE client dropped",
                   LOG_FIELDS(LOG_STR("reason", "write timeout"), LOG_STR("limit", "websocket.write_timeout_ms"),
                              LOG_STR("peer", c->peer)));
            http_pending *stuck = c->http;
            client_free(c); /* may stop this job: the ticker allows it */
            http_pending_abort(stuck);
        } else if (ping) {
            http_stream_sse_comment(c->http, "ping");
        }
    }
}

/* A quarter of the shorter clock, between 10 ms and 1 s: each is honoured
 * within one period. */
static uint64_t sweep_period_ms(const ws_settings *ws)
{
    uint32_t shortest = ws->ping_interval_ms < ws->write_timeout_ms ? ws->ping_interval_ms : ws->write_timeout_ms;
    uint32_t ms = shortest / 4;
    return ms < 10 ? 10 : ms > 1000 ? 1000 : ms;
}

/* Hello, then the resync notice or the replay, then live (subscribed in the
 * same loop turn, so nothing falls in between). */
static void start_stream(sse_client *c)
{
    bus *b = c->m->app->bus;
    http_stream_begin(c->http, 200, "text/event-stream");
    write_control(c, stream_hello_json(&c->cursor, b));
    if (c->cursor.resync_reason)
        write_control(c, stream_resync_json(&c->cursor, b));
    bus_filter filter = stream_request_filter(&c->req);
    event_msg *msg;
    while ((msg = stream_cursor_next(&c->cursor, b, &filter, &c->drops))) {
        deliver(c, msg);
        event_msg_unref(msg);
    }
}

bool sse_route(void *ctx, const http_request *req, http_response *res)
{
    sse_manager *m = ctx;
    if (strcmp(req->path, "/events") != 0)
        return false;
    if (req->method != HTTP_GET) {
        http_respond_not_allowed(res, "GET");
        return true;
    }
    if (m->closed) {
        http_respond_error(res, 503, "mcpproxy is shutting down");
        return true;
    }
    if (req->head) { /* what a GET would start, without the stream */
        http_respond_bytes(res, 200, "text/event-stream", "", 0);
        return true;
    }
    sse_client *c = xcalloc(1, sizeof *c);
    char msg[160];
    const char *bad = stream_request_parse(&c->req, req->query, false, msg, sizeof msg);
    /* An EventSource reconnecting says where it was with Last-Event-ID. */
    if (!bad && req->last_event_id) {
        if (stream_parse_seq(req->last_event_id, &c->req.since))
            c->req.resume = true;
        else
            bad = "Last-Event-ID must be the seq of an event";
    }
    if (bad) {
        free(c);
        http_respond_error(res, 400, "%s", bad);
        return true;
    }
    const ws_settings *ws = &m->app->cfg.websocket;
    if (m->clients.count >= ws->max_clients) {
        free(c);
        http_respond_error(res, 503, "too many event stream clients (websocket.max_clients)");
        return true;
    }
    c->m = m;
    snprintf(c->peer, sizeof c->peer, "%s", req->peer);
    timestamp_now(c->connected_since);
    m->app->stats.clients[STATS_SSE]++;
    send_queue_init(&c->drops, ws->send_queue);
    bus_filter filter = stream_request_filter(&c->req);
    c->sub = bus_subscribe(m->app->bus, &filter, on_event, c);
    c->http = http_respond_later(req, on_gone, c);
    dlist_push_front(&m->clients, &c->link);
    stream_cursor_plan(&c->cursor, &c->req, m->app->bus);
    log_kv(LOG_INFO, "SSE client registered",
           LOG_FIELDS(LOG_INT("total_clients", m->clients.count),
                      LOG_STR("server", c->req.server[0] ? c->req.server : NULL)));
    start_stream(c);
    if (m->clients.count == 1) {
        m->last_ping_ms = uv_now(m->app->loop);
        ticker_job_start(m->app->ticker, &m->keepalive, sweep_period_ms(ws), sweep);
    }
    return true;
}

void sse_manager_close(sse_manager *m)
{
    if (m->closed)
        return;
    m->closed = true;
    while (m->clients.head) {
        sse_client *c = DLIST_ENTRY(m->clients.head, sse_client, link);
        http_stream_end(c->http); /* lets go of the handle */
        client_free(c);
    }
}

void sse_manager_destroy(sse_manager *m)
{
    if (!m)
        return;
    bus_off_restart(m->app->bus, sse_on_restart, m);
    free(m);
}
