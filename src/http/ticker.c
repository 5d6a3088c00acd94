/* ticker.c - one uv timer, a list of jobs (see ticker.h). */
#include "http/ticker.h"

#include "core/util.h"

#include <assert.h>
#include <stdlib.h>

static void on_tick(uv_timer_t *timer);

struct ticker {
    uv_loop_t *loop;
    uv_timer_t timer;
    dlist jobs;       /* the jobs that are on */
    uint64_t tick_ms; /* the timer's repeat; 0 while stopped */
    dlist_node *next; /* the job the running tick visits next */
    bool closed;
};

static uint64_t shortest_period(const ticker *t)
{
    uint64_t tick = 0;
    for (const dlist_node *n = t->jobs.head; n; n = n->next) {
        uint64_t p = DLIST_ENTRY(n, const ticker_job, link)->period_ms;
        if (!tick || p < tick)
            tick = p;
    }
    return tick;
}

static void set_tick(ticker *t, uint64_t tick)
{
    if (tick == t->tick_ms || t->closed)
        return;
    t->tick_ms = tick;
    if (tick)
        uv_timer_start(&t->timer, on_tick, tick, tick);
    else
        uv_timer_stop(&t->timer);
}

static void on_tick(uv_timer_t *timer)
{
    ticker *t = timer->data;
    uint64_t now = uv_now(t->loop);
    /* A job may stop itself or another job while it runs: `next` is kept
     * where ticker_job_stop can move it on. */
    for (dlist_node *n = t->jobs.head; n; n = t->next) {
        t->next = n->next;
        ticker_job *job = DLIST_ENTRY(n, ticker_job, link);
        if (now - job->last_ms >= job->period_ms) {
            job->last_ms = now;
            job->run(job);
        }
    }
    t->next = NULL;
    /* Jobs that stopped since the last tick left the timer as it was (a
     * request's deadline job goes on and off with every request: two timer
     * changes per request otherwise); it follows them here. */
    set_tick(t, shortest_period(t));
}

ticker *ticker_create(uv_loop_t *loop)
{
    ticker *t = xcalloc(1, sizeof *t);
    t->loop = loop;
    uv_timer_init(loop, &t->timer);
    t->timer.data = t;
    uv_unref((uv_handle_t *)&t->timer); /* never the reason the loop stays up */
    return t;
}

void ticker_job_start(ticker *t, ticker_job *job, uint64_t period_ms, void (*run)(ticker_job *job))
{
    job->period_ms = period_ms ? period_ms : 1;
    job->run = run;
    job->last_ms = uv_now(t->loop);
    if (!job->on) {
        job->on = true;
        dlist_push_front(&t->jobs, &job->link);
    }
    /* Only ever shorter here: a longer tick waits for the next tick. */
    if (!t->tick_ms || job->period_ms < t->tick_ms)
        set_tick(t, job->period_ms);
}

bool ticker_due(uint64_t *last_ms, uint64_t now_ms, uint64_t period_ms)
{
    if (now_ms - *last_ms < period_ms)
        return false;
    *last_ms = now_ms;
    return true;
}

void ticker_job_stop(ticker *t, ticker_job *job)
{
    if (!job->on)
        return;
    if (t->next == &job->link)
        t->next = job->link.next;
    job->on = false;
    dlist_remove(&t->jobs, &job->link); /* the timer follows at its next tick */
}

void ticker_close(ticker *t)
{
    if (t->closed)
        return;
    t->closed = true;
    uv_close((uv_handle_t *)&t->timer, NULL);
}

void ticker_destroy(ticker *t)
{
    if (!t)
        return;
    assert(t->jobs.count == 0);
    free(t);
}
