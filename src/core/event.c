/* event.c - event type names and the one-time serialization of an event. */
#include "core/event.h"

#include "core/json_write.h"
#include "core/util.h"

#include <assert.h>
#include <stddef.h>
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
    [EVENT_SERVER_LOG] = "server_log",
    [EVENT_SERVER_LOGIN_FAILED] = "server_login_failed",
    [EVENT_SERVER_QUARANTINED] = "server_quarantined",
    [EVENT_TOOL_CHANGED] = "tool_changed",
    [EVENT_SERVER_APPROVED] = "server_approved",
    [EVENT_CLUSTER_STATE_CHANGED] = "cluster_state_changed",
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

/* One "key":"value" member with a leading comma (strings here are static
 * names, config names and timestamps: valid UTF-8). */
static void write_member(strbuf *sb, const char *key, const char *value)
{
    strbuf_append(sb, ",\"", 2);
    strbuf_append(sb, key, strlen(key));
    strbuf_append(sb, "\":", 2);
    json_write_str(sb, value, strlen(value));
}

/* The event's JSON in the field order docs/PROTOCOL.md shows, written
 * directly (no tree is built for the envelope; `data` is written as it
 * is). */
static void write_event(strbuf *sb, uint64_t seq, const event_fields *f, const char *timestamp)
{
    strbuf_append(sb, "{\"seq\":", 7);
    json_write_int(sb, (json_int_t)seq);
    write_member(sb, "type", event_type_name(f->type));
    if (f->server_name)
        write_member(sb, "server_name", f->server_name);
    if (f->old_state)
        write_member(sb, "old_state", f->old_state);
    if (f->new_state)
        write_member(sb, "new_state", f->new_state);
    write_member(sb, "timestamp", timestamp);
    if (f->node)
        write_member(sb, "node", f->node);
    if (f->pending)
        strbuf_append(sb, ",\"pending\":true", 15);
    strbuf_append(sb, ",\"data\":", 8);
    if (f->data_text)
        strbuf_append(sb, f->data_text, f->data_text_len);
    else if (f->data)
        json_write(sb, f->data);
    else
        strbuf_append(sb, "{}", 2);
    strbuf_append(sb, "}", 1);
}

event_msg *event_msg_create(uint64_t seq, const event_fields *fields, const char *timestamp)
{
    /* The text is written straight into what becomes the message: one
     * allocation, grown in place, holding the header, the headroom, the
     * JSON and the server name. */
    size_t at = offsetof(event_msg, storage) + EVENT_HEADROOM;
    /* Exactly this much to start with (most events fit): strbuf's doubling
     * would make it 1 KiB, an allocation glibc treats as large (it sorts
     * all its free small chunks first), once per event. */
    strbuf sb = {.data = xmalloc(at + 512), .cap = at + 512};
    sb.len = at;
    write_event(&sb, seq, fields, timestamp);
    size_t json_len = sb.len - at;
    assert(json_len > 0);      /* an object always writes */
    strbuf_append(&sb, "", 1); /* the JSON's NUL */
    if (fields->server_name)
        strbuf_append(&sb, fields->server_name, strlen(fields->server_name) + 1);
    /* Down to its size (in place): the ring keeps thousands of these. */
    event_msg *msg = xrealloc(sb.data, sb.len);
    msg->refs = 1;
    msg->encoded = NULL;
    msg->encoded_len = 0;
    msg->encoded_tried = false;
    msg->type = fields->type;
    msg->seq = seq;
    msg->json = msg->storage + EVENT_HEADROOM;
    msg->json_len = json_len;
    msg->server_name = fields->server_name ? (const char *)msg->json + json_len + 1 : NULL;
    return msg;
}

event_msg *event_msg_ref(event_msg *msg)
{
    msg->refs++;
    return msg;
}

void event_msg_unref(event_msg *msg)
{
    if (msg && --msg->refs == 0) {
        free(msg->encoded);
        free(msg);
    }
}
