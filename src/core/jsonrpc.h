/* jsonrpc.h - newline-delimited JSON-RPC 2.0 framing and message shapes.
 *
 * MCP's stdio transport is one JSON object per line. The framer turns a byte
 * stream into lines with a size limit; the helpers classify a parsed message
 * and build the few message shapes the client sends. Pure code: no I/O, so it
 * is unit-tested on its own (tests/unit/test_upstream_jsonrpc.c). */
#ifndef MCPPROXY_UPSTREAM_JSONRPC_H
#define MCPPROXY_UPSTREAM_JSONRPC_H

#include "core/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default longest line accepted from a server (tool lists can be large). */
#define JSONRPC_MAX_LINE_DEFAULT (16u * 1024u * 1024u)

typedef struct jsonrpc_framer {
    strbuf buf;       /* bytes of the current, unfinished line; owned */
    size_t max_line;  /* longer lines are dropped whole */
    bool discarding;  /* inside an over-long line: skip up to the next '\n' */
    size_t discarded; /* bytes skipped of that line so far */
} jsonrpc_framer;

/* `line` is borrowed for the call only, not NUL-terminated, without the '\n'
 * (a trailing '\r' is stripped too). Empty lines are not reported. */
typedef void (*jsonrpc_line_fn)(const char *line, size_t len, void *ctx);
/* An over-long line was dropped; `len` is its length in bytes. */
typedef void (*jsonrpc_overflow_fn)(size_t len, void *ctx);

void jsonrpc_framer_init(jsonrpc_framer *f, size_t max_line);
void jsonrpc_framer_free(jsonrpc_framer *f);

/* Feeds bytes; calls on_line for each complete line, on_overflow for each
 * dropped one. The callbacks must not free the framer. */
void jsonrpc_framer_feed(jsonrpc_framer *f, const char *bytes, size_t len, jsonrpc_line_fn on_line,
                         jsonrpc_overflow_fn on_overflow, void *ctx);

typedef enum jsonrpc_kind {
    JSONRPC_INVALID,      /* not a JSON-RPC 2.0 message */
    JSONRPC_REQUEST,      /* method + id: the server asks us something */
    JSONRPC_NOTIFICATION, /* method, no id */
    JSONRPC_RESPONSE,     /* id + result */
    JSONRPC_ERROR         /* id + error */
} jsonrpc_kind;

/* A message's parts, borrowed from it. */
typedef struct jsonrpc_parts {
    const char *method; /* requests and notifications, else NULL */
    json_t *id;         /* requests and responses, else NULL */
    json_t *params;     /* an object or array, or NULL */
} jsonrpc_parts;

/* The one classifier, for what upstreams send us and what MCP clients send
 * /mcp: JSON-RPC 2.0, a string method, params an object or array, a request
 * id a string or integer, a response with result or an error object.
 * `parts` may be NULL. */
jsonrpc_kind jsonrpc_classify_parts(const json_t *msg, jsonrpc_parts *parts);

/* The same, for a client that issues integer ids: for a response, *id_out
 * receives its id when it is an integer we could have issued (>= 1);
 * otherwise it is 0. */
jsonrpc_kind jsonrpc_classify(const json_t *msg, int64_t *id_out);

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params}. `params` is
 * borrowed (may be NULL: no params member). New reference. */
json_t *jsonrpc_request_new(int64_t id, const char *method, json_t *params);
/* The same without id. New reference. */
json_t *jsonrpc_notification_new(const char *method, json_t *params);
/* A response: `id` borrowed (copied as is; NULL: null); `result` stolen.
 * New reference. */
json_t *jsonrpc_result_new(json_t *id, json_t *result);
/* An error response: `id` borrowed (NULL: null); `message` may be any
 * bytes (made valid UTF-8); `data` borrowed, NULL for none. New reference. */
json_t *jsonrpc_error_new(json_t *id, int code, const char *message, json_t *data);

#endif
