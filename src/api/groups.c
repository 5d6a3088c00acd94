/* groups.c - /api/groups: list, assign servers, enable and disable. */
#include "api/edit.h"
#include "api/path.h"
#include "api/routes.h"
#include "core/strmap.h"
#include "core/util.h"
#include "upstream/manager.h"

#include <stdlib.h>
#include <string.h>

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
    char err[CONFIG_ERR_LEN];
    if (*group && !config_name_valid(group, "group", err)) { /* "": out of their groups */
        json_decref(body);
        http_respond_error(res, 400, "%s", err);
        return;
    }
    config neu;
    api_edit_begin(a, &neu);
    /* The servers by name: a search of the list per listed server would
     * make a group of thousands quadratic. */
    strmap by_name = {0};
    for (size_t k = 0; k < neu.n_servers; k++)
        strmap_put(&by_name, neu.servers[k].name, &neu.servers[k]);
    size_t i;
    json_t *s;
    json_array_foreach(servers, i, s) {
        server_config *srv = json_is_string(s) ? strmap_get(&by_name, json_string_value(s)) : NULL;
        if (!srv) {
            http_respond_error(res, 404, "servers[%zu]: no such server", i);
            strmap_free(&by_name);
            config_free(&neu);
            json_decref(body);
            return;
        }
        free(srv->group);
        srv->group = xstrdup(group);
    }
    strmap_free(&by_name);
    json_decref(body);
    if (api_edit_commit(a, &neu, res))
        http_respond_json(res, 200, groups_body(a));
}

static void group_set_enabled(app *a, const char *group, bool enabled, http_response *res)
{
    config neu;
    api_edit_begin(a, &neu);
    bool changed = false;
    for (size_t i = 0; i < neu.n_servers; i++) {
        if (strcmp(neu.servers[i].group, group) == 0 && neu.servers[i].enabled != enabled) {
            neu.servers[i].enabled = enabled;
            changed = true;
        }
    }
    if (changed) {
        if (!api_edit_commit(a, &neu, res))
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

static bool groups_route(app *a, const api_path *p, const http_request *req, http_response *res)
{
    if (p->n == 2) {
        if (req->method == HTTP_GET)
            http_respond_json(res, 200, groups_body(a));
        else if (req->method == HTTP_POST)
            group_assign(a, req, res);
        else
            http_respond_not_allowed(res, "GET, POST");
        return true;
    }
    if (p->n != 4 || (strcmp(p->seg[3], "enable") != 0 && strcmp(p->seg[3], "disable") != 0))
        return false;
    if (req->method != HTTP_POST) {
        http_respond_not_allowed(res, "POST");
        return true;
    }
    if (!group_exists(a, p->seg[2])) {
        http_respond_error(res, 404, "no group named '%s' (set a server's \"group\" to create one)", p->seg[2]);
        return true;
    }
    group_set_enabled(a, p->seg[2], strcmp(p->seg[3], "enable") == 0, res);
    return true;
}

bool api_groups_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    api_path p;
    if (!api_path_split(req->path, &p) || p.n < 2 || strcmp(p.seg[0], "api") != 0 || strcmp(p.seg[1], "groups") != 0)
        return false;
    if (!a->manager) {
        http_respond_error(res, 503, "upstream servers are not running yet");
        return true;
    }
    return groups_route(a, &p, req, res);
}
