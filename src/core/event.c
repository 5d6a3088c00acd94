/* event.c - event type names and the one-time serialization of an event. */
#include "core/event.h"

#include "core/util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[EVENT_TYPE_COUNT] = {
    [EVENT_SERVER_STATE_CHANGED] = "server_state_changed",
    [EVENT_SERVER_CONFIG_CHANGED] = "server_config_changed",
    [EVENT_SERVER_AUTO_DISABLED] = "server_auto_disabled",
    [EVENT_SERVER_GROUP_UPDATED] = "server_group_updated",
    [EVENT_STATE_CHANGE] = "state_change",
    [EVENT_CONFIG_CHANGE] = "config_change",
    [EVENT_APP_STATE_CHANGED] = "app_state_changed",
    [EVENT_TOOLS_UPDATED] = "tools_updated",
    [EVENT_TOOL_CALLED] = "tool_called",
    [EVENT_CONNECTION_ESTABLISHED] = "connection_established",
    [EVENT_CONNECTION_LOST] = "connection_lost",
    [EVENT_SERVER_QUARANTINED] = "server_quarantined",
    [EVENT_TOOL_CHANGED] = "tool_changed",
    [EVENT_SERVER_APPROVED] = "server_approved",
};

const char *event_type_name(event_type type)
{
    return (unsigned)type < EVENT_TYPE_COUNT ? type_names[type] : "unknown";
}

bool event_type_parse(const char *name, size_t len, event_type *out)
{
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0) {
            *out = (event_type)t;
            return true;
        }
    }
    return false;
}

event_type_mask event_type_filter_mask(event_type type)
{
    event_type_mask mask = 1u << type;
    if (type == EVENT_SERVER_STATE_CHANGED)
        mask |= 1u << EVENT_STATE_CHANGE;
    else if (type == EVENT_SERVER_CONFIG_CHANGED)
        mask |= 1u << EVENT_CONFIG_CHANGE;
    return mask;
}

bool event_type_mask_parse(const char *csv, event_type_mask *out, char *err, size_t err_len)
{
    event_type_mask mask = 0;
    const char *p = csv;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        event_type type;
        if (len == 0) {
            snprintf(err, err_len, "empty event type in \"%s\"", csv);
            return false;
        }
        if (!event_type_parse(p, len, &type)) {
            snprintf(err, err_len, "unknown event type \"%.*s\"", (int)(len > 64 ? 64 : len), p);
            return false;
        }
        mask |= event_type_filter_mask(type);
        if (!end)
            break;
        p = end + 1;
    }
    *out = mask;
    return true;
}

/* Builds the JSON object in the field order docs/PROTOCOL.md shows. Jansson keeps
 * insertion order when dumping with JSON_PRESERVE_ORDER. */
static json_t *event_to_json(uint64_t seq, const event_fields *f, const char *timestamp)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "seq", json_integer((json_int_t)seq));
    json_object_set_new(obj, "type", json_string(event_type_name(f->type)));
    if (f->server_name)
        json_object_set_new(obj, "server_name", json_string(f->server_name));
    if (f->old_state)
        json_object_set_new(obj, "old_state", json_string(f->old_state));
    if (f->new_state)
        json_object_set_new(obj, "new_state", json_string(f->new_state));
    json_object_set_new(obj, "timestamp", json_string(timestamp));
    json_object_set_new(obj, "data", f->data ? json_incref(f->data) : json_object());
    return obj;
}

event_msg *event_msg_create(uint64_t seq, const event_fields *fields, const char *timestamp)
{
    json_t *obj = event_to_json(seq, fields, timestamp);
    size_t json_len = json_dumpb(obj, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t name_len = fields->server_name ? strlen(fields->server_name) + 1 : 0;
    assert(json_len > 0); /* an object always dumps */
    event_msg *msg = xmalloc(sizeof *msg + EVENT_HEADROOM + json_len + 1 + name_len);
    msg->refs = 1;
    msg->type = fields->type;
    msg->seq = seq;
    msg->json = msg->storage + EVENT_HEADROOM;
    msg->json_len = json_dumpb(obj, (char *)msg->json, json_len, JSON_COMPACT | JSON_PRESERVE_ORDER);
    msg->json[json_len] = '\0';
    json_decref(obj);
    if (fields->server_name) {
        char *name = (char *)msg->json + json_len + 1;
        memcpy(name, fields->server_name, name_len);
        msg->server_name = name;
    } else {
        msg->server_name = NULL;
    }
    return msg;
}

event_msg *event_msg_ref(event_msg *msg)
{
    msg->refs++;
    return msg;
}

void event_msg_unref(event_msg *msg)
{
    if (msg && --msg->refs == 0)
        free(msg);
}
