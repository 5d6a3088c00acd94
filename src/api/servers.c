/* servers.c - /api/servers: status, config, tools, logs, edits, actions. */
#include "api/cluster_servers.h"
#include "api/edit.h"
#include "api/oauth.h"
#include "api/path.h"
#include "api/quarantine.h"
#include "api/routes.h"
#include "core/log.h"
#include "core/strmap.h"
#include "core/util.h"
#include "cluster/registry.h"
#include "upstream/manager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses one server object with the config file's own strict rules by
 * wrapping it in a config document. */
static bool server_from_json(json_t *obj, server_config *out, char err[CONFIG_ERR_LEN])
{
    if (!json_is_object(obj)) {
        snprintf(err, CONFIG_ERR_LEN, "the body must be a server object, e.g. {\"name\":\"x\",\"command\":\"y\"}");
        return false;
    }
    json_t *doc = json_pack("{s:[O]}", "mcpServers", obj);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    config tmp;
    bool ok = config_parse(text, strlen(text), "request body", &tmp, err);
    free(text);
    if (ok)
        server_config_copy(out, &tmp.servers[0]);
    config_free(&tmp);
    return ok;
}

/* A client that read the masked config and sends it back (a dashboard
 * editing one field) returns "***" for env and headers values (and
 * oauth.client_secret): those keep
 * the value they had, so a round trip never overwrites a secret with the
 * mask. */
static void keep_masked(json_t *env, json_t *old_env)
{
    const char *key;
    json_t *value;
    json_object_foreach(env, key, value) {
        json_t *old = json_object_get(old_env, key);
        if (old && json_is_string(value) && strcmp(json_string_value(value), CONFIG_SECRET_MASK) == 0)
            json_object_set(env, key, old);
    }
}

/* The server's config with its live status merged in. */
static json_t *server_full_json(app *a, const char *name)
{
    const server_config *s = config_find_server(&a->cfg, name);
    if (!s)
        return NULL;
    json_t *o = server_config_to_json(s, true);
    json_t *st = manager_server_status_json(a->manager, name);
    if (st)
        json_object_update_missing(o, st);
    json_decref(st);
    api_mark_quarantined(a, o);
    api_cluster_stamp(a, o);
    return o;
}

/* ---- handlers ---------------------------------------------------------- */

static void status_list(app *a, http_response *res)
{
    /* One thread: nothing can publish between these two reads, so the list
     * is exactly the state after event `seq`. */
    json_t *servers = manager_status_json(a->manager);
    size_t i;
    json_t *st;
    json_array_foreach(servers, i, st)
        api_mark_quarantined(a, st);
    /* In a cluster: and the other nodes' servers as this node's table has
     * them after the same event (PROTOCOL.md, "Clusters"). */
    api_cluster_add_remote(a, servers, false);
    http_respond_json(res, 200,
                      json_pack("{s:I, s:s, s:o}", "seq", (json_int_t)bus_head_seq(a->bus), "epoch", bus_epoch(a->bus),
                                "servers", servers));
}

/* Every server's config and status: the statuses are fetched once and
 * matched by name, since a lookup of each server in the config and in the
 * manager made the list quadratic (half a second at 10,000 servers). */
static void servers_list(app *a, http_response *res)
{
    json_t *statuses = manager_status_json(a->manager);
    strmap by_name = {0}; /* keys: the "name" strings inside `statuses` */
    size_t i;
    json_t *st;
    json_array_foreach(statuses, i, st)
        strmap_put(&by_name, json_string_value(json_object_get(st, "name")), st);
    json_t *arr = json_array();
    for (i = 0; i < a->cfg.n_servers; i++) {
        const server_config *s = &a->cfg.servers[i];
        json_t *o = server_config_to_json(s, true);
        st = strmap_get(&by_name, s->name);
        if (st)
            json_object_update_missing(o, st);
        api_mark_quarantined(a, o);
        json_array_append_new(arr, o);
    }
    strmap_free(&by_name);
    json_decref(statuses);
    api_cluster_add_remote(a, arr, true);
    http_respond_json(res, 200, json_pack("{s:o}", "servers", arr));
}

/* An add waiting for its name's claim. */
typedef struct pending_add {
    app *a;
    server_config srv;
    http_pending *http; /* NULL once the client left */
} pending_add;

static void add_gone(void *ctx)
{
    pending_add *pa = ctx;
    http_pending_release(pa->http);
    pa->http = NULL;
}

static void add_claimed(bool ok, const char *holder, const char *error, void *ctx)
{
    pending_add *pa = ctx;
    app *a = pa->a;
    char name[API_SEGMENT_LEN];
    snprintf(name, sizeof(name), "%s", pa->srv.name);
    http_response res = {0};
    if (!pa->http) {
        server_config_free(&pa->srv);
        if (ok)
            registry_release(a->registry, name);
    } else if (!ok && holder) {
        http_respond_error(&res, 409, "server name %s is already used by node %s (names are unique in the cluster)",
                           name, holder);
        server_config_free(&pa->srv);
    } else if (!ok) {
        http_respond_error(&res, 503, "%s", error);
        server_config_free(&pa->srv);
    } else if (config_find_server(&a->cfg, name)) { /* added meanwhile */
        http_respond_error(&res, 409, "a server named '%s' already exists; PATCH /api/servers/%s to edit it", name,
                           name);
        server_config_free(&pa->srv);
    } else {
        config neu;
        api_edit_begin(a, &neu);
        neu.servers[neu.n_servers++] = pa->srv; /* config_for_edit left room */
        if (api_edit_commit(a, &neu, &res))
            http_respond_json(&res, 201, server_full_json(a, name));
        else
            registry_release(a->registry, name);
    }
    if (pa->http)
        http_pending_finish(pa->http, res.status, res.content_type, res.body.data, res.body.len);
    strbuf_free(&res.body);
    free(pa);
}

static void server_add(app *a, const http_request *req, http_response *res)
{
    json_t *body = http_parse_json_body(req, res);
    if (!body)
        return;
    server_config srv;
    char err[CONFIG_ERR_LEN];
    bool ok = server_from_json(body, &srv, err);
    json_decref(body);
    if (!ok) {
        http_respond_error(res, 400, "%s", err);
        return;
    }
    if (config_find_server(&a->cfg, srv.name)) {
        http_respond_error(res, 409, "a server named '%s' already exists; PATCH /api/servers/%s to edit it", srv.name,
                           srv.name);
        server_config_free(&srv);
        return;
    }
    const char *owner = api_cluster_name_owner(a, srv.name);
    if (owner) {
        http_respond_error(res, 409, "server name %s is already used by node %s (names are unique in the cluster)",
                           srv.name, owner);
        server_config_free(&srv);
        return;
    }
    if (a->registry) {
        /* In a cluster the name is claimed first (atomically, in the
         * cluster's names bucket): answered once the claim is settled. */
        pending_add *pa = xcalloc(1, sizeof *pa);
        pa->a = a;
        pa->srv = srv;
        pa->http = http_respond_later(req, add_gone, pa);
        registry_claim(a->registry, srv.name, add_claimed, pa);
        return;
    }
    config neu;
    api_edit_begin(a, &neu);
    neu.servers[neu.n_servers++] = srv; /* config_for_edit left room */
    char name[API_SEGMENT_LEN];
    snprintf(name, sizeof(name), "%s", srv.name);
    if (api_edit_commit(a, &neu, res))
        http_respond_json(res, 201, server_full_json(a, name));
}

static void server_patch(app *a, const char *name, const http_request *req, http_response *res)
{
    json_t *body = http_parse_json_body(req, res);
    if (!body)
        return;
    if (!json_is_object(body)) {
        json_decref(body);
        http_respond_error(res, 400, "the body must be an object with the fields to change");
        return;
    }
    json_t *new_name = json_object_get(body, "name");
    if (new_name && !(json_is_string(new_name) && strcmp(json_string_value(new_name), name) == 0)) {
        json_decref(body);
        http_respond_error(res, 400, "a server cannot be renamed; delete it and add it under the new name");
        return;
    }
    /* Unmasked: the merge is saved, and must keep the env values it does not change. */
    json_t *merged = server_config_to_json(config_find_server(&a->cfg, name), false);
    json_t *old_env = json_incref(json_object_get(merged, "env"));
    json_t *old_headers = json_incref(json_object_get(merged, "headers"));
    json_t *old_oauth = json_incref(json_object_get(merged, "oauth"));
    /* "type" is "protocol" under another name: a patch giving it replaces
     * the protocol rather than meeting it as a second key. */
    if (json_object_get(body, "type"))
        json_object_del(merged, "protocol");
    json_object_update(merged, body);
    json_decref(body);
    keep_masked(json_object_get(merged, "env"), old_env);
    keep_masked(json_object_get(merged, "headers"), old_headers);
    keep_masked(json_object_get(merged, "oauth"), old_oauth); /* its client_secret */
    json_decref(old_env);
    json_decref(old_headers);
    json_decref(old_oauth);
    server_config srv;
    char err[CONFIG_ERR_LEN];
    bool ok = server_from_json(merged, &srv, err);
    json_decref(merged);
    if (!ok) {
        http_respond_error(res, 400, "%s", err);
        return;
    }
    bool enabling = srv.enabled;
    config neu;
    api_edit_begin(a, &neu);
    server_config *slot = config_find_server(&neu, name);
    server_config_free(slot);
    *slot = srv;
    if (!api_edit_commit(a, &neu, res))
        return;
    if (enabling)
        manager_clear_auto_disable(a->manager, name);
    http_respond_json(res, 200, server_full_json(a, name));
}

static void server_delete(app *a, const char *name, http_response *res)
{
    config neu;
    api_edit_begin(a, &neu);
    for (size_t i = 0; i < neu.n_servers; i++) {
        if (strcmp(neu.servers[i].name, name) == 0) {
            server_config_free(&neu.servers[i]);
            memmove(&neu.servers[i], &neu.servers[i + 1], (neu.n_servers - i - 1) * sizeof(server_config));
            neu.n_servers--;
            break;
        }
    }
    if (api_edit_commit(a, &neu, res))
        http_respond_json(res, 200, json_pack("{s:s}", "deleted", name));
}

static void server_set_enabled(app *a, const char *name, bool enabled, http_response *res)
{
    if (config_find_server(&a->cfg, name)->enabled != enabled) {
        config neu;
        api_edit_begin(a, &neu);
        config_find_server(&neu, name)->enabled = enabled;
        if (!api_edit_commit(a, &neu, res))
            return;
    }
    if (enabled)
        manager_clear_auto_disable(a->manager, name);
    http_respond_json(res, 200, manager_server_status_json(a->manager, name));
}

static void server_action(app *a, const char *name, const char *action, http_response *res)
{
    if (strcmp(action, "enable") == 0 || strcmp(action, "disable") == 0) {
        server_set_enabled(a, name, strcmp(action, "enable") == 0, res);
    } else {
        char err[256];
        if (!manager_restart_server(a->manager, name, err, sizeof(err)))
            http_respond_error(res, 409, "%s", err);
        else
            http_respond_json(res, 200, manager_server_status_json(a->manager, name));
    }
}

/* A query parameter that must be a non-negative integer: false (answered
 * 400) when it is something else; *present says whether it was given. */
static bool query_count(const http_request *req, const char *name, uint64_t *out, bool *present, http_response *res)
{
    char text[24];
    int got = http_query_get(req->query, name, text, sizeof(text));
    *present = got != 0;
    if (got == 0)
        return true;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (got != 1 || !*text || *end || text[0] == '-' || errno) {
        http_respond_error(res, 400, "%s must be a non-negative integer", name);
        return false;
    }
    *out = v;
    return true;
}

/* ?tail=N: the last N lines; ?since=T: the lines after line number T (the
 * "total" of an earlier answer), so a follower asks only for what is new. */
static void server_logs(app *a, const char *name, const http_request *req, http_response *res)
{
    uint64_t tail = 0, since = 0;
    bool has_tail, has_since;
    if (!query_count(req, "tail", &tail, &has_tail, res) || !query_count(req, "since", &since, &has_since, res))
        return;
    uint64_t total = 0;
    json_t *lines = manager_server_logs(a->manager, name, (size_t)tail, &total);
    /* since > total: the server was removed and added again since; its
     * numbering restarted, so every kept line is new. */
    if (has_since && since <= total) {
        size_t fresh = (size_t)(total - since);
        size_t n = json_array_size(lines);
        size_t drop = fresh < n ? n - fresh : 0;
        for (size_t i = 0; i < drop; i++)
            json_array_remove(lines, 0);
    }
    http_respond_json(res, 200,
                      json_pack("{s:s, s:o, s:I}", "server", name, "lines", lines, "total", (json_int_t)total));
}

static void server_tools(app *a, const char *name, http_response *res)
{
    json_t *tools = manager_server_tools(a->manager, name);
    http_respond_json(
        res, 200,
        json_pack("{s:s, s:I, s:O}", "server", name, "tool_count", (json_int_t)json_array_size(tools), "tools", tools));
}

static bool servers_route(app *a, const api_path *p, const http_request *req, http_response *res)
{
    if (p->n == 2) {
        if (req->method == HTTP_GET)
            servers_list(a, res);
        else if (req->method == HTTP_POST)
            server_add(a, req, res);
        else
            http_respond_not_allowed(res, "GET, POST");
        return true;
    }
    if (p->n == 3 && strcmp(p->seg[2], "status") == 0) {
        if (req->method == HTTP_GET)
            status_list(a, res);
        else
            http_respond_not_allowed(res, "GET");
        return true;
    }
    const char *name = p->seg[2];
    const char *sub = p->n == 4 ? p->seg[3] : NULL;
    bool known_sub = !sub || strcmp(sub, "status") == 0 || strcmp(sub, "tools") == 0 || strcmp(sub, "logs") == 0 ||
                     strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0 || strcmp(sub, "restart") == 0 ||
                     strcmp(sub, "login") == 0 || strcmp(sub, "logout") == 0;
    if (!known_sub)
        return false;
    if (!config_find_server(&a->cfg, name)) {
        if (api_cluster_remote_request(a, name, sub, req, res))
            return true;
        http_respond_error(res, 404, "no server named '%s' (GET /api/servers lists them)", name);
        return true;
    }
    if (!sub) {
        if (req->method == HTTP_GET)
            http_respond_json(res, 200, server_full_json(a, name));
        else if (req->method == HTTP_PATCH)
            server_patch(a, name, req, res);
        else if (req->method == HTTP_DELETE)
            server_delete(a, name, res);
        else
            http_respond_not_allowed(res, "GET, PATCH, DELETE");
    } else if (strcmp(sub, "status") == 0) {
        if (req->method != HTTP_GET) {
            http_respond_not_allowed(res, "GET");
        } else {
            json_t *st = manager_server_status_json(a->manager, name);
            api_mark_quarantined(a, st);
            api_cluster_stamp(a, st);
            http_respond_json(res, 200, st);
        }
    } else if (strcmp(sub, "tools") == 0 || strcmp(sub, "logs") == 0) {
        if (req->method != HTTP_GET)
            http_respond_not_allowed(res, "GET");
        else if (strcmp(sub, "tools") == 0)
            server_tools(a, name, res);
        else
            server_logs(a, name, req, res);
    } else {
        if (req->method != HTTP_POST)
            http_respond_not_allowed(res, "POST");
        else if (strcmp(sub, "login") == 0)
            api_server_login(a, name, req, res);
        else if (strcmp(sub, "logout") == 0)
            api_server_logout(a, name, res);
        else
            server_action(a, name, sub, res);
    }
    return true;
}

bool api_servers_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    api_path p;
    if (!api_path_split(req->path, &p) || p.n < 2 || strcmp(p.seg[0], "api") != 0 || strcmp(p.seg[1], "servers") != 0)
        return false;
    if (!a->manager) {
        http_respond_error(res, 503, "upstream servers are not running yet");
        return true;
    }
    return servers_route(a, &p, req, res);
}
