/* quarantine.h - what is new or changed waits for a person's approval.
 *
 * A server the proxy has not seen before (added through the API, the
 * dashboard or a config edit), or one whose command, arguments or url
 * changed, is Quarantined: it runs and its tools can be reviewed, but none
 * is offered through /mcp or callable until it is approved. Servers in the
 * config when the database is first made are trusted. Each tool of an
 * approved server is pinned: its description and input schema, as
 * canonical JSON, with a hash for display; a tool first seen on an
 * approved server is pinned then. A tool whose definition differs from its
 * pin is held (not offered, calls refused) until its server is approved
 * again. The state is in the database, so it survives restarts.
 *
 * Events (published at the end of the loop turn, never from inside a bus
 * delivery): server_quarantined, tool_changed, server_approved. */
#ifndef MCPPROXY_STORE_QUARANTINE_H
#define MCPPROXY_STORE_QUARANTINE_H

#include "config/config.h"
#include "core/bus.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

typedef struct quarantine quarantine;

/* Everything is borrowed; `settings` is read when used. */
quarantine *quarantine_create(uv_loop_t *loop, store *db, bus *b, const quarantine_settings *settings);

/* Publishes what is pending and stops its handle (closed with the loop). */
void quarantine_close(quarantine *q);
void quarantine_destroy(quarantine *q);

/* The first start with this database trusts every server of `cfg`;
 * later starts do nothing. */
void quarantine_trust_initial(quarantine *q, const config *cfg);

/* Whether the server's tools may be offered. A server never seen (or seen
 * with another command or url) is recorded: quarantined (and announced)
 * when quarantine.new_servers is on, approved otherwise. */
bool quarantine_server_allowed(quarantine *q, const server_config *srv);

/* Whether this tool (its definition as the server lists it; borrowed) of
 * an allowed server may be offered: pinned on first sight, held (and
 * announced once per new definition) when it differs from its pin and
 * quarantine.changed_tools is on. */
bool quarantine_tool_allowed(quarantine *q, const char *server, json_t *def);

/* Why a call of this server's tool is refused, or NULL when nothing is
 * held. Written into why. */
const char *quarantine_refusal(quarantine *q, const char *server, const char *tool, char *why, size_t why_len);

/* Approves the server as configured now and pins `tools` (its current
 * list, an array of tool objects; borrowed, may be NULL), releasing what
 * was held. */
void quarantine_approve(quarantine *q, const server_config *srv, json_t *tools);

/* {"servers":[{"name","since"}], "tools":[{"server","tool","pinned":{...},
 * "pinned_hash","current":{...},"current_hash"}]}: what waits for
 * approval. New reference. */
json_t *quarantine_json(quarantine *q);

/* Whether either setting is on (off: nothing is checked or pinned). */
bool quarantine_enabled(const quarantine *q);

/* Checks of one catalog build go in one transaction: pins written on
 * first sight are one commit, not one each. */
void quarantine_batch_begin(quarantine *q);
void quarantine_batch_end(quarantine *q);

/* Whether `server` is quarantined now. */
bool quarantine_server_held(quarantine *q, const char *server);

#endif
