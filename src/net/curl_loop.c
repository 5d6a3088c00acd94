/* curl_loop.c - libcurl's multi interface driven by libuv (curl_loop.h). */
#include "net/curl_loop.h"

#include "core/dlist.h"
#include "core/log.h"
#include "core/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* One watched socket. Freed in its poll handle's close callback. */
typedef struct sock_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    curl_loop *cl;
    dlist_node node;
} sock_watch;

struct curl_xfer {
    curl_loop *cl;
    CURL *easy;
    struct curl_slist *headers;
    curl_xfer_callbacks cbs;
    void *ctx;
    bool added;     /* in the multi handle */
    bool cancelled; /* no more callbacks; freed when libcurl lets go */
    bool deferred;  /* on the deferred list */
    struct curl_xfer *next_deferred;
    dlist_node node;
    char errbuf[CURL_ERROR_SIZE];
};

struct curl_loop {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    dlist watches;
    dlist xfers;
    /* Inside curl_multi_socket_action: libcurl refuses adds and removes
     * from its callbacks (CURLM_RECURSIVE_API_CALL), so they wait here. */
    int depth;
    curl_xfer *deferred, **deferred_tail;
    bool closing;
    int open_handles;
    void (*done)(void *ctx);
    void *done_ctx;
};

static void xfer_free(curl_xfer *x)
{
    curl_loop *cl = x->cl;
    if (x->added)
        curl_multi_remove_handle(cl->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    dlist_remove(&cl->xfers, &x->node);
    free(x);
}

static void defer(curl_xfer *x)
{
    if (x->deferred)
        return;
    x->deferred = true;
    x->next_deferred = NULL;
    *x->cl->deferred_tail = x;
    x->cl->deferred_tail = &x->next_deferred;
}

static void add_now(curl_xfer *x)
{
    CURLMcode rc = curl_multi_add_handle(x->cl->multi, x->easy);
    if (rc == CURLM_OK) {
        x->added = true;
        return;
    }
    /* Only a misuse makes libcurl refuse a fresh handle; report it as the
     * transfer's end rather than lose it. */
    curl_xfer_callbacks cbs = x->cbs;
    void *ctx = x->ctx;
    xfer_free(x);
    curl_xfer_end end = {.result = CURLE_FAILED_INIT, .errbuf = curl_multi_strerror(rc)};
    cbs.on_done(&end, ctx);
}

/* Adds and removals asked for while libcurl was running. */
static void run_deferred(curl_loop *cl)
{
    while (cl->deferred) {
        curl_xfer *x = cl->deferred;
        cl->deferred = x->next_deferred;
        if (!cl->deferred)
            cl->deferred_tail = &cl->deferred;
        x->deferred = false;
        if (x->cancelled)
            xfer_free(x);
        else if (!x->added)
            add_now(x);
    }
}

/* Transfers that ended: each is reported, then freed. */
static void check_done(curl_loop *cl)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cl->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_xfer_end end = {.result = msg->data.result, .errbuf = x->errbuf};
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &end.status);
        curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &end.os_errno);
        curl_multi_remove_handle(cl->multi, x->easy);
        x->added = false;
        if (x->cancelled) {
            if (!x->deferred)
                xfer_free(x);
            continue;
        }
        /* Unlinked before the callback: it may start or cancel others. */
        x->cancelled = true;
        x->cbs.on_done(&end, x->ctx);
        if (!x->deferred)
            xfer_free(x);
    }
}

static void socket_action(curl_loop *cl, curl_socket_t fd, int flags)
{
    int running;
    cl->depth++;
    curl_multi_socket_action(cl->multi, fd, flags, &running);
    cl->depth--;
    if (cl->depth == 0) {
        run_deferred(cl);
        check_done(cl);
        run_deferred(cl);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_watch *w = h->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    socket_action(w->cl, w->fd, flags);
}

static void on_timer(uv_timer_t *t)
{
    socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static void maybe_closed(curl_loop *cl)
{
    if (cl->closing && cl->open_handles == 0 && cl->done) {
        void (*done)(void *) = cl->done;
        cl->done = NULL;
        done(cl->done_ctx);
    }
}

static void handle_closed(uv_handle_t *h)
{
    curl_loop *cl = h->data;
    cl->open_handles--;
    maybe_closed(cl);
}

static void watch_closed(uv_handle_t *h)
{
    sock_watch *w = h->data;
    curl_loop *cl = w->cl;
    free(w);
    cl->open_handles--;
    maybe_closed(cl);
}

static void watch_close(sock_watch *w)
{
    dlist_remove(&w->cl->watches, &w->node);
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, watch_closed);
}

/* CURLMOPT_SOCKETFUNCTION: what to watch on a socket, or stop watching. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    curl_loop *cl = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            curl_multi_assign(cl->multi, fd, NULL);
            watch_close(w);
        }
        return 0;
    }
    if (!w) {
        w = xcalloc(1, sizeof(*w));
        w->fd = fd;
        w->cl = cl;
        if (uv_poll_init_socket(cl->loop, &w->poll, fd) != 0) {
            free(w);
            return -1; /* libcurl fails the transfer */
        }
        w->poll.data = w;
        cl->open_handles++;
        dlist_push_front(&cl->watches, &w->node);
        curl_multi_assign(cl->multi, fd, w);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&w->poll, events, on_poll);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl's one deadline. */
static int on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    curl_loop *cl = userp;
    if (timeout_ms < 0) {
        uv_timer_stop(&cl->timer);
        return 0;
    }
    /* 0 means "as soon as possible", but not from inside this callback. */
    uv_timer_start(&cl->timer, on_timer, timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

curl_loop *curl_loop_create(uv_loop_t *loop)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Without an asynchronous resolver libcurl looks names up with a
     * blocking getaddrinfo on our loop: say so once rather than stall
     * silently. */
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!(info->features & CURL_VERSION_ASYNCHDNS))
        log_kv(LOG_WARN,
               "this libcurl resolves host names synchronously: a slow DNS lookup of a remote server stalls mcpproxy",
               LOG_FIELDS(LOG_STR("libcurl", info->version)));
    curl_loop *cl = xcalloc(1, sizeof(*cl));
    cl->loop = loop;
    cl->deferred_tail = &cl->deferred;
    cl->multi = curl_multi_init();
    assert(cl->multi); /* only allocation fails it */
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    cl->open_handles = 1;
    return cl;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    curl_xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->cancelled)
        return 0; /* ends it; nobody listens */
    if (x->cbs.on_data && !x->cbs.on_data(ptr, n, x->ctx))
        return 0;
    return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    curl_xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->cancelled)
        return 0;
    if (x->cbs.on_header && !x->cbs.on_header(ptr, n, x->ctx))
        return 0;
    return n;
}

curl_xfer *curl_loop_start(curl_loop *cl, CURL *easy, struct curl_slist *headers, const curl_xfer_callbacks *cbs,
                           void *ctx)
{
    assert(!cl->closing);
    curl_xfer *x = xcalloc(1, sizeof(*x));
    x->cl = cl;
    x->easy = easy;
    x->headers = headers;
    x->cbs = *cbs;
    x->ctx = ctx;
    dlist_push_front(&cl->xfers, &x->node);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
    if (headers)
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (cl->depth > 0)
        defer(x);
    else
        add_now(x);
    return x;
}

void curl_xfer_cancel(curl_xfer *x)
{
    if (!x || x->cancelled)
        return;
    x->cancelled = true;
    if (x->cl->depth > 0)
        defer(x);
    else if (!x->deferred)
        xfer_free(x);
}

void curl_loop_close(curl_loop *cl, void (*done)(void *ctx), void *ctx)
{
    assert(cl->depth == 0);
    cl->closing = true;
    cl->done = done;
    cl->done_ctx = ctx;
    run_deferred(cl);
    while (cl->xfers.head)
        xfer_free(DLIST_ENTRY(cl->xfers.head, curl_xfer, node));
    /* Closes the connections libcurl kept for reuse; it reports their
     * sockets through on_socket, which closes their watches. */
    curl_multi_cleanup(cl->multi);
    cl->multi = NULL;
    while (cl->watches.head)
        watch_close(DLIST_ENTRY(cl->watches.head, sock_watch, node));
    uv_timer_stop(&cl->timer);
    uv_close((uv_handle_t *)&cl->timer, handle_closed);
}

void curl_loop_destroy(curl_loop *cl)
{
    if (!cl)
        return;
    assert(cl->open_handles == 0);
    free(cl);
    curl_global_cleanup();
}
