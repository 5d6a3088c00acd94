/* http_pending.c - deferred and streamed HTTP responses (see http_pending.h).
 *
 * The handle queues what the owner says (a whole body, or stream chunks) in
 * `out`; the connection's writable callback drains it, one lws_write per
 * callback, and asks for another callback while anything is left. */
#include "http/http_pending.h"

#include <ctype.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_WRITE_CHUNK (16 * 1024)

struct http_pending {
    struct lws *wsi; /* NULL once the connection is done with the handle */
    void (*on_gone)(void *ctx);
    void *ctx;
    bool owner_done;   /* the owner has let go */
    bool gone;         /* the client went away (on_gone fired) */
    bool drop;         /* released unanswered: close the connection */
    bool started;      /* status and headers are fixed */
    bool streaming;    /* chunked, of unknown length */
    bool ending;       /* complete once `out` is drained */
    bool headers_sent;
    int status;
    char content_type[128];
    size_t content_length; /* of a whole (non-streamed) body */
    http_header extra[HTTP_MAX_EXTRA_HEADERS];
    size_t n_extra;
    strbuf out;  /* bytes still to write, from `sent` on */
    size_t sent;
};

/* One shared staging buffer: lws wants LWS_PRE bytes of headroom in front of
 * what it writes, and copies whatever it cannot send at once. */
static unsigned char write_buf[LWS_PRE + PENDING_WRITE_CHUNK];

static void pending_free(http_pending *p)
{
    strbuf_free(&p->out);
    free(p);
}

http_pending *http_respond_later(const http_request *req, void (*on_gone)(void *ctx), void *ctx)
{
    struct lws *wsi = req->conn;
    http_pending *p = xcalloc(1, sizeof *p);
    p->wsi = wsi;
    p->on_gone = on_gone;
    p->ctx = ctx;
    *http_server_pending_slot(wsi) = p;
    /* The owner bounds the wait (an upstream timeout, a session's life);
     * lws' own idle timeouts would cut a slow tool call or an open stream. */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    return p;
}

bool http_pending_add_header(http_pending *p, const char *name, const char *value)
{
    return !p->started && http_headers_add(p->extra, &p->n_extra, name, value);
}

bool http_pending_gone(const http_pending *p)
{
    return p->gone;
}

static void start(http_pending *p, int status, const char *content_type)
{
    p->started = true;
    p->status = status;
    snprintf(p->content_type, sizeof p->content_type, "%s", content_type ? content_type : "application/octet-stream");
}

void http_pending_finish(http_pending *p, int status, const char *content_type, const void *body, size_t len)
{
    p->owner_done = true;
    if (!p->wsi || p->started) { /* gone, or misuse: nothing more to send */
        if (!p->wsi)
            pending_free(p);
        return;
    }
    start(p, status, content_type);
    p->content_length = len;
    p->ending = true;
    if (len && !strbuf_append(&p->out, body, len)) {
        p->drop = true;
        p->content_length = 0;
    }
    lws_callback_on_writable(p->wsi);
}

void http_stream_begin(http_pending *p, int status, const char *content_type)
{
    if (!p->wsi || p->started)
        return;
    start(p, status, content_type);
    p->streaming = true;
    lws_callback_on_writable(p->wsi);
}

size_t http_stream_write(http_pending *p, const void *bytes, size_t len)
{
    if (!p->wsi || !p->streaming || p->ending)
        return 0;
    if (len) {
        /* Chunked framing: hex size, CRLF, bytes, CRLF. */
        if (!strbuf_appendf(&p->out, "%zx\r\n", len) || !strbuf_append(&p->out, bytes, len) ||
            !strbuf_append(&p->out, "\r\n", 2)) {
            p->drop = true; /* the stream is corrupt now; better closed */
        }
        lws_callback_on_writable(p->wsi);
    }
    return p->out.len - p->sent;
}

void http_stream_end(http_pending *p)
{
    p->owner_done = true;
    if (!p->wsi) {
        pending_free(p);
        return;
    }
    if (!p->streaming) { /* never begun: nothing coherent to send */
        p->drop = true;
    } else {
        p->ending = true;
        if (!strbuf_append(&p->out, "0\r\n\r\n", 5))
            p->drop = true;
    }
    lws_callback_on_writable(p->wsi);
}

void http_pending_release(http_pending *p)
{
    p->owner_done = true;
    if (!p->wsi) {
        pending_free(p);
        return;
    }
    if (!p->ending) {
        p->drop = true;
        lws_callback_on_writable(p->wsi);
    }
}

int http_add_extra_headers(struct lws *wsi, const http_header *headers, size_t n, unsigned char **p,
                           unsigned char *end)
{
    for (size_t i = 0; i < n; i++) {
        char name[sizeof headers[i].name + 1];
        size_t len = strlen(headers[i].name);
        for (size_t k = 0; k < len; k++)
            name[k] = (char)tolower((unsigned char)headers[i].name[k]);
        name[len] = ':';
        name[len + 1] = '\0';
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)headers[i].value,
                                        (int)strlen(headers[i].value), p, end))
            return 1;
    }
    return 0;
}

static int write_head(http_pending *p, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *q = start, *end = buf + sizeof buf - 1;
    lws_filepos_t length = p->streaming ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t)p->content_length;
    if (lws_add_http_common_headers(wsi, (unsigned)p->status, p->content_type, length, &q, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store",
                                    8, &q, end))
        return -1;
    if (p->streaming && lws_add_http_header_by_name(wsi, (const unsigned char *)"transfer-encoding:",
                                                    (const unsigned char *)"chunked", 7, &q, end))
        return -1;
    if (http_add_extra_headers(wsi, p->extra, p->n_extra, &q, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &q, end) ? -1 : 0;
}

int http_pending_on_writable(http_pending *p, struct lws *wsi)
{
    if (p->drop)
        return -1;
    if (!p->started)
        return 0; /* a stray callback: nothing to say yet */
    if (!p->headers_sent) {
        if (write_head(p, wsi))
            return -1;
        p->headers_sent = true;
    } else if (p->sent < p->out.len) {
        size_t left = p->out.len - p->sent;
        size_t n = left < PENDING_WRITE_CHUNK ? left : PENDING_WRITE_CHUNK;
        memcpy(write_buf + LWS_PRE, p->out.data + p->sent, n);
        bool last = p->ending && !p->streaming && n == left;
        if (lws_write(wsi, write_buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
            return -1;
        p->sent += n;
        if (p->sent == p->out.len)
            p->sent = p->out.len = 0; /* keep the storage for the next chunks */
    }
    if (p->sent < p->out.len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!p->ending)
        return 0; /* a stream waiting for more */
    /* Complete: the connection lets go. The owner let go when it ended. */
    p->wsi = NULL;
    pending_free(p);
    return 1;
}

void http_pending_on_closed(http_pending *p)
{
    p->wsi = NULL;
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
