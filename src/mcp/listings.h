/* listings.h - the prompts and resources requests of /mcp (of this node's
 * servers and, in a cluster, of the other nodes' - sent to the node that
 * runs the server, calls.h):
 *
 *   prompts/list, resources/list, resources/templates/list
 *       answered from what the upstreams listed (catalog.h, resources.h),
 *       in pages of mcp.list_page_size with an opaque nextCursor;
 *   prompts/get
 *       forwarded to the prompt's server with its own prompt name;
 *   resources/read, resources/subscribe, resources/unsubscribe
 *       forwarded, URI untouched, to the server that routes it
 *       (resources.h); subscriptions are recorded (subscriptions.h) so that
 *       the server's updates reach only the sessions that asked.
 *
 * An unknown prompt or URI, or a server not Ready, is a JSON-RPC error that
 * names it. See docs/PROTOCOL.md, "MCP endpoint (/mcp)". */
#ifndef MCPPROXY_MCP_LISTINGS_H
#define MCPPROXY_MCP_LISTINGS_H

#include "app/app.h"
#include "core/jsonrpc.h"
#include "mcp/calls.h"
#include "mcp/catalog.h"
#include "mcp/resources.h"
#include "mcp/subscriptions.h"

#include <stdbool.h>

/* What a request is answered from; all borrowed for the call. */
typedef struct mcp_listing_ctx {
    app *a;
    const mcp_catalog *prompts;
    const mcp_resources *resources;
    mcp_subs *subs;
    const char *session_id;
} mcp_listing_ctx;

/* Answers (into the batch, now or once the upstream answers) a request of
 * one of the methods above and returns true; false for any other method.
 * `m->params` may be edited. */
bool mcp_listings_handle(mcp_batch *b, const mcp_listing_ctx *ctx, const jsonrpc_parts *m);

#endif
