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
 * they post what they got to the loop (`inbox`, mailbox.h), which reads
 * it in order, so the stream's order is the order the bus sees.
 *
 * The other way round, a synchronous JetStream call (stream info, stream
 * creation, the consumer's creation inside js_Subscribe) waits for a reply
 * that only the loop can read: made on the loop it would wait out its
 * timeout. Those run in a libuv work thread (uv_queue_work), and so do the
 * first connect (which may wait for an unreachable server) and
 * natsConnection_Close, which waits for the server's PONG. The publishes
 * themselves (js_PublishAsync) only buffer and return, so they are made on
 * the loop, from the bus's relay and the outbox (outbox.h).
 *
 * The adapter refuses a first attach off the loop's thread, and the first
 * connect (or, with nats.c's retry on a failed connect, the retry that
 * succeeds) attaches from a work or nats.c thread: `attach` hands that one
 * call to the loop and waits for it (the loop makes no nats.c call before
 * the link is up, so it cannot be waiting for the connection's lock). */
#include "cluster/cluster.h"

#include "cluster/mailbox.h"
#include "cluster/outbox.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <nats/adapters/libuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBJECT_ALL "mcpproxy.events.>"
#define CONNECT_TIMEOUT_MS 2000
#define RECONNECT_WAIT_MS 500
#define SETUP_RETRY_MS 2000
#define PUB_ACK_WAIT_MS 5000 /* an ack not back by then: the event is sent again */
#define RESEND_DELAY_MS 200  /* after a publish the stream did not take (e.g. no leader yet) */
/* Sent and not yet acked at most: nats.c would block the loop (for its
 * stall wait) past its MaxPending, waiting for acks only the loop reads.
 * MaxPending is 4x this: publishes of a lost connection still count there
 * until their ack wait ends. */
#define MAX_IN_FLIGHT 16384
#define CONSUMER_HEARTBEAT_NS 1000000000LL /* 1 s */

static const char *const STATE_CONNECTING = "connecting";
static const char *const STATE_CONNECTED = "connected";
static const char *const STATE_DISCONNECTED = "disconnected";

/* Letters (mailbox.h): num is `seq`, part 0 the text. */
typedef enum inbound_kind {
    IN_ATTACH,    /* attach() waits for the loop to attach (see the top) */
    IN_REAP,      /* attach() added a descriptor: reap the ones let go of */
    IN_EVENT,     /* a message of the stream: seq, JSON payload */
    IN_EPOCH,     /* the stream's epoch (before its first message) */
    IN_LINK_DOWN, /* the connection to NATS was lost */
    IN_LINK_UP,   /* ... and is back */
    IN_ACK,       /* the stream took our event `seq` (its outbox id) */
    IN_PUB_RETRY, /* our event `seq` may not have reached the stream: the error text */
    IN_PUB_ERROR, /* the stream refused our event `seq`: the error text */
} inbound_kind;

/* A first attach asked of the loop by another thread (see the top). */
typedef struct attach_request {
    bool asked, done;
    void **user_data;
    natsConnection *nc;
    natsSock sock;
    natsStatus status;
} attach_request;

struct cluster {
    app *a;
    const cluster_settings *cfg; /* a->cfg.cluster, borrowed */
    natsOptions *opts;
    natsConnection *nc; /* written by the connect work, then read on the loop */
    jsCtx *js;
    natsSubscription *sub; /* written by the setup work, then read on the loop */
    /* The consumer of a stream found gone (verify_done), destroyed by the
     * next setup work: its destroy may ask the server to delete it, and
     * only a work thread may wait for an answer. */
    natsSubscription *stale_sub;
    uv_thread_t loop_thread;
    struct {
        void (*fn)(void *ctx);
        void *ctx;
    } when_ready[4]; /* cluster_when_ready's callers, until nc and js exist */
    size_t n_when_ready;

    /* Loop only. */
    const char *state; /* STATE_* */
    bool linked;       /* the connection is up (as the loop last heard) */
    bool setup_done;   /* stream found or made, consumer subscribed */
    bool setup_running;
    bool verify_running; /* after a reconnect: is the stream still the one we read? */
    bool stream_gone;    /* ... no: the verify work's answer */
    bool stream_unknown; /* ... no answer (JetStream still starting): ask again */
    uv_timer_t reverify;
    uv_check_t reaper; /* reap_poll_fds, after every poll */
    char epoch[17];    /* the stream's, as last found ("" before) */
    bool connect_running;
    bool closing;
    natsStatus connect_status; /* the connect work's result */
    char setup_err[256];       /* the setup work's failure, read in its after-callback */
    uv_work_t connector;
    uv_work_t setup;
    uv_work_t verifier;
    uv_work_t closer;
    uv_timer_t retry;
    uv_timer_t resend;      /* RESEND_DELAY_MS after a failed publish: flush() */
    outbox *out;            /* this node's events until the stream has them */
    uint64_t lost_reported; /* outbox_lost() when last told in cluster_state_changed */
    bool send_failing;      /* a publish failed: logged once until one works */
    /* After a lost link or a publish that may not have landed: one event
     * in flight until the stream acks it (see flush()). */
    bool probing;
    char msg_id[96]; /* "<node>-<boot>-": + the outbox id = Nats-Msg-Id */

    /* Shared with nats.c's threads, under lock. */
    uv_mutex_t lock;
    uv_cond_t attached;
    attach_request attach;
    /* What the adapter polls: a dup() of each socket nats.c attached,
     * oldest first (see attach()). */
    int poll_fds[8];
    size_t n_poll_fds;
    void **adapter;     /* the adapter's state (natsLibuvEvents), as attach got it */
    bool attach_closed; /* after cluster_close: attach() waits no more */
    mailbox inbox;      /* from nats.c's threads */
};

/* ---- from nats.c's threads ------------------------------------------------ */

static void push(cluster *c, inbound_kind kind, uint64_t seq, const char *data, size_t len)
{
    const char *part[MAILBOX_PARTS] = {data, NULL, NULL};
    size_t lens[MAILBOX_PARTS] = {len, 0, 0};
    mailbox_post(&c->inbox, kind, seq, false, part, lens);
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

static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    push(closure, IN_LINK_UP, 0, NULL, 0);
}

/* Every publish's outcome; `msg` is ours to free. Its Nats-Msg-Id ends with
 * its outbox id. A JetStream error (pae->ErrCode) is the stream refusing
 * it for good; anything else (an ack timeout, no responders while a stream
 * leader is elected, a lost connection) may pass if sent again. */
static void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    const char *msg_id = NULL;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &msg_id) == NATS_OK && msg_id) {
        const char *dash = strrchr(msg_id, '-');
        uint64_t id = dash ? strtoull(dash + 1, NULL, 10) : 0;
        if (pa)
            push(closure, IN_ACK, id, NULL, 0);
        else if (pae) {
            const char *text = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
            push(closure, pae->ErrCode ? IN_PUB_ERROR : IN_PUB_RETRY, id, text, strlen(text));
        }
    }
    natsMsg_Destroy(msg);
}

/* The adapter's attach (natsOptions_SetEventLoop's `loop` is the cluster):
 * see the top.
 *
 * The adapter polls a dup() of nats.c's socket, never the socket itself.
 * nats.c closes a lost connection's socket on its own thread, and the
 * adapter stops polling it on the loop later (a reconnect's attach closes
 * the old poll handle): by then the number may belong to a WebSocket or
 * HTTP client accepted meanwhile, and libuv's stop removes *that* client
 * from epoll (it never reads again; seen as a client whose close went
 * unanswered for 30 s after a NATS restart). A dup stays ours until the
 * adapter has let go of it (reap_poll_fds), so its number cannot be
 * reused under it. */
static natsStatus attach(void **user_data, void *loop, natsConnection *nc, natsSock sock)
{
    cluster *c = loop;
    int fd = dup(sock);
    if (fd < 0)
        return NATS_SYS_ERROR;
    uv_mutex_lock(&c->lock);
    if (c->n_poll_fds == sizeof c->poll_fds / sizeof c->poll_fds[0]) { /* never reaped: a bug, not a load */
        uv_mutex_unlock(&c->lock);
        close(fd);
        return NATS_ILLEGAL_STATE;
    }
    c->poll_fds[c->n_poll_fds++] = fd;
    c->adapter = user_data;
    uv_mutex_unlock(&c->lock);
    mailbox_post_kind(&c->inbox, IN_REAP, 0);
    sock = fd;
    uv_thread_t self = uv_thread_self();
    if (*user_data || uv_thread_equal(&self, &c->loop_thread))
        return natsLibuv_Attach(user_data, c->a->loop, nc, sock);
    uv_mutex_lock(&c->lock);
    natsStatus s = NATS_ILLEGAL_STATE;
    if (!c->attach_closed) {
        c->attach = (attach_request){.asked = true, .user_data = user_data, .nc = nc, .sock = sock};
        mailbox_post_kind(&c->inbox, IN_ATTACH, 0);
        while (!c->attach.done && !c->attach_closed)
            uv_cond_wait(&c->attached, &c->lock);
        if (c->attach.done)
            s = c->attach.status;
        c->attach = (attach_request){0};
    }
    uv_mutex_unlock(&c->lock);
    return s;
}

/* ---- the loop ------------------------------------------------------------ */

static bool flush(cluster *c);

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
    if (state == STATE_CONNECTED) {
        /* What waited goes first (this event must not push it out), then
         * what the outbox dropped unsent since the link was last up: the
         * history has a hole before this event (deliver() marks it). */
        flush(c);
        uint64_t lost = outbox_lost(c->out) - c->lost_reported;
        c->lost_reported = outbox_lost(c->out);
        json_object_set_new(data, "events_lost", json_integer((json_int_t)lost));
    }
    /* Connected: into the stream, for every node, behind what the outbox
     * still holds. Otherwise a preview here, and into the stream later. */
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
static void deliver(cluster *c, const letter *in)
{
    json_error_t jerr;
    json_t *root = json_loadb(in->part[0], in->len[0], 0, &jerr);
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
               LOG_FIELDS(LOG_INT("seq", in->num), LOG_STR("stream", c->cfg->stream)));
        json_decref(root);
        return;
    }
    if (in->num > bus_head_seq(c->a->bus)) {
        /* A node's outbox overflowed before this event: a resume from
         * before it would miss what was lost (stream.c asks for a resync). */
        json_t *lost = f.type == EVENT_CLUSTER_STATE_CHANGED ? json_object_get(f.data, "events_lost") : NULL;
        if (json_is_integer(lost) && json_integer_value(lost) > 0)
            bus_note_loss(c->a->bus, in->num);
        bus_deliver(c->a->bus, event_msg_create(in->num, &f, ts));
    }
    json_decref(root);
}

static void update_stats(cluster *c)
{
    c->a->stats.cluster_buffered = outbox_size(c->out);
    c->a->stats.cluster_lost = outbox_lost(c->out);
}

/* Sends what the outbox has not sent yet, in order, while the stream is
 * reachable and fewer than MAX_IN_FLIGHT wait for their acks; stops at the
 * first publish that fails (it goes again when the link is next up, or
 * with the next event or ack). Returns whether all are sent.
 *
 * Order. Publishes are pipelined, so one that fails while a later one
 * lands would put the later one first in the stream: e.g. right after a
 * reconnect, while the stream elects a leader, the first events meet "no
 * responders" and the next ones a new leader. So after any doubt (a lost
 * link, a publish to retry) one event goes alone, and the pipeline opens
 * again only once the stream acked it. And nothing is handed to nats.c
 * while its connection is not up (the loop may not have heard yet): it
 * would sit in nats.c's reconnect buffer and be flushed on reconnect ahead
 * of the earlier events this outbox sends again. */
static bool flush(cluster *c)
{
    if (c->state != STATE_CONNECTED || natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED)
        return false;
    size_t window = c->probing ? 1 : MAX_IN_FLIGHT;
    outbox_entry *e;
    while (outbox_size(c->out) - outbox_unsent(c->out) < window && (e = outbox_next_unsent(c->out))) {
        char msg_id[128];
        snprintf(msg_id, sizeof msg_id, "%s%llu", c->msg_id, (unsigned long long)e->id);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = msg_id; /* the stream drops a copy it already holds */
        po.MaxWait = PUB_ACK_WAIT_MS;
        natsStatus s = js_PublishAsync(c->js, e->subject, e->payload, (int)e->len, &po);
        if (s == NATS_MAX_PAYLOAD) { /* never will it fit: leave it out rather than hold all behind it */
            log_kv(LOG_WARN, "event larger than the NATS server's max_payload: it reached no node",
                   LOG_FIELDS(LOG_INT("bytes", (int64_t)e->len), LOG_STR("subject", e->subject)));
            outbox_ack(c->out, e->id);
            continue;
        }
        if (s != NATS_OK) {
            outbox_resend_from(c->out, e->id);
            if (!c->send_failing)
                log_kv(LOG_WARN, "events not sent to the cluster stream yet: kept in order, sent again later",
                       LOG_FIELDS(LOG_STR("error", natsStatus_GetText(s)),
                                  LOG_INT("buffered", (int64_t)outbox_size(c->out))));
            c->send_failing = true;
            return false;
        }
        c->send_failing = false;
    }
    return true;
}

static void start_setup(cluster *c);
static void start_verify(cluster *c);

static void on_resend(uv_timer_t *t)
{
    cluster *c = t->data;
    flush(c);
    update_stats(c);
}

/* The first attach another thread asked for (see the top). */
static void serve_attach(cluster *c)
{
    uv_mutex_lock(&c->lock);
    if (c->attach.asked && !c->attach.done) {
        c->attach.status = natsLibuv_Attach(c->attach.user_data, c->a->loop, c->attach.nc, c->attach.sock);
        c->attach.done = true;
        uv_cond_signal(&c->attached);
    }
    uv_mutex_unlock(&c->lock);
}

/* Closes the dups the adapter no longer polls: all but the newest and the
 * one its poll handle is on (a reconnect's attach runs on the loop later
 * than nats.c asks for it, and closes the old handle then). */
static void reap_poll_fds(uv_check_t *h)
{
    cluster *c = h->data;
    uv_mutex_lock(&c->lock);
    natsLibuvEvents *nle = c->adapter ? *c->adapter : NULL;
    uv_os_fd_t polled = -1;
    if (nle && nle->handle && !uv_is_closing((uv_handle_t *)nle->handle))
        uv_fileno((uv_handle_t *)nle->handle, &polled);
    size_t kept = 0;
    for (size_t i = 0; i < c->n_poll_fds; i++) {
        int fd = c->poll_fds[i];
        if (i + 1 == c->n_poll_fds || fd == polled)
            c->poll_fds[kept++] = fd;
        else
            close(fd);
    }
    c->n_poll_fds = kept;
    uv_mutex_unlock(&c->lock);
    if (kept <= 1)
        uv_check_stop(h); /* on again at the next attach (IN_REAP) */
}

static void read_letter(const letter *in, void *ctx)
{
    cluster *c = ctx;
    switch ((inbound_kind)in->kind) {
    case IN_ATTACH:
        serve_attach(c);
        break;
    case IN_REAP:
        uv_check_start(&c->reaper, reap_poll_fds);
        break;
    case IN_EVENT:
        deliver(c, in);
        break;
    case IN_EPOCH:
        if (c->epoch[0] && strcmp(c->epoch, in->part[0]) != 0)
            bus_restart(c->a->bus, in->part[0]); /* a new stream: seqs start over (verify_done) */
        else
            bus_set_epoch(c->a->bus, in->part[0]);
        snprintf(c->epoch, sizeof c->epoch, "%s", in->part[0]);
        break;
    case IN_LINK_DOWN:
        c->linked = false;
        /* What was sent and not acked may not be in the stream: all
         * of it goes again (the stream drops the copies it has). */
        outbox_resend_all(c->out);
        c->probing = true;
        set_state(c, current_state(c));
        break;
    case IN_LINK_UP:
        c->linked = true;
        /* The connect work has not finished: it goes on from here. */
        if (!c->js)
            break;
        set_state(c, current_state(c));
        if (!c->setup_done)
            start_setup(c);
        else
            start_verify(c);
        flush(c);
        break;
    case IN_ACK:
        outbox_ack(c->out, in->num);
        c->probing = false;
        break;
    case IN_PUB_RETRY:
        /* Not at once: a stream without a leader would answer the
         * same at once, over and over. */
        outbox_resend_from(c->out, in->num);
        c->probing = true;
        if (!uv_is_active((uv_handle_t *)&c->resend))
            uv_timer_start(&c->resend, on_resend, RESEND_DELAY_MS, 0);
        break;
    case IN_PUB_ERROR:
        log_kv(LOG_WARN, "the cluster stream refused an event: it reached no node",
               LOG_FIELDS(LOG_STR("error", in->part[0]), LOG_STR("stream", c->cfg->stream)));
        outbox_ack(c->out, in->num); /* sending it again would not help */
        break;
    }
}

/* After the letters of a wake-up: acks may have made room (MAX_IN_FLIGHT). */
static void after_letters(void *ctx)
{
    cluster *c = ctx;
    if (outbox_unsent(c->out))
        flush(c);
    update_stats(c);
}

/* The bus's relay (bus.h): this node's event into the outbox, and on into
 * the stream when it is reachable. Held, the bus shows it as a preview. */
static bool relay(const event_fields *f, const char *timestamp, void *ctx)
{
    cluster *c = ctx;
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
    uint64_t lost = outbox_lost(c->out);
    outbox_push(c->out, subject.data, text, strlen(text));
    if (outbox_lost(c->out) > lost && lost == c->lost_reported) /* the first loss since connected */
        log_kv(LOG_WARN, "cluster buffer full: dropping this node's oldest unsent events (raise cluster.buffer?)",
               LOG_FIELDS(LOG_INT("buffer", c->cfg->buffer), LOG_STR("state", c->state)));
    bool sent = flush(c);
    update_stats(c);
    return sent;
}

/* The work thread: find or make the stream, then subscribe (see the top). */
static void setup_work(uv_work_t *w)
{
    cluster *c = w->data;
    const cluster_settings *cfg = c->cfg;
    jsErrCode jerr = 0;
    natsSubscription_Destroy(c->stale_sub);
    c->stale_sub = NULL;
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
        sc.Replicas = cfg->replicas; /* > 1 needs a NATS cluster of that many servers */
        sc.Storage = js_FileStorage;
        s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
    }
    if (s != NATS_OK && jerr == JSStreamSubjectOverlapErr) {
        snprintf(c->setup_err, sizeof c->setup_err,
                 "cannot create stream %s: another stream of this NATS account already takes the subjects %s "
                 "(one account holds one mcpproxy stream: use that stream's name as cluster.stream, or remove it)",
                 cfg->stream, SUBJECT_ALL);
        return;
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
    /* The server's idle heartbeat: missing ones are how nats.c finds the
     * consumer gone (its NATS server died, the stream moved) and makes it
     * again. Its 5 s default left a node deaf for 15-30 s after a failover. */
    so.Config.Heartbeat = CONSUMER_HEARTBEAT_NS;
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

/* The verify work: after a reconnect, whether the stream is still the one
 * this node reads. A NATS server restarted without its store (or a stream
 * deleted by hand) has none, or a new one: the ordered consumer would wait
 * for ever on the old one and the outbox retry for ever. */
static void verify_work(uv_work_t *w)
{
    cluster *c = w->data;
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, c->js, c->cfg->stream, NULL, NULL);
    char epoch[17] = "";
    if (s == NATS_OK)
        snprintf(epoch, sizeof epoch, "%016llx", (unsigned long long)si->Created);
    jsStreamInfo_Destroy(si);
    c->stream_gone = s == NATS_NOT_FOUND || (s == NATS_OK && strcmp(epoch, c->epoch) != 0);
    /* Any other failure (no responders or a timeout while a restarted
     * NATS brings JetStream up) proves nothing: asked again. */
    c->stream_unknown = s != NATS_OK && s != NATS_NOT_FOUND;
}

static void on_reverify(uv_timer_t *t)
{
    start_verify(t->data);
}

static void verify_done(uv_work_t *w, int status)
{
    (void)status;
    cluster *c = w->data;
    c->verify_running = false;
    if (c->closing)
        return;
    if (c->stream_unknown && c->linked) {
        uv_timer_start(&c->reverify, on_reverify, RESEND_DELAY_MS, 0);
        return;
    }
    if (!c->stream_gone)
        return;
    log_kv(LOG_WARN,
           "the cluster's stream is gone on the NATS side (a NATS server restarted without its store?): "
           "making it anew; the history starts over and clients are told to resync",
           LOG_FIELDS(LOG_STR("stream", c->cfg->stream), LOG_STR("old_epoch", c->epoch)));
    c->stale_sub = c->sub;
    c->sub = NULL;
    c->setup_done = false;
    set_state(c, current_state(c));
    start_setup(c); /* its IN_EPOCH restarts the bus */
}

static void start_verify(cluster *c)
{
    if (c->verify_running || c->setup_running || !c->setup_done || c->closing)
        return;
    c->verify_running = true;
    c->verifier.data = c;
    uv_queue_work(c->a->loop, &c->verifier, verify_work, verify_done);
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

/* The connect work: nats.c's first connect, in a work thread because it
 * waits for the servers (CONNECT_TIMEOUT_MS each). NATS_NOT_YET_CONNECTED:
 * none answered and nats.c keeps trying (on_connected says when one does). */
static void connect_work(uv_work_t *w)
{
    cluster *c = w->data;
    c->connect_status = natsConnection_Connect(&c->nc, c->opts);
}

static void start_close(cluster *c);

static void connect_done(uv_work_t *w, int status)
{
    (void)status;
    cluster *c = w->data;
    c->connect_running = false;
    natsStatus s = c->connect_status;
    if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.PublishAsync.AckHandler = on_pub_ack;
        jo.PublishAsync.AckHandlerClosure = c;
        jo.PublishAsync.MaxPending = 4 * MAX_IN_FLIGHT;
        natsStatus js = natsConnection_JetStream(&c->js, c->nc, &jo);
        if (js != NATS_OK)
            s = js;
    }
    if (c->closing) {
        start_close(c);
        return;
    }
    if (c->js) /* the parts built on the connection may subscribe now */
        for (size_t i = 0; i < c->n_when_ready; i++)
            c->when_ready[i].fn(c->when_ready[i].ctx);
    c->n_when_ready = 0;
    if (s == NATS_OK) {
        c->linked = true;
        log_kv(LOG_INFO, "cluster: connected to NATS",
               LOG_FIELDS(LOG_STR("nats_url", c->cfg->nats_url), LOG_STR("node", c->cfg->node),
                          LOG_STR("stream", c->cfg->stream)));
    } else if (s == NATS_NOT_YET_CONNECTED) {
        log_kv(LOG_WARN, "cluster: NATS not reachable: serving degraded, connecting in the background",
               LOG_FIELDS(LOG_STR("nats_url", c->cfg->nats_url), LOG_STR("node", c->cfg->node),
                          LOG_INT("retry_ms", RECONNECT_WAIT_MS)));
    } else {
        /* Not a server that is away (that is NOT_YET_CONNECTED): nothing
         * waiting would mend. The node serves on, alone. */
        log_kv(LOG_ERROR, "cluster: cannot use NATS: this node stays cut off from its cluster",
               LOG_FIELDS(LOG_STR("nats_url", c->cfg->nats_url), LOG_STR("error", natsStatus_GetText(s))));
        return;
    }
    if (c->linked) { /* now, or on_connected came before this */
        start_setup(c);
        flush(c);
    }
}

/* nats_url split at its commas (trimmed): the servers of one NATS cluster. */
static natsStatus set_servers(natsOptions *opts, const char *list)
{
    char *copy = xstrdup(list);
    const char *urls[64];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        for (char *end = tok + strlen(tok); end > tok && end[-1] == ' ';)
            *--end = '\0';
        urls[n++] = tok;
    }
    natsStatus s = natsOptions_SetServers(opts, urls, n);
    free(copy);
    return s;
}

cluster *cluster_create(app *a, char *err, size_t err_len)
{
    const cluster_settings *cfg = &a->cfg.cluster;
    /* What waiting cannot mend fails the start: a credentials file we
     * cannot read (a malformed nats_url is refused by the config). */
    if (cfg->credentials[0]) {
        FILE *f = fopen(cfg->credentials, "r");
        if (!f) {
            snprintf(err, err_len, "cluster: cannot read cluster.credentials %s: %s", cfg->credentials,
                     strerror(errno));
            return NULL;
        }
        fclose(f);
    }
    natsLibuv_Init();
    natsLibuv_SetThreadLocalLoop(a->loop); /* the adapter's way to know our loop's thread */
    cluster *c = xcalloc(1, sizeof *c);
    c->a = a;
    c->cfg = cfg;
    c->loop_thread = uv_thread_self();
    natsStatus s = natsOptions_Create(&c->opts);
    natsOptions *opts = c->opts;
    if (s == NATS_OK)
        s = set_servers(opts, cfg->nats_url);
    if (s == NATS_OK) /* in the order given: each node may list its nearest first */
        s = natsOptions_SetNoRandomize(opts, true);
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
    if (s == NATS_OK) /* a server away at start is waited for like one lost later */
        s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, c);
    if (s == NATS_OK)
        s = natsOptions_SetEventLoop(opts, c, attach, natsLibuv_Read, natsLibuv_Write, natsLibuv_Detach);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_disconnected, c);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, c);
    if (s != NATS_OK) {
        snprintf(err, err_len, "cluster: bad NATS options (%s): check cluster.nats_url and cluster.credentials",
                 natsStatus_GetText(s));
        natsOptions_Destroy(c->opts);
        free(c);
        return NULL;
    }
    uv_mutex_init(&c->lock);
    uv_cond_init(&c->attached);
    mailbox_init(&c->inbox, a->loop, read_letter, after_letters, c);
    uv_timer_init(a->loop, &c->retry);
    c->retry.data = c;
    uv_timer_init(a->loop, &c->resend);
    uv_timer_init(a->loop, &c->reverify);
    uv_check_init(a->loop, &c->reaper);
    c->reaper.data = c;
    uv_unref((uv_handle_t *)&c->reaper); /* it never keeps the loop alive */
    c->reverify.data = c;
    c->resend.data = c;
    c->out = outbox_create(cfg->buffer);
    c->probing = true; /* the stream may still be electing its leader */
    /* Message ids unique to this process: a restarted node's ids must not
     * match its earlier run's within the stream's duplicate window. */
    uint64_t boot;
    random_bytes(&boot, sizeof boot);
    snprintf(c->msg_id, sizeof c->msg_id, "%s-%016llx-", cfg->node, (unsigned long long)boot);
    c->state = STATE_CONNECTING;
    a->cluster_state = STATE_CONNECTING;
    /* From the start: the ring holds only what the stream numbered; until
     * the stream is reached this node's events wait in the outbox and its
     * clients get previews (bus.h). */
    bus_set_relay(a->bus, cfg->node, relay, c);
    c->connect_running = true;
    c->connector.data = c;
    uv_queue_work(a->loop, &c->connector, connect_work, connect_done);
    return c;
}

void cluster_when_ready(cluster *c, void (*fn)(void *ctx), void *ctx)
{
    if (c->js) {
        fn(ctx);
        return;
    }
    if (c->n_when_ready == sizeof c->when_ready / sizeof *c->when_ready)
        abort(); /* a fixed number of parts (registry, rpc) ask */
    c->when_ready[c->n_when_ready].fn = fn;
    c->when_ready[c->n_when_ready++].ctx = ctx;
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
    if (c->js) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 1000;
        js_PublishAsyncComplete(c->js, &po);
    }
    if (c->nc)
        natsConnection_Close(c->nc); /* flushes: waits for a PONG the loop reads */
}

static void close_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

/* After the connect work: close what it made (the acks of the last
 * publishes arrive meanwhile, but the wake handle is closed: dropped). */
static void start_close(cluster *c)
{
    size_t unsent = outbox_unsent(c->out);
    if (unsent)
        log_kv(LOG_WARN, "cluster: stopping with events the stream never got: they are lost",
               LOG_FIELDS(LOG_INT("events", (int64_t)unsent), LOG_STR("state", c->state)));
    c->closer.data = c;
    uv_queue_work(c->a->loop, &c->closer, close_work, close_done);
}

void cluster_close(cluster *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    bus_set_relay(c->a->bus, NULL, NULL, NULL);
    uv_timer_stop(&c->retry);
    uv_close((uv_handle_t *)&c->retry, NULL);
    uv_close((uv_handle_t *)&c->resend, NULL);
    uv_close((uv_handle_t *)&c->reverify, NULL);
    uv_close((uv_handle_t *)&c->reaper, NULL);
    uv_mutex_lock(&c->lock);
    c->attach_closed = true;
    uv_cond_broadcast(&c->attached); /* a thread waiting in attach() gives up */
    uv_mutex_unlock(&c->lock);
    mailbox_close(&c->inbox);
    if (!c->connect_running) /* else connect_done() starts it */
        start_close(c);
}

void cluster_destroy(cluster *c)
{
    if (!c)
        return;
    natsSubscription_Destroy(c->stale_sub);
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
    outbox_destroy(c->out);
    for (size_t i = 0; i < c->n_poll_fds; i++) /* the adapter closed its handle in the loop's last run */
        close(c->poll_fds[i]);
    mailbox_destroy(&c->inbox);
    uv_cond_destroy(&c->attached);
    uv_mutex_destroy(&c->lock);
    free(c);
}
