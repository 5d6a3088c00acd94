/* curl_loop.h - libcurl's multi interface on our libuv loop.
 *
 * One per process (app/wiring creates it and hands it to the manager). Each
 * socket libcurl wants watched gets a uv_poll_t (CURLMOPT_SOCKETFUNCTION)
 * and libcurl's one timeout is a uv_timer_t (CURLMOPT_TIMERFUNCTION); both
 * call curl_multi_socket_action. No call blocks and no thread is ours
 * (libcurl's own resolver may use one for getaddrinfo).
 *
 * A transfer is an easy handle the caller set up, handed over with its
 * header list; the curl_loop owns both from then on and frees them when the
 * transfer ends or is cancelled. Its callbacks run on the loop. A transfer
 * can be cancelled anywhere, even from inside one of its own (or another
 * transfer's) callbacks: no callback of it runs after the cancel. */
#ifndef MCPPROXY_NET_CURL_LOOP_H
#define MCPPROXY_NET_CURL_LOOP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct curl_loop curl_loop;
typedef struct curl_xfer curl_xfer;

/* How a transfer ended. */
typedef struct curl_xfer_end {
    CURLcode result;
    long status;        /* the HTTP status, 0 if none came */
    long os_errno;      /* the system's errno behind a failed connect, or 0 */
    const char *errbuf; /* libcurl's detailed message (may be ""); borrowed */
} curl_xfer_end;

typedef struct curl_xfer_callbacks {
    /* One header line as received (with its CRLF); the status line of
     * each response too. false aborts the transfer (on_done follows with
     * CURLE_WRITE_ERROR). May be NULL. */
    bool (*on_header)(const char *line, size_t len, void *ctx);
    /* Body bytes as they arrive; false aborts as above. May be NULL (the
     * body is dropped). */
    bool (*on_data)(const char *bytes, size_t len, void *ctx);
    /* The end (borrowed). Called once, unless the transfer was cancelled;
     * the transfer is freed right after it returns. */
    void (*on_done)(const curl_xfer_end *end, void *ctx);
} curl_xfer_callbacks;

/* A multi handle on `loop`. Never fails (allocation aborts; libcurl's
 * global init runs once, here). */
curl_loop *curl_loop_create(uv_loop_t *loop);

/* Cancels every transfer left, then closes the timer and the poll
 * handles; done (may be NULL) runs once all are closed. */
void curl_loop_close(curl_loop *cl, void (*done)(void *ctx), void *ctx);

/* Frees it; after curl_loop_close's done. NULL is accepted. */
void curl_loop_destroy(curl_loop *cl);

/* Starts a transfer. `easy` and `headers` (may be NULL; set as
 * CURLOPT_HTTPHEADER here) are stolen; the write and header functions and
 * CURLOPT_PRIVATE are the curl_loop's. `cbs` is copied, `ctx` borrowed
 * until on_done or the cancel. Returns the transfer (borrowed). */
curl_xfer *curl_loop_start(curl_loop *cl, CURL *easy, struct curl_slist *headers, const curl_xfer_callbacks *cbs,
                           void *ctx);

/* Stops a transfer: no callback of it runs from now on, its connection is
 * let go, and it is freed (at once, or when libcurl returns to the loop if
 * called from inside a callback). */
void curl_xfer_cancel(curl_xfer *x);

#endif
