/* ticker.h - one timer for every periodic keep-alive job of the server: the
 * WebSocket sweep (pings, idle and write deadlines), the SSE keep-alive
 * comments, the /mcp session expiry and stream pings.
 *
 * A job runs every `period_ms`, within one tick of being due; the tick is
 * the shortest period of the jobs that are on (a job that stops leaves the
 * timer as it is until the next tick, which follows what is left: jobs that
 * go on and off with every request cost no timer change each). The timer
 * stops at the first tick with no job on and never keeps the loop alive by
 * itself, so an idle proxy with no clients wakes for nothing. */
#ifndef MCPPROXY_HTTP_TICKER_H
#define MCPPROXY_HTTP_TICKER_H

#include "core/dlist.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct ticker ticker;

/* A job, embedded in its owner (which outlives it: stop it first). */
typedef struct ticker_job {
    dlist_node link;
    void (*run)(struct ticker_job *job);
    uint64_t period_ms;
    uint64_t last_ms; /* uv_now() of the last run (or of the start) */
    bool on;
} ticker_job;

/* `loop` is borrowed. */
ticker *ticker_create(uv_loop_t *loop);

/* Starts the timer closing; ticker_destroy frees it once the loop ran. */
void ticker_close(ticker *t);
/* NULL is ignored. Every job must be off. */
void ticker_destroy(ticker *t);

/* Turns a job on: `run(job)` every period_ms from now on (at least 1 ms).
 * Turning on a job that is on changes its period. */
void ticker_job_start(ticker *t, ticker_job *job, uint64_t period_ms, void (*run)(ticker_job *job));

/* For a job that does one thing less often than it runs (a sweep that also
 * pings): true, and *last_ms = now_ms, once period_ms has passed since
 * *last_ms. */
bool ticker_due(uint64_t *last_ms, uint64_t now_ms, uint64_t period_ms);

/* Turns a job off (idempotent); it may be called from inside its run. */
void ticker_job_stop(ticker *t, ticker_job *job);

#endif
