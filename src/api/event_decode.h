/* event_decode.h - the body of POST /api/events, checked: one event object
 * or a non-empty array of them, each with a known type, only the fields a
 * client may set, and no larger than websocket.max_event_bytes. Pure: no
 * bus, no loop (fuzzed on its own: fuzz/fuzz_api_events.c). */
#ifndef MCPPROXY_API_EVENT_DECODE_H
#define MCPPROXY_API_EVENT_DECODE_H

#include "core/event.h"
#include "http/exchange.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On success *out (free() it) holds *n events whose strings and data are
 * borrowed from `body`. On failure responds 400 or 413 naming the event and
 * the field, and returns false. */
bool api_events_decode(json_t *body, uint32_t max_event_bytes, event_fields **out, size_t *n, http_response *res);

#endif
