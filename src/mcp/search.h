/* search.h - /mcp in search mode: instead of every upstream tool, a client
 * sees two tools of the proxy's own, so its tool list stays the same size
 * however many tools the servers offer:
 *
 *   retrieve_tools {query, limit?, server?}  the best matches (FTS5, bm25)
 *                                            with their full input schemas
 *   call_tool {name, arguments?}             calls one of them by the name
 *                                            retrieve_tools gave
 *
 * A session is in search mode when its initialize came to /mcp/search or
 * /mcp?mode=search, or to /mcp with config "routing": "search" (?mode=direct
 * overrides it). The index follows the catalog: only tools whose
 * definitions changed are re-indexed. */
#ifndef MCPPROXY_MCP_SEARCH_H
#define MCPPROXY_MCP_SEARCH_H

#include "app/app.h"
#include "mcp/calls.h"
#include "mcp/catalog.h"

#include <jansson.h>

#define MCP_SEARCH_TOOL "retrieve_tools"
#define MCP_SEARCH_CALL "call_tool"
#define MCP_SEARCH_DEFAULT_LIMIT 5
#define MCP_SEARCH_MAX_LIMIT 50

typedef struct mcp_search mcp_search;

/* The app is borrowed (its activity log records retrieve_tools). NULL with
 * the reason in err when the index cannot be made. */
mcp_search *mcp_search_create(app *a, char *err, size_t err_len);
void mcp_search_destroy(mcp_search *s);

/* Brings the index in line with what the catalog offers (borrowed). */
void mcp_search_sync(mcp_search *s, const mcp_catalog *cat);

/* The tools/list answer of a search session's: the two proxy tools. New
 * reference. */
json_t *mcp_search_tools_json(void);

/* tools/call in a search session: retrieve_tools is answered into the
 * batch now; call_tool becomes a call of the tool it names (calls.h); any
 * other name is refused, naming the two. `cat` is borrowed for the call. */
void mcp_search_call(mcp_search *s, mcp_batch *b, const mcp_catalog *cat, const char *session_id, json_t *id,
                     json_t *params);

#endif
