/* api.c - the real-time part of the HTTP API: publish events, counters,
 * health. Server management lives in api_servers.c. */
#include "core/bus.h"
#include "core/log.h"
#include "api/routes.h"
#include "http/server.h"
#include "stream/sse.h"
#include "stream/ws.h"

#include <stdio.h>
#include <string.h>

#define EVENT_FIELDS_HELP "type, server_name, old_state, new_state, data"

/* Checks one element of a POST /api/events body and fills `out` with
 * pointers borrowed from `obj`. `where` prefixes messages ("event 3: "). */
static bool decode_event(json_t *obj, const char *where, event_fields *out, http_response *res)
{
    if (!json_is_object(obj)) {
        http_respond_error(res, 400, "%san event must be a JSON object", where);
        return false;
    }
    *out = (event_fields){0};
    bool have_type = false;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        const char **str_slot = NULL;
        if (strcmp(key, "type") == 0) {
            if (!json_is_string(value) || !event_type_parse(json_string_value(value), json_string_length(value), &out->type)) {
                http_respond_error(res, 400, "%s\"type\" must be one of the event types (e.g. server_state_changed); got %s",
                                   where, json_is_string(value) ? json_string_value(value) : "a non-string");
                return false;
            }
            have_type = true;
            continue;
        }
        if (strcmp(key, "data") == 0) {
            if (!json_is_object(value)) {
                http_respond_error(res, 400, "%s\"data\" must be a JSON object", where);
                return false;
            }
            out->data = value;
            continue;
        }
        if (strcmp(key, "server_name") == 0)
            str_slot = &out->server_name;
        else if (strcmp(key, "old_state") == 0)
            str_slot = &out->old_state;
        else if (strcmp(key, "new_state") == 0)
            str_slot = &out->new_state;
        if (!str_slot) {
            if (strcmp(key, "seq") == 0 || strcmp(key, "timestamp") == 0)
                http_respond_error(res, 400, "%s\"%s\" is assigned by mcpproxy; leave it out", where, key);
            else
                http_respond_error(res, 400, "%sunknown field \"%s\" (allowed: " EVENT_FIELDS_HELP ")", where, key);
            return false;
        }
        if (!json_is_string(value) || json_string_length(value) == 0) {
            http_respond_error(res, 400, "%s\"%s\" must be a non-empty string", where, key);
            return false;
        }
        *str_slot = json_string_value(value);
    }
    if (!have_type) {
        http_respond_error(res, 400, "%s\"type\" is required", where);
        return false;
    }
    return true;
}

/* All-or-nothing: every element is checked before the first is published. */
static void post_events(app *a, const http_request *req, http_response *res)
{
    json_t *body = http_parse_json_body(req, res);
    if (!body)
        return;
    bool single = json_is_object(body);
    size_t n = single ? 1 : json_array_size(body);
    if (!single && (!json_is_array(body) || n == 0)) {
        http_respond_error(res, 400, "body must be an event object or a non-empty array of them");
        json_decref(body);
        return;
    }
    event_fields *events = xcalloc(n, sizeof *events);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char where[48] = "";
        if (!single)
            snprintf(where, sizeof where, "event %zu: ", i);
        ok = decode_event(single ? body : json_array_get(body, i), where, &events[i], res);
    }
    if (ok) {
        json_t *seqs = json_array();
        uint64_t seq = 0;
        for (size_t i = 0; i < n; i++) {
            seq = bus_publish(a->bus, &events[i]);
            json_array_append_new(seqs, json_integer((json_int_t)seq));
        }
        if (single) {
            json_decref(seqs);
            http_respond_json(res, 200, json_pack("{s:I}", "seq", (json_int_t)seq));
        } else {
            http_respond_json(res, 200, json_pack("{s:o}", "seqs", seqs));
        }
    }
    free(events);
    json_decref(body);
}

static json_t *realtime_stats(app *a)
{
    bus_stats bs = bus_get_stats(a->bus);
    json_t *stats = json_pack("{s:s,s:I,s:I}", "epoch", bus_epoch(a->bus), "seq", (json_int_t)bus_head_seq(a->bus),
                              "published", (json_int_t)bs.published);
    ws_manager_stats(a->ws, stats);
    json_t *connections = json_object_get(stats, "connections");
    json_object_set_new(connections, "sse", json_integer((json_int_t)sse_manager_client_count(a->sse)));
    json_object_set_new(connections, "tcp", json_integer((json_int_t)http_server_connection_count(a->http)));
    json_object_set_new(stats, "subscribers", json_integer((json_int_t)bs.subscribers));
    return stats;
}

/* Prometheus text exposition of the same counters. */
static void metrics(app *a, http_response *res)
{
    json_t *s = realtime_stats(a);
    json_t *conn = json_object_get(s, "connections");
    strbuf *b = &res->body;
    res->body.len = 0;
    strbuf_appendf(b, "# HELP mcpproxy_events_published_total Events published on the bus.\n"
                      "# TYPE mcpproxy_events_published_total counter\n"
                      "mcpproxy_events_published_total %lld\n",
                   (long long)json_integer_value(json_object_get(s, "published")));
    strbuf_appendf(b, "# HELP mcpproxy_ws_messages_delivered_total Events written to WebSocket clients.\n"
                      "# TYPE mcpproxy_ws_messages_delivered_total counter\n"
                      "mcpproxy_ws_messages_delivered_total %lld\n",
                   (long long)json_integer_value(json_object_get(s, "delivered")));
    strbuf_appendf(b, "# HELP mcpproxy_ws_events_dropped_total Events dropped from slow WebSocket clients.\n"
                      "# TYPE mcpproxy_ws_events_dropped_total counter\n"
                      "mcpproxy_ws_events_dropped_total %lld\n",
                   (long long)json_integer_value(json_object_get(s, "dropped")));
    strbuf_appendf(b, "# HELP mcpproxy_ws_connections Connected WebSocket clients by endpoint.\n"
                      "# TYPE mcpproxy_ws_connections gauge\n"
                      "mcpproxy_ws_connections{endpoint=\"/ws/events\"} %lld\n"
                      "mcpproxy_ws_connections{endpoint=\"/ws/servers\"} %lld\n",
                   (long long)json_integer_value(json_object_get(conn, "ws_events")),
                   (long long)json_integer_value(json_object_get(conn, "ws_servers")));
    json_decref(s);
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4";
}

static bool method_is(const http_request *req, http_method method, const char *allow, http_response *res)
{
    if (req->method == method || (method == HTTP_GET && req->method == HTTP_HEAD))
        return true;
    res->allow = allow;
    http_respond_error(res, 405, "use %s for %s", allow, req->path);
    return false;
}

bool api_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    if (strcmp(req->path, "/healthz") == 0) {
        if (method_is(req, HTTP_GET, "GET", res))
            http_respond_json(res, 200,
                              json_pack("{s:s,s:s,s:I,s:s}", "status", "ok", "epoch", bus_epoch(a->bus), "seq",
                                        (json_int_t)bus_head_seq(a->bus), "state", app_state_name(a->state)));
        return true;
    }
    if (strcmp(req->path, "/api/events") == 0) {
        if (method_is(req, HTTP_POST, "POST", res))
            post_events(a, req, res);
        return true;
    }
    if (strcmp(req->path, "/api/realtime/stats") == 0) {
        if (method_is(req, HTTP_GET, "GET", res))
            http_respond_json(res, 200, realtime_stats(a));
        return true;
    }
    if (strcmp(req->path, "/metrics") == 0) {
        if (method_is(req, HTTP_GET, "GET", res))
            metrics(a, res);
        return true;
    }
    return false;
}
