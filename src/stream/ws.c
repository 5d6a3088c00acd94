/* ws.c - WebSocket clients of the event stream.
 *
 * Life of a client:
 *   FILTER_PROTOCOL_CONNECTION  parse and check the request; refuse with a
 *                               real HTTP status before any upgrade
 *   ESTABLISHED                 subscribe to the bus, queue hello (and the
 *                               resume replay), join the keep-alive sweep
 *   (bus publish)               ws_on_event queues a reference and asks for
 *                               a writable callback; never writes, never waits
 *   SERVER_WRITEABLE            write everything pending as complete frames
 *                               in one send
 *   CLOSED                      unsubscribe and free
 *
 * Keep-alive is one sweep for all clients (a job of the app's ticker), not
 * timers per client: lws keeps scheduled callbacks in one sorted list, so
 * re-arming a deadline per client on every event made fan-out
 * O(clients^2) (measured: 40% of the CPU at 5000 clients). The sweep runs
 * every ws_sweep_period_ms() and checks
 * each client's three clocks: ping due, silent too long, write stuck too
 * long. Deadlines are therefore honoured within one sweep period. */
#include "stream/ws.h"

#include "core/dlist.h"
#include "core/log.h"
#include "http/conn.h"
#include "http/exchange.h"
#include "http/request.h"
#include "http/server.h"
#include "http/ticker.h"
#include "stream/deflate.h"
#include "stream/send_queue.h"
#include "stream/stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(EVENT_HEADROOM >= LWS_PRE, "events must leave room for an lws frame header");

/* Stop gathering more events into one send past this many bytes: large
 * enough to amortize the syscall, small enough to keep latency for others. */
#define WS_WRITE_CHUNK (64 * 1024)
#define WS_FRAME_HEADER_MAX 10
/* What lws allocates per client for incoming frames (its default, 4 KiB,
 * was two thirds of an idle client's memory). Client messages carry nothing
 * we act on; a larger one simply arrives in more RECEIVE callbacks, counted
 * against max_message_bytes across them. 128 is the least lws'
 * permessage-deflate accepts, and holds any control frame (payload <= 125). */
#define WS_RX_BUFFER 128

typedef enum ws_endpoint { WS_EVENTS, WS_SERVERS, WS_ENDPOINT_COUNT } ws_endpoint;
static const char *const endpoint_paths[WS_ENDPOINT_COUNT] = {"/ws/events", "/ws/servers"};
static const stats_endpoint endpoint_stats[WS_ENDPOINT_COUNT] = {STATS_WS_EVENTS, STATS_WS_SERVERS};

/* Per-connection state, allocated zeroed by lws (per_session_data_size). */
typedef struct ws_client {
    /* From the request, set before the upgrade. */
    ws_endpoint endpoint;
    stream_request req;
    char peer[64];
    char connected_since[TIMESTAMP_LEN];
    uint64_t delivered;    /* events written to it */
    bool counted_dropping; /* in stats.clients_dropping */
    bool deflate;          /* negotiated permessage-deflate: events go compressed (deflate.h) */

    /* Set once registered. */
    bool registered;
    struct lws *wsi;
    ws_manager *mgr;
    dlist_node link; /* in ws_manager.clients */
    bus_sub *sub;
    send_queue queue;
    stream_cursor cursor; /* replay and resync owed before live events */
    bool hello_pending;
    bool ping_due;
    bool closing;
    bool close_explained;    /* the end was logged or was a clean close */
    bool writable_requested; /* lws will call back when the socket takes more */
    bool write_error;        /* a direct write failed: the next callback closes */
    dlist_node pending_link; /* in ws_manager.pending while in_pending */
    bool in_pending;
    dlist_node draining_link; /* in ws_manager.draining while in_draining */
    bool in_draining;
    lws_usec_t last_rx_us; /* last frame of any kind from the client */
    lws_usec_t last_ping_us;
    lws_usec_t write_wait_since_us; /* output waiting for the socket since; 0 = none */
    uint64_t rx_message_bytes;
    bool rx_too_large;              /* over max_message_bytes: closing at the end of the frame */
    bool too_large_close;           /* closing: the close frame says 1009, not 1001 */
    event_msg *tail;                /* a large event whose payload is still going out (its reference) */
    const unsigned char *tail_data; /* its payload: the JSON, or its compressed copy (kept by the event) */
    size_t tail_len;
    size_t tail_off;  /* payload bytes of it written */
    bool tail_suffix; /* a batch=1 array: ']' follows the payload */
} ws_client;

struct ws_manager {
    app *app;
    dlist clients;
    bool shutting_down;
    void (*on_empty)(void *ctx);
    void *on_empty_ctx;
    ticker_job sweep;              /* keep-alive for every client; on while any is connected */
    strbuf out;                    /* the next send: LWS_PRE padding, then frames */
    strbuf batch;                  /* a batch=1 array being assembled */
    struct lws_protocols protocol; /* handed to the HTTP server; .user is this manager */
    dlist pending;                 /* clients with output, written before the loop sleeps */
    dlist draining;                /* clients lws still holds inflated input for (drain_input) */
    uv_prepare_t flush;            /* runs right before the loop polls; set up with the first client */
    bool flush_ready, flush_closed;
    ws_deflater *deflater; /* made with the first permessage-deflate client */
};

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static void ws_on_restart(void *ctx);

ws_manager *ws_manager_create(app *a)
{
    ws_manager *m = xcalloc(1, sizeof *m);
    m->app = a;
    m->protocol = (struct lws_protocols){
        .name = WS_PROTOCOL_NAME,
        .callback = ws_callback,
        .per_session_data_size = sizeof(ws_client),
        .rx_buffer_size = WS_RX_BUFFER,
        /* lws sends at most this much of one write at once and copies the
         * rest aside; its default (4 KiB) would split every coalesced
         * write. */
        .tx_packet_size = 2 * WS_WRITE_CHUNK,
        .user = m,
    };
    bus_on_restart(a->bus, ws_on_restart, m);
    return m;
}

static void schedule(ws_client *c);

/* The history started over (bus_restart): every client drops what it has
 * of the old one and is told to resync. */
static void ws_on_restart(void *ctx)
{
    ws_manager *m = ctx;
    for (dlist_node *n = m->clients.head; n; n = n->next) {
        ws_client *c = DLIST_ENTRY(n, ws_client, link);
        stream_cursor_restart(&c->cursor, &c->queue);
        schedule(c);
    }
}

const struct lws_protocols *ws_manager_protocol(const ws_manager *m)
{
    return &m->protocol;
}

/* lws' own permessage-deflate negotiates and inflates what clients send;
 * it never compresses what we send, since every frame of ours is written
 * raw (LWS_WRITE_RAW passes extensions by): events are compressed once for
 * all clients instead (deflate.h). */
static const struct lws_extension ws_extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate, "permessage-deflate"},
    {NULL, NULL, NULL},
};

const struct lws_extension *ws_manager_extensions(void)
{
    return ws_extensions;
}

bool ws_route(void *ctx, const http_request *req, http_response *res)
{
    (void)ctx;
    for (int i = 0; i < WS_ENDPOINT_COUNT; i++) {
        if (strcmp(req->path, endpoint_paths[i]) == 0) {
            http_respond_error(res, 426, "%s is a WebSocket endpoint: connect with a WebSocket client", req->path);
            return true;
        }
    }
    return false;
}

void ws_manager_destroy(ws_manager *m)
{
    if (!m)
        return;
    bus_off_restart(m->app->bus, ws_on_restart, m);
    strbuf_free(&m->out);
    strbuf_free(&m->batch);
    ws_deflater_destroy(m->deflater);
    free(m);
}

void ws_manager_clients_json(const ws_manager *m, json_t *into)
{
    for (const dlist_node *n = m->clients.head; n; n = n->next) {
        const ws_client *c = DLIST_ENTRY(n, const ws_client, link);
        json_t *o = stream_client_json(endpoint_paths[c->endpoint], c->peer, &c->req, c->connected_since, c->delivered,
                                       c->queue.dropped_total);
        json_object_set_new(o, "queue_depth", json_integer((json_int_t)c->queue.len));
        json_array_append_new(into, o);
    }
}

/* ---- refusing before the upgrade ---------------------------------------- */

static int refuse(struct lws *wsi, unsigned int status, const char *why)
{
    http_refuse_upgrade(wsi, status, why);
    return -1;
}

/* The checks of an upgrade request, in order. Returns 0, or the status to
 * refuse with and the reason (static, or written to msg). */
static unsigned check_upgrade(ws_manager *m, ws_client *c, struct lws *wsi, const char *query_or_null, char *msg,
                              size_t msg_len, const char **why)
{
    char path[256];
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0) {
        *why = "WebSocket upgrade must be a GET";
        return HTTP_STATUS_BAD_REQUEST;
    }
    if (m->shutting_down) {
        *why = "mcpproxy is shutting down";
        return HTTP_STATUS_SERVICE_UNAVAILABLE;
    }
    if (!query_or_null) { /* read before the access rules, which look for ?apikey= in it */
        *why = "a query parameter is longer than 4096 bytes";
        return 414;
    }
    int status = http_server_check_access(wsi, true, true, why);
    if (status)
        return (unsigned)status;
    int endpoint = -1;
    for (int i = 0; i < WS_ENDPOINT_COUNT; i++) {
        if (strcmp(path, endpoint_paths[i]) == 0)
            endpoint = i;
    }
    if (endpoint < 0) {
        *why = "no WebSocket endpoint here: use /ws/events or /ws/servers";
        return HTTP_STATUS_NOT_FOUND;
    }
    c->endpoint = (ws_endpoint)endpoint;
    *why = stream_request_parse(&c->req, query_or_null, c->endpoint == WS_SERVERS, msg, msg_len);
    if (*why)
        return HTTP_STATUS_BAD_REQUEST;
    if (m->clients.count >= m->app->cfg.websocket.max_clients) {
        *why = "too many WebSocket clients (websocket.max_clients)";
        return HTTP_STATUS_SERVICE_UNAVAILABLE;
    }
    return 0;
}

static int ws_filter(ws_manager *m, ws_client *c, struct lws *wsi)
{
    strbuf query = {0};
    bool whole = http_request_query(wsi, &query);
    char msg[160];
    const char *why;
    unsigned status = check_upgrade(m, c, wsi, whole ? query.data : NULL, msg, sizeof msg, &why);
    strbuf_free(&query);
    if (status)
        return refuse(wsi, status, why);
    lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    return 0;
}

/* ---- queuing (called from bus_publish) --------------------------------- */

/* A client that has lost any event (a full queue, or a replay the ring had
 * overwritten) counts once in stats.clients_dropping while connected. */
static void note_losses(ws_client *c)
{
    if (c->queue.dropped_total && !c->counted_dropping) {
        c->counted_dropping = true;
        c->mgr->app->stats.clients_dropping++;
    }
}

static bool has_pending_events(const ws_client *c)
{
    return c->tail || c->hello_pending || c->cursor.resync_reason || c->queue.unreported.count ||
           stream_cursor_replaying(&c->cursor) || c->queue.len;
}

static bool has_output(const ws_client *c)
{
    return c->closing || c->ping_due || has_pending_events(c);
}

/* Asks lws for one writable callback and starts the write clock: if the
 * socket stays unwritable for write_timeout_ms, the sweep drops the client. */
static void want_write(ws_client *c)
{
    if (c->writable_requested)
        return;
    c->writable_requested = true;
    lws_callback_on_writable(c->wsi);
    c->write_wait_since_us = lws_now_usecs();
}

static void flush_client(ws_client *c);

static void ws_on_event(event_msg *msg, void *ctx)
{
    ws_client *c = ctx;
    /* A full queue first goes to the socket: a client that keeps up loses
     * nothing, however large the burst; only one whose socket is choked
     * too loses its oldest events. */
    if (c->queue.len == c->queue.budget ||
        (c->queue.budget_bytes && c->queue.bytes + msg->json_len > c->queue.budget_bytes))
        flush_client(c);
    uint64_t dropped_before = c->queue.dropped_total;
    event_msg *dropped = send_queue_push(&c->queue, msg);
    if (dropped) {
        c->mgr->app->stats.dropped += c->queue.dropped_total - dropped_before;
        note_losses(c);
        /* One warning per burst: the notice to the client carries the count. */
        if (c->queue.unreported.count == 1)
            log_kv(LOG_WARN, "WebSocket send buffer full, dropping event",
                   LOG_FIELDS(LOG_STR("event_type", event_type_name(dropped->type)), LOG_INT("seq", dropped->seq),
                              LOG_STR("peer", c->peer), LOG_INT("send_queue", c->queue.budget)));
        event_msg_unref(dropped);
    }
    schedule(c);
}

/* ---- writing ------------------------------------------------------------ */

/* Appends the header of one unmasked, final text frame (RFC 6455 5.2) of
 * `len` payload bytes to out; `compressed` sets RSV1, which marks a
 * permessage-deflate message (RFC 7692 6). */
static void append_frame_header(strbuf *out, size_t len, bool compressed)
{
    unsigned char hdr[WS_FRAME_HEADER_MAX];
    size_t n = 0;
    hdr[n++] = compressed ? 0xc1 : 0x81; /* FIN (+ RSV1) + text */
    if (len < 126) {
        hdr[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        hdr[n++] = 126;
        hdr[n++] = (unsigned char)(len >> 8);
        hdr[n++] = (unsigned char)len;
    } else {
        hdr[n++] = 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            hdr[n++] = (unsigned char)((uint64_t)len >> shift);
    }
    strbuf_append(out, hdr, n);
}

static void append_text_header(strbuf *out, size_t len)
{
    append_frame_header(out, len, false);
}

/* Appends one whole text frame to out. */
static void append_text_frame(strbuf *out, const void *payload, size_t len)
{
    append_text_header(out, len);
    strbuf_append(out, payload, len);
}

/* The payload an event goes out with to this client: its compressed copy
 * for a permessage-deflate client (when it shrinks), else its JSON. A
 * batch=1 array is assembled per client, so it goes uncompressed. */
static const unsigned char *event_payload(ws_client *c, event_msg *msg, size_t *len, bool *compressed)
{
    *compressed = false;
    if (c->deflate && !c->req.batch) {
        ws_manager *m = c->mgr;
        if (!m->deflater)
            m->deflater = ws_deflater_create();
        const unsigned char *z = ws_deflate_event(m->deflater, msg, len);
        if (z) {
            *compressed = true;
            return z;
        }
    }
    *len = msg->json_len;
    return msg->json;
}

/* A close frame (RFC 6455 5.5.1): status code, then a short reason. */
static void append_close_frame(strbuf *out, unsigned code, const char *reason)
{
    size_t reason_len = strlen(reason); /* callers pass < 124 bytes */
    unsigned char hdr[4] = {0x88 /* FIN + close */, (unsigned char)(2 + reason_len), (unsigned char)(code >> 8),
                            (unsigned char)code};
    strbuf_append(out, hdr, sizeof hdr);
    strbuf_append(out, reason, reason_len);
}

/* Appends a control message (text from stream.c, freed here). */
static void append_control(ws_manager *m, char *text)
{
    if (text)
        append_text_frame(&m->out, text, strlen(text));
    free(text);
}

/* hello, resync_required and events_dropped go before any event. */
static void append_controls(ws_client *c)
{
    ws_manager *m = c->mgr;
    bus *b = m->app->bus;
    if (c->hello_pending) {
        append_control(m, stream_hello_json(&c->cursor, b));
        c->hello_pending = false;
    }
    if (c->cursor.resync_reason) {
        append_control(m, stream_resync_json(&c->cursor, b));
        c->cursor.resync_reason = NULL;
    }
    send_drops drops;
    if (send_queue_take_drops(&c->queue, &drops)) {
        log_kv(LOG_WARN, "WebSocket client told of dropped events",
               LOG_FIELDS(LOG_INT("count", drops.count), LOG_INT("first_seq", drops.first_seq),
                          LOG_INT("last_seq", drops.last_seq), LOG_STR("peer", c->peer)));
        append_control(m, stream_dropped_json(&drops));
    }
}

/* The next event to send, replay first: a new reference, or NULL. */
static event_msg *next_event(ws_client *c)
{
    bus_filter filter = stream_request_filter(&c->req);
    event_msg *msg = stream_cursor_next(&c->cursor, c->mgr->app->bus, &filter, &c->queue);
    note_losses(c);
    return msg ? msg : send_queue_pop(&c->queue);
}

/* Gathers pending events into m->out, up to WS_WRITE_CHUNK bytes: one frame
 * each, or one array frame with batch=1. Returns how many events. */
static uint64_t append_events(ws_client *c)
{
    ws_manager *m = c->mgr;
    uint64_t n = 0;
    size_t budget_end = m->out.len + WS_WRITE_CHUNK;
    if (c->req.batch)
        m->batch.len = 0;
    event_msg *msg;
    while (m->out.len + m->batch.len < budget_end && (msg = next_event(c))) {
        size_t len;
        bool compressed;
        const unsigned char *payload = event_payload(c, msg, &len, &compressed);
        if (len > WS_WRITE_CHUNK) {
            /* A large event is not copied whole: its frame header goes now
             * (after the batch gathered so far, if any), its payload a chunk
             * per writable callback from the shared event (write_tail). */
            if (c->req.batch && n) {
                strbuf_append(&m->batch, "]", 1);
                append_text_frame(&m->out, m->batch.data, m->batch.len);
            }
            append_frame_header(&m->out, len + (c->req.batch ? 2 : 0), compressed);
            if (c->req.batch)
                strbuf_append(&m->out, "[", 1);
            c->tail = msg; /* its reference moves to the tail */
            c->tail_data = payload;
            c->tail_len = len;
            c->tail_off = 0;
            c->tail_suffix = c->req.batch;
            return n + 1;
        }
        if (c->req.batch) {
            strbuf_append(&m->batch, n ? "," : "[", 1);
            strbuf_append(&m->batch, payload, len);
        } else {
            append_frame_header(&m->out, len, compressed);
            strbuf_append(&m->out, payload, len);
        }
        event_msg_unref(msg);
        n++;
        /* A drop noticed while replaying must be told before later events. */
        if (c->queue.unreported.count)
            break;
    }
    if (c->req.batch && n) {
        strbuf_append(&m->batch, "]", 1);
        append_text_frame(&m->out, m->batch.data, m->batch.len);
    }
    return n;
}

/* The socket refused a write: the connection ends (lws closes it when the
 * writable callback returns -1). */
static int write_failed(ws_client *c)
{
    log_kv(LOG_WARN, "WebSocket write failed", LOG_FIELDS(LOG_STR("peer", c->peer)));
    c->close_explained = true;
    return -1;
}

/* The next chunk of a large event's payload (and the closing ']' of its
 * batch array): at most WS_WRITE_CHUNK bytes per callback, so what lws
 * holds for a client that does not read is bounded by one chunk, not by
 * the event. Nothing else may go out inside the frame. */
static int write_tail(ws_client *c)
{
    ws_manager *m = c->mgr;
    size_t left = c->tail_len - c->tail_off;
    size_t n = left < WS_WRITE_CHUNK ? left : WS_WRITE_CHUNK;
    m->out.len = 0;
    strbuf_reserve(&m->out, LWS_PRE + WS_WRITE_CHUNK + 1);
    m->out.len = LWS_PRE;
    strbuf_append(&m->out, c->tail_data + c->tail_off, n);
    c->tail_off += n;
    bool done = c->tail_off == c->tail_len;
    if (done && c->tail_suffix)
        strbuf_append(&m->out, "]", 1);
    size_t len = m->out.len - LWS_PRE;
    if (lws_write(c->wsi, (unsigned char *)m->out.data + LWS_PRE, len, LWS_WRITE_RAW) < (int)len)
        return write_failed(c);
    if (done) {
        event_msg_unref(c->tail);
        c->tail = NULL;
        c->tail_data = NULL;
    }
    return 0;
}

/* Writes what the client has pending, as far as one send goes: the rest of
 * a large event, or a ping, or the gathered control messages and events.
 * Returns -1 when the write failed, 1 when the close frame went out (the
 * connection ends), 0 otherwise. Called from the writable callback and,
 * before the loop sleeps, directly (flush_client). */
static int write_some(ws_client *c)
{
    ws_manager *m = c->mgr;
    if (c->tail)
        return write_tail(c);

    if (c->ping_due) {
        /* lws 4.1 reports a pong to the protocol only when it carries a
         * payload, and a pong echoes the ping's: so the ping carries one. */
        unsigned char ping[LWS_PRE + 4] = {[LWS_PRE] = 'p', 'i', 'n', 'g'};
        c->ping_due = false;
        return lws_write(c->wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0 ? write_failed(c) : 0;
    }

    /* The common case, one event and nothing else pending, goes out straight
     * from the event's own buffer: lws writes the frame header into the
     * headroom every event_msg reserves (the same bytes for every client,
     * since they depend only on the length). Not for a permessage-deflate
     * client: lws would compress the frame for it alone. */
    if (!c->req.batch && !c->deflate && !c->closing && c->queue.len == 1 && !c->hello_pending &&
        !c->cursor.resync_reason && !c->queue.unreported.count && !stream_cursor_replaying(&c->cursor) &&
        send_queue_peek(&c->queue)->json_len <= WS_WRITE_CHUNK) {
        event_msg *msg = send_queue_pop(&c->queue);
        int n = lws_write(c->wsi, msg->json, msg->json_len, LWS_WRITE_TEXT);
        event_msg_unref(msg);
        if (n < 0)
            return write_failed(c);
        c->delivered++;
        m->app->stats.delivered++;
        return 0;
    }

    /* Several complete frames leave in one send: lws passes LWS_WRITE_RAW
     * bytes through untouched (its permessage-deflate included: our frames
     * carry their own RSV1), and keeps any part the kernel did not take, in order ahead of any
     * later write, calling us again only once it has gone. */
    m->out.len = 0;
    strbuf_reserve(&m->out, LWS_PRE + WS_WRITE_CHUNK);
    m->out.len = LWS_PRE;
    append_controls(c);
    uint64_t events = append_events(c);
    /* Closing: what is pending (the Stopping event among it) goes first,
     * then the close frame, in the same send. lws 4.1 would shut the socket
     * without a close frame if we only set lws_close_reason() and returned
     * -1 here, so the frame is ours too. */
    bool close_now = c->closing && !has_pending_events(c);
    if (close_now && c->too_large_close)
        append_close_frame(&m->out, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    else if (close_now)
        append_close_frame(&m->out, LWS_CLOSE_STATUS_GOINGAWAY, "mcpproxy is shutting down");
    size_t len = m->out.len - LWS_PRE;
    if (len && lws_write(c->wsi, (unsigned char *)m->out.data + LWS_PRE, len, LWS_WRITE_RAW) < (int)len)
        return write_failed(c);
    c->delivered += events;
    m->app->stats.delivered += events;
    return close_now ? 1 : 0;
}

/* The writable callback: lws has sent what it held back, so the socket
 * takes more. */
static int ws_write(ws_client *c)
{
    c->writable_requested = false;
    c->write_wait_since_us = 0;
    if (c->write_error)
        return -1; /* a direct write failed: end the connection from here */
    int rc = write_some(c);
    if (rc != 0)
        return -1;
    if (has_output(c))
        want_write(c);
    return 0;
}

/* Before the loop sleeps: everything the client has pending goes straight
 * to its socket, with no writable callback and so no change of poll
 * interest, until the kernel takes less than was written (lws keeps the
 * rest and asks for the callback itself) or nothing is left. A closing
 * client goes through the callback, which can end the connection. */
static void flush_client(ws_client *c)
{
    if (c->closing || c->writable_requested || c->write_error) {
        if (has_output(c))
            want_write(c);
        return;
    }
    while (has_output(c)) {
        if (write_some(c) != 0) {
            c->write_error = true; /* the callback closes the connection */
            want_write(c);
            return;
        }
        if (lws_partial_buffered(c->wsi)) {
            want_write(c);
            return;
        }
    }
}

/* lws 4.1 inflates a compressed client message a receive buffer at a time,
 * and on a libuv loop it serves the rest only when the socket next has
 * something to read (its idle handler forces one step, then stops): a
 * message larger than the buffer would wait for the client's next frame,
 * a pong perhaps a minute away. So the client's socket is served again
 * here, as lws' own poll callback would, until lws has handed over all of
 * it. The client may be closed (and freed) inside lws_service_fd(). */
static void drain_input(ws_manager *m)
{
    while (m->draining.head) {
        ws_client *c = DLIST_ENTRY(m->draining.head, ws_client, draining_link);
        dlist_remove(&m->draining, &c->draining_link);
        c->in_draining = false;
        struct lws_pollfd pfd = {.fd = lws_get_socket_fd(c->wsi), .events = LWS_POLLIN, .revents = LWS_POLLIN};
        lws_service_fd(lws_get_context(c->wsi), &pfd);
    }
}

static void flush_pending(uv_prepare_t *h)
{
    ws_manager *m = h->data;
    drain_input(m);
    while (m->pending.head) {
        ws_client *c = DLIST_ENTRY(m->pending.head, ws_client, pending_link);
        dlist_remove(&m->pending, &c->pending_link);
        c->in_pending = false;
        flush_client(c);
    }
    uv_prepare_stop(h);
}

/* New output for a client: written before the loop next sleeps, together
 * with whatever else arrives for it in this turn. */
static void schedule(ws_client *c)
{
    ws_manager *m = c->mgr;
    if (c->in_pending || c->writable_requested)
        return; /* already due, or lws calls back when the socket takes more */
    c->in_pending = true;
    dlist_push_front(&m->pending, &c->pending_link);
    if (m->pending.count == 1 && !m->flush_closed)
        uv_prepare_start(&m->flush, flush_pending);
}

/* lws has more of a compressed message for this client: served before the
 * loop sleeps (drain_input). */
static void schedule_drain(ws_client *c)
{
    ws_manager *m = c->mgr;
    if (c->in_draining || m->flush_closed)
        return;
    c->in_draining = true;
    dlist_push_front(&m->draining, &c->draining_link);
    uv_prepare_start(&m->flush, flush_pending);
}

/* ---- keep-alive timers -------------------------------------------------- */

static void kill_client(ws_client *c, const char *reason)
{
    c->close_explained = true;
    log_kv(LOG_INFO, "WebSocket client closed", LOG_FIELDS(LOG_STR("reason", reason), LOG_STR("peer", c->peer)));
    /* The peer is silent or not reading: a close handshake would only wait
     * for it, so the connection is dropped at once (async, outside lws' own
     * call stack). */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Every client's keep-alive clocks, checked in one pass. A check can come
 * up to one period late, so the period is a quarter of the shortest
 * setting, kept between 10 ms and 1 s. */
static uint64_t ws_sweep_period_ms(const ws_settings *ws)
{
    uint32_t shortest = ws->ping_interval_ms;
    if (ws->pong_timeout_ms < shortest)
        shortest = ws->pong_timeout_ms;
    if (ws->write_timeout_ms < shortest)
        shortest = ws->write_timeout_ms;
    uint32_t ms = shortest / 4;
    return ms < 10 ? 10 : ms > 1000 ? 1000 : ms;
}

static void ws_sweep(ticker_job *job)
{
    ws_manager *m = CONTAINER_OF(job, ws_manager, sweep);
    const ws_settings *ws = &m->app->cfg.websocket;
    lws_usec_t now = lws_now_usecs();
    for (dlist_node *n = m->clients.head; n; n = n->next) {
        ws_client *c = DLIST_ENTRY(n, ws_client, link);
        if (c->close_explained)
            continue; /* already being dropped */
        if (c->write_wait_since_us && now - c->write_wait_since_us >= (lws_usec_t)ws->write_timeout_ms * 1000) {
            kill_client(c, "write timeout");
        } else if (now - c->last_rx_us >= (lws_usec_t)ws->pong_timeout_ms * 1000) {
            kill_client(c, "pong timeout");
        } else if (now - c->last_ping_us >= (lws_usec_t)ws->ping_interval_ms * 1000) {
            c->last_ping_us = now;
            c->ping_due = true;
            want_write(c);
        }
    }
}

/* ---- registration ------------------------------------------------------- */

static int ws_register(ws_manager *m, ws_client *c, struct lws *wsi)
{
    const ws_settings *ws = &m->app->cfg.websocket;
    c->wsi = wsi;
    c->mgr = m;
    timestamp_now(c->connected_since);
    conn_note_upgrade(wsi);
    send_queue_init(&c->queue, ws->send_queue);
    send_queue_limit_bytes(&c->queue, ws->send_queue_bytes);
    bus_filter filter = stream_request_filter(&c->req);
    c->sub = bus_subscribe(m->app->bus, &filter, ws_on_event, c);
    c->registered = true;
    dlist_push_front(&m->clients, &c->link);
    m->app->stats.clients[endpoint_stats[c->endpoint]]++;

    c->hello_pending = true;
    stream_cursor_plan(&c->cursor, &c->req, m->app->bus);
    c->last_rx_us = c->last_ping_us = lws_now_usecs();
    if (m->clients.count == 1)
        ticker_job_start(m->app->ticker, &m->sweep, ws_sweep_period_ms(ws), ws_sweep);
    log_kv(LOG_INFO, "WebSocket client registered",
           LOG_FIELDS(LOG_INT("total_clients", m->clients.count), LOG_STR("endpoint", endpoint_paths[c->endpoint]),
                      LOG_STR("server", c->req.server[0] ? c->req.server : NULL), LOG_STR("peer", c->peer)));
    if (!m->flush_ready) {
        uv_prepare_init(m->app->loop, &m->flush);
        m->flush.data = m;
        uv_unref((uv_handle_t *)&m->flush); /* never the reason the loop stays up */
        m->flush_ready = true;
    }
    schedule(c);
    return 0;
}

static void ws_unregister(ws_manager *m, ws_client *c)
{
    if (!c->registered)
        return;
    c->registered = false;
    /* lws reports socket errors only as a close: one without a close frame
     * and not of our making is logged as a read error. */
    if (!c->close_explained && !c->closing)
        log_kv(LOG_WARN, "WebSocket read error",
               LOG_FIELDS(LOG_STR("error", "connection ended without a close frame"), LOG_STR("peer", c->peer)));
    bus_unsubscribe(m->app->bus, c->sub);
    c->sub = NULL;
    send_queue_free(&c->queue);
    event_msg_unref(c->tail);
    c->tail = NULL;
    if (c->in_pending) {
        dlist_remove(&m->pending, &c->pending_link);
        c->in_pending = false;
    }
    if (c->in_draining) {
        dlist_remove(&m->draining, &c->draining_link);
        c->in_draining = false;
    }
    dlist_remove(&m->clients, &c->link);
    m->app->stats.clients[endpoint_stats[c->endpoint]]--;
    if (c->counted_dropping)
        m->app->stats.clients_dropping--;
    if (m->clients.count == 0)
        ticker_job_stop(m->app->ticker, &m->sweep);
    log_kv(LOG_INFO, "WebSocket client unregistered",
           LOG_FIELDS(LOG_INT("total_clients", m->clients.count), LOG_STR("endpoint", endpoint_paths[c->endpoint]),
                      LOG_STR("peer", c->peer)));
    if (m->shutting_down && m->clients.count == 0 && m->on_empty) {
        void (*done)(void *) = m->on_empty;
        m->on_empty = NULL;
        done(m->on_empty_ctx);
    }
}

/* ---- reading ------------------------------------------------------------ */

/* Client messages carry nothing we act on; they prove the client is alive,
 * and one larger than max_message_bytes (counted across fragments, and
 * after inflating a compressed one) closes the connection with 1009. The
 * close waits for the end of the frame under way when the rest of it is no
 * larger than the limit: closing a socket with unread bytes makes the
 * kernel reset it, which discards the close frame before the client reads
 * it. A frame that announces more than that is cut at once, and so is one
 * that inflates past twice the limit while we wait (a compressed frame
 * within the limit can inflate a thousandfold). */
static int ws_receive(ws_manager *m, ws_client *c, size_t len)
{
    c->last_rx_us = lws_now_usecs();
    uint32_t max = m->app->cfg.websocket.max_message_bytes;
    size_t rest = lws_remaining_packet_payload(c->wsi);
    c->rx_message_bytes += len;
    if (!c->rx_too_large && c->rx_message_bytes <= max) {
        if (rest == 0 && lws_is_final_fragment(c->wsi))
            c->rx_message_bytes = 0;
        else if (rest == 0 && c->deflate)
            schedule_drain(c); /* the frame is read; lws may hold more of it inflated */
        return 0;
    }
    if (!c->rx_too_large) {
        log_kv(LOG_WARN, "WebSocket client message too large",
               LOG_FIELDS(LOG_INT("bytes", c->rx_message_bytes), LOG_INT("max_message_bytes", max),
                          LOG_STR("peer", c->peer)));
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"message too large", 17);
        c->close_explained = true;
        c->rx_too_large = true;
    }
    if (rest > 0 && rest <= max && c->rx_message_bytes <= 2 * (uint64_t)max)
        return 0; /* read the rest of the frame first */
    /* lws 4.1 drops this -1 while it is still inflating a compressed frame
     * (its drain path ignores the callback's answer), so the close frame is
     * also ours: written from the writable callback, which then ends the
     * connection. The frame has been read by then (no reset). */
    if (!c->closing) {
        c->closing = true;
        c->too_large_close = true;
        want_write(c);
    }
    return -1;
}

/* RFC 6455 7.4: the codes a close frame may carry (1005, 1006 and 1015
 * are for reporting only; 1016-2999 are reserved for the protocol). */
static bool close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* Whether lws may turn on the extension `name` for this client. Our
 * compressed events use the largest window (deflate.c), so an offer that
 * limits the server's window is declined, as RFC 7692 7.1.2.1 asks of a
 * server that does not honour it: the client then gets plain frames. */
static int ws_confirm_extension(ws_client *c, struct lws *wsi, const char *name)
{
    char offer[256];
    if (!c || strcmp(name, "permessage-deflate") != 0)
        return 1;
    if (lws_hdr_copy(wsi, offer, sizeof offer, WSI_TOKEN_EXTENSIONS) < 0 || strstr(offer, "server_max_window_bits"))
        return 1;
    c->deflate = true;
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    ws_client *c = user;
    const struct lws_protocols *protocol = lws_get_protocol(wsi);
    ws_manager *m = protocol ? protocol->user : NULL;

    if (conn_takes(reason))
        return http_server_connection_event(wsi, reason, in);
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return c && m ? ws_filter(m, c, wsi) : -1;
    case LWS_CALLBACK_CONFIRM_EXTENSION_OKAY:
        return ws_confirm_extension(c, wsi, in);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_register(m, c, wsi);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c->registered ? ws_write(c) : 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(m, c, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        c->last_rx_us = lws_now_usecs();
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        c->close_explained = true;
        unsigned int code = len >= 2 ? ((unsigned char *)in)[0] << 8 | ((unsigned char *)in)[1] : 1005;
        log_kv(LOG_DEBUG, "WebSocket client closing", LOG_FIELDS(LOG_INT("code", code), LOG_STR("peer", c->peer)));
        if (len == 1 || (len >= 2 && !close_code_valid(code))) {
            /* lws would echo the payload as it came: answer 1002 instead. */
            static const char why[] = "invalid close frame";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)why, sizeof why - 1);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        ws_unregister(m, c);
        return 0;
    default:
        return 0;
    }
}

void ws_manager_close(ws_manager *m, void (*done)(void *ctx), void *ctx)
{
    m->shutting_down = true;
    /* Closing clients write through the callback, which can end them. */
    while (m->pending.head) {
        ws_client *c = DLIST_ENTRY(m->pending.head, ws_client, pending_link);
        dlist_remove(&m->pending, &c->pending_link);
        c->in_pending = false;
    }
    if (m->flush_ready && !m->flush_closed) {
        m->flush_closed = true;
        uv_close((uv_handle_t *)&m->flush, NULL);
    }
    if (m->clients.count == 0) {
        done(ctx);
        return;
    }
    m->on_empty = done;
    m->on_empty_ctx = ctx;
    for (dlist_node *n = m->clients.head; n; n = n->next) {
        ws_client *c = DLIST_ENTRY(n, ws_client, link);
        c->closing = true;
        want_write(c);
    }
}
