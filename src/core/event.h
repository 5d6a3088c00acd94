/* event.h - the events mcpproxy publishes, and their one-time JSON form.
 *
 * An event is built from event_fields, serialized to JSON exactly once by
 * event_msg_create(), and then shared read-only by every sink (history ring,
 * WebSocket clients, SSE, logs) through a reference count. */
#ifndef MCPPROXY_CORE_EVENT_H
#define MCPPROXY_CORE_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 17 event types, in the order docs/PROTOCOL.md lists them. Legacy
 * names (PROTOCOL.md, "Event types") are accepted from clients that were
 * written against them; our own code publishes the canonical ones. */
typedef enum event_type {
    EVENT_SERVER_STATE_CHANGED,
    EVENT_SERVER_CONFIG_CHANGED,
    EVENT_SERVER_AUTO_DISABLED,
    EVENT_SERVER_GROUP_UPDATED,
    EVENT_STATE_CHANGE,  /* legacy alias of server_state_changed */
    EVENT_CONFIG_CHANGE, /* legacy alias of server_config_changed */
    EVENT_APP_STATE_CHANGED,
    EVENT_TOOLS_UPDATED,
    EVENT_TOOL_CALLED,
    EVENT_CONNECTION_ESTABLISHED,
    EVENT_CONNECTION_LOST,
    EVENT_SERVER_LOG,            /* new stderr lines of an upstream (rate-limited) */
    EVENT_SERVER_LOGIN_FAILED,   /* an OAuth login's callback failed (the state stays) */
    EVENT_SERVER_QUARANTINED,    /* a new or changed server waits for approval */
    EVENT_TOOL_CHANGED,          /* an approved tool's definition changed: held */
    EVENT_SERVER_APPROVED,       /* a server (and its tools as they are) approved */
    EVENT_CLUSTER_STATE_CHANGED, /* a node's link to the cluster's stream came or went */
    EVENT_TYPE_COUNT
} event_type;

/* A set of event types: bit (1u << type). */
typedef uint32_t event_type_mask;
#define EVENT_MASK_ALL ((event_type_mask)((1u << EVENT_TYPE_COUNT) - 1u))

/* Wire name of a type, e.g. "server_state_changed". Never NULL for a valid type. */
const char *event_type_name(event_type type);

/* Parses a wire name (canonical or legacy). Returns false for an unknown name. */
bool event_type_parse(const char *name, size_t len, event_type *out);

/* The mask a filter on `type` selects: the type itself and, for a canonical
 * type, its legacy alias (a filter on server_state_changed also matches
 * state_change; a filter on state_change matches only state_change). */
event_type_mask event_type_filter_mask(event_type type);

/* Parses a comma-separated list of type names into a filter mask.
 * On error returns false and writes a message naming the bad entry to err. */
bool event_type_mask_parse(const char *csv, event_type_mask *out, char *err, size_t err_len);

/* What a publisher says about an event. All pointers are borrowed for the
 * duration of the publish call only. */
typedef struct event_fields {
    event_type type;
    const char *server_name; /* NULL when not about one server */
    const char *old_state;   /* NULL unless a state changed */
    const char *new_state;
    json_t *data; /* a JSON object, or NULL for {} */
    /* Or the data object already written as JSON text (used instead of
     * `data` when not NULL): for the publisher of one event per tool call,
     * which would build a tree only to have it written out here. */
    const char *data_text;
    size_t data_text_len;
    const char *node; /* the cluster node it happened on; NULL on a single node */
    /* A cluster node's own event while the stream cannot take it yet: sent
     * to its clients now as a preview ("pending":true), numbered later. */
    bool pending;
} event_fields;

/* Bytes reserved in front of every serialized event so that a WebSocket frame
 * header can be written in place (libwebsockets' LWS_PRE; http/ws.c checks the
 * two agree at compile time). */
#define EVENT_HEADROOM 16

/* A published event: immutable after creation and shared by reference count.
 * One allocation holds the struct, the headroom, the JSON text and the server
 * name. Beside it a sink may keep one other encoding of the same text, made
 * once for all its clients (the WebSocket stream keeps the JSON compressed
 * for permessage-deflate); it is freed with the message. */
typedef struct event_msg {
    uint32_t refs;
    event_type type;
    uint64_t seq;
    const char *server_name; /* points into storage; NULL if none */
    size_t json_len;         /* length of the JSON text, without the NUL */
    unsigned char *json;     /* = storage + EVENT_HEADROOM, NUL-terminated */
    unsigned char *encoded;  /* the other encoding (owned, xmalloc'd), or NULL */
    size_t encoded_len;
    bool encoded_tried; /* made already, or found not worth making (encoded NULL) */
    unsigned char storage[];
} event_msg;

/* Serializes an event. `timestamp` is RFC 3339 UTC text. Returns a message
 * with one reference (owned by the caller). */
event_msg *event_msg_create(uint64_t seq, const event_fields *fields, const char *timestamp);

/* Takes one more reference; returns msg for convenience. */
event_msg *event_msg_ref(event_msg *msg);

/* Drops one reference; frees the message when it was the last. NULL is fine. */
void event_msg_unref(event_msg *msg);

#endif
