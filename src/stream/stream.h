/* stream.h - what a client of the event stream asked for, and what it is
 * owed before live events: shared by the WebSocket endpoints (ws.c) and
 * Server-Sent Events (sse.c), which differ only in framing. */
#ifndef MCPPROXY_HTTP_STREAM_H
#define MCPPROXY_HTTP_STREAM_H

#include "core/bus.h"
#include "stream/send_queue.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The query of /ws/events, /ws/servers or /events. */
typedef struct stream_request {
    event_type_mask types;
    char server[65]; /* "" = any server */
    bool batch;
    bool resume; /* since= was given */
    uint64_t since;
    char epoch[33]; /* "" = not given */
} stream_request;

/* Parses types, server, batch, since and epoch from a raw query string.
 * Returns NULL, or the reason for a 400 (static text or written to msg). */
const char *stream_request_parse(stream_request *r, const char *query, bool server_required, char *msg, size_t msg_len);

/* Parses a seq (decimal, no sign). */
bool stream_parse_seq(const char *text, uint64_t *out);

/* The bus filter for a request; borrows r's server name. */
bus_filter stream_request_filter(const stream_request *r);

/* What a newly registered client gets before live events: a hello, then a
 * resync notice or the replay of the ring from since+1 to the head. */
typedef struct stream_cursor {
    uint64_t hello_seq;   /* the head at registration */
    uint64_t replay_next; /* replay while replay_next <= replay_end */
    uint64_t replay_end;
    const char *resync_reason; /* static text, or NULL */
} stream_cursor;

/* Decides the replay or resync for a client registering now. Must run in
 * the same loop turn as the client's bus_subscribe, so that nothing falls
 * between the replay and the first live event. */
void stream_cursor_plan(stream_cursor *cur, const stream_request *r, const bus *b);

bool stream_cursor_replaying(const stream_cursor *cur);

/* The history started over (bus_restart): what is queued or still to be
 * replayed is of the old history, so it goes (without counting as
 * dropped), and the client is told to resync next. */
void stream_cursor_restart(stream_cursor *cur, send_queue *q);

/* The next replayed event that passes the filter, as a new reference, or
 * NULL once the replay is done. Events the ring has already overwritten are
 * recorded as drops in q, so the client is told. */
event_msg *stream_cursor_next(stream_cursor *cur, const bus *b, const bus_filter *filter, send_queue *q);

/* One client as /api/realtime/stats lists it: endpoint, address, filters
 * (types or null, server or null, batch), connected_since, delivered,
 * dropped. New reference. */
json_t *stream_client_json(const char *endpoint, const char *address, const stream_request *r,
                           const char *connected_since, uint64_t delivered, uint64_t dropped);

/* Control messages as JSON text (new strings, free() them). */
char *stream_hello_json(const stream_cursor *cur, const bus *b);
char *stream_resync_json(const stream_cursor *cur, const bus *b);
char *stream_dropped_json(const send_drops *drops);

#endif
