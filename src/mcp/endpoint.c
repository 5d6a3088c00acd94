/* endpoint.c - /mcp: Streamable HTTP in, upstream requests out.
 *
 *   POST    one JSON-RPC message (or a batch where the session's protocol
 *           version allows one). Only notifications/responses: 202. Requests
 *           answered at once: 200 JSON. Requests that wait on an upstream
 *           (tools/call; prompts/get and resources/read, subscribe and
 *           unsubscribe through listings.h) are answered through a batch
 *           (calls.h).
 *   GET     the session's notification stream (session.h).
 *   DELETE  ends the session. */
#include "mcp/endpoint.h"

#include "core/json_write.h"
#include "core/jsonrpc.h"
#include "core/log.h"
#include "core/util.h"
#include "cluster/registry.h"
#include "cluster/rpc.h"
#include "mcp/call_text.h"
#include "mcp/calls.h"
#include "mcp/catalog.h"
#include "mcp/listings.h"
#include "mcp/resources.h"
#include "mcp/search.h"
#include "mcp/session.h"
#include "mcp/subscriptions.h"
#include "store/activity.h"
#include "upstream/manager.h"
#include "upstream/mcp_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MCP_PATH "/mcp"
#define MCP_SEARCH_PATH "/mcp/search" /* the same endpoint, sessions in search mode */

/* Newest first: an unknown version asked for gets the first. */
static const char *const protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

struct mcp_endpoint {
    app *a;
    mcp_sessions *sessions;
    mcp_calls *calls;
    bus_sub *sub;
    mcp_catalog catalog;
    bool catalog_built;
    mcp_catalog prompts;     /* built with the catalog (offers_built) */
    mcp_resources resources; /* the same */
    bool offers_built;
    mcp_subs *subs;
    bool closed;
    mcp_search *search;   /* search mode's index and tools; NULL when SQLite lacks FTS5 */
    json_t *remote_calls; /* "<node>/<id>" of another node's call here -> its session id here */
    uint64_t remote_seq;  /* numbers those session ids */
};

/* An HTTP-level refusal: the status, with a JSON-RPC error (id null) body. */
static void refuse(http_response *res, int status, int code, const char *message)
{
    http_respond_json(res, status, jsonrpc_error_new(NULL, code, message, NULL));
}

static bool version_supported(const char *v)
{
    for (size_t i = 0; i < sizeof protocol_versions / sizeof protocol_versions[0]; i++) {
        if (strcmp(v, protocol_versions[i]) == 0)
            return true;
    }
    return false;
}

/* JSON-RPC batches exist in 2025-03-26 only (and were tolerated before). */
static bool version_allows_batch(const char *v)
{
    return strcmp(v, "2025-03-26") == 0 || strcmp(v, "2024-11-05") == 0;
}

static const mcp_catalog *catalog(mcp_endpoint *ep)
{
    if (!ep->catalog_built) {
        mcp_catalog_build_checked(&ep->catalog, ep->a->manager, &ep->a->cfg, ep->a->quarantine);
        mcp_catalog_add_remote(&ep->catalog, ep->a->registry);
        ep->catalog_built = true;
        if (ep->search)
            mcp_search_sync(ep->search, &ep->catalog);
    }
    return &ep->catalog;
}

/* The prompts and resources on offer, rebuilt when asked for (`force`) or
 * never built. Returns, in *changed (may be NULL), a bit per list that
 * differs from before: 1 prompts, 2 resources or templates. */
static void refresh_offers(mcp_endpoint *ep, bool force, unsigned *changed)
{
    if (changed)
        *changed = 0;
    if (ep->offers_built && !force)
        return;
    mcp_catalog prompts;
    mcp_resources resources;
    mcp_catalog_build_list_checked(&prompts, ep->a->manager, &ep->a->cfg, MCP_LIST_PROMPTS, ep->a->quarantine);
    mcp_catalog_add_remote_list(&prompts, ep->a->registry, "prompts");
    mcp_resources_build(&resources, ep->a->manager, &ep->a->cfg, ep->a->quarantine);
    mcp_resources_add_remote(&resources, ep->a->registry ? registry_remote_all(ep->a->registry) : NULL);
    if (changed && ep->offers_built) {
        *changed |= mcp_catalog_equal(&ep->prompts, &prompts) ? 0u : 1u;
        *changed |= mcp_resources_equal(&ep->resources, &resources) ? 0u : 2u;
    } else if (changed) {
        *changed = (prompts.n ? 1u : 0u) | (resources.n_resources || resources.n_templates ? 2u : 0u);
    }
    mcp_catalog_free(&ep->prompts);
    mcp_resources_free(&ep->resources);
    ep->prompts = prompts;
    ep->resources = resources;
    ep->offers_built = true;
}

/* ---- messages --------------------------------------------------------- */

static json_t *initialize_result(const char *version, bool search)
{
    return json_pack("{s:s, s:{s:{s:b}, s:{s:b}, s:{s:b, s:b}}, s:{s:s, s:s}, s:s}", "protocolVersion", version,
                     "capabilities", "tools", "listChanged", 1, "prompts", "listChanged", 1, "resources", "listChanged",
                     1, "subscribe", 1, "serverInfo", "name", "mcpproxy", "version", MCPPROXY_VERSION, "instructions",
                     search ? "mcpproxy gives access to the tools of all its upstream MCP servers through two tools: "
                              "retrieve_tools finds the ones that fit a task (with their input schemas), call_tool "
                              "calls one by the name retrieve_tools gave; prompts and resources are as the servers "
                              "offer them (<server>__<name>, their own URIs)."
                            : "mcpproxy offers the tools and prompts of all its Ready upstream MCP servers, each "
                              "named <server>__<name>, and their resources under their own URIs.");
}

/* The routing mode a new session asks for: /mcp/search, else ?mode=, else
 * the config's "routing". False when refused (res says why). */
static bool session_mode(mcp_endpoint *ep, const http_request *req, bool *search, http_response *res)
{
    char mode[16] = "";
    if (http_query_get(req->query, "mode", mode, sizeof mode) < 0 ||
        (*mode && strcmp(mode, "direct") != 0 && strcmp(mode, "search") != 0)) {
        refuse(res, 400, RPC_INVALID_REQUEST, "Bad Request: ?mode= must be direct or search");
        return false;
    }
    if (strcmp(req->path, MCP_SEARCH_PATH) == 0)
        *search = strcmp(mode, "direct") != 0;
    else
        *search = *mode ? strcmp(mode, "search") == 0 : strcmp(ep->a->cfg.routing, "search") == 0;
    if (strcmp(req->path, MCP_SEARCH_PATH) == 0 && !*search) {
        refuse(res, 400, RPC_INVALID_REQUEST, "Bad Request: /mcp/search is search mode; use /mcp for ?mode=direct");
        return false;
    }
    if (*search && !ep->search) {
        refuse(res, 503, RPC_BAD_SESSION,
               "search mode is not available (the search index could not be made; see "
               "the log): use /mcp?mode=direct");
        return false;
    }
    return true;
}

/* One request (not initialize) of a session: answered into the batch now,
 * or later by a call in flight. */
static void handle_request(mcp_endpoint *ep, mcp_batch *b, mcp_session *s, const jsonrpc_parts *m)
{
    json_t *answer;
    char why[300];
    if (mcp_session_search(s) && strcmp(m->method, "tools/call") == 0) {
        mcp_search_call(ep->search, b, catalog(ep), mcp_session_id(s), m->id, m->params);
        return;
    }
    if (mcp_session_search(s) && strcmp(m->method, "tools/list") == 0) {
        mcp_batch_answer_now(b, jsonrpc_result_new(m->id, json_pack("{s:o}", "tools", mcp_search_tools_json())));
        return;
    }
    if (strcmp(m->method, "tools/call") == 0) {
        mcp_batch_call_tool(b, catalog(ep), mcp_session_id(s), m->id, m->params);
        return;
    }
    refresh_offers(ep, false, NULL);
    mcp_listing_ctx lctx = {.a = ep->a,
                            .prompts = &ep->prompts,
                            .resources = &ep->resources,
                            .subs = ep->subs,
                            .session_id = mcp_session_id(s)};
    if (mcp_listings_handle(b, &lctx, m))
        return;
    if (strcmp(m->method, "ping") == 0) {
        answer = jsonrpc_result_new(m->id, json_object());
    } else if (strcmp(m->method, "tools/list") == 0) {
        answer = jsonrpc_result_new(m->id, json_pack("{s:o}", "tools", mcp_catalog_tools_json(catalog(ep))));
    } else if (strcmp(m->method, "initialize") == 0) {
        answer = jsonrpc_error_new(
            m->id, RPC_INVALID_REQUEST,
            "this session is initialized already; initialize without Mcp-Session-Id for a new one", NULL);
    } else {
        snprintf(why, sizeof why, "method not found: %.200s", m->method);
        answer = jsonrpc_error_new(m->id, RPC_METHOD_NOT_FOUND, why, NULL);
    }
    mcp_batch_answer_now(b, answer);
}

static void handle_notification(mcp_endpoint *ep, mcp_session *s, const jsonrpc_parts *m)
{
    if (strcmp(m->method, "notifications/cancelled") == 0)
        mcp_calls_cancel(ep->calls, mcp_session_id(s), m->params);
    /* notifications/initialized and the rest need nothing from us. */
}

static void respond_initialize(mcp_endpoint *ep, const jsonrpc_parts *m, const http_request *req, http_response *res)
{
    const char *asked = json_string_value(json_object_get(m->params, "protocolVersion"));
    const char *version = asked && version_supported(asked) ? asked : protocol_versions[0];
    const char *why;
    bool search;
    if (!session_mode(ep, req, &search, res))
        return;
    mcp_session *s = mcp_session_new(ep->sessions, version, req->peer, &why);
    if (!s) {
        refuse(res, 503, RPC_BAD_SESSION, why);
        char retry[24];
        snprintf(retry, sizeof retry, "%u", (ep->a->cfg.mcp.unused_session_ttl_ms + 999) / 1000);
        http_response_add_header(res, "Retry-After", retry);
        return;
    }
    const char *client = json_string_value(json_object_get(json_object_get(m->params, "clientInfo"), "name"));
    log_kv(LOG_INFO, "mcp client initialized",
           LOG_FIELDS(LOG_STR("session_id", mcp_session_id(s)), LOG_STR("client", client),
                      LOG_STR("protocol_version", version), LOG_STR("mode", search ? "search" : "direct")));
    /* The activity log names the client of each call by its session. */
    activity_log_session(ep->a->activity, mcp_session_id(s), client,
                         json_string_value(json_object_get(json_object_get(m->params, "clientInfo"), "version")));
    mcp_session_set_search(s, search);
    mcp_session_set_client(s, client);
    http_respond_json(res, 200, jsonrpc_result_new(m->id, initialize_result(version, search)));
    http_response_add_header(res, "Mcp-Session-Id", mcp_session_id(s));
}

/* ---- POST, step by step ----------------------------------------------- */

/* The body as JSON-RPC: one message or a non-empty array. NULL when refused
 * (res says why). */
static json_t *parse_body(const http_request *req, http_response *res)
{
    if (!req->content_type || strncasecmp(req->content_type, "application/json", 16) != 0) {
        refuse(res, 415, RPC_BAD_SESSION, "Unsupported Media Type: POST /mcp takes Content-Type: application/json");
        return NULL;
    }
    if (!http_accepts(req->accept, "application/json") && !http_accepts(req->accept, "text/event-stream")) {
        refuse(res, 406, RPC_BAD_SESSION,
               "Not Acceptable: the client must accept application/json and text/event-stream");
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!body) {
        char msg[300];
        snprintf(msg, sizeof msg, "Parse error: invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        refuse(res, 400, RPC_PARSE_ERROR, msg);
        return NULL;
    }
    if (json_is_array(body) && json_array_size(body) == 0) {
        refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: empty batch");
        json_decref(body);
        return NULL;
    }
    return body;
}

/* initialize comes alone and makes the session. Returns true when the body
 * was an initialize (answered) or refused for holding one in a batch. */
static bool handle_initialize(mcp_endpoint *ep, json_t *body, const http_request *req, http_response *res)
{
    jsonrpc_parts m;
    if (json_is_array(body)) {
        size_t i;
        json_t *msg;
        json_array_foreach(body, i, msg) {
            if (jsonrpc_classify_parts(msg, &m) == JSONRPC_REQUEST && strcmp(m.method, "initialize") == 0) {
                refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: initialize must not be part of a batch");
                return true;
            }
        }
        return false;
    }
    jsonrpc_kind kind = jsonrpc_classify_parts(body, &m);
    if (kind == JSONRPC_INVALID) {
        refuse(res, 400, RPC_INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message");
        return true;
    }
    if (kind == JSONRPC_REQUEST && strcmp(m.method, "initialize") == 0) {
        respond_initialize(ep, &m, req, res);
        return true;
    }
    return false;
}

/* The live session the request's Mcp-Session-Id names. NULL when refused
 * (400 without the header, 404 for an unknown session; res says why). */
static mcp_session *named_session(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!req->mcp_session_id) {
        refuse(res, 400, RPC_BAD_SESSION, "Bad Request: Mcp-Session-Id header is required (initialize first)");
        return NULL;
    }
    mcp_session *s = mcp_session_find(ep->sessions, req->mcp_session_id);
    if (!s)
        refuse(res, 404, RPC_BAD_SESSION, "Session not found: it ended or expired; initialize a new one");
    return s;
}

/* The session the request names, checked against its protocol version and
 * the body's form. NULL when refused (res says why). */
static mcp_session *find_session(mcp_endpoint *ep, const http_request *req, bool is_array, http_response *res)
{
    char why[200];
    mcp_session *s = named_session(ep, req, res);
    if (!s)
        return NULL;
    if (req->mcp_protocol_version && !version_supported(req->mcp_protocol_version)) {
        snprintf(why, sizeof why, "Bad Request: unsupported MCP-Protocol-Version %.40s", req->mcp_protocol_version);
        refuse(res, 400, RPC_BAD_SESSION, why);
        return NULL;
    }
    if (is_array && !version_allows_batch(mcp_session_protocol_version(s))) {
        snprintf(why, sizeof why, "Invalid Request: JSON-RPC batches are not part of MCP %s",
                 mcp_session_protocol_version(s));
        refuse(res, 400, RPC_INVALID_REQUEST, why);
        return NULL;
    }
    return s;
}

/* Each message into the batch, in order. */
static void dispatch(mcp_endpoint *ep, mcp_session *s, mcp_batch *b, json_t *body)
{
    bool is_array = json_is_array(body);
    size_t n = is_array ? json_array_size(body) : 1;
    for (size_t i = 0; i < n; i++) {
        jsonrpc_parts m;
        switch (jsonrpc_classify_parts(is_array ? json_array_get(body, i) : body, &m)) {
        case JSONRPC_INVALID:
            mcp_batch_answer_now(
                b, jsonrpc_error_new(NULL, RPC_INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message", NULL));
            break;
        case JSONRPC_REQUEST:
            handle_request(ep, b, s, &m);
            break;
        case JSONRPC_NOTIFICATION:
            handle_notification(ep, s, &m);
            break;
        case JSONRPC_RESPONSE:
        case JSONRPC_ERROR:
            break; /* we send clients no requests, so no response is awaited */
        }
    }
}

/* A plain tools/call (call_text.h) from a client that takes JSON, with a
 * live session, goes the tree-less way; false leaves the body to the
 * general path below, which answers every other case. */
static bool post_plain_call(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!req->content_type || strncasecmp(req->content_type, "application/json", 16) != 0 ||
        !http_accepts(req->accept, "application/json") || !req->mcp_session_id ||
        (req->mcp_protocol_version && !version_supported(req->mcp_protocol_version)))
        return false;
    mcp_session *s = mcp_session_find(ep->sessions, req->mcp_session_id);
    mcp_call_text ct;
    if (!s || mcp_session_search(s) || !mcp_call_text_parse(req->body, req->body_len, &ct))
        return false; /* a search session's tools/call is call_tool's (mcp_search_call) */
    bool taken = mcp_calls_call_text(ep->calls, catalog(ep), mcp_session_id(s), &ct,
                                     http_accepts(req->accept, "text/event-stream"), req, res);
    mcp_call_text_free(&ct);
    return taken;
}

static void handle_post(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (post_plain_call(ep, req, res))
        return;
    json_t *body = parse_body(req, res);
    if (!body)
        return;
    mcp_session *s = NULL;
    if (!handle_initialize(ep, body, req, res) && (s = find_session(ep, req, json_is_array(body), res))) {
        mcp_batch *b = mcp_batch_begin(ep->calls, json_is_array(body), http_accepts(req->accept, "application/json"),
                                       http_accepts(req->accept, "text/event-stream"));
        dispatch(ep, s, b, body);
        mcp_batch_end(b, req, res);
    }
    json_decref(body);
}

/* ---- GET and DELETE --------------------------------------------------- */

static void handle_get(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    if (!req->accept || !http_accepts(req->accept, "text/event-stream")) {
        refuse(res, 406, RPC_BAD_SESSION, "Not Acceptable: GET /mcp is a stream: send Accept: text/event-stream");
        return;
    }
    mcp_session *s = named_session(ep, req, res);
    if (!s)
        return;
    if (req->head) { /* what a GET would start, without the stream */
        http_respond_bytes(res, 200, "text/event-stream", "", 0);
        return;
    }
    /* Resumption (Last-Event-ID) is not offered: events carry no ids, and a
     * reconnecting client simply gets a new stream. */
    if (!mcp_session_open_stream(s, req))
        refuse(res, 409, RPC_BAD_SESSION, "Conflict: this session has a GET stream open already");
}

static void handle_delete(mcp_endpoint *ep, const http_request *req, http_response *res)
{
    mcp_session *s = named_session(ep, req, res);
    if (!s)
        return;
    mcp_session_end(ep->sessions, s);
    http_respond_bytes(res, 200, "application/json", "{}", 2);
}

bool mcp_endpoint_route(void *ctx, const http_request *req, http_response *res)
{
    mcp_endpoint *ep = ctx;
    if (strcmp(req->path, MCP_PATH) != 0 && strcmp(req->path, MCP_SEARCH_PATH) != 0)
        return false;
    if (ep->closed) {
        refuse(res, 503, RPC_BAD_SESSION, "mcpproxy is shutting down");
        return true;
    }
    switch (req->method) {
    case HTTP_POST:
        handle_post(ep, req, res);
        break;
    case HTTP_GET:
        handle_get(ep, req, res);
        break;
    case HTTP_DELETE:
        handle_delete(ep, req, res);
        break;
    default:
        res->allow = "GET, POST, DELETE";
        refuse(res, 405, RPC_BAD_SESSION, "Method Not Allowed: /mcp takes POST, GET and DELETE");
        break;
    }
    return true;
}

/* ---- list changes ----------------------------------------------------- */

/* Tells every session with a GET stream which of its prompts and resources
 * lists changed (refresh_offers' bits). */
static void announce_changes(mcp_endpoint *ep, unsigned changed)
{
    static const char prompts[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/prompts/list_changed\"}";
    static const char resources[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/list_changed\"}";
    if (changed & 1u)
        mcp_sessions_broadcast(ep->sessions, prompts, sizeof prompts - 1);
    if (changed & 2u)
        mcp_sessions_broadcast(ep->sessions, resources, sizeof resources - 1);
    if (changed)
        log_kv(LOG_DEBUG, "mcp prompts or resources changed",
               LOG_FIELDS(LOG_INT("prompt_count", ep->prompts.n), LOG_INT("resource_count", ep->resources.n_resources),
                          LOG_INT("template_count", ep->resources.n_templates)));
}

static void on_event(event_msg *msg, void *ctx)
{
    (void)msg;
    mcp_endpoint *ep = ctx;
    /* Rebuilt now and compared, so sessions hear only of real changes (a
     * server going Connecting → Discovering changes nothing on offer). */
    mcp_catalog now;
    mcp_catalog_build_checked(&now, ep->a->manager, &ep->a->cfg, ep->a->quarantine);
    mcp_catalog_add_remote(&now, ep->a->registry);
    bool changed = !ep->catalog_built || !mcp_catalog_equal(&ep->catalog, &now);
    mcp_catalog_free(&ep->catalog);
    ep->catalog = now;
    ep->catalog_built = true;
    unsigned offers_changed;
    refresh_offers(ep, true, &offers_changed);
    announce_changes(ep, offers_changed);
    if (!changed)
        return;
    if (ep->search)
        mcp_search_sync(ep->search, &ep->catalog);
    static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}";
    size_t n = mcp_sessions_broadcast_direct(ep->sessions, note, sizeof note - 1);
    log_kv(LOG_DEBUG, "mcp tools changed", LOG_FIELDS(LOG_INT("tool_count", now.n), LOG_INT("streams", n)));
}

void mcp_endpoint_remote_changed(void *ctx)
{
    mcp_endpoint *ep = ctx;
    if (!ep->closed)
        on_event(NULL, ep);
}

/* ---- calls from other cluster nodes ------------------------------------ */

/* One call another node sent here, until it is answered. */
typedef struct remote_call {
    mcp_endpoint *ep;
    char *reply; /* where the answer goes (rpc_reply) */
    char *key;   /* "<node>/<id>" in ep->remote_calls */
} remote_call;

static void remote_done(const char *text, size_t len, void *ctx)
{
    remote_call *rc = ctx;
    if (len && rc->ep->a->rpc) /* nothing for a cancelled call: its caller gave up */
        rpc_reply(rc->ep->a->rpc, rc->reply, text, len);
    json_object_del(rc->ep->remote_calls, rc->key);
    free(rc->reply);
    free(rc->key);
    free(rc);
}

static void remote_progress(const char *text, size_t len, void *ctx)
{
    remote_call *rc = ctx;
    if (rc->ep->a->rpc)
        rpc_progress(rc->ep->a->rpc, rc->reply, text, len);
}

static void remote_refuse(mcp_endpoint *ep, const char *reply, uint64_t id, const char *why)
{
    json_t *answer = jsonrpc_error_new(json_integer((json_int_t)id), RPC_SERVER_UNAVAILABLE, why, NULL);
    size_t len;
    char *text = json_write_string(answer, &len);
    rpc_reply(ep->a->rpc, reply, text, len);
    free(text);
    json_decref(answer);
}

/* A call of another node's, recorded until it is answered (for its
 * cancel): a detached batch whose answer and progress go back to it. The
 * session id names it in this node's activity log. */
static mcp_batch *remote_begin(mcp_endpoint *ep, const char *reply, const char *from, uint64_t id,
                               char session[MCP_SESSION_ID_LEN + 1])
{
    remote_call *rc = xcalloc(1, sizeof *rc);
    rc->ep = ep;
    rc->reply = xstrdup(reply);
    strbuf key = {0};
    strbuf_appendf(&key, "%s/%" PRIu64, from, id);
    rc->key = key.data;
    snprintf(session, MCP_SESSION_ID_LEN + 1, "node-%s-%" PRIu64, ep->a->cfg.cluster.node, ++ep->remote_seq);
    json_object_set_new(ep->remote_calls, rc->key, json_string(session));
    return mcp_batch_begin_detached(ep->calls, remote_done, remote_progress, rc);
}

/* The method names this node forwards for another node (static strings). */
static const char *forwarded_method(const char *method)
{
    static const char *const methods[] = {"prompts/get", "resources/read"};
    for (size_t i = 0; method && i < sizeof methods / sizeof *methods; i++)
        if (strcmp(method, methods[i]) == 0)
            return methods[i];
    return NULL;
}

/* A prompts/get or resources/read another node routed to a server of this
 * node: forwarded to it as this node's own clients' are (quarantine
 * applies, the activity row is this node's). */
static void remote_forward(mcp_endpoint *ep, const char *reply, const char *from, uint64_t id, const char *server,
                           const char *method, json_t *params)
{
    const char *m = forwarded_method(method);
    char why[400];
    struct mcp_client *client =
        m && server && !ep->closed && ep->a->manager ? manager_server_client(ep->a->manager, server) : NULL;
    if (ep->closed) {
        remote_refuse(ep, reply, id, "mcpproxy is shutting down");
    } else if (!m || !server || !json_is_object(params)) {
        remote_refuse(ep, reply, id,
                      "a request from another node must carry server, params and a method this node forwards "
                      "(prompts/get, resources/read)");
    } else if (!client) {
        snprintf(why, sizeof why, "server \"%s\" is not available on node %s (not Ready there); try again later",
                 server, ep->a->cfg.cluster.node);
        remote_refuse(ep, reply, id, why);
    } else {
        char session[MCP_SESSION_ID_LEN + 1];
        json_t *rid = json_integer((json_int_t)id);
        mcp_batch *b = remote_begin(ep, reply, from, id, session);
        mcp_batch_forward(b, server, client, session, rid, m, params, NULL, NULL);
        mcp_batch_end_detached(b);
        json_decref(rid);
    }
}

void mcp_endpoint_remote_request(const char *reply, const char *from, uint64_t id, const char *body, size_t len,
                                 void *ctx)
{
    mcp_endpoint *ep = ctx;
    json_t *req = json_loadb(body, len, 0, NULL);
    json_t *params = json_object_get(req, "params");
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *server = json_string_value(json_object_get(req, "server"));
    const char *method = json_string_value(json_object_get(req, "method"));
    char why[300];
    if (method && strcmp(method, "tools/call") != 0) {
        remote_forward(ep, reply, from, id, server, method, params);
        json_decref(req);
        return;
    }
    /* The tool under the name this node offers it by (the same rule on
     * every node), as this node's own: a call is never passed on again. */
    const mcp_catalog_entry *e = name && !ep->closed ? mcp_catalog_find(catalog(ep), name) : NULL;
    if (ep->closed) {
        remote_refuse(ep, reply, id, "mcpproxy is shutting down");
    } else if (!json_is_object(params) || !server) {
        remote_refuse(ep, reply, id, "a call from another node must carry server, name and params");
    } else if (e && (e->node || strcmp(e->server, server) != 0)) {
        snprintf(why, sizeof why, "node %s does not run server \"%s\"", ep->a->cfg.cluster.node, server);
        remote_refuse(ep, reply, id, why);
    } else {
        char session[MCP_SESSION_ID_LEN + 1];
        json_object_set_new(params, "name", json_string(name));
        json_t *rid = json_integer((json_int_t)id);
        mcp_batch *b = remote_begin(ep, reply, from, id, session);
        mcp_batch_call_tool(b, catalog(ep), session, rid, params);
        mcp_batch_end_detached(b);
        json_decref(rid);
    }
    json_decref(req);
}

void mcp_endpoint_remote_cancel(const char *from, uint64_t id, void *ctx)
{
    mcp_endpoint *ep = ctx;
    char key[160];
    snprintf(key, sizeof key, "%s/%" PRIu64, from, id);
    const char *session = json_string_value(json_object_get(ep->remote_calls, key));
    if (!session)
        return;
    char sid[MCP_SESSION_ID_LEN + 1];
    snprintf(sid, sizeof sid, "%s", session); /* the entry goes with the call */
    json_t *params = json_pack("{s:I}", "requestId", (json_int_t)id);
    mcp_calls_cancel(ep->calls, sid, params);
    json_decref(params);
}

/* A notifications/resources/updated on its way to the subscribed sessions. */
typedef struct update_note {
    mcp_endpoint *ep;
    char *text;
    size_t len;
} update_note;

static bool send_to_session(const char *session_id, void *ctx)
{
    update_note *note = ctx;
    return mcp_sessions_send(note->ep->sessions, session_id, note->text, note->len);
}

/* An upstream's notifications/resources/updated: to the sessions that
 * subscribed to that URI on that server, as the server sent it. */
static void resource_updated(mcp_endpoint *ep, const char *server, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri)
        return;
    json_t *msg = jsonrpc_notification_new("notifications/resources/updated", params);
    update_note note = {.ep = ep};
    note.text = json_write_string(msg, &note.len);
    json_decref(msg);
    size_t n = mcp_subs_deliver(ep->subs, server, uri, send_to_session, &note);
    log_kv(LOG_DEBUG, "resource updated",
           LOG_FIELDS(LOG_STR("server", server), LOG_STR("uri", uri), LOG_INT("sessions", n)));
    free(note.text);
}

static void unsubscribed(json_t *result, const mcp_error *err, void *ctx)
{
    (void)result, (void)err, (void)ctx; /* nobody waits for it */
}

/* A subscription no session holds any more: the server is told, when it is
 * Ready to hear it. */
static void subscription_gone(const char *server, const char *uri, void *ctx)
{
    mcp_endpoint *ep = ctx;
    struct mcp_client *client = ep->a->manager ? manager_server_client(ep->a->manager, server) : NULL;
    if (!client)
        return;
    json_t *params = json_pack("{s:s}", "uri", uri);
    mcp_client_request(client, "resources/unsubscribe", params, ep->a->cfg.mcp.call_timeout_ms, unsubscribed, NULL);
    json_decref(params);
}

static void session_ended(const char *id, void *ctx)
{
    mcp_endpoint *ep = ctx;
    if (!ep->closed)
        mcp_subs_drop_session(ep->subs, id, subscription_gone, ep);
}

void mcp_endpoint_upstream_notification(const char *server, const char *method, json_t *params, void *ctx)
{
    mcp_endpoint *ep = ctx;
    if (ep->closed)
        return;
    if (strcmp(method, "notifications/prompts/list_changed") == 0 ||
        strcmp(method, "notifications/resources/list_changed") == 0) {
        /* The server's list is listed again by now (manager.h); the
         * other nodes hear of it through the registry. */
        if (ep->a->registry)
            registry_touch(ep->a->registry);
        unsigned changed;
        refresh_offers(ep, true, &changed);
        announce_changes(ep, changed);
    } else if (strcmp(method, "notifications/resources/updated") == 0) {
        resource_updated(ep, server, params);
    } else {
        mcp_calls_notify(ep->calls, server, method, params);
    }
}

/* ---- lifetime --------------------------------------------------------- */

static const char *client_of_session(const char *session_id, void *ctx)
{
    mcp_endpoint *ep = ctx;
    return mcp_session_client(ep->sessions, session_id);
}

mcp_endpoint *mcp_endpoint_create(app *a)
{
    mcp_endpoint *ep = xcalloc(1, sizeof *ep);
    ep->a = a;
    ep->sessions = mcp_sessions_create(a->loop, a->ticker, &a->cfg.mcp);
    ep->calls = mcp_calls_create(a);
    mcp_calls_set_client_names(ep->calls, client_of_session, ep);
    ep->subs = mcp_subs_create();
    ep->remote_calls = json_object();
    mcp_sessions_on_end(ep->sessions, session_ended, ep);
    char err[300];
    ep->search = mcp_search_create(a, err, sizeof err);
    if (!ep->search)
        log_kv(LOG_ERROR, "search mode is off", LOG_FIELDS(LOG_STR("error", err)));
    bus_filter filter = {
        .types = (1u << EVENT_TOOLS_UPDATED) | (1u << EVENT_SERVER_STATE_CHANGED) |
                 (1u << EVENT_SERVER_CONFIG_CHANGED) |
                 (1u << EVENT_SERVER_APPROVED), /* an approval changes what is on offer */
    };
    ep->sub = bus_subscribe(a->bus, &filter, on_event, ep);
    return ep;
}

void mcp_endpoint_close(mcp_endpoint *ep)
{
    if (!ep || ep->closed)
        return;
    ep->closed = true;
    mcp_calls_close(ep->calls);
    mcp_sessions_close(ep->sessions);
    bus_unsubscribe(ep->a->bus, ep->sub);
    ep->sub = NULL;
}

void mcp_endpoint_destroy(mcp_endpoint *ep)
{
    if (!ep)
        return;
    mcp_endpoint_close(ep);
    mcp_calls_destroy(ep->calls);
    mcp_search_destroy(ep->search);
    mcp_sessions_destroy(ep->sessions);
    mcp_catalog_free(&ep->catalog);
    mcp_catalog_free(&ep->prompts);
    mcp_resources_free(&ep->resources);
    mcp_subs_destroy(ep->subs);
    json_decref(ep->remote_calls);
    free(ep);
}
