/* cluster_servers.h - /api/servers on a cluster node: this node's servers
 * for the cluster's registry (cluster/registry.h), and the other nodes'
 * servers in the lists and lookups. On a single node (a->registry NULL)
 * each of these does nothing, so the answers stay as they were. */
#ifndef MCPPROXY_API_CLUSTER_SERVERS_H
#define MCPPROXY_API_CLUSTER_SERVERS_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"
#include "upstream/manager.h"

#include <jansson.h>
#include <stdbool.h>

/* The registry's source (registry_source_fn): this node's servers as GET
 * /api/servers gives them (settings masked, status), each with its
 * "tools", "prompts", "resources" and "resource_templates" (the last three
 * empty unless it is Ready). `app` is the app. */
json_t *api_cluster_local_servers(void *app);

/* Stamps this node's name on the local entries of `servers` (borrowed
 * array) and appends the other nodes' entries: whole server objects
 * (settings and status, as GET /api/servers) when `full`, else status
 * objects (as GET /api/servers/status). */
void api_cluster_add_remote(app *a, json_t *servers, bool full);

/* Stamps this node's name on one local status or server object. */
void api_cluster_stamp(app *a, json_t *status);

/* A request for a server this node does not run: answered (true) when
 * another node runs it - GET of the server, its status or its tools from
 * the registry, anything else 409 naming the node. false: no other node
 * runs it either. `sub` is the path's last segment, or NULL. */
bool api_cluster_remote_request(app *a, const char *name, const char *sub, const http_request *req, http_response *res);

/* The live node other than this one serving `name`, or NULL. Borrowed. */
const char *api_cluster_name_owner(app *a, const char *name);

/* The manager's start gate (manager_start_gate_fn): a server starts once
 * this node holds its name in the cluster (registry_start_check); it waits
 * while the claim runs, and is refused when another live node holds the
 * name. `app` is the app. */
manager_gate api_cluster_start_gate(const char *server, char *err, size_t err_len, void *app);

/* The registry's gate listener: a waiting server's claim settled, the
 * manager asks the gate again (manager_gate_changed). `app` is the app. */
void api_cluster_gate_changed(const char *server, void *app);

#endif
