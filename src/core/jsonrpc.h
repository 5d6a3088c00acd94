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
    strbuf buf;        /* bytes of the current, unfinished line; owned */
    size_t max_line;   /* longer lines are dropped whole */
    bool discarding;   /* inside an over-long line: skip up to the next '\n' */
    size_t discarded;  /* bytes skipped of that line so far */
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
void jsonrpc_framer_feed(jsonrpc_framer *f, const char *bytes, size_t len,
                         jsonrpc_line_fn on_line, jsonrpc_overflow_fn on_overflow, void *ctx);

typedef enum jsonrpc_kind {
    JSONRPC_INVALID,      /* not a JSON-RPC 2.0 message */
    JSONRPC_REQUEST,      /* method + id: the server asks us something */
    JSONRPC_NOTIFICATION, /* method, no id */
    JSONRPC_RESPONSE,     /* id + result */
    JSONRPC_ERROR         /* id + error */
} jsonrpc_kind;

/* Classifies a parsed message. For a response, *id_out receives its id when
 * the id is an integer we could have issued (>= 1); otherwise it is 0. */
jsonrpc_kind jsonrpc_classify(const json_t *msg, int64_t *id_out);

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params}. `params` is
 * borrowed (may be NULL: no params member). New reference. */
json_t *jsonrpc_request_new(int64_t id, const char *method, json_t *params);
/* The same without id. New reference. */
json_t *jsonrpc_notification_new(const char *method, json_t *params);
/* A response to a server's request: `id` borrowed (copied as is); `result`
 * stolen. New reference. */
json_t *jsonrpc_result_new(json_t *id, json_t *result);
/* An error response to a server's request; `id` borrowed. New reference. */
json_t *jsonrpc_error_new(json_t *id, int code, const char *message);

#endif
