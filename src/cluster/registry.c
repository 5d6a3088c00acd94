/* registry.c - the cluster's table of servers in a NATS KV bucket, the
 * heartbeats, and marking a silent node's servers unreachable
 * (registry.h).
 *
 * The bucket is a JetStream stream (KV_<bucket>, subjects
 * $KV.<bucket>.<key>): a value is written by publishing to its key's
 * subject (js_PublishAsync, on the loop: it only buffers), a delete by
 * publishing an empty message with the header KV-Operation: DEL. Reading
 * it is an ordered consumer of that stream starting with each key's last
 * value; its messages, like the heartbeats, arrive on nats.c's threads,
 * which post them to the loop (mailbox.h, as cluster.c does). */
#include "cluster/registry.h"

#include "cluster/mailbox.h"

#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Local changes are written at most this often. */
#define FLUSH_DELAY_MS 100
#define SETUP_RETRY_MS 2000
/* Heartbeats missed before a node is unreachable. */
#define MISSED_BEATS 3
#define UNREACHABLE "Unreachable"
#define UNREACHABLE_ERROR "node unreachable"

/* Letters (mailbox.h): num is the entry's stream revision. */
typedef enum inbound_kind {
    IN_KV_PUT, /* 0: key, 1: value */
    IN_KV_DEL, /* 0: key */
    IN_BEAT,   /* 0: node name */
} inbound_kind;

struct registry {
    app *a;
    cluster *c;
    const cluster_settings *cfg;
    char bucket[96];
    char kv_stream[104];
    char kv_subjects[112]; /* $KV.<bucket>.> */
    char names_bucket[96]; /* <stream>_names: server name -> the node that holds it */
    kvStore *names;        /* written by the setup work, then used by claim works */
    /* A JetStream context of our own on the cluster's connection: the
     * cluster's reads its publishes' acks as its outbox's. */
    jsCtx *js;
    natsSubscription *kv_sub;
    natsSubscription *beat_sub;
    natsStatus beat_status;

    /* Loop only. */
    bool ready; /* the cluster's connection exists (cluster_when_ready) */
    bool setup_running, setup_done, closing;
    char setup_err[256];
    uv_work_t setup;
    uv_timer_t retry;
    uv_timer_t flush;
    uv_timer_t beat;
    bool dirty; /* this node's servers may differ from what the bucket has */
    bus_sub *events;
    registry_source_fn source;
    void *source_ctx;
    registry_changed_fn listener;
    void *listener_ctx;
    registry_node_down_fn node_down;
    void *node_down_ctx;
    json_t *written;   /* server -> the text last written for it (this node's) */
    json_t *own_seen;  /* server -> true: this node's keys found in the bucket (an earlier run's) */
    json_t *remote;    /* server -> entry of another node (with "node", "tools", "_rev", "_seq") */
    json_t *heard;     /* node -> the loop's time (ms) it was last heard */
    json_t *down;      /* node -> true: found unreachable (until heard again) */
    json_t *claimed;   /* server -> true: names this node holds in the names bucket */
    json_t *claiming;  /* server -> true: a claim under way */
    json_t *contested; /* server -> true: this node's server whose name another node holds */
    json_t *gated;     /* server -> true (false once its wait is logged): asked registry_start_check, no answer yet */
    json_t *refused;   /* server -> the holder: a gated claim lost, until the gate asks again */
    registry_gate_fn gate_listener;
    void *gate_ctx;
    uint64_t started_ms;
    uint64_t last_tick;             /* the loop's time at the last heartbeat tick */
    char started_at[TIMESTAMP_LEN]; /* the same, as event timestamps are written */

    mailbox inbox; /* from nats.c's threads */
};

/* ---- from nats.c's threads ------------------------------------------------ */

static void push(registry *r, inbound_kind kind, uint64_t revision, const char *key, size_t key_len, const char *data,
                 size_t len)
{
    const char *part[MAILBOX_PARTS] = {key, data, NULL};
    size_t lens[MAILBOX_PARTS] = {key_len, len, 0};
    mailbox_post(&r->inbox, kind, revision, false, part, lens);
}

static void on_kv_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    registry *r = closure;
    const char *subject = natsMsg_GetSubject(msg);
    size_t prefix = strlen(r->kv_subjects) - 1; /* "$KV.<bucket>." */
    jsMsgMetaData *meta = NULL;
    if (strlen(subject) > prefix && natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        const char *op = NULL;
        bool del = natsMsgHeader_Get(msg, "KV-Operation", &op) == NATS_OK && op &&
                   (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0);
        const char *key = subject + prefix;
        push(r, del ? IN_KV_DEL : IN_KV_PUT, meta->Sequence.Stream, key, strlen(key), natsMsg_GetData(msg),
             del ? 0 : (size_t)natsMsg_GetDataLength(msg));
        jsMsgMetaData_Destroy(meta);
    }
    natsMsg_Destroy(msg);
}

static void on_beat_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    const char *subject = natsMsg_GetSubject(msg);
    const char *node = strrchr(subject, '.');
    if (node)
        push(closure, IN_BEAT, 0, node + 1, strlen(node + 1), NULL, 0);
    natsMsg_Destroy(msg);
}

/* ---- the loop: helpers ----------------------------------------------------- */

static uint64_t now_ms(const registry *r)
{
    return uv_now(r->a->loop);
}

static void notify(registry *r)
{
    if (r->listener)
        r->listener(r->listener_ctx);
}

/* "node.server" -> node (into out) and the server name, or false. */
static bool split_key(const char *key, char *node, size_t node_len, const char **server)
{
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || !dot[1] || (size_t)(dot - key) >= node_len)
        return false;
    memcpy(node, key, (size_t)(dot - key));
    node[dot - key] = '\0';
    *server = dot + 1;
    return true;
}

static void key_subject(const registry *r, const char *server, strbuf *out)
{
    strbuf_appendf(out, "$KV.%s.%s.%s", r->bucket, r->cfg->node, server);
}

static bool write_value(registry *r, const char *server, const char *text)
{
    strbuf subject = {0};
    key_subject(r, server, &subject);
    natsStatus s = js_PublishAsync(r->js, subject.data, text, (int)strlen(text), NULL);
    strbuf_free(&subject);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: server status not written to the registry (retried)",
               LOG_FIELDS(LOG_STR("server", server), LOG_STR("error", natsStatus_GetText(s))));
    return s == NATS_OK;
}

static bool delete_key(registry *r, const char *server)
{
    strbuf subject = {0};
    key_subject(r, server, &subject);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject.data, NULL, NULL, 0);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    if (s == NATS_OK)
        s = js_PublishMsgAsync(r->js, &msg, NULL); /* takes msg when it succeeds */
    natsMsg_Destroy(msg);
    strbuf_free(&subject);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: server not removed from the registry",
               LOG_FIELDS(LOG_STR("server", server), LOG_STR("error", natsStatus_GetText(s))));
    return s == NATS_OK;
}

/* ---- this node's servers into the bucket ------------------------------------ */

static void claim_local(registry *r, const char *name);
static void release(registry *r, const char *name);
static void retry_gated(registry *r);

static void flush(registry *r)
{
    if (!r->dirty || !r->setup_done || !r->source || r->closing)
        return;
    r->dirty = false;
    json_t *servers = r->source(r->source_ctx);
    json_t *now = json_object();
    size_t i;
    json_t *st;
    json_array_foreach(servers, i, st) {
        const char *name = json_string_value(json_object_get(st, "name"));
        if (!name)
            continue;
        claim_local(r, name);
        /* Only a name this node holds: a server waiting for its claim, or
         * refused its name, is nobody else's business (the holder's entry
         * is the one the others list). */
        if (!json_object_get(r->claimed, name))
            continue;
        json_object_set_new(st, "node", json_string(r->cfg->node));
        char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *old = json_object_get(r->written, name);
        if (!old || strcmp(json_string_value(old), text) != 0) {
            /* With the newest stream seq this node has seen: its events up
             * to there are in the entry, and a reader applies only later
             * ones (apply_event). */
            json_object_set_new(st, "_seq", json_integer((json_int_t)bus_head_seq(r->a->bus)));
            char *value = json_dumps(st, JSON_COMPACT);
            bool ok = write_value(r, name, value);
            free(value);
            if (ok)
                json_object_set_new(r->written, name, json_string(text));
            else
                r->dirty = true;
        }
        json_object_set_new(now, name, json_true());
        free(text);
    }
    /* A name asked about at a start that this node no longer has. */
    json_t *configured = json_object();
    json_array_foreach(servers, i, st) {
        const char *name = json_string_value(json_object_get(st, "name"));
        if (name)
            json_object_set_new(configured, name, json_true());
    }
    json_decref(servers);
    /* Gone since the last write, or left by an earlier run of this node. */
    const char *name;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(r->written, tmp, name, v)
    {
        if (!json_object_get(now, name) && delete_key(r, name)) {
            release(r, name);
            json_object_del(r->contested, name);
            json_object_del(r->written, name);
        }
    }
    /* A name claimed for a server that went before it was ever written. */
    json_object_foreach_safe(r->claimed, tmp, name, v)
    {
        if (!json_object_get(now, name))
            release(r, name);
    }
    json_object_foreach_safe(r->own_seen, tmp, name, v)
    {
        if (!json_object_get(now, name) && delete_key(r, name))
            json_object_del(r->own_seen, name);
    }
    json_object_foreach_safe(r->gated, tmp, name, v)
    {
        if (!json_object_get(configured, name))
            json_object_del(r->gated, name);
    }
    json_object_foreach_safe(r->refused, tmp, name, v)
    {
        if (!json_object_get(configured, name))
            json_object_del(r->refused, name);
    }
    json_decref(configured);
    json_decref(now);
}

static void on_flush(uv_timer_t *t)
{
    flush(t->data);
}

static void mark_dirty(registry *r)
{
    r->dirty = true;
    if (!uv_is_active((uv_handle_t *)&r->flush))
        uv_timer_start(&r->flush, on_flush, FLUSH_DELAY_MS, 0);
}

/* ---- the other nodes' servers ---------------------------------------------- */

static void kv_put(registry *r, const letter *in)
{
    char node[80];
    const char *server;
    if (!split_key(in->part[0], node, sizeof node, &server))
        return;
    if (strcmp(node, r->cfg->node) == 0) {
        if (!json_object_get(r->written, server))
            json_object_set_new(r->own_seen, server, json_true());
        return;
    }
    json_error_t jerr;
    json_t *entry = json_loadb(in->part[1], in->len[1], 0, &jerr);
    if (!json_is_object(entry) || !json_is_string(json_object_get(entry, "state"))) {
        log_kv(LOG_WARN, "cluster: a registry value is not a server status: left out",
               LOG_FIELDS(LOG_STR("key", in->part[0]), LOG_STR("bucket", r->bucket)));
        json_decref(entry);
        return;
    }
    json_t *held = json_object_get(r->remote, server);
    const char *holder = json_string_value(json_object_get(held, "node"));
    if (holder && strcmp(holder, node) != 0 && !json_object_get(r->down, holder)) {
        /* Two nodes started one name at once (the start gate saw neither):
         * the first one heard keeps it here. */
        log_kv(LOG_WARN, "cluster: a server name is served by two nodes: the first one heard is kept",
               LOG_FIELDS(LOG_STR("server", server), LOG_STR("kept", holder), LOG_STR("ignored", node)));
        json_decref(entry);
        return;
    }
    json_object_set_new(entry, "name", json_string(server));
    json_object_set_new(entry, "node", json_string(node));
    json_object_set_new(entry, "_rev", json_integer((json_int_t)in->num));
    /* _seq: the newest stream seq the entry reflects - the owner's when it
     * wrote it, or an event of the owner applied since (apply_event): never
     * back, so every node that read the same stream has the same. */
    json_int_t before = holder && strcmp(holder, node) == 0 ? json_integer_value(json_object_get(held, "_seq")) : 0;
    if (before > json_integer_value(json_object_get(entry, "_seq")))
        json_object_set_new(entry, "_seq", json_integer(before));
    if (!json_is_array(json_object_get(entry, "tools")))
        json_object_set_new(entry, "tools", json_array());
    /* A node known to be down keeps showing so until it is heard again. */
    if (json_object_get(r->down, node)) {
        json_object_set_new(entry, "state", json_string(UNREACHABLE));
        json_object_set_new(entry, "status", json_string(UNREACHABLE));
        json_object_set_new(entry, "last_error", json_string(UNREACHABLE_ERROR));
    }
    json_object_set_new(r->remote, server, entry);
    notify(r);
}

static void kv_del(registry *r, const letter *in)
{
    char node[80];
    const char *server;
    if (!split_key(in->part[0], node, sizeof node, &server))
        return;
    if (strcmp(node, r->cfg->node) == 0) {
        json_object_del(r->own_seen, server);
        return;
    }
    json_t *entry = json_object_get(r->remote, server);
    if (entry && strcmp(json_string_value(json_object_get(entry, "node")), node) == 0) {
        json_object_del(r->remote, server);
        notify(r);
    }
}

static void read_letter(const letter *in, void *ctx)
{
    registry *r = ctx;
    const char *node = in->part[0];
    switch ((inbound_kind)in->kind) {
    case IN_KV_PUT:
        kv_put(r, in);
        break;
    case IN_KV_DEL:
        kv_del(r, in);
        break;
    case IN_BEAT:
        if (strcmp(node, r->cfg->node) != 0) {
            json_object_set_new(r->heard, node, json_integer((json_int_t)now_ms(r)));
            if (json_object_get(r->down, node)) {
                json_object_del(r->down, node);
                log_kv(LOG_INFO, "cluster: node heard again", LOG_FIELDS(LOG_STR("node", node)));
            }
        }
        break;
    }
}

/* Another node's event from the stream, applied to its server's entry as a
 * client applies it to the list (PROTOCOL.md, "Clusters"). */
static void apply_event(registry *r, json_t *ev, const char *node, uint64_t seq)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *server = json_string_value(json_object_get(ev, "server_name"));
    json_t *entry = server ? json_object_get(r->remote, server) : NULL;
    /* Only the owner's events, and only those its entry does not hold yet
     * (a node reading the stream from its start replays old ones). */
    if (!type || !entry || strcmp(json_string_value(json_object_get(entry, "node")), node) != 0 ||
        seq <= (uint64_t)json_integer_value(json_object_get(entry, "_seq")))
        return;
    json_t *d = json_object_get(ev, "data");
    json_object_set_new(entry, "_seq", json_integer((json_int_t)seq));
    if (strcmp(type, "server_state_changed") == 0) {
        const char *st = json_string_value(json_object_get(ev, "new_state"));
        if (!st)
            return;
        const char *status = json_string_value(json_object_get(entry, "status"));
        bool held = status && (strcmp(status, "Disabled") == 0 || strcmp(status, "Auto-Disabled") == 0);
        if (!held || strcmp(st, "Connecting") == 0 || strcmp(st, "Discovering") == 0 || strcmp(st, "Ready") == 0 ||
            strcmp(st, UNREACHABLE) == 0)
            json_object_set_new(entry, "status", json_string(st));
        json_object_set_new(entry, "state", json_string(st));
        if (strcmp(st, "Ready") != 0)
            json_object_set_new(entry, "connected_since", json_null());
        else if (json_is_null(json_object_get(entry, "connected_since")))
            json_object_set(entry, "connected_since", json_object_get(ev, "timestamp"));
        if (strcmp(st, "Ready") == 0 && !json_object_get(d, "last_error"))
            json_object_set_new(entry, "last_error", json_null());
        static const char *const copied[] = {"tool_count", "retry_count", "failure_count", "last_error"};
        for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
            json_t *v = json_object_get(d, copied[i]);
            if (v)
                json_object_set(entry, copied[i], v);
        }
        notify(r);
    } else if (strcmp(type, "server_auto_disabled") == 0) {
        json_object_set_new(entry, "status", json_string("Auto-Disabled"));
        json_object_set_new(entry, "connected_since", json_null());
        if (json_object_get(d, "failure_count"))
            json_object_set(entry, "failure_count", json_object_get(d, "failure_count"));
        if (json_is_string(json_object_get(d, "reason")))
            json_object_set(entry, "last_error", json_object_get(d, "reason"));
        notify(r);
    } else if (strcmp(type, "server_config_changed") == 0) {
        const char *action = json_string_value(json_object_get(d, "action"));
        if (action && strcmp(action, "deleted") == 0) {
            json_object_del(r->remote, server);
            notify(r);
        }
    }
}

/* The bus: this node's server events mean its entries may have changed;
 * another node's are applied to the table. */
/* The others found this node unreachable (it was cut off, or its loop
 * stood still, for 3 heartbeats) and said so of one of its servers: the
 * server's state as it is goes out again, and its entry is written anew.
 * Only for what happened during this run: a node reading the stream from
 * its start meets an earlier run's. */
static void reassert(registry *r, json_t *ev)
{
    const char *server = json_string_value(json_object_get(ev, "server_name"));
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    if (!server || !ts || strcmp(ts, r->started_at) < 0 || !r->source || r->closing)
        return;
    json_t *servers = r->source(r->source_ctx);
    size_t i;
    json_t *st;
    json_array_foreach(servers, i, st) {
        if (strcmp(json_string_value(json_object_get(st, "name")), server) != 0)
            continue;
        json_t *data = json_object();
        static const char *const copied[] = {"tool_count", "retry_count", "failure_count", "last_error"};
        for (size_t k = 0; k < sizeof copied / sizeof *copied; k++)
            if (json_object_get(st, copied[k]))
                json_object_set(data, copied[k], json_object_get(st, copied[k]));
        log_kv(LOG_INFO, "cluster: this node was found unreachable: its server's state goes out again",
               LOG_FIELDS(LOG_STR("server", server)));
        bus_publish(r->a->bus, &(event_fields){
                                   .type = EVENT_SERVER_STATE_CHANGED,
                                   .server_name = server,
                                   .old_state = UNREACHABLE,
                                   .new_state = json_string_value(json_object_get(st, "state")),
                                   .data = data,
                               });
        json_decref(data);
        json_object_del(r->written, server);
        mark_dirty(r);
    }
    json_decref(servers);
}

static void on_event(event_msg *msg, void *ctx)
{
    registry *r = ctx;
    json_t *ev = json_loadb((const char *)msg->json, msg->json_len, 0, NULL);
    const char *node = json_string_value(json_object_get(ev, "node"));
    const char *new_state = json_string_value(json_object_get(ev, "new_state"));
    if (node && strcmp(node, r->cfg->node) == 0 && new_state && strcmp(new_state, UNREACHABLE) == 0)
        reassert(r, ev);
    else if (!node || strcmp(node, r->cfg->node) == 0)
        mark_dirty(r);
    else
        apply_event(r, ev, node, msg->seq);
    json_decref(ev);
}

/* ---- heartbeats and unreachable nodes -------------------------------------- */

/* One server_state_changed to Unreachable for a server of a silent node,
 * straight into the stream: every node that noticed sends the same
 * Nats-Msg-Id (node, server, the newest seq its entry reflects, the same
 * on every node once the silent node's last events are in), so the stream
 * keeps one; a later silence of the same node has another. */
static void announce_unreachable(registry *r, const char *node, const char *server, json_t *entry)
{
    char ts[TIMESTAMP_LEN];
    timestamp_now(ts);
    json_t *data = json_pack("{s:I, s:O, s:O, s:s}", "tool_count", (json_int_t)0, "retry_count",
                             json_object_get(entry, "retry_count"), "failure_count",
                             json_object_get(entry, "failure_count"), "last_error", UNREACHABLE_ERROR);
    const char *old = json_string_value(json_object_get(entry, "state"));
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "type", "server_state_changed", "timestamp", ts,
                           "node", node, "server_name", server, "old_state", old ? old : "Disconnected", "new_state",
                           UNREACHABLE, "data", data);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    strbuf subject = {0}, id = {0};
    strbuf_appendf(&subject, "mcpproxy.events.%s.server_state_changed", node);
    strbuf_appendf(&id, "unreachable.%s.%s.%lld", node, server,
                   (long long)json_integer_value(json_object_get(entry, "_seq")));
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.data;
    natsStatus s = js_PublishAsync(r->js, subject.data, text, (int)strlen(text), &po);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: an unreachable server's state not sent to the stream",
               LOG_FIELDS(LOG_STR("server", server), LOG_STR("node", node), LOG_STR("error", natsStatus_GetText(s))));
    strbuf_free(&subject);
    strbuf_free(&id);
    free(text);
}

static void node_down(registry *r, const char *node)
{
    json_object_set_new(r->down, node, json_true());
    if (r->node_down)
        r->node_down(node, r->node_down_ctx);
    log_kv(LOG_WARN, "cluster: node unreachable: its servers are marked so",
           LOG_FIELDS(LOG_STR("node", node), LOG_INT("missed_heartbeats", MISSED_BEATS)));
    const char *server;
    json_t *entry;
    json_object_foreach(r->remote, server, entry) {
        const char *owner = json_string_value(json_object_get(entry, "node"));
        const char *state = json_string_value(json_object_get(entry, "state"));
        if (strcmp(owner, node) == 0 && (!state || strcmp(state, UNREACHABLE) != 0))
            announce_unreachable(r, node, server, entry);
    }
}

static void on_beat(uv_timer_t *t)
{
    registry *r = t->data;
    char subject[128];
    snprintf(subject, sizeof subject, "mcpproxy.heartbeat.%s", r->cfg->node);
    if (!r->ready)
        return;
    natsConnection_Publish(cluster_conn(r->c), subject, NULL, 0); /* lost while NATS is down: nothing to keep */
    flush(r);                                                     /* a write that failed, again */
    if (!r->setup_done)
        return;
    retry_gated(r);
    /* A node never heard since this one started counts from the start. */
    uint64_t now = now_ms(r), bound = (uint64_t)MISSED_BEATS * r->cfg->heartbeat_ms;
    bool stood_still = r->last_tick && now - r->last_tick > 2 * (uint64_t)r->cfg->heartbeat_ms;
    r->last_tick = now;
    if (stood_still) {
        /* This node's loop did not run (stopped, swapped out): it heard
         * nobody, which says nothing of the others. Their heartbeats wait
         * in the socket, read after this timer: count from now. */
        log_kv(LOG_WARN, "cluster: this node's loop stood still: heartbeats are counted from now",
               LOG_FIELDS(LOG_INT("heartbeat_ms", r->cfg->heartbeat_ms)));
        json_object_clear(r->heard);
        r->started_ms = now;
        return;
    }
    json_t *checked = json_object();
    const char *server;
    json_t *entry;
    json_object_foreach(r->remote, server, entry) {
        const char *node = json_string_value(json_object_get(entry, "node"));
        if (json_object_get(checked, node) || json_object_get(r->down, node))
            continue;
        json_object_set_new(checked, node, json_true());
        json_t *heard = json_object_get(r->heard, node);
        uint64_t last = heard ? (uint64_t)json_integer_value(heard) : r->started_ms;
        if (now - last > bound)
            node_down(r, node);
    }
    json_decref(checked);
}

/* ---- setup -------------------------------------------------------------- */

static void setup_work(uv_work_t *w)
{
    registry *r = w->data;
    jsCtx *js = r->js;
    jsErrCode jerr = 0;
    kvStore *kv = NULL;
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = r->bucket;
    kc.History = 1;
    kc.StorageType = js_FileStorage;
    natsStatus s = js_KeyValue(&kv, js, r->bucket);
    if (s == NATS_NOT_FOUND)
        s = js_CreateKeyValue(&kv, js, &kc);
    kvStore_Destroy(kv);
    if (s == NATS_OK && !r->names) {
        kc.Bucket = r->names_bucket;
        s = js_KeyValue(&r->names, js, r->names_bucket);
        if (s == NATS_NOT_FOUND)
            s = js_CreateKeyValue(&r->names, js, &kc);
    }
    if (s != NATS_OK) {
        snprintf(r->setup_err, sizeof r->setup_err, "cannot find or create the servers bucket %s: %s", r->bucket,
                 natsStatus_GetText(s));
        return;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = r->kv_stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverLastPerSubject;
    s = js_Subscribe(&r->kv_sub, js, r->kv_subjects, on_kv_msg, r, NULL, &so, &jerr);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(r->kv_sub, -1, -1);
    if (s != NATS_OK)
        snprintf(r->setup_err, sizeof r->setup_err, "cannot read the servers bucket %s: %s (JetStream error %d)",
                 r->bucket, natsStatus_GetText(s), (int)jerr);
}

static void start_setup(registry *r);

static void on_retry(uv_timer_t *t)
{
    start_setup(t->data);
}

static void setup_done(uv_work_t *w, int status)
{
    (void)status;
    registry *r = w->data;
    r->setup_running = false;
    if (r->closing)
        return;
    if (r->setup_err[0]) {
        log_kv(LOG_WARN, "cluster: servers registry setup failed: retrying",
               LOG_FIELDS(LOG_STR("error", r->setup_err)));
        natsSubscription_Destroy(r->kv_sub);
        r->kv_sub = NULL;
        uv_timer_start(&r->retry, on_retry, SETUP_RETRY_MS, 0);
        return;
    }
    r->setup_done = true;
    retry_gated(r);
    mark_dirty(r);
}

static void start_setup(registry *r)
{
    if (r->setup_running || r->setup_done || r->closing)
        return;
    r->setup_running = true;
    r->setup_err[0] = '\0';
    r->setup.data = r;
    uv_queue_work(r->a->loop, &r->setup, setup_work, setup_done);
}

/* ---- names ---------------------------------------------------------------- */

typedef struct claim {
    uv_work_t work;
    registry *r;
    char *name;
    registry_claim_fn fn; /* NULL: a claim of a running server (only logged) */
    void *ctx;
    bool take_over; /* Update from revision `last` rather than Create */
    uint64_t last;
    bool ok;
    char holder[80]; /* who holds it when it is not ours */
    char error[200];
} claim;

/* Whether `node` has been heard within 3 heartbeats. Until this node has
 * listened that long it cannot tell: then every node counts as live. */
static bool node_live(registry *r, const char *node)
{
    uint64_t now = now_ms(r), bound = (uint64_t)MISSED_BEATS * r->cfg->heartbeat_ms;
    if (now - r->started_ms <= bound)
        return true;
    json_t *heard = json_object_get(r->heard, node);
    return heard && now - (uint64_t)json_integer_value(heard) <= bound && !json_object_get(r->down, node);
}

/* Whether `node` has been heard within 3 heartbeats. */
static bool node_heard(registry *r, const char *node)
{
    json_t *heard = json_object_get(r->heard, node);
    return heard && now_ms(r) - (uint64_t)json_integer_value(heard) <= (uint64_t)MISSED_BEATS * r->cfg->heartbeat_ms &&
           !json_object_get(r->down, node);
}

/* A work thread: Create is atomic (it fails when the key holds a value),
 * and so is Update from a revision (it fails when someone wrote since). */
static void claim_work(uv_work_t *w)
{
    claim *c = w->data;
    kvStore *kv = c->r->names;
    uint64_t rev = 0;
    natsStatus s = c->take_over ? kvStore_UpdateString(&rev, kv, c->name, c->r->cfg->node, c->last)
                                : kvStore_CreateString(&rev, kv, c->name, c->r->cfg->node);
    if (s == NATS_OK) {
        c->ok = true;
        return;
    }
    kvEntry *e = NULL;
    natsStatus g = kvStore_Get(&e, kv, c->name);
    if (g == NATS_OK) {
        snprintf(c->holder, sizeof c->holder, "%s", kvEntry_ValueString(e));
        c->last = kvEntry_Revision(e);
        kvEntry_Destroy(e);
    } else {
        snprintf(c->error, sizeof c->error, "cannot claim server name %s in bucket %s: %s", c->name, c->r->names_bucket,
                 natsStatus_GetText(s));
    }
}

static void claim_done(uv_work_t *w, int status);

static void claim_start(claim *c)
{
    c->work.data = c;
    uv_queue_work(c->r->a->loop, &c->work, claim_work, claim_done);
}

/* A name asked about at a start has an answer: the gate hears it. */
static void gate_settled(registry *r, const char *name)
{
    json_object_del(r->gated, name);
    if (r->gate_listener)
        r->gate_listener(name, r->gate_ctx);
}

static void claim_finish(claim *c, bool ok, const char *holder, const char *error)
{
    registry *r = c->r;
    json_object_del(r->claiming, c->name);
    json_t *gated = json_object_get(r->gated, c->name);
    if (ok) {
        json_object_set_new(r->claimed, c->name, json_true());
        mark_dirty(r); /* its server is written now */
    }
    if (c->fn) {
        c->fn(ok, holder, error, c->ctx);
    } else if (!ok && holder) {
        /* Told once; not claimed again while the server stays. */
        json_object_set_new(r->contested, c->name, json_true());
        log_kv(LOG_WARN, "cluster: a server of this node has a name another node holds",
               LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("holder", holder)));
        if (gated)
            json_object_set_new(r->refused, c->name, json_string(holder));
    } else if (!ok && gated && json_is_true(gated) && !r->closing) {
        /* No answer: asked again at the next heartbeat. */
        log_kv(LOG_WARN, "cluster: a server waits for its name to be claimed (retried every heartbeat)",
               LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("reason", error)));
        json_object_set_new(r->gated, c->name, json_false());
    }
    if (gated && (ok || holder) && !r->closing)
        gate_settled(r, c->name);
    free(c->name);
    free(c);
}

static void claim_done(uv_work_t *w, int status)
{
    (void)status;
    claim *c = w->data;
    registry *r = c->r;
    if (r->closing) {
        claim_finish(c, false, NULL, "mcpproxy is shutting down");
        return;
    }
    if (c->ok || strcmp(c->holder, r->cfg->node) == 0) {
        claim_finish(c, true, NULL, NULL);
    } else if (!c->holder[0]) {
        claim_finish(c, false, NULL, c->error);
    } else if (!c->take_over && !node_live(r, c->holder)) {
        /* Its holder is gone: taken over, unless another node is quicker. */
        log_kv(LOG_INFO, "cluster: taking over the name of a node not heard from",
               LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("holder", c->holder)));
        c->take_over = true;
        c->holder[0] = '\0';
        claim_start(c);
    } else if (!c->fn && json_object_get(r->gated, c->name) && !node_heard(r, c->holder)) {
        /* Held by a node this one has not heard yet (it just started): a
         * start waits until the holder is heard (refused) or has been
         * silent for 3 heartbeats (taken over). */
        char why[160];
        snprintf(why, sizeof why, "its holder, node %s, has not been heard since this node started", c->holder);
        claim_finish(c, false, NULL, why);
    } else {
        claim_finish(c, false, c->holder, NULL);
    }
}

void registry_claim(registry *r, const char *name, registry_claim_fn fn, void *ctx)
{
    if (!r->names || r->closing || json_object_get(r->claiming, name)) {
        fn(false, NULL,
           r->closing ? "mcpproxy is shutting down"
           : r->names ? "the name is being claimed by this node already: retry in a moment"
                      : "the cluster's registry is not ready yet: retry in a moment",
           ctx);
        return;
    }
    claim *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->name = xstrdup(name);
    c->fn = fn;
    c->ctx = ctx;
    json_object_set_new(r->claiming, name, json_true());
    claim_start(c);
}

/* A server of this node holds its name too (claimed in the background). */
static void claim_local(registry *r, const char *name)
{
    if (!r->names || json_object_get(r->claimed, name) || json_object_get(r->claiming, name) ||
        json_object_get(r->contested, name))
        return;
    claim *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->name = xstrdup(name);
    json_object_set_new(r->claiming, name, json_true());
    claim_start(c);
}

static void claim_for_gate(registry *r, const char *name)
{
    json_object_del(r->contested, name); /* asked again: claimed again */
    claim_local(r, name);
}

/* Claims again the names starts wait for that no claim runs for (the
 * last one had no answer). */
static void retry_gated(registry *r)
{
    const char *name;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(r->gated, tmp, name, v)
    {
        if (!json_object_get(r->claiming, name))
            claim_for_gate(r, name);
    }
}

registry_name registry_start_check(registry *r, const char *name, char *holder, size_t holder_len, char *why,
                                   size_t why_len)
{
    if (json_object_get(r->claimed, name)) {
        json_object_del(r->gated, name);
        return REGISTRY_NAME_HELD;
    }
    json_t *refused = json_object_get(r->refused, name);
    if (refused) {
        snprintf(holder, holder_len, "%s", json_string_value(refused));
        json_object_del(r->refused, name);
        json_object_del(r->gated, name);
        return REGISTRY_NAME_TAKEN;
    }
    if (!json_object_get(r->gated, name))
        json_object_set_new(r->gated, name, json_true());
    if (r->names && !r->closing && !json_object_get(r->claiming, name))
        claim_for_gate(r, name);
    snprintf(why, why_len, "%s",
             r->names ? "claiming its name in the cluster's bucket"
                      : "the cluster's names bucket is not reached yet (NATS connecting)");
    return REGISTRY_NAME_CLAIMING;
}

void registry_set_gate_listener(registry *r, registry_gate_fn fn, void *ctx)
{
    r->gate_listener = fn;
    r->gate_ctx = ctx;
}

/* Lets go of a name this node holds: deleted as a KV delete does it. */
static void release(registry *r, const char *name)
{
    if (!json_object_get(r->claimed, name))
        return;
    strbuf subject = {0};
    strbuf_appendf(&subject, "$KV.%s.%s", r->names_bucket, name);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject.data, NULL, NULL, 0);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    if (s == NATS_OK)
        s = js_PublishMsgAsync(r->js, &msg, NULL);
    natsMsg_Destroy(msg);
    strbuf_free(&subject);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: a server name not released",
               LOG_FIELDS(LOG_STR("server", name), LOG_STR("error", natsStatus_GetText(s))));
    json_object_del(r->claimed, name);
}

void registry_release(registry *r, const char *name)
{
    if (!json_object_get(r->written, name))
        release(r, name);
}

/* The cluster's connection exists (it may not be up yet: nats.c sends the
 * subscription once it is). */
static void registry_ready(void *ctx)
{
    registry *r = ctx;
    if (r->closing)
        return;
    natsStatus s = natsConnection_JetStream(&r->js, cluster_conn(r->c), NULL);
    if (s != NATS_OK) {
        log_kv(LOG_WARN, "cluster: the servers registry is off: no JetStream context",
               LOG_FIELDS(LOG_STR("error", natsStatus_GetText(s))));
        return;
    }
    r->ready = true;
    char subject[] = "mcpproxy.heartbeat.*";
    r->beat_status = natsConnection_Subscribe(&r->beat_sub, cluster_conn(r->c), subject, on_beat_msg, r);
    if (r->beat_status != NATS_OK)
        log_kv(LOG_WARN, "cluster: cannot hear other nodes' heartbeats",
               LOG_FIELDS(LOG_STR("error", natsStatus_GetText(r->beat_status))));
    else
        natsSubscription_SetPendingLimits(r->beat_sub, -1, -1);
    start_setup(r);
}

registry *registry_create(app *a, cluster *c)
{
    registry *r = xcalloc(1, sizeof *r);
    r->a = a;
    r->c = c;
    r->cfg = &a->cfg.cluster;
    snprintf(r->bucket, sizeof r->bucket, "%s_servers", r->cfg->stream);
    snprintf(r->kv_stream, sizeof r->kv_stream, "KV_%s", r->bucket);
    snprintf(r->kv_subjects, sizeof r->kv_subjects, "$KV.%s.>", r->bucket);
    snprintf(r->names_bucket, sizeof r->names_bucket, "%s_names", r->cfg->stream);
    r->claimed = json_object();
    r->claiming = json_object();
    r->contested = json_object();
    r->gated = json_object();
    r->refused = json_object();
    r->written = json_object();
    r->own_seen = json_object();
    r->remote = json_object();
    r->heard = json_object();
    r->down = json_object();
    mailbox_init(&r->inbox, a->loop, read_letter, NULL, r);
    uv_timer_init(a->loop, &r->retry);
    uv_timer_init(a->loop, &r->flush);
    uv_timer_init(a->loop, &r->beat);
    r->retry.data = r->flush.data = r->beat.data = r;
    r->started_ms = now_ms(r);
    timestamp_now(r->started_at);
    bus_filter f = {
        .types = (1u << EVENT_SERVER_STATE_CHANGED) | (1u << EVENT_SERVER_CONFIG_CHANGED) |
                 (1u << EVENT_SERVER_AUTO_DISABLED) | (1u << EVENT_SERVER_GROUP_UPDATED) | (1u << EVENT_CONFIG_CHANGE) |
                 (1u << EVENT_TOOLS_UPDATED) | (1u << EVENT_SERVER_QUARANTINED) | (1u << EVENT_TOOL_CHANGED) |
                 (1u << EVENT_SERVER_APPROVED) | (1u << EVENT_SERVER_LOGIN_FAILED),
    };
    r->events = bus_subscribe(a->bus, &f, on_event, r);
    uv_timer_start(&r->beat, on_beat, r->cfg->heartbeat_ms, r->cfg->heartbeat_ms);
    cluster_when_ready(c, registry_ready, r);
    return r;
}

void registry_set_source(registry *r, registry_source_fn fn, void *ctx)
{
    r->source = fn;
    r->source_ctx = ctx;
    mark_dirty(r);
}

void registry_touch(registry *r)
{
    if (!r->closing)
        mark_dirty(r);
}

void registry_set_listener(registry *r, registry_changed_fn fn, void *ctx)
{
    r->listener = fn;
    r->listener_ctx = ctx;
}

void registry_set_node_down(registry *r, registry_node_down_fn fn, void *ctx)
{
    r->node_down = fn;
    r->node_down_ctx = ctx;
}

const char *registry_node(const registry *r)
{
    return r->cfg->node;
}

/* An entry as the API shows it: without the tools and our bookkeeping. */
static json_t *public_entry(json_t *entry)
{
    json_t *o = json_copy(entry);
    json_object_del(o, "tools");
    json_object_del(o, "prompts");
    json_object_del(o, "resources");
    json_object_del(o, "resource_templates");
    json_object_del(o, "_rev");
    json_object_del(o, "_seq");
    return o;
}

static int by_node_then_name(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int c = strcmp(json_string_value(json_object_get(a, "node")), json_string_value(json_object_get(b, "node")));
    return c ? c : strcmp(json_string_value(json_object_get(a, "name")), json_string_value(json_object_get(b, "name")));
}

json_t *registry_remote_status(registry *r)
{
    size_t n = json_object_size(r->remote), i = 0;
    json_t **items = xcalloc(n ? n : 1, sizeof *items);
    const char *server;
    json_t *entry;
    json_object_foreach(r->remote, server, entry)
        items[i++] = entry;
    qsort(items, n, sizeof *items, by_node_then_name);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, public_entry(items[i]));
    free(items);
    return arr;
}

json_t *registry_remote_find(registry *r, const char *name)
{
    json_t *entry = json_object_get(r->remote, name);
    return entry ? public_entry(entry) : NULL;
}

json_t *registry_remote_tools(registry *r, const char *name)
{
    return json_object_get(json_object_get(r->remote, name), "tools");
}

json_t *registry_remote_all(registry *r)
{
    return r->remote;
}

const char *registry_name_owner(registry *r, const char *name)
{
    json_t *entry = json_object_get(r->remote, name);
    if (!entry)
        return NULL;
    const char *node = json_string_value(json_object_get(entry, "node"));
    return json_object_get(r->down, node) ? NULL : node;
}

void registry_close(registry *r)
{
    if (!r || r->closing)
        return;
    /* The others drop this node's servers now, not after 3 heartbeats. */
    const char *server;
    json_t *v;
    json_object_foreach(r->written, server, v) {
        json_t *data = json_pack("{s:s, s:s}", "action", "deleted", "reason", "node stopped");
        bus_publish(r->a->bus, &(event_fields){
                                   .type = EVENT_SERVER_CONFIG_CHANGED,
                                   .server_name = server,
                                   .data = data,
                               });
        json_decref(data);
    }
    r->closing = true; /* after the publishes: this node's own events no longer matter */
    if (r->setup_done) {
        json_object_foreach(r->written, server, v)
            delete_key(r, server);
        void *tmp;
        json_object_foreach_safe(r->claimed, tmp, server, v) release(r, server);
    }
    bus_unsubscribe(r->a->bus, r->events);
    r->events = NULL;
    /* The bucket's ordered consumer is left to the connection's close (an
     * unsubscribe would delete it with a request only the loop can read,
     * waiting out its timeout on the loop); the server drops it. */
    if (r->beat_sub)
        natsSubscription_Unsubscribe(r->beat_sub);
    uv_close((uv_handle_t *)&r->retry, NULL);
    uv_close((uv_handle_t *)&r->flush, NULL);
    uv_close((uv_handle_t *)&r->beat, NULL);
    mailbox_close(&r->inbox);
}

void registry_destroy(registry *r)
{
    if (!r)
        return;
    /* Before cluster_destroy (nats.c must see every object of its own
     * destroyed before it ends its threads); the connection is closed by
     * then, so no message is on its way to `r`. */
    natsSubscription_Destroy(r->kv_sub);
    natsSubscription_Destroy(r->beat_sub);
    json_decref(r->written);
    json_decref(r->own_seen);
    json_decref(r->remote);
    json_decref(r->heard);
    json_decref(r->down);
    json_decref(r->claimed);
    json_decref(r->claiming);
    json_decref(r->contested);
    json_decref(r->gated);
    json_decref(r->refused);
    kvStore_Destroy(r->names);
    jsCtx_Destroy(r->js);
    mailbox_destroy(&r->inbox);
    free(r);
}
