/* manager.h - every upstream MCP server: start, watch, restart, report.
 *
 * One `upstream` per configured server runs this state machine (the
 * connection states; "Disabled" and "Auto-Disabled" exist only in status):
 *
 *   Disconnected ─start─▶ Connecting ─initialize ok─▶ Discovering ─tools listed─▶ Ready
 *        ▲                    │                          │                          │
 *        │ stop (disable,     └──────── exit / handshake failure ───────────────────┘
 *        │  restart, delete)                        ▼
 *        └──────────────────────────────────────  Error ─backoff timer─▶ Connecting
 *                                                   │
 *                             failure_count >= auto_disable_threshold
 *                                                   ▼
 *                                        (Error, status Auto-Disabled)
 *
 * "Listed" means every list the server's capabilities offer: tools, then
 * prompts, resources and resource templates (mcp_client.h).
 *
 * A remote server that forgets its session while Ready goes from Ready
 * straight back to Connecting (a new session; not a failure). One that
 * answers 401 with a Bearer challenge goes to "Login required" (after a
 * token refresh, when it has a refresh token) and stays there until a
 * login (manager_login, then the browser's /oauth/callback) gives it a
 * token; a refused refresh leads there too. A refresh after a 401 that
 * gets no answer is a failure (Error, backoff), not a login. A disabled
 * server's tokens are not refreshed.
 *
 * Every transition is published on the bus as it happens; see
 * docs/PROTOCOL.md for the events and their data. */
#ifndef MCPPROXY_UPSTREAM_MANAGER_H
#define MCPPROXY_UPSTREAM_MANAGER_H

#include "app/app.h"
#include "oauth/oauth.h"
#include "upstream/mcp_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct manager;
struct mcp_client;

/* Tunables (retry backoff, timeouts, stop grace) are the config's
 * `upstream` object (a->cfg.upstream), read when they are used. */

struct curl_loop;

/* Borrowed app; knows every server in a->cfg but starts none of them yet
 * (manager_start does, once a start gate is set). `curl` carries the
 * HTTP of remote servers (borrowed; it must be closed only after
 * manager_close's done). `redirect_uri` (copied) is where OAuth logins come
 * back: the proxy's own /oauth/callback (a server's oauth.redirect_uri
 * wins). The OAuth token file is oauth_tokens.json beside a->config_path. */
struct manager *manager_create(app *a, struct curl_loop *curl, const char *redirect_uri);

/* Starts every enabled server of a->cfg (once, after manager_create and
 * manager_set_start_gate). */
void manager_start(struct manager *m);

/* Graceful stop: stdin EOF + SIGTERM to every server's process group, SIGKILL
 * after upstream.stop_grace_ms but at most 1 s (servers already stopping
 * included). Calls done once every child has exited and every handle is
 * closed (possibly before manager_close returns). */
void manager_close(struct manager *m, void (*done)(void *ctx), void *ctx);

/* Where servers' notifications that no part of the upstream handles go
 * (notifications/progress, for /mcp to pass on): fn(server, method,
 * params, ctx), all borrowed for the call (params may be NULL). One sink;
 * NULL fn drops them. A server's notifications/prompts/list_changed and
 * notifications/resources/list_changed reach it too, but only once the
 * list has been listed again (manager_server_list has the new one). */
typedef void (*manager_notification_fn)(const char *server, const char *method, json_t *params, void *ctx);
void manager_set_notification_sink(struct manager *m, manager_notification_fn fn, void *ctx);

/* Whether a server may start now (a cluster node starts only the servers
 * whose names it holds in the cluster):
 *   MANAGER_GATE_OPEN     it starts;
 *   MANAGER_GATE_WAIT     not yet: it shows Connecting, nothing runs, and
 *                         the gate calls manager_gate_changed once its
 *                         answer may differ (`err` says what it waits for;
 *                         logged);
 *   MANAGER_GATE_REFUSED  it shows Error with `err` as last_error, counts
 *                         no failure and is not retried: a restart, an
 *                         enable or a change of its settings asks again.
 * Asked at every start (the first, a retry, a restart, an enable). One
 * gate; NULL fn: every server may start. */
typedef enum manager_gate { MANAGER_GATE_OPEN, MANAGER_GATE_WAIT, MANAGER_GATE_REFUSED } manager_gate;
typedef manager_gate (*manager_start_gate_fn)(const char *server, char *err, size_t err_len, void *ctx);
void manager_set_start_gate(struct manager *m, manager_start_gate_fn fn, void *ctx);

/* The gate's answer for `server` may have changed: a server waiting at it
 * asks again (and starts, or shows Error). Others are left as they are. */
void manager_gate_changed(struct manager *m, const char *server);

/* Frees the manager; after manager_close's done. */
void manager_destroy(struct manager *m);

/* New reference: JSON array of server status objects, in config order. */
json_t *manager_status_json(struct manager *m);

/* One server's status object (new reference), or NULL if unknown. */
json_t *manager_server_status_json(struct manager *m, const char *name);

/* Diff-applies a config reloaded from disk: publishes config_change, then
 * the per-server events; only servers whose settings changed restart. Takes
 * ownership of *new_cfg's contents (new_cfg is left empty). The servers and
 * auto_disable_threshold take effect; other settings need a restart (logged).
 * Returns 0. */
int manager_apply_config(struct manager *m, config *new_cfg);

/* The same for a change made through the API (already validated and saved):
 * no config_change event, only the per-server ones. Takes ownership of
 * *new_cfg's contents. */
int manager_commit_config(struct manager *m, config *new_cfg);

/* Restarts a server (clearing Auto-Disabled). Returns false if unknown or
 * disabled (err says which). */
bool manager_restart_server(struct manager *m, const char *name, char *err, size_t err_len);

/* Gives an Auto-Disabled server a fresh start (after an enable through the
 * API, when its config already said enabled). No-op otherwise. */
void manager_clear_auto_disable(struct manager *m, const char *name);

/* The server's tools as the server sent them (JSON array, borrowed; empty
 * when not connected), or NULL if the server is unknown. */
json_t *manager_server_tools(struct manager *m, const char *name);

/* One list of a Ready server, as the server sent it (JSON array,
 * borrowed; valid until the next re-list or state change), or NULL when
 * the server is unknown or not Ready. */
json_t *manager_server_list(struct manager *m, const char *name, mcp_list_kind kind);

/* The client of a Ready server (for tools/call), or NULL. Borrowed; valid
 * until the server's next state change. */
struct mcp_client *manager_server_client(struct manager *m, const char *name);

/* The last `n` stderr lines (0 = all kept), new JSON array, or NULL if the
 * server is unknown. *total gets the number of lines the server has written
 * since it was added (the newest is line `total`), so a reader can ask for
 * what came after the last line it saw. */
json_t *manager_server_logs(struct manager *m, const char *name, size_t n, uint64_t *total);

/* {"group","servers":[names],"enabled"} for every non-empty group in a->cfg,
 * as a new JSON array. */
json_t *manager_groups_json(struct manager *m);

/* Publishes server_group_updated for one group as it is in a->cfg. */
void manager_publish_group(struct manager *m, const char *group);

/* Starts an OAuth login of a remote server (oauth_flow_login): cb gets the
 * authorization URL to open, or why there is none, exactly once. false
 * (err says why; no cb) for an unknown, local or disabled server, or when a
 * login is already being prepared. */
bool manager_login(struct manager *m, const char *name, oauth_login_cb cb, void *ctx, char *err, size_t err_len);

/* The browser came back to /oauth/callback: hands code (or the
 * authorization server's error) to the login whose live state it is; cb
 * runs once, when the tokens are in (the server then starts) or the login
 * failed (then the reason is also the server's last_error and goes out as
 * server_login_failed). false when no login owns `state` (forged, used, or expired); cb
 * is not called then. */
bool manager_oauth_callback(struct manager *m, const char *state, const char *code, const char *error, oauth_done_cb cb,
                            void *ctx);

/* Whether a login owns `state` (live, unused), without using it up: the
 * answer to a HEAD of the callback, which must change nothing. */
bool manager_oauth_state_known(struct manager *m, const char *state);

/* Forgets a remote server's tokens (the token file's entry) and stops it:
 * it goes to Login required. false with err for an unknown or local
 * server, or a token file that cannot be written. */
bool manager_logout(struct manager *m, const char *name, char *err, size_t err_len);

#endif
