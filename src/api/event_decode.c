/* event_decode.c - POST /api/events bodies checked into event fields (see
 * event_decode.h). */
#include "api/event_decode.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
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
            if (!json_is_string(value) ||
                !event_type_parse(json_string_value(value), json_string_length(value), &out->type)) {
                http_respond_error(res, 400,
                                   "%s\"type\" must be one of the event types (e.g. server_state_changed); got %s",
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

bool api_events_decode(json_t *body, uint32_t max_event_bytes, event_fields **out, size_t *n_out, http_response *res)
{
    bool single = json_is_object(body);
    size_t n = single ? 1 : json_array_size(body);
    if (!single && (!json_is_array(body) || n == 0)) {
        http_respond_error(res, 400, "body must be an event object or a non-empty array of them");
        return false;
    }
    event_fields *events = xcalloc(n, sizeof *events);
    for (size_t i = 0; i < n; i++) {
        char where[48] = "";
        if (!single)
            snprintf(where, sizeof where, "event %zu: ", i);
        json_t *obj = single ? body : json_array_get(body, i);
        bool ok = decode_event(obj, where, &events[i], res);
        /* Its JSON as sent is within a few bytes of the event as published. */
        if (ok && json_dumpb(obj, NULL, 0, JSON_COMPACT) > max_event_bytes) {
            http_respond_error(res, 413, "%sthe event is larger than %u bytes (websocket.max_event_bytes)", where,
                               max_event_bytes);
            ok = false;
        }
        if (!ok) {
            free(events);
            return false;
        }
    }
    *out = events;
    *n_out = n;
    return true;
}
