/* exchange.c - one path for every HTTP answer (see exchange.h).
 *
 * The handle queues what the owner says (a whole body, or stream chunks) in
 * `out`; the connection's writable callback drains it, one lws_write per
 * callback, and asks for another callback while anything is left. An
 * immediate answer is a handle finished at once, its body moved in. */
#include "http/exchange.h"

#include "core/json_write.h"
#include "core/log.h"
#include "core/utf8.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_CHUNK (16 * 1024)
#define HEAD_ROOM 2048            /* a status line and headers always fit (build_head fails otherwise) */
#define HTTP_UPGRADE_REQUIRED 426 /* lws names no constant for it */

struct http_pending {
    http_slot *slot; /* NULL once the connection is done with the handle */
    void (*on_gone)(void *ctx);
    void *ctx;
    bool owner_done;  /* the owner has let go */
    bool gone;        /* the client went away (on_gone fired) */
    bool drop;        /* released unanswered: close the connection */
    bool started;     /* status and headers are fixed */
    bool streaming;   /* chunked, of unknown length */
    bool ending;      /* complete once `out` is drained */
    bool head_only;   /* HEAD: the headers say the length, no body follows */
    bool close_after; /* close the connection once the answer is out */
    bool headers_sent;
    int status;
    char content_type[128];
    size_t content_length; /* of a whole (non-streamed) body */
    /* Made at the first header added: most answers (every /mcp call's)
     * add none, and a handle 1.5 KiB larger is an allocation glibc treats
     * as large (it sorts all its free small chunks first), once per request. */
    http_header *extra;
    size_t n_extra;
    strbuf out; /* bytes still to write, from `sent` on */
    size_t sent;
    lws_usec_t waiting_since_us; /* `out` has been waiting for the socket since; 0 = drained */
};

/* One shared staging buffer: lws wants LWS_PRE bytes of headroom in front of
 * what it writes, and copies whatever it cannot send at once. */
static unsigned char write_buf[LWS_PRE + HEAD_ROOM + WRITE_CHUNK];

/* ---- immediate responses ------------------------------------------------ */

static bool headers_add(http_header *headers, size_t *n, const char *name, const char *value)
{
    if (*n >= HTTP_MAX_EXTRA_HEADERS || strlen(name) >= sizeof headers[0].name ||
        strlen(value) >= sizeof headers[0].value)
        return false;
    http_header *h = &headers[(*n)++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
    return true;
}

bool http_response_add_header(http_response *res, const char *name, const char *value)
{
    return headers_add(res->extra, &res->n_extra, name, value);
}

void http_respond_bytes(http_response *res, int status, const char *content_type, const void *bytes, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    res->body.len = 0;
    strbuf_append(&res->body, bytes, len);
}

void http_respond_json(http_response *res, int status, json_t *body)
{
    assert(body); /* every caller builds one; allocation failure aborts first */
    res->status = status;
    res->content_type = "application/json";
    res->body.len = 0;
    json_write(&res->body, body); /* straight into the body: no text of its own */
    json_decref(body);
}

void http_respond_error(http_response *res, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_respond_json(res, status, json_pack("{s:o}", "error", json_string_lossy(msg, strlen(msg))));
}

void http_respond_not_allowed(http_response *res, const char *allow)
{
    http_respond_error(res, 405, "method not allowed; use %s", allow);
    res->allow = allow;
}

json_t *http_parse_json_body(const http_request *req, http_response *res)
{
    if (req->body_len == 0) {
        http_respond_error(res, 400, "request body is empty: send JSON with Content-Type: application/json");
        return NULL;
    }
    json_error_t err;
    json_t *json = json_loadb(req->body, req->body_len, 0, &err);
    if (!json)
        http_respond_error(res, 400, "invalid JSON at line %d, column %d: %s", err.line, err.column, err.text);
    return json;
}

/* ---- the handle --------------------------------------------------------- */

static void pending_free(http_pending *p)
{
    strbuf_free(&p->out);
    free(p->extra);
    free(p);
}

static bool pending_add_header(http_pending *p, const char *name, const char *value)
{
    if (!p->extra)
        p->extra = xcalloc(HTTP_MAX_EXTRA_HEADERS, sizeof *p->extra);
    return headers_add(p->extra, &p->n_extra, name, value);
}

static void want_write(http_pending *p)
{
    if (!p->waiting_since_us && p->out.len > p->sent)
        p->waiting_since_us = lws_now_usecs();
    lws_callback_on_writable(p->slot->wsi);
}

static http_pending *attach(http_slot *slot, void (*on_gone)(void *ctx), void *ctx)
{
    assert(!slot->pending);
    http_pending *p = xcalloc(1, sizeof *p);
    p->slot = slot;
    p->on_gone = on_gone;
    p->ctx = ctx;
    slot->pending = p;
    return p;
}

http_pending *http_respond_later(const http_request *req, void (*on_gone)(void *ctx), void *ctx)
{
    http_pending *p = attach(req->slot, on_gone, ctx);
    /* The owner bounds the wait (an upstream timeout, a session's life);
     * lws' own idle timeouts would cut a slow tool call or an open stream. */
    lws_set_timeout(req->slot->wsi, NO_PENDING_TIMEOUT, 0);
    return p;
}

bool http_pending_add_header(http_pending *p, const char *name, const char *value)
{
    return !p->started && pending_add_header(p, name, value);
}

void http_pending_abort(http_pending *p)
{
    p->owner_done = true;
    if (!p->slot) {
        pending_free(p);
        return;
    }
    /* Closing runs the connection's close callbacks now, which free p. */
    lws_set_timeout(p->slot->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

bool http_pending_gone(const http_pending *p)
{
    return p->gone;
}

uint64_t http_stream_stalled_ms(const http_pending *p)
{
    return p->waiting_since_us ? (uint64_t)(lws_now_usecs() - p->waiting_since_us) / 1000 : 0;
}

static void start(http_pending *p, int status, const char *content_type)
{
    p->started = true;
    p->status = status;
    const char *type = content_type ? content_type : "application/octet-stream";
    copy_text(p->content_type, sizeof p->content_type, type, strlen(type));
}

/* Writes a finished answer now when nothing stands before it on the
 * connection (see http_pending_finish). False: it waits for the writable
 * callback as usual. */
static bool write_now(http_pending *p)
{
    http_slot *slot = p->slot;
    if (!slot->on_written || lws_partial_buffered(slot->wsi))
        return false;
    int done = http_exchange_on_writable(slot);
    if (done != 0) /* p is freed: the request is over */
        slot->on_written(slot, done);
    /* 0: more than one write's worth; the rest follows on writable callbacks. */
    return true;
}

void http_pending_finish(http_pending *p, int status, const char *content_type, const void *body, size_t len)
{
    p->owner_done = true;
    if (!p->slot || p->started) { /* gone, or misuse: nothing more to send */
        if (!p->slot)
            pending_free(p);
        return;
    }
    start(p, status, content_type);
    p->content_length = len;
    p->ending = true;
    strbuf_append(&p->out, body, len);
    if (!write_now(p))
        want_write(p);
}

void http_exchange_answer(http_slot *slot, http_response *res, bool head_only, bool close_after)
{
    http_pending *p = attach(slot, NULL, NULL);
    p->owner_done = true;
    start(p, res->status, res->content_type);
    p->head_only = head_only;
    p->close_after = close_after;
    p->ending = true;
    p->content_length = res->body.len;
    if (!head_only) {
        p->out = res->body; /* moved: no copy of the body */
        res->body = (strbuf){0};
    }
    pending_add_header(p, "cache-control", res->cache_control ? res->cache_control : "no-store");
    if (res->allow)
        pending_add_header(p, "allow", res->allow);
    if (res->status == HTTP_UPGRADE_REQUIRED)
        pending_add_header(p, "upgrade", "websocket");
    for (size_t i = 0; i < res->n_extra; i++)
        pending_add_header(p, res->extra[i].name, res->extra[i].value);
    want_write(p);
}

void http_stream_begin(http_pending *p, int status, const char *content_type)
{
    if (!p->slot || p->started)
        return;
    start(p, status, content_type);
    p->streaming = true;
    want_write(p);
}

size_t http_stream_write(http_pending *p, const void *bytes, size_t len)
{
    if (!p->slot || !p->streaming || p->ending)
        return 0;
    if (len) {
        /* Chunked framing: hex size, CRLF, bytes, CRLF. */
        strbuf_appendf(&p->out, "%zx\r\n", len);
        strbuf_append(&p->out, bytes, len);
        strbuf_append(&p->out, "\r\n", 2);
        want_write(p);
    }
    return p->out.len - p->sent;
}

size_t http_stream_sse(http_pending *p, const char *event, uint64_t id, const char *data, size_t len)
{
    if (!p->slot || !p->streaming || p->ending)
        return 0;
    char head[160];
    int n = 0;
    if (event)
        n += snprintf(head + n, sizeof head - (size_t)n, "event: %.60s\n", event);
    if (id)
        n += snprintf(head + n, sizeof head - (size_t)n, "id: %" PRIu64 "\n", id);
    n += snprintf(head + n, sizeof head - (size_t)n, "data: ");
    /* Chunked framing around the message: hex size, CRLF, bytes, CRLF. */
    strbuf_appendf(&p->out, "%zx\r\n%s", (size_t)n + len + 2, head);
    strbuf_append(&p->out, data, len);
    strbuf_append(&p->out, "\n\n\r\n", 4);
    want_write(p);
    return p->out.len - p->sent;
}

size_t http_stream_sse_comment(http_pending *p, const char *text)
{
    char line[128];
    int n = snprintf(line, sizeof line, ": %.120s\n\n", text);
    return http_stream_write(p, line, (size_t)n);
}

void http_stream_end(http_pending *p)
{
    p->owner_done = true;
    if (!p->slot) {
        pending_free(p);
        return;
    }
    if (!p->streaming) { /* never begun: nothing coherent to send */
        p->drop = true;
    } else {
        p->ending = true;
        strbuf_append(&p->out, "0\r\n\r\n", 5);
    }
    want_write(p);
}

void http_pending_release(http_pending *p)
{
    p->owner_done = true;
    if (!p->slot) {
        pending_free(p);
        return;
    }
    if (!p->ending) {
        p->drop = true;
        want_write(p);
    }
}

/* ---- writing ------------------------------------------------------------ */

/* Every status line and header block of the server is built here (the
 * upgrade refusal included). `length` is LWS_ILLEGAL_HTTP_CONTENT_LEN for a
 * chunked stream. Returns nonzero when the headers do not fit. */
static int build_head(struct lws *wsi, unsigned status, const char *content_type, lws_filepos_t length,
                      const http_header *extra, size_t n_extra, unsigned char **q, unsigned char *end)
{
    if (lws_add_http_common_headers(wsi, status, content_type, length, q, end))
        return 1;
    if (length == LWS_ILLEGAL_HTTP_CONTENT_LEN &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"transfer-encoding:", (const unsigned char *)"chunked",
                                    7, q, end))
        return 1;
    for (size_t i = 0; i < n_extra; i++) {
        char name[sizeof extra[i].name + 1];
        size_t len = strlen(extra[i].name);
        for (size_t k = 0; k < len; k++)
            name[k] = (char)tolower((unsigned char)extra[i].name[k]);
        name[len] = ':';
        name[len + 1] = '\0';
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)extra[i].value,
                                        (int)strlen(extra[i].value), q, end))
            return 1;
    }
    return lws_finalize_http_header(wsi, q, end);
}

/* The status line and headers, and with them the whole body when it is all
 * queued and fits: a small answer leaves in one send, as
 * lws_return_http_status() sends its page, rather than in two sends a
 * writable callback apart. */
static int write_head(http_pending *p, struct lws *wsi)
{
    unsigned char *start = write_buf + LWS_PRE, *q = start, *end = write_buf + sizeof write_buf - 1;
    lws_filepos_t length = p->streaming ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t)p->content_length;
    if (build_head(wsi, (unsigned)p->status, p->content_type, length, p->extra, p->n_extra, &q, end))
        return -1;
    size_t body = p->out.len - p->sent;
    if (!p->streaming && p->ending && body && body <= (size_t)(end - q)) {
        memcpy(q, p->out.data + p->sent, body);
        q += body;
        p->sent = p->out.len = 0;
        p->waiting_since_us = 0;
    }
    return lws_write(wsi, start, (size_t)(q - start), LWS_WRITE_HTTP_HEADERS) < (int)(q - start) ? -1 : 0;
}

/* The one body writer: the next chunk of `out`. */
static int write_body(http_pending *p, struct lws *wsi)
{
    size_t left = p->out.len - p->sent;
    size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
    memcpy(write_buf + LWS_PRE, p->out.data + p->sent, n);
    bool last = p->ending && !p->streaming && n == left;
    if (lws_write(wsi, write_buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    p->sent += n;
    /* Progress: the wait starts over. */
    p->waiting_since_us = p->sent == p->out.len ? 0 : lws_now_usecs();
    if (p->sent == p->out.len)
        p->sent = p->out.len = 0; /* keep the storage for the next chunks */
    return 0;
}

int http_exchange_on_writable(http_slot *slot)
{
    http_pending *p = slot->pending;
    struct lws *wsi = slot->wsi;
    if (p->drop)
        return -1;
    if (!p->started)
        return 0; /* a stray callback: nothing to say yet */
    if (!p->headers_sent) {
        if (write_head(p, wsi))
            return -1;
        p->headers_sent = true;
    } else if (p->sent < p->out.len && write_body(p, wsi)) {
        return -1;
    }
    if (p->sent < p->out.len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!p->ending)
        return 0; /* a stream waiting for more */
    /* Complete: the connection lets go. The owner let go when it ended. */
    bool close_after = p->close_after;
    slot->pending = NULL;
    pending_free(p);
    return close_after ? -1 : 1;
}

void http_exchange_on_closed(http_slot *slot)
{
    http_pending *p = slot->pending;
    if (!p)
        return;
    slot->pending = NULL;
    p->slot = NULL;
    if (p->owner_done) {
        pending_free(p);
        return;
    }
    if (!p->gone) {
        p->gone = true;
        if (p->on_gone)
            p->on_gone(p->ctx);
    }
}

void http_refuse_upgrade(struct lws *wsi, unsigned status, const char *why)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    log_kv(LOG_WARN, "WebSocket upgrade refused",
           LOG_FIELDS(LOG_INT("status", status), LOG_STR("reason", why), LOG_STR("peer", peer)));
    json_t *obj = json_pack("{s:s}", "error", why);
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t body_len = strlen(body);
    http_header extra[HTTP_MAX_EXTRA_HEADERS];
    size_t n_extra = 0;
    if (status == HTTP_UPGRADE_REQUIRED) /* RFC 6455 4.4: say which version we speak */
        headers_add(extra, &n_extra, "sec-websocket-version", "13");
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *q = start, *end = buf + sizeof buf - 1;
    /* Headers and body leave in one write, as lws_return_http_status() does
     * for its HTML page: this request is answered and then closed. */
    if (!build_head(wsi, status, "application/json", body_len, extra, n_extra, &q, end) &&
        (size_t)(end - q) > body_len) {
        memcpy(q, body, body_len);
        q += body_len;
        lws_write(wsi, start, (size_t)(q - start), LWS_WRITE_HTTP_HEADERS);
    }
    free(body);
}
