/* publisher — paces events into mcpproxy with POST /api/events over a few
 * keep-alive HTTP/1.1 connections on the loop.
 *
 * Every event is {"type":"tool_called","server_name":"bench","data":{"t":T,"i":I}}
 * where T is CLOCK_REALTIME in µs taken just before the request is written and
 * I numbers the events of this publisher from 0. Events fall due at `rate` per
 * second (checked every millisecond); due events wait in a backlog until a
 * connection is free, then leave in one request each (bulk 1) or as arrays of
 * up to `bulk` events. A connection carries one request at a time (no
 * pipelining), so a proxy that answers slowly shows up as backlog, not as
 * unbounded queueing inside the kernel; what is still waiting when the run
 * ends is abandoned and counted as `unsent`. */
#ifndef BENCH_PUBLISHER_H
#define BENCH_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct publisher publisher;

typedef struct publisher_stats {
    uint64_t events;       /* events the proxy accepted (200, or 202 from a cluster node) */
    uint64_t requests;     /* requests answered */
    uint64_t errors;       /* non-200 answers and requests lost with their connection */
    uint64_t backlog_max;  /* most events ever waiting for a free connection */
    uint64_t unsent;       /* events due but still waiting when the run ended: not sent */
    int64_t first_send_us; /* monotonic µs of the first and last request written */
    int64_t last_send_us;
    int64_t rtt_max_us; /* slowest request→answer */
    double rtt_sum_us;
} publisher_stats;

/* Returns NULL if the connections cannot be started. `host` is copied. */
publisher *publisher_new(uv_loop_t *loop, const char *host, int port, int conns, size_t pad_bytes);
/* Publishes at `rate` events/s for `duration_us`, then calls done(arg) once every
 * request written has been answered. Stats are reset at each run. */
void publisher_run(publisher *p, double rate, int bulk, int64_t duration_us, void (*done)(void *), void *arg);
/* Publishes `events` at once, as arrays of `bulk` (the last may be shorter),
 * as fast as the connections are answered; then calls done(arg). */
void publisher_burst(publisher *p, uint64_t events, int bulk, void (*done)(void *), void *arg);
/* Publishes the typical event mix (see publisher.c) instead of bare
 * tool_called events; every event still carries data.t and data.i. */
void publisher_set_mix(publisher *p, bool mix);
const publisher_stats *publisher_get_stats(const publisher *p);
/* Closes every handle; `p` is freed once the loop has closed them. */
void publisher_close(publisher *p);

#endif
