/* api_servers.c - /api/servers and /api/groups: status, tools, logs, edits. */
#include "api/servers.h"

#include "core/log.h"
#include "core/util.h"
#include "api/routes.h"
#include "upstream/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 4
#define SEGMENT_LEN 128

/* The path split at '/': "/api/servers/x/tools" → api, servers, x, tools. */
typedef struct path_parts {
    size_t n;
    char seg[MAX_SEGMENTS][SEGMENT_LEN];
} path_parts;

static bool split_path(const char *path, path_parts *out)
{
    out->n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (out->n == MAX_SEGMENTS || len >= SEGMENT_LEN)
            return false;
        memcpy(out->seg[out->n], p, len);
        out->seg[out->n][len] = '\0';
        out->n++;
        p += len;
    }
    return true;
}

static void method_not_allowed(http_response *res, const char *allow)
{
    http_respond_error(res, 405, "method not allowed; use %s", allow);
    res->allow = allow;
}

/* ---- building and committing a new config ------------------------------- */

/* The config to write: the file's own non-server settings (so command-line
 * overrides such as --listen never leak into it), or the running ones when
 * the file does not parse right now; plus a copy of the running servers. */
static void config_for_edit(app *a, config *out)
{
    char err[CONFIG_ERR_LEN];
    if (!a->config_path || !config_load_file(a->config_path, out, err)) {
        config_free(out);
        config_init_defaults(out);
        free(out->listen);
        out->listen = xstrdup(a->cfg.listen);
        free(out->api_key);
        out->api_key = xstrdup(a->cfg.api_key);
        out->n_allowed_origins = a->cfg.n_allowed_origins;
        out->allowed_origins = xcalloc(a->cfg.n_allowed_origins + 1, sizeof(char *));
        for (size_t i = 0; i < a->cfg.n_allowed_origins; i++)
            out->allowed_origins[i] = xstrdup(a->cfg.allowed_origins[i]);
        out->websocket = a->cfg.websocket;
    }
    for (size_t i = 0; i < out->n_servers; i++)
        server_config_free(&out->servers[i]);
    free(out->servers);
    out->auto_disable_threshold = a->cfg.auto_disable_threshold;
    out->n_servers = a->cfg.n_servers;
    out->servers = xcalloc(a->cfg.n_servers + 1, sizeof(server_config)); /* +1: room for an add */
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        server_config_copy(&out->servers[i], &a->cfg.servers[i]);
}

/* Saves, then hands the config to the manager (which publishes). On a failed
 * write responds 500, frees neu and returns false: nothing changed. */
static bool commit(app *a, config *neu, http_response *res)
{
    char err[CONFIG_ERR_LEN];
    if (a->config_path && !config_save_file(neu, a->config_path, err)) {
        log_kv(LOG_ERROR, "config save failed; change not applied", LOG_FIELDS(LOG_STR("error", err)));
        http_respond_error(res, 500, "the change was not applied because the config file could not be written: %s",
                           err);
        config_free(neu);
        return false;
    }
    manager_commit_config(a->manager, neu);
    return true;
}

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
 * editing one field) returns "***" for env values: those keep the value
 * they had, so a round trip never overwrites a secret with the mask. */
static void keep_masked_env(json_t *env, json_t *old_env)
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
    return o;
}

/* ---- handlers ---------------------------------------------------------- */

static void status_list(app *a, http_response *res)
{
    /* One thread: nothing can publish between these two reads, so the list
     * is exactly the state after event `seq`. */
    json_t *servers = manager_status_json(a->manager);
    http_respond_json(res, 200,
                      json_pack("{s:I, s:s, s:o}", "seq", (json_int_t)bus_head_seq(a->bus), "epoch",
                                bus_epoch(a->bus), "servers", servers));
}

static void servers_list(app *a, http_response *res)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        json_array_append_new(arr, server_full_json(a, a->cfg.servers[i].name));
    http_respond_json(res, 200, json_pack("{s:o}", "servers", arr));
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
        http_respond_error(res, 409, "a server named '%s' already exists; PATCH /api/servers/%s to edit it",
                           srv.name, srv.name);
        server_config_free(&srv);
        return;
    }
    config neu;
    config_for_edit(a, &neu);
    neu.servers[neu.n_servers++] = srv; /* config_for_edit left room */
    char name[SEGMENT_LEN];
    snprintf(name, sizeof(name), "%s", srv.name);
    if (commit(a, &neu, res))
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
    json_object_update(merged, body);
    json_decref(body);
    keep_masked_env(json_object_get(merged, "env"), old_env);
    json_decref(old_env);
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
    config_for_edit(a, &neu);
    server_config *slot = config_find_server(&neu, name);
    server_config_free(slot);
    *slot = srv;
    if (!commit(a, &neu, res))
        return;
    if (enabling)
        manager_clear_auto_disable(a->manager, name);
    http_respond_json(res, 200, server_full_json(a, name));
}

static void server_delete(app *a, const char *name, http_response *res)
{
    config neu;
    config_for_edit(a, &neu);
    for (size_t i = 0; i < neu.n_servers; i++) {
        if (strcmp(neu.servers[i].name, name) == 0) {
            server_config_free(&neu.servers[i]);
            memmove(&neu.servers[i], &neu.servers[i + 1], (neu.n_servers - i - 1) * sizeof(server_config));
            neu.n_servers--;
            break;
        }
    }
    if (commit(a, &neu, res))
        http_respond_json(res, 200, json_pack("{s:s}", "deleted", name));
}

static void server_set_enabled(app *a, const char *name, bool enabled, http_response *res)
{
    if (config_find_server(&a->cfg, name)->enabled != enabled) {
        config neu;
        config_for_edit(a, &neu);
        config_find_server(&neu, name)->enabled = enabled;
        if (!commit(a, &neu, res))
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

static void server_logs(app *a, const char *name, const http_request *req, http_response *res)
{
    char tail[16];
    size_t n = 0;
    if (http_query_get(req->query, "tail", tail, sizeof(tail)) == 1) {
        char *end;
        long v = strtol(tail, &end, 10);
        if (*end || v < 0) {
            http_respond_error(res, 400, "tail must be a non-negative integer");
            return;
        }
        n = (size_t)v;
    }
    json_t *lines = manager_server_logs(a->manager, name, n);
    http_respond_json(res, 200, json_pack("{s:s, s:o}", "server", name, "lines", lines));
}

static void server_tools(app *a, const char *name, http_response *res)
{
    json_t *tools = manager_server_tools(a->manager, name);
    http_respond_json(res, 200,
                      json_pack("{s:s, s:I, s:O}", "server", name, "tool_count", (json_int_t)json_array_size(tools),
                                "tools", tools));
}

static bool servers_route(app *a, const path_parts *p, const http_request *req, http_response *res)
{
    if (p->n == 2) {
        if (req->method == HTTP_GET)
            servers_list(a, res);
        else if (req->method == HTTP_POST)
            server_add(a, req, res);
        else
            method_not_allowed(res, "GET, POST");
        return true;
    }
    if (p->n == 3 && strcmp(p->seg[2], "status") == 0) {
        if (req->method == HTTP_GET)
            status_list(a, res);
        else
            method_not_allowed(res, "GET");
        return true;
    }
    const char *name = p->seg[2];
    const char *sub = p->n == 4 ? p->seg[3] : NULL;
    bool known_sub = !sub || strcmp(sub, "tools") == 0 || strcmp(sub, "logs") == 0 ||
                     strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0 || strcmp(sub, "restart") == 0;
    if (!known_sub)
        return false;
    if (!config_find_server(&a->cfg, name)) {
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
            method_not_allowed(res, "GET, PATCH, DELETE");
    } else if (strcmp(sub, "tools") == 0 || strcmp(sub, "logs") == 0) {
        if (req->method != HTTP_GET)
            method_not_allowed(res, "GET");
        else if (strcmp(sub, "tools") == 0)
            server_tools(a, name, res);
        else
            server_logs(a, name, req, res);
    } else {
        if (req->method != HTTP_POST)
            method_not_allowed(res, "POST");
        else
            server_action(a, name, sub, res);
    }
    return true;
}

static json_t *groups_body(app *a)
{
    json_t *groups = manager_groups_json(a->manager);
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        /* The API names a group "name"; events call it "group". */
        json_object_set(g, "name", json_object_get(g, "group"));
        json_object_del(g, "group");
    }
    return json_pack("{s:o}", "groups", groups);
}

static bool group_exists(app *a, const char *group)
{
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        if (a->cfg.servers[i].group && strcmp(a->cfg.servers[i].group, group) == 0)
            return true;
    return false;
}

static void group_assign(app *a, const http_request *req, http_response *res)
{
    json_t *body = http_parse_json_body(req, res);
    if (!body)
        return;
    const char *group = json_string_value(json_object_get(body, "name"));
    json_t *servers = json_object_get(body, "servers");
    if (!group || !json_is_array(servers)) {
        json_decref(body);
        http_respond_error(res, 400, "body must be {\"name\": GROUP, \"servers\": [SERVER, ...]}");
        return;
    }
    size_t i;
    json_t *s;
    json_array_foreach(servers, i, s) {
        if (!json_is_string(s) || !config_find_server(&a->cfg, json_string_value(s))) {
            http_respond_error(res, 404, "servers[%zu]: no such server", i);
            json_decref(body);
            return;
        }
    }
    config neu;
    config_for_edit(a, &neu);
    json_array_foreach(servers, i, s) {
        server_config *srv = config_find_server(&neu, json_string_value(s));
        free(srv->group);
        srv->group = xstrdup(group);
    }
    json_decref(body);
    if (commit(a, &neu, res))
        http_respond_json(res, 200, groups_body(a));
}

static void group_set_enabled(app *a, const char *group, bool enabled, http_response *res)
{
    config neu;
    config_for_edit(a, &neu);
    bool changed = false;
    for (size_t i = 0; i < neu.n_servers; i++) {
        if (strcmp(neu.servers[i].group, group) == 0 && neu.servers[i].enabled != enabled) {
            neu.servers[i].enabled = enabled;
            changed = true;
        }
    }
    if (changed) {
        if (!commit(a, &neu, res))
            return;
    } else {
        config_free(&neu);
        manager_publish_group(a->manager, group); /* say so even when nothing moved */
    }
    if (enabled)
        for (size_t i = 0; i < a->cfg.n_servers; i++)
            if (strcmp(a->cfg.servers[i].group, group) == 0)
                manager_clear_auto_disable(a->manager, a->cfg.servers[i].name);
    http_respond_json(res, 200, groups_body(a));
}

static bool groups_route(app *a, const path_parts *p, const http_request *req, http_response *res)
{
    if (p->n == 2) {
        if (req->method == HTTP_GET)
            http_respond_json(res, 200, groups_body(a));
        else if (req->method == HTTP_POST)
            group_assign(a, req, res);
        else
            method_not_allowed(res, "GET, POST");
        return true;
    }
    if (p->n != 4 || (strcmp(p->seg[3], "enable") != 0 && strcmp(p->seg[3], "disable") != 0))
        return false;
    if (req->method != HTTP_POST) {
        method_not_allowed(res, "POST");
        return true;
    }
    if (!group_exists(a, p->seg[2])) {
        http_respond_error(res, 404, "no group named '%s' (set a server's \"group\" to create one)", p->seg[2]);
        return true;
    }
    group_set_enabled(a, p->seg[2], strcmp(p->seg[3], "enable") == 0, res);
    return true;
}

bool api_servers_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    path_parts p;
    if (strncmp(req->path, "/api/", 5) != 0 || !split_path(req->path, &p) || p.n < 2)
        return false;
    if (!a->manager) {
        if (strcmp(p.seg[1], "servers") == 0 || strcmp(p.seg[1], "groups") == 0) {
            http_respond_error(res, 503, "upstream servers are not running yet");
            return true;
        }
        return false;
    }
    if (strcmp(p.seg[1], "servers") == 0)
        return servers_route(a, &p, req, res);
    if (strcmp(p.seg[1], "groups") == 0)
        return groups_route(a, &p, req, res);
    return false;
}
