/* stats.h - the process's counters, in one struct.
 *
 * The parts that do the work increment them (the HTTP server its
 * connections, the event stream its clients and deliveries, /mcp its tool
 * calls, the manager its upstream processes); /api/realtime/stats and
 * /metrics both read this one struct. One thread: plain integers. The app
 * owns it; every part is handed a borrowed pointer. */
#ifndef MCPPROXY_CORE_STATS_H
#define MCPPROXY_CORE_STATS_H

#include <stdint.h>

/* The event stream's endpoints. */
typedef enum stats_endpoint { STATS_WS_EVENTS, STATS_WS_SERVERS, STATS_SSE, STATS_ENDPOINT_COUNT } stats_endpoint;

typedef struct proxy_stats {
    /* Gauges: how many now. */
    uint64_t tcp_connections;               /* open TCP connections, HTTP and WebSocket */
    uint64_t clients[STATS_ENDPOINT_COUNT]; /* stream clients connected, by endpoint */
    uint64_t clients_dropping;              /* connected stream clients that have lost any event */
    uint64_t cluster_buffered;              /* this node's events not yet acknowledged by the cluster's stream */
    /* Counters: how many since start. */
    uint64_t delivered;         /* events written to WebSocket clients */
    uint64_t dropped;           /* events dropped for slow WebSocket clients */
    uint64_t sse_delivered;     /* events written to SSE clients */
    uint64_t sse_dropped;       /* events dropped for slow SSE clients */
    uint64_t tool_calls;        /* tools/call requests through /mcp, answered or not */
    uint64_t tool_errors;       /* of those, the ones that did not succeed */
    uint64_t upstream_starts;   /* upstream server processes started */
    uint64_t upstream_failures; /* upstream servers that exited or failed their handshake unasked */
    uint64_t cluster_lost;      /* this node's events dropped unsent: its cluster buffer overflowed */
} proxy_stats;

#endif
