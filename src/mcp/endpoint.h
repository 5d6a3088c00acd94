/* endpoint.h - the proxy's own MCP server at /mcp (Streamable HTTP).
 *
 * MCP clients initialize a session here (session.h), list the tools of every
 * Ready upstream as <server>__<tool> (catalog.h) and call them (calls.h);
 * each call is routed to its upstream's mcp_client and published as
 * tool_called. Prompts and resources are served alike (listings.h).
 * Sessions with a GET stream are told notifications/tools/list_changed,
 * prompts/list_changed and resources/list_changed when what is on offer
 * changes, and the resources/updated of what they subscribed to. See
 * docs/PROTOCOL.md, "MCP endpoint (/mcp)". */
#ifndef MCPPROXY_MCP_ENDPOINT_H
#define MCPPROXY_MCP_ENDPOINT_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <stdbool.h>

typedef struct mcp_endpoint mcp_endpoint;

/* Borrowed app (a->manager may still be NULL: it is looked up per use).
 * Subscribes to the bus. */
mcp_endpoint *mcp_endpoint_create(app *a);

/* Handles /mcp; false for any other path. */
bool mcp_endpoint_route(void *mcp_endpoint, const http_request *req, http_response *res);

/* Answers every call in flight with an error, ends every session and
 * unsubscribes. Idempotent. */
void mcp_endpoint_close(mcp_endpoint *ep);

/* The manager's notification sink (manager_set_notification_sink): an
 * upstream's notifications/progress reaches the /mcp call it belongs to,
 * its resources/updated the subscribed sessions, and its prompts or
 * resources list_changed (once re-listed) the sessions' streams when what
 * is on offer changed. `ep` is the endpoint. */
void mcp_endpoint_upstream_notification(const char *server, const char *method, json_t *params, void *ep);

/* The cluster's other nodes' servers changed (registry_changed_fn): the
 * tools on offer are built again, and sessions told when they changed.
 * `ep` is the endpoint. */
void mcp_endpoint_remote_changed(void *ep);

/* A tools/call another cluster node sent here (rpc_request_fn, its body
 * {"server","name","params"}): run as this node's own /mcp would run it
 * (quarantine, tool_called, the activity row), answered through rpc_reply.
 * And its cancel (rpc_cancel_fn). `ep` is the endpoint. */
void mcp_endpoint_remote_request(const char *reply, const char *from, uint64_t id, const char *body, size_t len,
                                 void *ep);
void mcp_endpoint_remote_cancel(const char *from, uint64_t id, void *ep);

/* Frees it once the loop has run; before the manager is destroyed (calls
 * still in flight are cancelled on their upstream clients). NULL is fine. */
void mcp_endpoint_destroy(mcp_endpoint *ep);

#endif
