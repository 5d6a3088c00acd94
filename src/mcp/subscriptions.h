/* subscriptions.h - which /mcp session subscribed to which resource of
 * which upstream (resources/subscribe), so that the upstream's
 * notifications/resources/updated reach those sessions only.
 *
 * A record lives from the session's subscribe to its unsubscribe or its
 * end (mcp_subs_drop_session); one whose session is found gone when an
 * update comes is dropped then too. A session holds at most
 * MCP_SUBS_PER_SESSION records. */
#ifndef MCPPROXY_MCP_SUBSCRIPTIONS_H
#define MCPPROXY_MCP_SUBSCRIPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define MCP_SUBS_PER_SESSION 1000

typedef struct mcp_subs mcp_subs;

mcp_subs *mcp_subs_create(void);
void mcp_subs_destroy(mcp_subs *t); /* NULL is fine */

/* Records it (all borrowed, copied); true when recorded or already there,
 * false when the session holds MCP_SUBS_PER_SESSION already. */
bool mcp_subs_add(mcp_subs *t, const char *session_id, const char *server, const char *uri);

/* Forgets the session's subscription to `uri` on `server`. Returns whether
 * any other session is still subscribed to it there (then the upstream
 * keeps its subscription). */
bool mcp_subs_remove(mcp_subs *t, const char *session_id, const char *server, const char *uri);

/* Calls send(session_id, ctx) for each session subscribed to `uri` on
 * `server`; a record whose send returns false (the session is gone) is
 * dropped. Returns the number of sessions sent to. */
size_t mcp_subs_deliver(mcp_subs *t, const char *server, const char *uri,
                        bool (*send)(const char *session_id, void *ctx), void *ctx);

/* Forgets every subscription of an ended session; calls
 * gone(server, uri, ctx) for each that no other session holds (the
 * upstream may be told). */
void mcp_subs_drop_session(mcp_subs *t, const char *session_id,
                           void (*gone)(const char *server, const char *uri, void *ctx), void *ctx);

size_t mcp_subs_count(const mcp_subs *t);

#endif
