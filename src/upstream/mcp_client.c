/* mcp_client.c - MCP handshake, listings (tools, prompts, resources,
 * resource templates) and requests over one transport. */
#include "upstream/mcp_client.h"

#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "core/json_scan.h"
#include "core/json_write.h"
#include "core/jsonrpc.h"
#include "upstream/http_transport.h"
#include "upstream/stdio_transport.h"
#include "upstream/transport.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MCPPROXY_VERSION
#define MCPPROXY_VERSION "0.0.0"
#endif

/* Why the client failed, as on_failed reports it (and last_error shows). */
#define REASON_LEN 256
/* Bytes of an unusable stdout line quoted in the log. */
#define BAD_LINE_HEAD 120

const char *const mcp_client_supported_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL,
};

typedef struct pending {
    struct pending *next;
    int64_t id;
    mcp_response_fn cb;
    mcp_raw_result_fn raw; /* NULL: results go to cb as trees */
    void *ctx;
    mcp_client *client;
    uv_timer_t timer; /* the struct is freed in the timer's close callback */
} pending;

typedef enum phase { PHASE_INITIALIZING, PHASE_LISTING, PHASE_READY, PHASE_DONE } phase;

/* What each list is called: its method, the key of its array in an answer,
 * the capability that offers it, the field that identifies an item (items
 * without it are ignored) and the notification that says it changed. */
typedef struct list_spec {
    const char *method, *key, *capability, *id_field, *changed;
} list_spec;

static const list_spec list_specs[MCP_LIST_KINDS] = {
    [MCP_LIST_TOOLS] = {"tools/list", "tools", "tools", "name", "notifications/tools/list_changed"},
    [MCP_LIST_PROMPTS] = {"prompts/list", "prompts", "prompts", "name", "notifications/prompts/list_changed"},
    [MCP_LIST_RESOURCES] = {"resources/list", "resources", "resources", "uri", "notifications/resources/list_changed"},
    /* resources/list_changed covers the templates too. */
    [MCP_LIST_TEMPLATES] = {"resources/templates/list", "resourceTemplates", "resources", "uriTemplate",
                            "notifications/resources/list_changed"},
};

/* One list of the server's, and the listing of it in flight. */
typedef struct lister {
    struct mcp_client *client;
    mcp_list_kind kind;
    json_t *items;      /* current list; never NULL */
    json_t *listing;    /* pages collected by the listing in flight, or NULL */
    uint32_t pages;     /* of the listing in flight, answered so far */
    size_t bytes;       /* the bytes of those answers */
    bool relist_wanted; /* list_changed arrived during a listing */
    bool listed_once;
} lister;

struct mcp_client {
    uv_loop_t *loop;
    transport *transport;
    mcp_client_callbacks cbs;
    void *ctx;
    char *name;
    uint32_t request_timeout_ms;
    uint32_t stop_grace_ms;
    uint32_t max_queued_bytes, max_tool_pages, max_tool_list_bytes, max_tools;
    int64_t next_id;
    pending *pending;
    phase phase;
    bool exited;
    bool stop_asked;      /* mcp_client_stop ran: the transport's end is no failure */
    bool session_lost;    /* the remote server forgot the session (transport_end) */
    char *auth_challenge; /* a 401's Bearer challenge (transport_end) */
    char *protocol_version;
    json_t *server_info;
    json_t *capabilities;
    lister lists[MCP_LIST_KINDS];
    size_t message_bytes; /* the bytes of the line of the message being handled */
    /* The first listing's tool diff, told with on_tools once every list of
     * the first round is in. */
    size_t first_added, first_removed;
};

static void list_start(lister *l);
static void client_fail(mcp_client *c, const char *reason);

/* Every message to the server goes through here. One that would take what
 * waits for the server past max_queued_bytes fails it: it has stopped
 * reading, and what we owe it (answers to its pings, say) would otherwise
 * pile up without end. */
/* What waits for the server's stdin would pass its bound. */
static void send_failed(mcp_client *c)
{
    char reason[REASON_LEN];
    snprintf(reason, sizeof reason,
             "the server does not read its stdin: what waits for it would pass upstream.max_queued_bytes "
             "(%u bytes)",
             c->max_queued_bytes);
    client_fail(c, reason);
}

static int send_message(mcp_client *c, const json_t *msg)
{
    int rc = transport_send(c->transport, msg);
    if (rc == UV_ENOBUFS)
        send_failed(c);
    return rc;
}

static int64_t pending_add(mcp_client *c, int64_t id, uint32_t timeout_ms, mcp_response_fn cb, mcp_raw_result_fn raw,
                           void *ctx);

static void pending_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Unlinks a pending request and releases its timer. The struct lives until
 * the timer is closed; callers copy what they need first. */
static pending *pending_take(mcp_client *c, int64_t id)
{
    for (pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
        pending *p = *pp;
        if (p->id == id) {
            *pp = p->next;
            uv_timer_stop(&p->timer);
            uv_close((uv_handle_t *)&p->timer, pending_closed);
            return p;
        }
    }
    return NULL;
}

static void fail_request(mcp_client *c, int64_t id, int code, const char *message)
{
    pending *p = pending_take(c, id);
    if (!p)
        return;
    mcp_error err = {.code = code, .message = message, .data = NULL};
    p->cb(NULL, &err, p->ctx);
}

static void request_timeout(uv_timer_t *timer)
{
    pending *p = timer->data;
    mcp_client *c = p->client;
    int64_t id = p->id;
    log_kv(LOG_WARN, "upstream request timed out", LOG_FIELDS(LOG_STR("server", c->name), LOG_INT("id", id)));
    fail_request(c, id, MCP_ERR_TIMEOUT, "request timed out");
    /* The server is told it may stop working on it (a remote transport
     * also lets go of the request's connection). */
    if (!c->exited && c->phase != PHASE_DONE) {
        json_t *params = json_pack("{s:I, s:s}", "requestId", (json_int_t)id, "reason", "timed out");
        mcp_client_notify(c, "notifications/cancelled", params);
        json_decref(params);
    }
}

int64_t mcp_client_request(mcp_client *c, const char *method, json_t *params, uint32_t timeout_ms, mcp_response_fn cb,
                           void *ctx)
{
    return mcp_client_request_raw(c, method, params, timeout_ms, cb, NULL, ctx);
}

int64_t mcp_client_request_raw(mcp_client *c, const char *method, json_t *params, uint32_t timeout_ms,
                               mcp_response_fn cb, mcp_raw_result_fn raw, void *ctx)
{
    if (c->exited)
        return -1;
    int64_t id = ++c->next_id;
    json_t *msg = jsonrpc_request_new(id, method, params);
    int rc = send_message(c, msg);
    json_decref(msg);
    if (rc != 0)
        return -1;
    return pending_add(c, id, timeout_ms, cb, raw, ctx);
}

int64_t mcp_client_request_text(mcp_client *c, const char *method, const char *params, size_t params_len,
                                uint32_t timeout_ms, mcp_response_fn cb, mcp_raw_result_fn raw, void *ctx)
{
    if (c->exited)
        return -1;
    int64_t id = ++c->next_id;
    strbuf sb = {0};
    strbuf_reserve(&sb, params_len + 64);
    strbuf_append(&sb, "{\"jsonrpc\":\"2.0\",\"id\":", 22);
    json_write_int(&sb, (json_int_t)id);
    strbuf_append(&sb, ",\"method\":", 10);
    json_write_str(&sb, method, strlen(method));
    strbuf_append(&sb, ",\"params\":", 10);
    strbuf_append(&sb, params, params_len);
    strbuf_append(&sb, "}", 1);
    int rc = transport_send_text(c->transport, sb.data, sb.len);
    strbuf_free(&sb);
    if (rc == UV_ENOBUFS)
        send_failed(c);
    if (rc != 0)
        return -1;
    return pending_add(c, id, timeout_ms, cb, raw, ctx);
}

static int64_t pending_add(mcp_client *c, int64_t id, uint32_t timeout_ms, mcp_response_fn cb, mcp_raw_result_fn raw,
                           void *ctx)
{
    pending *p = xcalloc(1, sizeof(*p));
    p->id = id;
    p->cb = cb;
    p->raw = raw;
    p->ctx = ctx;
    p->client = c;
    uv_timer_init(c->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, request_timeout, timeout_ms ? timeout_ms : c->request_timeout_ms, 0);
    p->next = c->pending;
    c->pending = p;
    return id;
}

void mcp_client_cancel(mcp_client *c, int64_t id, const char *reason)
{
    if (!pending_take(c, id))
        return;
    json_t *params = json_pack("{s:I, s:s}", "requestId", (json_int_t)id, "reason", reason ? reason : "cancelled");
    mcp_client_notify(c, "notifications/cancelled", params);
    json_decref(params);
}

int mcp_client_notify(mcp_client *c, const char *method, json_t *params)
{
    if (c->exited)
        return UV_EPIPE;
    json_t *msg = jsonrpc_notification_new(method, params);
    int rc = send_message(c, msg);
    json_decref(msg);
    return rc;
}

/* `what` followed by text the server sent (any length), cut to fit on a
 * character boundary. */
static void reason_of(char out[REASON_LEN], const char *what, const char *detail)
{
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s%s", what, detail);
    utf8_copy(out, REASON_LEN, sb.data);
    strbuf_free(&sb);
}

static void drop_listings(mcp_client *c)
{
    for (int k = 0; k < MCP_LIST_KINDS; k++) {
        json_decref(c->lists[k].listing);
        c->lists[k].listing = NULL;
        c->lists[k].relist_wanted = false;
    }
}

/* The handshake or first listing failed, or the server passed a bound:
 * tell the owner, then stop. */
static void client_fail(mcp_client *c, const char *reason)
{
    if (c->phase == PHASE_DONE)
        return;
    c->phase = PHASE_DONE;
    drop_listings(c);
    log_kv(LOG_WARN, "upstream failed; stopping it", LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("reason", reason)));
    c->cbs.on_failed(c, reason, c->ctx);
    mcp_client_stop(c);
}

/* The names in a tool list, as the keys of a JSON object: a hash set.
 * jansson seeds its hash with random bytes once per process, so names a
 * hostile server picks cannot make the lookups collide. */
static json_t *name_set(const json_t *tools)
{
    json_t *set = json_object();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n)
            json_object_set_new_nocheck(set, n, json_true());
    }
    return set;
}

/* Entries of `tools` with a name that is not in `names`. */
static size_t count_missing_from(const json_t *tools, const json_t *names)
{
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name && !json_object_get(names, name))
            n++;
    }
    return n;
}

/* Linear: a list_changed from a server with tens of thousands of tools
 * costs milliseconds, not the seconds a pairwise comparison took. */
void mcp_tools_diff(const json_t *before, const json_t *now, size_t *added, size_t *removed)
{
    json_t *before_names = name_set(before), *now_names = name_set(now);
    *added = count_missing_from(now, before_names);
    *removed = count_missing_from(before, now_names);
    json_decref(before_names);
    json_decref(now_names);
}

/* The first round lists every list the server's capabilities offer, one
 * after the other in list_specs order: the next after `after`, or
 * MCP_LIST_KINDS when none is left. */
static int next_offered(const mcp_client *c, int after)
{
    for (int k = after + 1; k < MCP_LIST_KINDS; k++) {
        if (json_object_get(c->capabilities, list_specs[k].capability))
            return k;
    }
    return MCP_LIST_KINDS;
}

/* Lists the next offered list of the first round, or, when all are in,
 * the client is Ready. */
static void first_round_next(mcp_client *c, int after)
{
    int k = next_offered(c, after);
    if (k < MCP_LIST_KINDS) {
        list_start(&c->lists[k]);
        return;
    }
    c->phase = PHASE_READY;
    c->cbs.on_tools(c, c->first_added, c->first_removed, true, c->ctx);
    /* A list_changed that came during the first round: listed again now. */
    for (k = 0; k < MCP_LIST_KINDS && c->phase == PHASE_READY; k++) {
        if (c->lists[k].relist_wanted) {
            c->lists[k].relist_wanted = false;
            list_start(&c->lists[k]);
        }
    }
}

static void listing_done(lister *l)
{
    mcp_client *c = l->client;
    size_t added = 0, removed = 0;
    if (l->kind == MCP_LIST_TOOLS)
        mcp_tools_diff(l->items, l->listing, &added, &removed);
    json_decref(l->items);
    l->items = l->listing;
    l->listing = NULL;
    l->listed_once = true;
    if (c->phase == PHASE_LISTING) {
        if (l->kind == MCP_LIST_TOOLS) {
            c->first_added = added;
            c->first_removed = removed;
        }
        first_round_next(c, (int)l->kind);
        return;
    }
    if (l->kind == MCP_LIST_TOOLS)
        c->cbs.on_tools(c, added, removed, false, c->ctx);
    else if (c->cbs.on_list)
        c->cbs.on_list(c, l->kind, c->ctx);
    if (l->relist_wanted && c->phase == PHASE_READY) {
        l->relist_wanted = false;
        list_start(l);
    }
}

/* Why a listing in flight passed a bound after its latest page, or NULL.
 * Checked page by page, so a listing never holds much more than a bound:
 * a server that lists forever, or lists more than we keep, is failed. The
 * tool bounds bound every list alike. */
static const char *listing_over_bound(const lister *l, bool more, char reason[REASON_LEN])
{
    const mcp_client *c = l->client;
    const char *method = list_specs[l->kind].method;
    if (l->bytes > c->max_tool_list_bytes)
        snprintf(reason, REASON_LEN, "%s answers passed upstream.max_tool_list_bytes (%u bytes)", method,
                 c->max_tool_list_bytes);
    else if (json_array_size(l->listing) > c->max_tools)
        snprintf(reason, REASON_LEN, "%s lists more than upstream.max_tools (%u) items", method, c->max_tools);
    else if (more && l->pages >= c->max_tool_pages)
        snprintf(reason, REASON_LEN, "%s goes on past upstream.max_tool_pages (%u pages)", method, c->max_tool_pages);
    else
        return NULL;
    return reason;
}

/* A listing answered with an error: the first tools/list fails the server
 * (it offers nothing usable); any other keeps the previous list (empty in
 * the first round), and the first round goes on. */
static void listing_failed(lister *l, const mcp_error *err)
{
    mcp_client *c = l->client;
    json_decref(l->listing);
    l->listing = NULL;
    char reason[REASON_LEN];
    char what[64];
    snprintf(what, sizeof what, "%s failed: ", list_specs[l->kind].method);
    reason_of(reason, what, err->message ? err->message : "error");
    if (c->phase == PHASE_LISTING && l->kind == MCP_LIST_TOOLS) {
        client_fail(c, reason);
        return;
    }
    log_kv(LOG_WARN, "upstream listing failed; keeping the previous list",
           LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("reason", reason)));
    l->relist_wanted = false;
    if (c->phase == PHASE_LISTING)
        first_round_next(c, (int)l->kind);
}

static void list_page(json_t *result, const mcp_error *err, void *ctx)
{
    lister *l = ctx;
    mcp_client *c = l->client;
    const list_spec *spec = &list_specs[l->kind];
    if (c->phase == PHASE_DONE)
        return; /* failed meanwhile (client_fail dropped the listing) */
    if (err) {
        listing_failed(l, err);
        return;
    }
    l->pages++;
    l->bytes += c->message_bytes;
    json_t *items = json_object_get(result, spec->key);
    size_t i;
    json_t *t;
    json_array_foreach(items, i, t) {
        if (json_is_string(json_object_get(t, spec->id_field)))
            json_array_append(l->listing, t);
        else
            log_kv(LOG_WARN, "upstream listed an item without its identifying field; ignored",
                   LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("method", spec->method),
                              LOG_STR("field", spec->id_field)));
    }
    const char *cursor = json_string_value(json_object_get(result, "nextCursor"));
    bool more = cursor && *cursor;
    char reason[REASON_LEN];
    if (listing_over_bound(l, more, reason)) {
        client_fail(c, reason);
        return;
    }
    if (more) {
        json_t *params = json_pack("{s:s}", "cursor", cursor);
        int64_t id = mcp_client_request(c, spec->method, params, 0, list_page, l);
        json_decref(params);
        if (id < 0) {
            json_decref(l->listing);
            l->listing = NULL;
        }
        return;
    }
    listing_done(l);
}

static void list_start(lister *l)
{
    if (l->listing) {
        l->relist_wanted = true; /* re-list once this listing finishes */
        return;
    }
    l->listing = json_array();
    l->pages = 0;
    l->bytes = 0;
    json_t *params = json_object();
    int64_t id = mcp_client_request(l->client, list_specs[l->kind].method, params, 0, list_page, l);
    json_decref(params);
    if (id < 0) {
        json_decref(l->listing);
        l->listing = NULL;
    }
}

/* A list_changed from the server: each list it names is listed again.
 * During the first round a list not reached yet needs nothing (its listing
 * will see the new list); one listed or being listed is listed again once
 * the round is done. Returns false when the method is no list_changed. */
static bool list_changed(mcp_client *c, const char *method)
{
    bool known = false;
    for (int k = 0; k < MCP_LIST_KINDS; k++) {
        if (strcmp(method, list_specs[k].changed) != 0)
            continue;
        known = true;
        lister *l = &c->lists[k];
        if (c->phase == PHASE_READY)
            list_start(l);
        else if (c->phase == PHASE_LISTING && (l->listing || l->listed_once))
            l->relist_wanted = true;
    }
    return known;
}

static void initialized(json_t *result, const mcp_error *err, void *ctx)
{
    mcp_client *c = ctx;
    if (c->phase == PHASE_DONE)
        return; /* stopped or failed before the answer came */
    if (err) {
        char reason[REASON_LEN];
        reason_of(reason, "initialize failed: ", err->message ? err->message : "error");
        client_fail(c, reason);
        return;
    }
    const char *version = json_string_value(json_object_get(result, "protocolVersion"));
    bool known = false;
    for (size_t i = 0; version && mcp_client_supported_versions[i]; i++)
        known = known || strcmp(version, mcp_client_supported_versions[i]) == 0;
    if (!known) {
        char reason[REASON_LEN];
        reason_of(reason, "unsupported protocol version ", version ? version : "(none)");
        client_fail(c, reason);
        return;
    }
    c->protocol_version = xstrdup(version);
    c->server_info = json_incref(json_object_get(result, "serverInfo"));
    c->capabilities = json_incref(json_object_get(result, "capabilities"));
    c->phase = PHASE_LISTING;
    mcp_client_notify(c, "notifications/initialized", NULL);
    if (c->phase != PHASE_LISTING)
        return; /* that send failed the server */
    c->cbs.on_initialized(c, c->ctx);
    if (c->phase != PHASE_LISTING)
        return; /* the owner stopped us */
    /* A server without a capability has nothing to list there: an empty
     * list (a server with none at all is Ready at once). */
    first_round_next(c, -1);
}

static void answer_request(mcp_client *c, json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *id = json_object_get(msg, "id");
    json_t *reply;
    if (strcmp(method, "ping") == 0)
        reply = jsonrpc_result_new(id, json_object());
    else
        reply = jsonrpc_error_new(id, -32601, "method not supported by mcpproxy", NULL);
    send_message(c, reply);
    json_decref(reply);
}

static void on_message(json_t *msg, size_t len, void *ctx)
{
    mcp_client *c = ctx;
    /* For the response callbacks that count bytes (list_page): the
     * callback signature carries the parsed result only. */
    c->message_bytes = len;
    int64_t id = 0;
    switch (jsonrpc_classify(msg, &id)) {
    case JSONRPC_REQUEST:
        answer_request(c, msg);
        break;
    case JSONRPC_NOTIFICATION: {
        const char *method = json_string_value(json_object_get(msg, "method"));
        if (list_changed(c, method)) {
            /* handled: the list is listed again */
        } else if (c->cbs.on_notification) {
            c->cbs.on_notification(c, method, json_object_get(msg, "params"), c->ctx);
        } else {
            log_kv(LOG_DEBUG, "upstream notification",
                   LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("method", method)));
        }
        break;
    }
    case JSONRPC_RESPONSE:
    case JSONRPC_ERROR: {
        pending *p = id ? pending_take(c, id) : NULL;
        if (!p) {
            log_kv(LOG_WARN, "upstream sent a response to an unknown id; ignored",
                   LOG_FIELDS(LOG_STR("server", c->name), LOG_INT("id", id)));
            break;
        }
        json_t *error = json_object_get(msg, "error");
        if (error) {
            json_t *code = json_object_get(error, "code");
            const char *message = json_string_value(json_object_get(error, "message"));
            mcp_error err = {.code = json_is_integer(code) ? (int)json_integer_value(code) : -32603,
                             .message = message ? message : "error",
                             .data = json_object_get(error, "data")};
            p->cb(NULL, &err, p->ctx);
        } else {
            p->cb(json_object_get(msg, "result"), NULL, p->ctx);
        }
        break;
    }
    case JSONRPC_INVALID:
        log_kv(LOG_WARN, "upstream sent an invalid JSON-RPC message; ignored", LOG_FIELDS(LOG_STR("server", c->name)));
        break;
    }
}

/* A line of a stdio server before it is parsed: a plain response to a
 * request that takes its result as bytes is answered from the bytes
 * (mcp_client_request_raw). Anything else is left to on_message: false. */
static bool on_text(const char *text, size_t len, void *ctx)
{
    mcp_client *c = ctx;
    json_member m[8];
    size_t n;
    if (!c->pending || !json_scan_object(text, len, m, 8, &n) || n > 8)
        return false;
    bool unsure[5];
    const json_member *version = json_member_find(m, n, "jsonrpc", &unsure[0]);
    const json_member *id = json_member_find(m, n, "id", &unsure[1]);
    const json_member *result = json_member_find(m, n, "result", &unsure[2]);
    bool has_method = json_member_find(m, n, "method", &unsure[3]) != NULL;
    bool has_error = json_member_find(m, n, "error", &unsure[4]) != NULL;
    int64_t rid;
    if (unsure[0] || unsure[1] || unsure[2] || unsure[3] || unsure[4] || has_method || has_error || !version || !id ||
        !result || version->value_len != 5 || memcmp(version->value, "\"2.0\"", 5) != 0 ||
        !json_span_int64(id->value, id->value_len, &rid) || rid < 1)
        return false;
    pending *p = c->pending;
    while (p && p->id != rid)
        p = p->next;
    if (!p || !p->raw)
        return false;
    c->message_bytes = len;
    pending_take(c, rid); /* p lives until its timer is closed */
    p->raw(result->value, result->value_len, p->ctx);
    return true;
}

static void on_bad_line(const char *why, const char *line, size_t len, void *ctx)
{
    mcp_client *c = ctx;
    char head[BAD_LINE_HEAD + 1];
    size_t n = utf8_prefix_len(line, len, BAD_LINE_HEAD);
    memcpy(head, line, n);
    head[n] = '\0';
    log_kv(LOG_WARN, "upstream sent an unusable line; ignored",
           LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("reason", why), LOG_STR("line", head)));
}

static void on_stderr(const char *bytes, size_t len, void *ctx)
{
    mcp_client *c = ctx;
    c->cbs.on_stderr(bytes, len, c->ctx);
}

static void on_closed(const transport_end *end, void *ctx)
{
    mcp_client *c = ctx;
    /* A remote transport says why it ended; a process exit speaks for
     * itself (the owner reads the status). */
    c->session_lost = end->session_lost && !c->stop_asked;
    if (end->auth_challenge && !c->stop_asked)
        c->auth_challenge = xstrdup(end->auth_challenge);
    if (end->reason && !c->stop_asked) {
        log_kv(LOG_WARN, "upstream connection ended",
               LOG_FIELDS(LOG_STR("server", c->name), LOG_STR("reason", end->reason)));
        c->cbs.on_failed(c, end->reason, c->ctx);
    }
    c->exited = true;
    c->phase = PHASE_DONE;
    drop_listings(c);
    while (c->pending)
        fail_request(c, c->pending->id, MCP_ERR_CLOSED, "server connection closed");
    c->cbs.on_exit(c, end->exit_status, end->term_signal, c->ctx);
}

mcp_client *mcp_client_start(uv_loop_t *loop, const server_config *srv, const mcp_client_options *opts,
                             const mcp_client_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN])
{
    mcp_client *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->cbs = *cbs;
    c->ctx = ctx;
    c->name = xstrdup(opts->server_name ? opts->server_name : srv->name);
    c->request_timeout_ms = opts->request_timeout_ms ? opts->request_timeout_ms : 30000;
    c->stop_grace_ms = opts->stop_grace_ms ? opts->stop_grace_ms : 1000;
    assert(opts->max_queued_bytes && opts->max_tool_pages && opts->max_tool_list_bytes && opts->max_tools);
    c->max_queued_bytes = opts->max_queued_bytes;
    c->max_tool_pages = opts->max_tool_pages;
    c->max_tool_list_bytes = opts->max_tool_list_bytes;
    c->max_tools = opts->max_tools;
    for (int k = 0; k < MCP_LIST_KINDS; k++)
        c->lists[k] = (lister){.client = c, .kind = (mcp_list_kind)k, .items = json_array()};
    transport_callbacks tcbs = {.on_message = on_message,
                                .on_text = on_text,
                                .on_bad_message = on_bad_line,
                                .on_diagnostic = on_stderr,
                                .on_closed = on_closed};
    if (srv->url && *srv->url) {
        if (!opts->curl) {
            snprintf(err, CONFIG_ERR_LEN, "remote servers are not available here (no HTTP client)");
            mcp_client_destroy(c);
            return NULL;
        }
        http_transport_options hopts = {.server_name = c->name,
                                        .connect_timeout_ms = c->request_timeout_ms,
                                        .max_queued_bytes = c->max_queued_bytes,
                                        .max_message_bytes = opts->max_message_bytes ? opts->max_message_bytes
                                                                                     : JSONRPC_MAX_LINE_DEFAULT,
                                        .curl = opts->curl,
                                        .bearer = opts->bearer,
                                        .bearer_ctx = opts->bearer_ctx};
        c->transport = http_transport_start(loop, srv, &hopts, &tcbs, c, err);
    } else {
        stdio_transport_options topts = {
            .stop_grace_ms = c->stop_grace_ms, .max_queued_bytes = c->max_queued_bytes, .reaper = opts->reaper};
        c->transport = stdio_transport_start(loop, srv, &topts, &tcbs, c, err);
    }
    if (!c->transport) {
        mcp_client_destroy(c);
        return NULL;
    }
    json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", MCP_PROTOCOL_VERSION, "capabilities",
                               "clientInfo", "name", "mcpproxy", "version", MCPPROXY_VERSION);
    int64_t id = mcp_client_request(c, "initialize", params, 0, initialized, c);
    json_decref(params);
    if (id < 0)
        mcp_client_stop(c); /* on_exit reports it */
    return c;
}

bool mcp_client_ready(const mcp_client *c)
{
    return c->phase == PHASE_READY && !c->exited;
}

json_t *mcp_client_tools(const mcp_client *c)
{
    return c->lists[MCP_LIST_TOOLS].items;
}

json_t *mcp_client_list(const mcp_client *c, mcp_list_kind kind)
{
    return c->lists[kind].items;
}
const char *mcp_client_protocol_version(const mcp_client *c)
{
    return c->protocol_version;
}
json_t *mcp_client_server_info(const mcp_client *c)
{
    return c->server_info;
}
json_t *mcp_client_capabilities(const mcp_client *c)
{
    return c->capabilities;
}
const char *mcp_client_auth_challenge(const mcp_client *c)
{
    return c->auth_challenge;
}

bool mcp_client_session_lost(const mcp_client *c)
{
    return c->session_lost;
}

int mcp_client_pid(const mcp_client *c)
{
    return c->transport ? transport_pid(c->transport) : 0;
}

void mcp_client_stop_within(mcp_client *c, uint32_t max_grace_ms)
{
    c->stop_asked = true;
    if (c->phase != PHASE_DONE && c->phase != PHASE_READY)
        c->phase = PHASE_DONE;
    if (c->transport && !c->exited)
        transport_stop(c->transport, c->stop_grace_ms < max_grace_ms ? c->stop_grace_ms : max_grace_ms);
}

void mcp_client_stop(mcp_client *c)
{
    mcp_client_stop_within(c, c->stop_grace_ms);
}

void mcp_client_destroy(mcp_client *c)
{
    if (!c)
        return;
    transport_destroy(c->transport);
    for (int k = 0; k < MCP_LIST_KINDS; k++) {
        json_decref(c->lists[k].items);
        json_decref(c->lists[k].listing);
    }
    json_decref(c->server_info);
    json_decref(c->capabilities);
    free(c->protocol_version);
    free(c->auth_challenge);
    free(c->name);
    free(c);
}
