/* cluster_servers.c - the other nodes' servers in /api/servers, and this
 * node's for the registry (cluster_servers.h). */
#include "api/cluster_servers.h"

#include "api/quarantine.h"
#include "cluster/registry.h"
#include "upstream/manager.h"

#include <stdio.h>
#include <string.h>

/* What GET /api/servers/status shows of a server; the registry holds the
 * whole object of GET /api/servers/{name} (settings masked as there). */
static const char *const STATUS_KEYS[] = {
    "name",          "group",      "enabled",         "protocol",     "command",        "url",
    "status",        "state",      "tool_count",      "prompt_count", "resource_count", "retry_count",
    "failure_count", "last_error", "connected_since", "pid",          "quarantined",    "node",
};

json_t *api_cluster_local_servers(void *ctx)
{
    app *a = ctx;
    json_t *statuses = manager_status_json(a->manager);
    json_t *servers = json_array();
    size_t i;
    json_t *st;
    json_array_foreach(statuses, i, st) {
        const char *name = json_string_value(json_object_get(st, "name"));
        const server_config *s = config_find_server(&a->cfg, name);
        json_t *o = server_config_to_json(s, true);
        json_object_update(o, st);
        api_mark_quarantined(a, o);
        json_t *tools = manager_server_tools(a->manager, name);
        json_object_set_new(o, "tools", tools ? json_incref(tools) : json_array());
        /* What /mcp on the other nodes offers of it besides its tools (a
         * Ready server's lists; none otherwise). */
        static const struct {
            const char *key;
            mcp_list_kind kind;
        } lists[] = {{"prompts", MCP_LIST_PROMPTS},
                     {"resources", MCP_LIST_RESOURCES},
                     {"resource_templates", MCP_LIST_TEMPLATES}};
        for (size_t k = 0; k < sizeof lists / sizeof *lists; k++) {
            json_t *list = manager_server_list(a->manager, name, lists[k].kind);
            json_object_set_new(o, lists[k].key, list ? json_incref(list) : json_array());
        }
        json_array_append_new(servers, o);
    }
    json_decref(statuses);
    return servers;
}

/* A registry entry cut to the status object's keys. */
static json_t *status_only(json_t *entry)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof STATUS_KEYS / sizeof *STATUS_KEYS; i++) {
        json_t *v = json_object_get(entry, STATUS_KEYS[i]);
        if (v)
            json_object_set(o, STATUS_KEYS[i], v);
    }
    return o;
}

void api_cluster_stamp(app *a, json_t *status)
{
    if (a->registry && status)
        json_object_set_new(status, "node", json_string(registry_node(a->registry)));
}

void api_cluster_add_remote(app *a, json_t *servers, bool full)
{
    if (!a->registry)
        return;
    size_t i;
    json_t *st;
    json_array_foreach(servers, i, st)
        api_cluster_stamp(a, st);
    json_t *remote = registry_remote_status(a->registry);
    json_array_foreach(remote, i, st)
        json_array_append_new(servers, full ? json_incref(st) : status_only(st));
    json_decref(remote);
}

bool api_cluster_remote_request(app *a, const char *name, const char *sub, const http_request *req, http_response *res)
{
    if (!a->registry)
        return false;
    json_t *entry = registry_remote_find(a->registry, name);
    if (!entry)
        return false;
    const char *node = json_string_value(json_object_get(entry, "node"));
    if (req->method == HTTP_GET && !sub) {
        http_respond_json(res, 200, entry);
        return true;
    }
    if (req->method == HTTP_GET && strcmp(sub, "status") == 0) {
        http_respond_json(res, 200, status_only(entry));
        json_decref(entry);
        return true;
    }
    if (req->method == HTTP_GET && strcmp(sub, "tools") == 0) {
        json_t *tools = registry_remote_tools(a->registry, name);
        http_respond_json(res, 200,
                          json_pack("{s:s, s:I, s:O, s:s}", "server", name, "tool_count",
                                    (json_int_t)json_array_size(tools), "tools", tools, "node", node));
        json_decref(entry);
        return true;
    }
    http_respond_error(res, 409, "server '%s' runs on node %s: send this request to node %s", name, node, node);
    json_decref(entry);
    return true;
}

const char *api_cluster_name_owner(app *a, const char *name)
{
    return a->registry ? registry_name_owner(a->registry, name) : NULL;
}

manager_gate api_cluster_start_gate(const char *server, char *err, size_t err_len, void *ctx)
{
    app *a = ctx;
    char holder[80];
    switch (registry_start_check(a->registry, server, holder, sizeof holder, err, err_len)) {
    case REGISTRY_NAME_HELD:
        return MANAGER_GATE_OPEN;
    case REGISTRY_NAME_TAKEN:
        snprintf(err, err_len, "server name %s is already used by node %s (names are unique in the cluster)", server,
                 holder);
        return MANAGER_GATE_REFUSED;
    case REGISTRY_NAME_CLAIMING:
        break;
    }
    return MANAGER_GATE_WAIT;
}

void api_cluster_gate_changed(const char *server, void *ctx)
{
    app *a = ctx;
    manager_gate_changed(a->manager, server);
}
