/* sse_parse.h - Server-Sent Events, bytes in, events out (the WHATWG
 * "event stream" format an MCP server answers with).
 *
 * Pure and incremental: feed any split of the stream, in order, and the
 * same events come out. Lines end in CRLF, LF or CR; a line starting with
 * ':' is a comment; `data` lines join with '\n'; `event` names the type
 * ("message" when absent); `id` sets the last event id (kept across
 * events, for Last-Event-ID; one holding NUL is ignored); `retry` sets the
 * reconnection delay; a blank line dispatches an event that has data. A
 * leading byte order mark is skipped. */
#ifndef MCPPROXY_UPSTREAM_SSE_PARSE_H
#define MCPPROXY_UPSTREAM_SSE_PARSE_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sse_parser {
    size_t max_bytes; /* of one line and of one event's data, at most */
    strbuf line;      /* the line being read */
    strbuf data;      /* the event's data so far */
    char *type;       /* the event's type, or NULL */
    char *last_id;    /* the last event id, or NULL */
    int64_t retry_ms; /* the last retry field, or -1 */
    bool cr;          /* the last byte was CR: a LF right after it is part of that line end */
    bool started;     /* past the (optional) byte order mark */
} sse_parser;

/* One event: its type, its data (len bytes, NUL-terminated) and the last
 * event id (NULL if none). All borrowed for the call. Returning false stops
 * the feed (the owner is going away). */
typedef bool (*sse_event_fn)(const char *type, const char *data, size_t len, const char *last_id, void *ctx);

void sse_parser_init(sse_parser *p, size_t max_bytes);
void sse_parser_free(sse_parser *p);

/* Feeds bytes. Returns false when a line or an event passed max_bytes (the
 * stream is unusable; the parser keeps nothing of that event) or when the
 * callback stopped it. */
bool sse_parser_feed(sse_parser *p, const char *bytes, size_t len, sse_event_fn cb, void *ctx);

#endif
