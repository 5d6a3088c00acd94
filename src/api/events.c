/* events.c - POST /api/events: publish events from outside (integrations,
 * tests), one object or an array, all or nothing; a large array a slice per
 * loop turn. Answers the seqs, or in a cluster (where the stream numbers
 * them later) 202 and how many were accepted. */
#include "api/event_decode.h"
#include "api/routes.h"
#include "core/bus.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Events are published this many per loop turn: a large array (170,000
 * events fit in a 4 MB body) must not hold the loop for seconds. */
#define EVENTS_PER_TURN 1024

/* An array being published a slice at a time. It owns the body the events
 * borrow from, and answers when the last slice is out. */
typedef struct publish_job {
    app *a;
    json_t *body;
    event_fields *events;
    size_t n, next;
    json_t *seqs;
    http_pending *http; /* NULL once the client went away */
    uv_idle_t idle;
} publish_job;

static void job_closed(uv_handle_t *h)
{
    publish_job *job = h->data;
    json_decref(job->seqs);
    json_decref(job->body);
    free(job->events);
    free(job);
}

static void job_gone(void *ctx)
{
    publish_job *job = ctx;
    http_pending_release(job->http);
    job->http = NULL; /* the events were accepted: they are still published */
}

static void publish_slice(uv_idle_t *idle)
{
    publish_job *job = idle->data;
    size_t end = job->next + EVENTS_PER_TURN < job->n ? job->next + EVENTS_PER_TURN : job->n;
    for (; job->next < end; job->next++)
        json_array_append_new(job->seqs, json_integer((json_int_t)bus_publish(job->a->bus, &job->events[job->next])));
    if (job->next < job->n)
        return;
    if (job->http) {
        /* In a cluster the stream numbers the events after this answer. */
        bool relayed = bus_relayed(job->a->bus);
        json_t *answer =
            relayed ? json_pack("{s:I}", "accepted", (json_int_t)job->n) : json_pack("{s:O}", "seqs", job->seqs);
        char *text = json_dumps(answer, JSON_COMPACT);
        http_pending_finish(job->http, relayed ? 202 : 200, "application/json", text, strlen(text));
        free(text);
        json_decref(answer);
    }
    uv_idle_stop(idle);
    uv_close((uv_handle_t *)idle, job_closed);
}

/* All-or-nothing: every element is checked before the first is published. */
static void post_events(app *a, const http_request *req, http_response *res)
{
    json_t *body = http_parse_json_body(req, res);
    if (!body)
        return;
    event_fields *events;
    size_t n;
    if (!api_events_decode(body, a->cfg.websocket.max_event_bytes, &events, &n, res)) {
        json_decref(body);
        return;
    }
    if (json_is_object(body)) {
        uint64_t seq = bus_publish(a->bus, &events[0]);
        if (bus_relayed(a->bus))
            http_respond_json(res, 202, json_pack("{s:I}", "accepted", (json_int_t)1));
        else
            http_respond_json(res, 200, json_pack("{s:I}", "seq", (json_int_t)seq));
        free(events);
        json_decref(body);
        return;
    }
    publish_job *job = xcalloc(1, sizeof *job);
    job->a = a;
    job->body = body;
    job->events = events;
    job->n = n;
    job->seqs = json_array();
    job->http = http_respond_later(req, job_gone, job);
    uv_idle_init(a->loop, &job->idle);
    job->idle.data = job;
    publish_slice(&job->idle); /* the first slice now: a small array is answered in this turn */
    if (job->next < job->n)
        uv_idle_start(&job->idle, publish_slice);
}

bool api_events_route(void *ctx, const http_request *req, http_response *res)
{
    if (strcmp(req->path, "/api/events") != 0)
        return false;
    if (req->method == HTTP_POST)
        post_events(ctx, req, res);
    else
        http_respond_not_allowed(res, "POST");
    return true;
}
