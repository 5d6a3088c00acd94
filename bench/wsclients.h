/* wsclients — a pool of libwebsockets clients of /ws/events on our libuv loop.
 *
 * Every client records, for each event it receives, now − data.t (both
 * CLOCK_REALTIME µs; see publisher.h) into the pool's histogram, and counts
 * events and events_dropped notices. "Slow" clients stop reading right after
 * their hello (lws rx flow control, with a small socket receive buffer so the
 * kernel cannot hide the backlog) until wsc_pool_resume_slow(); their numbers
 * are kept apart from the others'. */
#ifndef BENCH_WSCLIENTS_H
#define BENCH_WSCLIENTS_H

#include "hist.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct wsc_pool wsc_pool;

typedef struct wsc_stats {
    int ready;                /* clients that got their hello */
    int conn_errors;          /* connections refused or failed before hello */
    int closed;               /* clients closed after hello */
    uint64_t messages;        /* WebSocket messages (an array counts once) */
    uint64_t events;          /* events (elements of arrays count one each) */
    uint64_t dropped_notices; /* events_dropped messages */
    uint64_t dropped_events;  /* sum of their counts */
    uint64_t resyncs;         /* resync_required messages */
} wsc_stats;

/* `path` is the request path with its query, e.g. "/ws/events?batch=1"; strings are copied.
 * The pool holds at most `max_clients`. Returns NULL when lws cannot make a context. */
wsc_pool *wsc_pool_new(uv_loop_t *loop, const char *host, int port, const char *path, int max_clients);
/* Opens clients until `total` have been asked for (the first `slow` of the new
 * ones are slow), at most `parallel` handshakes at a time, and calls ready(arg)
 * once each new one has its hello or has failed. */
void wsc_pool_grow(wsc_pool *p, int total, int slow, int parallel, void (*ready)(void *), void *arg);
void wsc_pool_resume_slow(wsc_pool *p);
/* Zeroes the counters and histograms (not ready/conn_errors/closed). */
void wsc_pool_reset(wsc_pool *p);
const wsc_stats *wsc_pool_stats(const wsc_pool *p, bool slow);
const hist *wsc_pool_hist(const wsc_pool *p, bool slow);
/* Closes every client and the context; run the loop afterwards to let lws
 * close its libuv handles, then free with wsc_pool_free. */
void wsc_pool_destroy(wsc_pool *p);
void wsc_pool_free(wsc_pool *p);

#endif
