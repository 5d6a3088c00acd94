/* cluster.c - the node's NATS connection on our loop, the stream, the
 * ordered consumer and the bus's relay (cluster.h).
 *
 * Threads. nats.c's libuv adapter (nats/adapters/libuv.h) puts only the
 * connection's socket on our loop: reads and writes happen in loop
 * callbacks, and a write asked for from another thread is handed to the
 * loop through the adapter's own uv_async_t. Everything else nats.c calls
 * back runs on its own threads: a subscription's messages on the
 * subscription's delivery thread, the disconnected and reconnected
 * callbacks on its callback thread, JetStream publish-ack errors on the
 * reply subscription's thread. None of those touch the bus or the app:
 * they copy what they got into `inbox` under `lock` and wake the loop
 * with our uv_async_t (`wake`); the loop drains the inbox in order, so the
 * stream's order is the order the bus sees.
 *
 * The other way round, a synchronous JetStream call (stream info, stream
 * creation, the consumer's creation inside js_Subscribe) waits for a reply
 * that only the loop can read: made on the loop it would wait out its
 * timeout. Those run in a libuv work thread (uv_queue_work), and so does
 * natsConnection_Close, which waits for the server's PONG. The publishes
 * themselves (js_PublishAsync) only buffer and return, so they are made on
 * the loop, from the bus's relay. */
#include "cluster/cluster.h"

#include "core/log.h"
#include "core/util.h"

#include <nats/adapters/libuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT_ALL "mcpproxy.events.>"
#define CONNECT_TIMEOUT_MS 2000
#define RECONNECT_WAIT_MS 500
#define SETUP_RETRY_MS 2000

static const char *const STATE_CONNECTING = "connecting";
static const char *const STATE_CONNECTED = "connected";
static const char *const STATE_DISCONNECTED = "disconnected";

typedef enum inbound_kind {
    IN_EVENT,     /* a message of the stream: seq, JSON payload */
    IN_EPOCH,     /* the stream's epoch (before its first message) */
    IN_LINK_DOWN, /* the connection to NATS was lost */
    IN_LINK_UP,   /* ... and is back */
    IN_PUB_ERROR, /* the stream refused one of our events: the error text */
} inbound_kind;

/* One thing a nats.c thread tells the loop; the text is copied in. */
typedef struct inbound {
    struct inbound *next;
    inbound_kind kind;
    uint64_t seq;
    size_t len;
    char data[]; /* len bytes and a NUL */
} inbound;

struct cluster {
    app *a;
    const cluster_settings *cfg; /* a->cfg.cluster, borrowed */
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub; /* written by the setup work, then read on the loop */

    /* Loop only. */
    const char *state; /* STATE_* */
    bool linked;       /* the connection is up (as the loop last heard) */
    bool setup_done;   /* stream found or made, consumer subscribed */
    bool setup_running;
    bool closing;
    char setup_err[256]; /* the setup work's failure, read in its after-callback */
    uv_work_t setup;
    uv_work_t closer;
    uv_timer_t retry;

    /* Shared with nats.c's threads, under lock. */
    uv_mutex_t lock;
    uv_async_t wake;
    inbound *head, *tail;
    bool wake_closed; /* after cluster_close: threads drop what they got */
};

/* ---- from nats.c's threads ------------------------------------------------ */

static void push(cluster *c, inbound_kind kind, uint64_t seq, const char *data, size_t len)
{
    inbound *in = xmalloc(sizeof *in + len + 1);
    in->next = NULL;
    in->kind = kind;
    in->seq = seq;
    in->len = len;
    if (len)
        memcpy(in->data, data, len);
    in->data[len] = '\0';
    uv_mutex_lock(&c->lock);
    if (c->wake_closed) {
        uv_mutex_unlock(&c->lock);
        free(in);
        return;
    }
    if (c->tail)
        c->tail->next = in;
    else
        c->head = in;
    c->tail = in;
    uv_async_send(&c->wake); /* under the lock: the handle is not closed meanwhile */
    uv_mutex_unlock(&c->lock);
}

static void on_stream_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    cluster *c = closure;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        push(c, IN_EVENT, meta->Sequence.Stream, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
        jsMsgMetaData_Destroy(meta);
    }
    natsMsg_Destroy(msg);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    push(closure, IN_LINK_DOWN, 0, NULL, 0);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    push(closure, IN_LINK_UP, 0, NULL, 0);
}

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    const char *text = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
    push(closure, IN_PUB_ERROR, 0, text, strlen(text));
}

/* ---- the loop ------------------------------------------------------------ */

static void set_state(cluster *c, const char *state)
{
    if (c->state == state)
        return;
    const char *old = c->state;
    c->state = state;
    c->a->cluster_state = state;
    log_kv(state == STATE_CONNECTED ? LOG_INFO : LOG_WARN, "cluster state changed",
           LOG_FIELDS(LOG_STR("state", state), LOG_STR("nats_url", c->cfg->nats_url)));
    json_t *data = json_pack("{s:s, s:s}", "nats_url", c->cfg->nats_url, "stream", c->cfg->stream);
    /* Connected: into the stream, for every node. Otherwise live only. */
    bus_publish(c->a->bus, &(event_fields){
                               .type = EVENT_CLUSTER_STATE_CHANGED,
                               .old_state = old,
                               .new_state = state,
                               .data = data,
                           });
    json_decref(data);
}

static const char *current_state(const cluster *c)
{
    if (!c->linked)
        return STATE_DISCONNECTED;
    return c->setup_done ? STATE_CONNECTED : STATE_CONNECTING;
}

static const char *opt_string(json_t *obj, const char *key, bool *ok)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return NULL;
    if (!json_is_string(v))
        *ok = false;
    return json_string_value(v);
}

/* A message of the stream into the bus, with the stream's sequence as its
 * seq. Anyone who may publish on the stream's subjects can write there, so
 * the payload is checked like POST /api/events checks a body; a bad one is
 * left out (a resume over its seq reports it dropped). */
static void deliver(cluster *c, const inbound *in)
{
    json_error_t jerr;
    json_t *root = json_loadb(in->data, in->len, 0, &jerr);
    bool ok = json_is_object(root);
    event_fields f = {0};
    const char *type = ok ? opt_string(root, "type", &ok) : NULL;
    const char *ts = ok ? opt_string(root, "timestamp", &ok) : NULL;
    if (ok) {
        f.server_name = opt_string(root, "server_name", &ok);
        f.old_state = opt_string(root, "old_state", &ok);
        f.new_state = opt_string(root, "new_state", &ok);
        f.node = opt_string(root, "node", &ok);
        f.data = json_object_get(root, "data");
        if (f.data && !json_is_object(f.data))
            ok = false;
    }
    if (!ok || !type || !ts || strlen(ts) >= TIMESTAMP_LEN || !event_type_parse(type, strlen(type), &f.type)) {
        log_kv(LOG_WARN, "cluster stream message is not an mcpproxy event: left out",
               LOG_FIELDS(LOG_INT("seq", in->seq), LOG_STR("stream", c->cfg->stream)));
        json_decref(root);
        return;
    }
    if (in->seq > bus_head_seq(c->a->bus))
        bus_deliver(c->a->bus, event_msg_create(in->seq, &f, ts));
    json_decref(root);
}

static void start_setup(cluster *c);

static void on_wake(uv_async_t *h)
{
    cluster *c = h->data;
    uv_mutex_lock(&c->lock);
    inbound *in = c->head;
    c->head = c->tail = NULL;
    uv_mutex_unlock(&c->lock);
    while (in) {
        inbound *next = in->next;
        switch (in->kind) {
        case IN_EVENT:
            deliver(c, in);
            break;
        case IN_EPOCH:
            bus_set_epoch(c->a->bus, in->data);
            break;
        case IN_LINK_DOWN:
            c->linked = false;
            set_state(c, current_state(c));
            break;
        case IN_LINK_UP:
            c->linked = true;
            set_state(c, current_state(c));
            if (!c->setup_done)
                start_setup(c);
            break;
        case IN_PUB_ERROR:
            log_kv(LOG_WARN, "the cluster stream refused an event: it reached no node",
                   LOG_FIELDS(LOG_STR("error", in->data), LOG_STR("stream", c->cfg->stream)));
            break;
        }
        free(in);
        in = next;
    }
}

/* The bus's relay (bus.h): this node's event into the stream. */
static bool relay(const event_fields *f, const char *timestamp, void *ctx)
{
    cluster *c = ctx;
    if (c->state != STATE_CONNECTED)
        return false;
    json_t *payload = json_pack("{s:s, s:s, s:s}", "type", event_type_name(f->type), "timestamp", timestamp, "node",
                                f->node ? f->node : c->cfg->node);
    if (f->server_name)
        json_object_set_new(payload, "server_name", json_string(f->server_name));
    if (f->old_state)
        json_object_set_new(payload, "old_state", json_string(f->old_state));
    if (f->new_state)
        json_object_set_new(payload, "new_state", json_string(f->new_state));
    if (f->data_text) /* a publisher that wrote its data as text (tool_called) */
        json_object_set_new(payload, "data", json_loadb(f->data_text, f->data_text_len, 0, NULL));
    else if (f->data)
        json_object_set(payload, "data", f->data);
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    strbuf subject = {0};
    strbuf_appendf(&subject, "mcpproxy.events.%s.%s", c->cfg->node, event_type_name(f->type));
    natsStatus s = js_PublishAsync(c->js, subject.data, text, (int)strlen(text), NULL);
    strbuf_free(&subject);
    free(text);
    if (s != NATS_OK) {
        log_kv(LOG_WARN, "event not sent to the cluster stream: delivered on this node only",
               LOG_FIELDS(LOG_STR("error", natsStatus_GetText(s)), LOG_STR("event_type", event_type_name(f->type))));
        return false;
    }
    return true;
}

/* The work thread: find or make the stream, then subscribe (see the top). */
static void setup_work(uv_work_t *w)
{
    cluster *c = w->data;
    const cluster_settings *cfg = c->cfg;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, c->js, cfg->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char *subjects[] = {SUBJECT_ALL};
        sc.Name = cfg->stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.MaxMsgs = cfg->history;
        sc.Storage = js_FileStorage;
        s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
    }
    if (s != NATS_OK) {
        snprintf(c->setup_err, sizeof c->setup_err,
                 "cannot find or create stream %s: %s (JetStream error %d; is nats-server running with -js?)",
                 cfg->stream, natsStatus_GetText(s), (int)jerr);
        return;
    }
    /* The epoch names the stream, not this process: its creation time, the
     * same on every node and across restarts, new if it is ever recreated. */
    char epoch[17];
    snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)si->Created);
    jsStreamInfo_Destroy(si);
    push(c, IN_EPOCH, 0, epoch, strlen(epoch)); /* ahead of the first message */

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg->stream;
    so.Ordered = true; /* every message once, in order; recreated after a loss */
    so.Config.DeliverPolicy = js_DeliverAll;
    s = js_Subscribe(&c->sub, c->js, SUBJECT_ALL, on_stream_msg, c, NULL, &so, &jerr);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(c->sub, -1, -1); /* the stream bounds it */
    if (s != NATS_OK)
        snprintf(c->setup_err, sizeof c->setup_err, "cannot read stream %s: %s (JetStream error %d)", cfg->stream,
                 natsStatus_GetText(s), (int)jerr);
}

static void on_retry(uv_timer_t *t)
{
    start_setup(t->data);
}

static void setup_done(uv_work_t *w, int status)
{
    (void)status;
    cluster *c = w->data;
    c->setup_running = false;
    if (c->closing)
        return;
    if (c->setup_err[0]) {
        log_kv(LOG_WARN, "cluster setup failed: retrying", LOG_FIELDS(LOG_STR("error", c->setup_err)));
        if (c->sub) {
            natsSubscription_Destroy(c->sub);
            c->sub = NULL;
        }
        uv_timer_start(&c->retry, on_retry, SETUP_RETRY_MS, 0);
        return;
    }
    c->setup_done = true;
    set_state(c, current_state(c));
}

static void start_setup(cluster *c)
{
    if (c->setup_running || c->setup_done || c->closing)
        return;
    uv_timer_stop(&c->retry);
    c->setup_running = true;
    c->setup_err[0] = '\0';
    c->setup.data = c;
    uv_queue_work(c->a->loop, &c->setup, setup_work, setup_done);
}

cluster *cluster_create(app *a, char *err, size_t err_len)
{
    const cluster_settings *cfg = &a->cfg.cluster;
    natsLibuv_Init();
    natsLibuv_SetThreadLocalLoop(a->loop); /* the adapter's way to know our loop's thread */
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, cfg->nats_url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, cfg->node);
    if (s == NATS_OK && cfg->credentials[0])
        s = natsOptions_SetUserCredentialsFromFiles(opts, cfg->credentials, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1); /* for as long as we run */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, RECONNECT_WAIT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetEventLoop(opts, a->loop, natsLibuv_Attach, natsLibuv_Read, natsLibuv_Write,
                                     natsLibuv_Detach);
    if (s != NATS_OK) {
        snprintf(err, err_len, "cluster: bad NATS options (%s): check cluster.nats_url and cluster.credentials",
                 natsStatus_GetText(s));
        natsOptions_Destroy(opts);
        return NULL;
    }
    cluster *c = xcalloc(1, sizeof *c);
    c->a = a;
    c->cfg = cfg;
    c->opts = opts;
    uv_mutex_init(&c->lock);
    natsOptions_SetDisconnectedCB(opts, on_disconnected, c);
    natsOptions_SetReconnectedCB(opts, on_reconnected, c);

    /* The first connect is blocking (at most CONNECT_TIMEOUT_MS): the first
     * attach to the loop must happen on the loop's thread. */
    s = natsConnection_Connect(&c->nc, opts);
    if (s == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.PublishAsync.ErrHandler = on_pub_error;
        jo.PublishAsync.ErrHandlerClosure = c;
        jo.PublishAsync.MaxPending = 65536;
        s = natsConnection_JetStream(&c->js, c->nc, &jo);
    }
    if (s != NATS_OK) {
        snprintf(err, err_len,
                 "cluster: cannot connect to NATS at %s: %s (start nats-server -js, or fix cluster.nats_url / "
                 "cluster.credentials)",
                 cfg->nats_url, natsStatus_GetText(s));
        natsConnection_Destroy(c->nc);
        natsOptions_Destroy(opts);
        uv_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    uv_async_init(a->loop, &c->wake, on_wake);
    c->wake.data = c;
    uv_timer_init(a->loop, &c->retry);
    c->retry.data = c;
    c->linked = true;
    c->state = STATE_CONNECTING;
    a->cluster_state = STATE_CONNECTING;
    /* From the start: the ring holds only what the stream numbered (until
     * then this node's events are live only, bus.h). */
    bus_set_relay(a->bus, cfg->node, relay, c);
    log_kv(LOG_INFO, "cluster: connected to NATS",
           LOG_FIELDS(LOG_STR("nats_url", cfg->nats_url), LOG_STR("node", cfg->node), LOG_STR("stream", cfg->stream)));
    start_setup(c);
    return c;
}

natsConnection *cluster_conn(cluster *c)
{
    return c->nc;
}

jsCtx *cluster_js(cluster *c)
{
    return c->js;
}

static void close_work(uv_work_t *w)
{
    cluster *c = w->data;
    /* The last events (app_state_changed Stopping) into the stream, and
     * their acks back: nats.c frees a published message only then. */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 1000;
    js_PublishAsyncComplete(c->js, &po);
    natsConnection_Close(c->nc); /* flushes: waits for a PONG the loop reads */
}

static void close_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

void cluster_close(cluster *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    bus_set_relay(c->a->bus, NULL, NULL, NULL);
    uv_timer_stop(&c->retry);
    uv_close((uv_handle_t *)&c->retry, NULL);
    uv_mutex_lock(&c->lock);
    c->wake_closed = true;
    inbound *in = c->head;
    c->head = c->tail = NULL;
    uv_mutex_unlock(&c->lock);
    while (in) {
        inbound *next = in->next;
        free(in);
        in = next;
    }
    uv_close((uv_handle_t *)&c->wake, NULL);
    c->closer.data = c;
    uv_queue_work(c->a->loop, &c->closer, close_work, close_done);
}

void cluster_destroy(cluster *c)
{
    if (!c)
        return;
    natsSubscription_Destroy(c->sub);
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    natsOptions_Destroy(c->opts);
    /* nats.c's threads may still hold `c` as a closure: they are gone
     * once the library is. */
    natsStatus s = nats_CloseAndWait(2000);
    if (s != NATS_OK) {
        log_kv(LOG_WARN, "cluster: nats.c's threads did not end", LOG_FIELDS(LOG_STR("error", natsStatus_GetText(s))));
        return;
    }
    uv_mutex_destroy(&c->lock);
    free(c);
}
