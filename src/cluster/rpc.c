/* rpc.c - requests between cluster nodes over core NATS (rpc.h).
 *
 * Threads as in cluster.c: the three subscriptions' messages arrive on
 * nats.c's threads, which post them to the loop (mailbox.h); everything
 * else, the publishes included (they only buffer), runs on the loop. */
#include "cluster/rpc.h"

#include "cluster/mailbox.h"

#include "core/log.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_FROM "Mcpproxy-From"
#define HDR_ID "Mcpproxy-Id"
#define HDR_PROGRESS "Mcpproxy-Progress"

/* Letters (mailbox.h): num is the request's id; parts 0, 1, 2 as said. */
typedef enum inbound_kind {
    IN_REQUEST,  /* 0: reply subject, 1: from, 2: body */
    IN_CANCEL,   /* 1: from */
    IN_ANSWER,   /* 2: body; flag: no responders */
    IN_PROGRESS, /* 2: body */
} inbound_kind;

typedef struct pending {
    struct pending *next;
    rpc *r;
    uint64_t id;
    char *node;
    uint32_t timeout_ms;
    rpc_answer_fn fn;
    rpc_progress_fn progress;
    void *ctx;
    uv_timer_t timer;
} pending;

struct rpc {
    app *a;
    cluster *c;
    const char *node; /* a->cfg.cluster.node */
    char run[17];     /* this process's reply subjects are its own */
    natsSubscription *requests, *cancels, *answers;

    /* Loop only. */
    rpc_request_fn on_request;
    rpc_cancel_fn on_cancel;
    void *serve_ctx;
    pending *waiting;
    uint64_t next_id;
    bool closing;

    mailbox inbox; /* from nats.c's threads */
};

/* ---- from nats.c's threads ------------------------------------------------ */

static void push(rpc *r, inbound_kind kind, uint64_t id, bool no_responders, const char *a, const char *b,
                 const char *c, size_t c_len)
{
    const char *part[MAILBOX_PARTS] = {a, b, c};
    size_t len[MAILBOX_PARTS] = {a ? strlen(a) : 0, b ? strlen(b) : 0, c_len};
    mailbox_post(&r->inbox, kind, id, no_responders, part, len);
}

static bool header_id(natsMsg *msg, uint64_t *id)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, HDR_ID, &v) != NATS_OK || !v)
        return false;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    *id = n;
    return *v && !*end && n;
}

static void on_request_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    const char *from = NULL;
    uint64_t id;
    const char *reply = natsMsg_GetReply(msg);
    if (reply && natsMsgHeader_Get(msg, HDR_FROM, &from) == NATS_OK && from && header_id(msg, &id))
        push(closure, IN_REQUEST, id, false, reply, from, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static void on_cancel_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    const char *from = NULL;
    uint64_t id;
    if (natsMsgHeader_Get(msg, HDR_FROM, &from) == NATS_OK && from && header_id(msg, &id))
        push(closure, IN_CANCEL, id, false, NULL, from, NULL, 0);
    natsMsg_Destroy(msg);
}

static void on_answer_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    const char *last = strrchr(natsMsg_GetSubject(msg), '.');
    uint64_t id = last ? strtoull(last + 1, NULL, 10) : 0;
    const char *progress = NULL;
    if (id && !natsMsg_IsNoResponders(msg) && natsMsgHeader_Get(msg, HDR_PROGRESS, &progress) == NATS_OK)
        push(closure, IN_PROGRESS, id, false, NULL, NULL, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    else if (id)
        push(closure, IN_ANSWER, id, natsMsg_IsNoResponders(msg), NULL, NULL, natsMsg_GetData(msg),
             natsMsg_IsNoResponders(msg) ? 0 : (size_t)natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

/* ---- the loop ------------------------------------------------------------ */

static void pending_closed(uv_handle_t *h)
{
    pending *p = h->data;
    free(p->node);
    free(p);
}

/* Takes a request out of the waiting list (NULL when it is not there). */
static pending *take(rpc *r, uint64_t id)
{
    for (pending **pp = &r->waiting; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            pending *p = *pp;
            *pp = p->next;
            uv_timer_stop(&p->timer);
            uv_close((uv_handle_t *)&p->timer, pending_closed);
            return p;
        }
    }
    return NULL;
}

/* A message to `node` on mcpproxy.<what>.<node>, saying who sends it and
 * which request it is about (HDR_FROM, HDR_ID). Only buffers. */
static natsStatus send_to_node(rpc *r, const char *what, const char *node, const char *reply, uint64_t id,
                               const char *body, size_t len)
{
    char subject[128], idtext[24];
    snprintf(subject, sizeof subject, "mcpproxy.%s.%s", what, node);
    snprintf(idtext, sizeof idtext, "%" PRIu64, id);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, reply, body, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_FROM, r->node);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_ID, idtext);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(cluster_conn(r->c), msg);
    natsMsg_Destroy(msg);
    return s;
}

static void send_cancel(rpc *r, const char *node, uint64_t id)
{
    natsStatus s = send_to_node(r, "cancel", node, NULL, id, NULL, 0);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: a cancel did not reach its node",
               LOG_FIELDS(LOG_STR("node", node), LOG_STR("error", natsStatus_GetText(s))));
}

static void answer(rpc *r, const letter *in)
{
    pending *p = take(r, in->num);
    if (!p)
        return;     /* cancelled, timed out, or another run's */
    if (in->flag) { /* no responders */
        char why[256];
        snprintf(why, sizeof why, "node %s is not answering (no responder on mcpproxy.call.%s): it is gone or stopping",
                 p->node, p->node);
        p->fn(NULL, 0, why, p->ctx);
    } else {
        p->fn(in->part[2], in->len[2], NULL, p->ctx);
    }
}

/* Progress of a request still waiting (one that ended hears nothing). */
static void give_progress(rpc *r, const letter *in)
{
    for (pending *p = r->waiting; p; p = p->next) {
        if (p->id == in->num) {
            if (p->progress)
                p->progress(in->part[2], in->len[2], p->ctx);
            return;
        }
    }
}

static void read_letter(const letter *in, void *ctx)
{
    rpc *r = ctx;
    switch ((inbound_kind)in->kind) {
    case IN_REQUEST:
        if (r->on_request && !r->closing)
            r->on_request(in->part[0], in->part[1], in->num, in->part[2], in->len[2], r->serve_ctx);
        break;
    case IN_CANCEL:
        if (r->on_cancel && !r->closing)
            r->on_cancel(in->part[1], in->num, r->serve_ctx);
        break;
    case IN_ANSWER:
        answer(r, in);
        break;
    case IN_PROGRESS:
        give_progress(r, in);
        break;
    }
}

static void on_timeout(uv_timer_t *t)
{
    pending *p = t->data;
    rpc *r = p->r;
    uint64_t id = p->id;
    char why[256];
    snprintf(why, sizeof why, "node %s did not answer within %u ms", p->node, p->timeout_ms);
    send_cancel(r, p->node, id);
    take(r, id);
    p->fn(NULL, 0, why, p->ctx); /* p is freed only once its timer has closed */
}

static void rpc_ready(void *ctx);

rpc *rpc_create(app *a, cluster *c)
{
    rpc *r = xcalloc(1, sizeof *r);
    r->a = a;
    r->c = c;
    r->node = a->cfg.cluster.node;
    uint64_t run;
    random_bytes(&run, sizeof run);
    snprintf(r->run, sizeof r->run, "%016" PRIx64, run);
    mailbox_init(&r->inbox, a->loop, read_letter, NULL, r);
    cluster_when_ready(c, rpc_ready, r);
    return r;
}

/* The cluster's connection exists (nats.c sends the subscriptions once it
 * is up). Until then a call cannot be made (rpc_call says so). */
static void rpc_ready(void *ctx)
{
    rpc *r = ctx;
    if (r->closing)
        return;
    natsConnection *nc = cluster_conn(r->c);
    char subject[160];
    snprintf(subject, sizeof subject, "mcpproxy.call.%s", r->node);
    natsStatus s = natsConnection_Subscribe(&r->requests, nc, subject, on_request_msg, r);
    if (s == NATS_OK) {
        snprintf(subject, sizeof subject, "mcpproxy.cancel.%s", r->node);
        s = natsConnection_Subscribe(&r->cancels, nc, subject, on_cancel_msg, r);
    }
    if (s == NATS_OK) {
        snprintf(subject, sizeof subject, "mcpproxy.reply.%s.%s.*", r->node, r->run);
        s = natsConnection_Subscribe(&r->answers, nc, subject, on_answer_msg, r);
    }
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: calls between nodes are off: cannot subscribe",
               LOG_FIELDS(LOG_STR("error", natsStatus_GetText(s))));
    natsSubscription *subs[] = {r->requests, r->cancels, r->answers};
    for (size_t i = 0; i < 3; i++)
        if (subs[i])
            natsSubscription_SetPendingLimits(subs[i], -1, -1);
}

void rpc_serve(rpc *r, rpc_request_fn on_request, rpc_cancel_fn on_cancel, void *ctx)
{
    r->on_request = on_request;
    r->on_cancel = on_cancel;
    r->serve_ctx = ctx;
}

void rpc_reply(rpc *r, const char *reply, const char *body, size_t len)
{
    natsStatus s = natsConnection_Publish(cluster_conn(r->c), reply, body, (int)len);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: an answer to another node was not sent",
               LOG_FIELDS(LOG_STR("reply", reply), LOG_STR("error", natsStatus_GetText(s))));
}

void rpc_progress(rpc *r, const char *reply, const char *body, size_t len)
{
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, reply, NULL, body, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_PROGRESS, "1");
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(cluster_conn(r->c), msg);
    natsMsg_Destroy(msg);
    if (s != NATS_OK)
        log_kv(LOG_WARN, "cluster: a call's progress was not sent to its node",
               LOG_FIELDS(LOG_STR("reply", reply), LOG_STR("error", natsStatus_GetText(s))));
}

uint64_t rpc_call(rpc *r, const char *node, const char *body, size_t len, uint32_t timeout_ms, rpc_answer_fn fn,
                  rpc_progress_fn progress, void *ctx, char *err, size_t err_len)
{
    if (r->closing || !r->answers) {
        snprintf(err, err_len, "calls to node %s are not possible: this node is not subscribed for answers", node);
        return 0;
    }
    uint64_t id = ++r->next_id;
    char reply[192];
    snprintf(reply, sizeof reply, "mcpproxy.reply.%s.%s.%" PRIu64, r->node, r->run, id);
    natsStatus s = send_to_node(r, "call", node, reply, id, body, len);
    if (s != NATS_OK) {
        snprintf(err, err_len, "the call could not be sent to node %s: %s", node, natsStatus_GetText(s));
        return 0;
    }
    pending *p = xcalloc(1, sizeof *p);
    p->r = r;
    p->id = id;
    p->node = xstrdup(node);
    p->timeout_ms = timeout_ms;
    p->fn = fn;
    p->progress = progress;
    p->ctx = ctx;
    uv_timer_init(r->a->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_timeout, timeout_ms, 0);
    p->next = r->waiting;
    r->waiting = p;
    return id;
}

void rpc_cancel(rpc *r, uint64_t id)
{
    pending *p = take(r, id);
    if (p)
        send_cancel(r, p->node, id);
}

void rpc_node_down(const char *node, void *ctx)
{
    rpc *r = ctx;
    char why[256];
    snprintf(why, sizeof why, "node %s is unreachable (no heartbeat): the call's outcome is unknown", node);
    for (pending **pp = &r->waiting; *pp;) {
        pending *p = *pp;
        if (strcmp(p->node, node) != 0) {
            pp = &p->next;
            continue;
        }
        take(r, p->id); /* *pp is the next one now */
        p->fn(NULL, 0, why, p->ctx);
    }
}

void rpc_close(rpc *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    while (r->waiting) {
        pending *p = r->waiting;
        uint64_t id = p->id;
        send_cancel(r, p->node, id);
        take(r, id);
        p->fn(NULL, 0, "mcpproxy is shutting down", p->ctx);
    }
    natsSubscription *subs[] = {r->requests, r->cancels, r->answers};
    for (size_t i = 0; i < 3; i++)
        if (subs[i])
            natsSubscription_Unsubscribe(subs[i]);
    mailbox_close(&r->inbox);
}

void rpc_destroy(rpc *r)
{
    if (!r)
        return;
    natsSubscription_Destroy(r->requests);
    natsSubscription_Destroy(r->cancels);
    natsSubscription_Destroy(r->answers);
    mailbox_destroy(&r->inbox);
    free(r);
}
