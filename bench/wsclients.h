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
    int64_t last_event_us;    /* monotonic time the last event arrived */
} wsc_stats;

enum {
    WSC_NO_HELLO = 1, /* the server sends no hello (a peer): a client is ready once upgraded */
    WSC_RAW = 2,      /* not lws: a minimal reader of unmasked frames on plain libuv TCP, for bursts
                         (lws' client frame parser goes a byte at a time); no slow clients, no churn */
};

/* `path` is the request path with its query, e.g. "/ws/events?batch=1"; strings are copied.
 * The pool holds at most `max_clients`. `flags` are WSC_*. Returns NULL when lws cannot
 * make a context. */
wsc_pool *wsc_pool_new(uv_loop_t *loop, const char *host, int port, const char *path, int max_clients, int flags);
/* Opens clients until `total` have been asked for (the first `slow` of the new
 * ones are slow), at most `parallel` handshakes at a time, and calls ready(arg)
 * once each new one has its hello or has failed. */
void wsc_pool_grow(wsc_pool *p, int total, int slow, int parallel, void (*ready)(void *), void *arg);
void wsc_pool_resume_slow(wsc_pool *p);
/* Churn: opens `cycles` clients, at most `parallel` at a time, each closed
 * (close frame 1000) as soon as it is ready; calls done(arg) when the last
 * has closed and progress(arg, n) after every `every` closes. Uses the pool's
 * slots again and again, so max_clients >= parallel is enough. */
void wsc_pool_churn(wsc_pool *p, int cycles, int parallel, int every, void (*progress)(void *, int),
                    void (*done)(void *), void *arg);
/* TCP payload bytes received so far by all open clients (TCP_INFO). */
uint64_t wsc_pool_rx_bytes(const wsc_pool *p);
/* Zeroes the counters and histograms (not ready/conn_errors/closed). */
void wsc_pool_reset(wsc_pool *p);
const wsc_stats *wsc_pool_stats(const wsc_pool *p, bool slow);
const hist *wsc_pool_hist(const wsc_pool *p, bool slow);
/* Closes every client and the context; run the loop afterwards to let lws
 * close its libuv handles, then free with wsc_pool_free. */
void wsc_pool_destroy(wsc_pool *p);
void wsc_pool_free(wsc_pool *p);

#endif
