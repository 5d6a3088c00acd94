/* events.c - POST /api/events: publish events from outside (integrations,
 * tests), one object or an array, all or nothing. */
#include "api/routes.h"
#include "core/bus.h"
#include "core/log.h"
#include "core/util.h"

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

bool api_events_route(void *ctx, const http_request *req, http_response *res)
{
    if (strcmp(req->path, "/api/events") != 0)
        return false;
    if (req->method == HTTP_POST)
        post_events(ctx, req, res);
    else
        http_respond_not_allowed(res, "POST");
    return true;
}
