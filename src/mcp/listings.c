/* listings.c - the prompts and resources requests of /mcp (listings.h). */
#include "mcp/listings.h"

#include "core/log.h"
#include "core/util.h"
#include "upstream/manager.h"
#include "upstream/mcp_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cursors are this prefix and the offset of the page's first item. Opaque
 * to clients; a list that changes between pages may repeat or skip items
 * at the seam, as any offset cursor would. */
#define CURSOR_PREFIX "mcpproxy-offset:"

static void answer_error(mcp_batch *b, json_t *id, int code, const char *fmt, const char *what)
{
    char why[600];
    snprintf(why, sizeof why, fmt, what);
    mcp_batch_answer_now(b, jsonrpc_error_new(id, code, why, NULL));
}

/* One page of `all` (stolen) as {key: [...], nextCursor?}, the page the
 * request's params.cursor names (none: the first). */
static void answer_page(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m, json_t *all, const char *key)
{
    size_t start = 0, total = json_array_size(all);
    json_t *cursor = json_object_get(m->params, "cursor");
    if (cursor && !json_is_null(cursor)) {
        const char *text = json_string_value(cursor);
        char *end = NULL;
        unsigned long long off = 0;
        bool ok = text && strncmp(text, CURSOR_PREFIX, strlen(CURSOR_PREFIX)) == 0;
        if (ok) {
            const char *digits = text + strlen(CURSOR_PREFIX);
            errno = 0;
            off = strtoull(digits, &end, 10);
            ok = *digits >= '0' && *digits <= '9' && *end == '\0' && errno == 0 && off <= total;
        }
        if (!ok) {
            json_decref(all);
            answer_error(b, m->id, RPC_INVALID_PARAMS,
                         "%s: invalid params.cursor: pass the nextCursor of the previous page as it is", m->method);
            return;
        }
        start = (size_t)off;
    }
    size_t page = ctx->a->cfg.mcp.list_page_size;
    json_t *items = json_array();
    for (size_t i = start; i < total && i - start < page; i++)
        json_array_append(items, json_array_get(all, i));
    json_t *result = json_pack("{s:o}", key, items);
    if (start + page < total) {
        char next[64];
        snprintf(next, sizeof next, CURSOR_PREFIX "%zu", start + page);
        json_object_set_new(result, "nextCursor", json_string(next));
    }
    json_decref(all);
    mcp_batch_answer_now(b, jsonrpc_result_new(m->id, result));
}

/* The client of a Ready server, or NULL with the error answered. */
static struct mcp_client *ready_client(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m,
                                       const char *server)
{
    struct mcp_client *client = ctx->a->manager ? manager_server_client(ctx->a->manager, server) : NULL;
    if (!client)
        answer_error(b, m->id, RPC_SERVER_UNAVAILABLE, "server \"%s\" is not available (not Ready); try again later",
                     server);
    return client;
}

static void prompts_get(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m)
{
    const char *name = json_string_value(json_object_get(m->params, "name"));
    if (!name) {
        answer_error(b, m->id, RPC_INVALID_PARAMS, "%s needs params.name, a string", m->method);
        return;
    }
    const mcp_catalog_entry *e = mcp_catalog_find(ctx->prompts, name);
    if (!e) {
        answer_error(b, m->id, RPC_INVALID_PARAMS, "unknown prompt \"%.300s\": prompts/list names the prompts on offer",
                     name);
        return;
    }
    struct mcp_client *client = e->node ? NULL : ready_client(b, ctx, m, e->server);
    if (!client && !e->node)
        return;
    /* The same params (arguments, _meta) with the server's own name. */
    json_t *params = json_copy(m->params);
    json_object_set_new(params, "name", json_string(e->tool));
    if (e->node)
        mcp_batch_forward_remote(b, e->node, e->server, ctx->session_id, m->id, "prompts/get", params);
    else
        mcp_batch_forward(b, e->server, client, ctx->session_id, m->id, "prompts/get", params, NULL, NULL);
    json_decref(params);
}

/* The server that serves params.uri, or NULL with the error answered;
 * *node: the cluster node that runs it (NULL: this one). */
static const char *route_uri(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m, const char **uri,
                             const char **node)
{
    *node = NULL;
    *uri = json_string_value(json_object_get(m->params, "uri"));
    if (!*uri) {
        answer_error(b, m->id, RPC_INVALID_PARAMS, "%s needs params.uri, a string", m->method);
        return NULL;
    }
    bool by_template;
    const char *server = mcp_resources_route(ctx->resources, *uri, &by_template, node);
    if (!server)
        answer_error(b, m->id, RPC_INVALID_PARAMS,
                     "unknown resource \"%.300s\": no Ready server lists it or has a resource template that matches "
                     "it (see resources/list and resources/templates/list)",
                     *uri);
    return server;
}

static void resources_read(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m)
{
    const char *uri, *node;
    const char *server = route_uri(b, ctx, m, &uri, &node);
    if (server && node) {
        mcp_batch_forward_remote(b, node, server, ctx->session_id, m->id, "resources/read", m->params);
        return;
    }
    struct mcp_client *client = server ? ready_client(b, ctx, m, server) : NULL;
    if (client)
        mcp_batch_forward(b, server, client, ctx->session_id, m->id, "resources/read", m->params, NULL, NULL);
}

/* A subscribe on its way upstream, recorded already. */
typedef struct pending_sub {
    mcp_subs *subs;
    char *session_id, *server, *uri;
} pending_sub;

static void subscribe_done(bool ok, void *ctx)
{
    pending_sub *p = ctx;
    if (!ok)
        mcp_subs_remove(p->subs, p->session_id, p->server, p->uri);
    free(p->session_id);
    free(p->server);
    free(p->uri);
    free(p);
}

static void resources_subscribe(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m, bool subscribe)
{
    const char *uri, *node;
    const char *server = route_uri(b, ctx, m, &uri, &node);
    if (server && node) {
        char why[600];
        snprintf(why, sizeof why,
                 "server \"%s\" runs on node %s: subscriptions to another node's resources are not carried across "
                 "nodes; subscribe through node %s's /mcp",
                 server, node, node);
        mcp_batch_answer_now(b, jsonrpc_error_new(m->id, RPC_METHOD_NOT_FOUND, why, NULL));
        return;
    }
    struct mcp_client *client = server ? ready_client(b, ctx, m, server) : NULL;
    if (!client)
        return;
    json_t *caps = json_object_get(mcp_client_capabilities(client), "resources");
    if (!json_is_true(json_object_get(caps, "subscribe"))) {
        answer_error(b, m->id, RPC_METHOD_NOT_FOUND,
                     "server \"%s\" does not offer resource subscriptions (its resources capability has no "
                     "subscribe)",
                     server);
        return;
    }
    if (subscribe) {
        if (!mcp_subs_add(ctx->subs, ctx->session_id, server, uri)) {
            char why[200];
            snprintf(why, sizeof why, "this session holds %d subscriptions already; unsubscribe from some first",
                     MCP_SUBS_PER_SESSION);
            mcp_batch_answer_now(b, jsonrpc_error_new(m->id, RPC_INVALID_REQUEST, why, NULL));
            return;
        }
        /* Forwarded every time (servers keep a set): a server that
         * restarted since an earlier subscribe learns of it again. A
         * subscribe the server refuses (or that never completes) is not
         * kept. */
        pending_sub *p = xcalloc(1, sizeof *p);
        p->subs = ctx->subs;
        p->session_id = xstrdup(ctx->session_id);
        p->server = xstrdup(server);
        p->uri = xstrdup(uri);
        mcp_batch_forward(b, server, client, ctx->session_id, m->id, "resources/subscribe", m->params, subscribe_done,
                          p);
        return;
    }
    if (mcp_subs_remove(ctx->subs, ctx->session_id, server, uri))
        mcp_batch_answer_now(b, jsonrpc_result_new(m->id, json_object())); /* others still want it */
    else
        mcp_batch_forward(b, server, client, ctx->session_id, m->id, "resources/unsubscribe", m->params, NULL, NULL);
}

bool mcp_listings_handle(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m)
{
    const char *method = m->method;
    if (strcmp(method, "prompts/list") == 0)
        answer_page(b, ctx, m, mcp_catalog_tools_json(ctx->prompts), "prompts");
    else if (strcmp(method, "prompts/get") == 0)
        prompts_get(b, ctx, m);
    else if (strcmp(method, "resources/list") == 0)
        answer_page(b, ctx, m, mcp_resources_list_json(ctx->resources), "resources");
    else if (strcmp(method, "resources/templates/list") == 0)
        answer_page(b, ctx, m, mcp_resources_templates_json(ctx->resources), "resourceTemplates");
    else if (strcmp(method, "resources/read") == 0)
        resources_read(b, ctx, m);
    else if (strcmp(method, "resources/subscribe") == 0)
        resources_subscribe(b, ctx, m, true);
    else if (strcmp(method, "resources/unsubscribe") == 0)
        resources_subscribe(b, ctx, m, false);
    else
        return false;
    return true;
}
