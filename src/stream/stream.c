/* stream.c - request parsing, resume planning and control messages of the
 * event stream, independent of how it is framed. */
#include "stream/stream.h"

#include "http/request.h"

#include <stdlib.h>
#include <string.h>

bool stream_parse_seq(const char *s, uint64_t *out)
{
    if (!*s || strlen(s) > 19)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

const char *stream_request_parse(stream_request *r, const char *query, bool server_required, char *msg, size_t msg_len)
{
    char value[256];
    *r = (stream_request){.types = EVENT_MASK_ALL};
    int got = http_query_get(query, "server", r->server, sizeof r->server);
    if (got < 0)
        return "\"server\" is malformed or longer than 64 characters";
    if (server_required && r->server[0] == '\0')
        return "/ws/servers needs ?server=NAME";

    got = http_query_get(query, "types", value, sizeof value);
    if (got < 0)
        return "\"types\" is malformed";
    if (got > 0 && !event_type_mask_parse(value, &r->types, msg, msg_len))
        return msg;

    got = http_query_get(query, "batch", value, sizeof value);
    if (got < 0)
        return "\"batch\" is malformed";
    if (got > 0) {
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
            r->batch = true;
        else if (strcmp(value, "0") != 0 && strcmp(value, "false") != 0)
            return "\"batch\" must be 1 or 0";
    }

    got = http_query_get(query, "since", value, sizeof value);
    if (got < 0 || (got > 0 && !stream_parse_seq(value, &r->since)))
        return "\"since\" must be a non-negative integer (a seq)";
    r->resume = got > 0;

    if (http_query_get(query, "epoch", r->epoch, sizeof r->epoch) < 0)
        return "\"epoch\" is malformed";
    return NULL;
}

bus_filter stream_request_filter(const stream_request *r)
{
    return (bus_filter){.types = r->types, .server_name = r->server[0] ? r->server : NULL};
}

void stream_cursor_plan(stream_cursor *cur, const stream_request *r, const bus *b)
{
    uint64_t head = bus_head_seq(b);
    *cur = (stream_cursor){.hello_seq = head, .replay_next = 1, .replay_end = 0};
    if (!r->resume)
        return;
    if (r->epoch[0] && strcmp(r->epoch, bus_epoch(b)) != 0)
        cur->resync_reason = "epoch does not match: mcpproxy restarted";
    else if (r->since > head)
        cur->resync_reason = "since is ahead of the newest event";
    else if (r->since + 1 < bus_oldest_seq(b))
        cur->resync_reason = "events after since are no longer in history";
    else if (r->since < bus_loss_seq(b))
        cur->resync_reason = "events after since were lost: a cluster node's buffer (cluster.buffer) overflowed "
                             "while NATS was unreachable";
    else {
        cur->replay_next = r->since + 1;
        cur->replay_end = head;
    }
}

void stream_cursor_restart(stream_cursor *cur, send_queue *q)
{
    event_msg *msg;
    while ((msg = send_queue_pop(q)))
        event_msg_unref(msg);
    q->unreported = (send_drops){0};
    *cur = (stream_cursor){
        .hello_seq = 0,
        .replay_next = 1,
        .replay_end = 0,
        .resync_reason = "the cluster's stream was made anew (its NATS server lost it): the history starts over",
    };
}

bool stream_cursor_replaying(const stream_cursor *cur)
{
    return cur->replay_next <= cur->replay_end;
}

event_msg *stream_cursor_next(stream_cursor *cur, const bus *b, const bus_filter *filter, send_queue *q)
{
    while (stream_cursor_replaying(cur)) {
        uint64_t seq = cur->replay_next++;
        event_msg *msg = bus_history_get(b, seq);
        if (!msg) {
            send_queue_note_drop(q, seq);
            continue;
        }
        if (bus_filter_match(filter, msg))
            return event_msg_ref(msg);
    }
    return NULL;
}

static char *dump(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return text;
}

char *stream_hello_json(const stream_cursor *cur, const bus *b)
{
    return dump(json_pack("{s:s,s:I,s:s,s:s}", "type", "hello", "seq", (json_int_t)cur->hello_seq, "epoch",
                          bus_epoch(b), "version", MCPPROXY_VERSION));
}

char *stream_resync_json(const stream_cursor *cur, const bus *b)
{
    return dump(json_pack("{s:s,s:s,s:I,s:s}", "type", "resync_required", "reason", cur->resync_reason, "seq",
                          (json_int_t)cur->hello_seq, "epoch", bus_epoch(b)));
}

char *stream_dropped_json(const send_drops *drops)
{
    return dump(json_pack("{s:s,s:I,s:I,s:I}", "type", "events_dropped", "count", (json_int_t)drops->count, "first_seq",
                          (json_int_t)drops->first_seq, "last_seq", (json_int_t)drops->last_seq));
}

json_t *stream_client_json(const char *endpoint, const char *address, const stream_request *r,
                           const char *connected_since, uint64_t delivered, uint64_t dropped)
{
    json_t *types = json_null();
    if (r->types != EVENT_MASK_ALL) {
        types = json_array();
        for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
            if (r->types & (1u << t))
                json_array_append_new(types, json_string(event_type_name((event_type)t)));
        }
    }
    return json_pack("{s:s, s:s, s:{s:o, s:o, s:b}, s:s, s:I, s:I}", "endpoint", endpoint, "address", address,
                     "filters", "types", types, "server", r->server[0] ? json_string(r->server) : json_null(), "batch",
                     r->batch, "connected_since", connected_since, "delivered", (json_int_t)delivered, "dropped",
                     (json_int_t)dropped);
}
