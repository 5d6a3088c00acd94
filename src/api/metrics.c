/* metrics.c - how the proxy is doing, read from the one stats struct
 * (core/stats.h) and the bus: /healthz, /api/realtime/stats (with every
 * stream client listed) and /metrics (Prometheus text). */
#include "api/routes.h"
#include "core/bus.h"
#include "store/activity.h"
#include "stream/sse.h"
#include "stream/ws.h"

#include <inttypes.h>
#include <string.h>

static json_t *realtime_stats(app *a)
{
    const proxy_stats *st = &a->stats;
    bus_stats bs = bus_get_stats(a->bus);
    json_t *clients = json_array();
    ws_manager_clients_json(a->ws, clients);
    sse_manager_clients_json(a->sse, clients);
    json_int_t ws_clients = (json_int_t)(st->clients[STATS_WS_EVENTS] + st->clients[STATS_WS_SERVERS]);
    return json_pack("{s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "epoch",
                     bus_epoch(a->bus), "seq", (json_int_t)bus_head_seq(a->bus), "published", (json_int_t)bs.published,
                     "connections", "total", ws_clients, "ws_events", (json_int_t)st->clients[STATS_WS_EVENTS],
                     "ws_servers", (json_int_t)st->clients[STATS_WS_SERVERS], "sse", (json_int_t)st->clients[STATS_SSE],
                     "tcp", (json_int_t)st->tcp_connections, "delivered", (json_int_t)st->delivered, "dropped",
                     (json_int_t)st->dropped, "clients_dropping", (json_int_t)st->clients_dropping, "sse_delivered",
                     (json_int_t)st->sse_delivered, "sse_dropped", (json_int_t)st->sse_dropped, "subscribers",
                     (json_int_t)bs.subscribers, "tool_calls", (json_int_t)st->tool_calls, "clients", clients);
}

static void metric(strbuf *b, const char *name, const char *type, const char *help, uint64_t value)
{
    strbuf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, value);
}

/* Prometheus text exposition of the same struct. */
static void metrics(app *a, http_response *res)
{
    const proxy_stats *st = &a->stats;
    strbuf *b = &res->body;
    b->len = 0;
    metric(b, "mcpproxy_events_published_total", "counter", "Events published on the bus.",
           bus_get_stats(a->bus).published);
    metric(b, "mcpproxy_ws_messages_delivered_total", "counter", "Events written to WebSocket clients.", st->delivered);
    metric(b, "mcpproxy_ws_events_dropped_total", "counter", "Events dropped from slow WebSocket clients.",
           st->dropped);
    strbuf_appendf(b,
                   "# HELP mcpproxy_ws_connections Connected WebSocket clients by endpoint.\n"
                   "# TYPE mcpproxy_ws_connections gauge\n"
                   "mcpproxy_ws_connections{endpoint=\"/ws/events\"} %" PRIu64 "\n"
                   "mcpproxy_ws_connections{endpoint=\"/ws/servers\"} %" PRIu64 "\n",
                   st->clients[STATS_WS_EVENTS], st->clients[STATS_WS_SERVERS]);
    metric(b, "mcpproxy_sse_connections", "gauge", "Connected Server-Sent Events clients of /events.",
           st->clients[STATS_SSE]);
    metric(b, "mcpproxy_sse_events_delivered_total", "counter", "Events written to SSE clients.", st->sse_delivered);
    metric(b, "mcpproxy_sse_events_dropped_total", "counter", "Events dropped from slow SSE clients.", st->sse_dropped);
    metric(b, "mcpproxy_tcp_connections", "gauge", "Open TCP connections, HTTP and WebSocket.", st->tcp_connections);
    metric(b, "mcpproxy_tool_calls_total", "counter", "tools/call requests through /mcp.", st->tool_calls);
    metric(b, "mcpproxy_tool_call_errors_total", "counter", "tools/call requests through /mcp that failed.",
           st->tool_errors);
    metric(b, "mcpproxy_activity_rows_dropped_total", "counter",
           "Activity log rows lost because their database write failed.", activity_log_dropped(a->activity));
    metric(b, "mcpproxy_upstream_starts_total", "counter", "Upstream server processes started.", st->upstream_starts);
    metric(b, "mcpproxy_upstream_failures_total", "counter",
           "Upstream servers that exited or failed their handshake unasked.", st->upstream_failures);
    if (a->cluster_state) {
        metric(b, "mcpproxy_cluster_buffered_events", "gauge",
               "This node's events not yet acknowledged by the cluster's stream (cluster.buffer at most).",
               st->cluster_buffered);
        metric(b, "mcpproxy_cluster_events_lost_total", "counter",
               "This node's events dropped unsent because its cluster buffer overflowed while NATS was unreachable.",
               st->cluster_lost);
    }
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4";
}

/* 200 either way: the node serves. "degraded" when it is cut off from its
 * cluster (its own events reach only its own clients). */
static void health_check(app *a, http_response *res)
{
    bool degraded = a->cluster_state && strcmp(a->cluster_state, "connected") != 0;
    json_t *body = json_pack("{s:s,s:s,s:I,s:s}", "status", degraded ? "degraded" : "ok", "epoch", bus_epoch(a->bus),
                             "seq", (json_int_t)bus_head_seq(a->bus), "state", app_state_name(a->state));
    if (a->cluster_state)
        json_object_set_new(body, "cluster",
                            json_pack("{s:s,s:s,s:I,s:I}", "node", a->cfg.cluster.node, "state", a->cluster_state,
                                      "buffered", (json_int_t)a->stats.cluster_buffered, "events_lost",
                                      (json_int_t)a->stats.cluster_lost));
    http_respond_json(res, 200, body);
}

bool api_metrics_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    bool health = strcmp(req->path, "/healthz") == 0;
    bool stats = strcmp(req->path, "/api/realtime/stats") == 0;
    bool prom = strcmp(req->path, "/metrics") == 0;
    if (!health && !stats && !prom)
        return false;
    if (req->method != HTTP_GET)
        http_respond_not_allowed(res, "GET");
    else if (health)
        health_check(a, res);
    else if (stats)
        http_respond_json(res, 200, realtime_stats(a));
    else
        metrics(a, res);
    return true;
}
