/* quarantine.c - GET /api/quarantine (what waits for approval) and
 * POST /api/servers/{name}/approve (store/quarantine.h). */
#include "api/quarantine.h"

#include "api/path.h"
#include "api/routes.h"
#include "cluster/registry.h"
#include "store/quarantine.h"
#include "upstream/manager.h"

#include <string.h>

void api_mark_quarantined(app *a, json_t *status)
{
    const char *name = json_string_value(json_object_get(status, "name"));
    json_object_set_new(status, "quarantined",
                        json_boolean(name && a->quarantine && quarantine_enabled(a->quarantine) &&
                                     quarantine_server_held(a->quarantine, name)));
}

static void approve(app *a, const char *name, http_response *res)
{
    const server_config *srv = config_find_server(&a->cfg, name);
    const char *owner = !srv && a->registry ? registry_name_owner(a->registry, name) : NULL;
    if (owner) {
        http_respond_error(res, 409, "server '%s' runs on node %s: send this request to node %s", name, owner, owner);
        return;
    }
    if (!srv) {
        http_respond_error(res, 404, "no server named \"%s\"", name);
        return;
    }
    /* Its tools as they are listed now are what is approved. */
    json_t *tools = a->manager ? manager_server_tools(a->manager, name) : NULL;
    quarantine_approve(a->quarantine, srv, tools);
    http_respond_json(res, 200,
                      json_pack("{s:s, s:s, s:I}", "server", name, "status", "approved", "tool_count",
                                (json_int_t)json_array_size(tools)));
}

bool api_quarantine_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    api_path p;
    bool list = strcmp(req->path, "/api/quarantine") == 0;
    bool approve_path = !list && api_path_split(req->path, &p) && p.n == 4 && strcmp(p.seg[0], "api") == 0 &&
                        strcmp(p.seg[1], "servers") == 0 && strcmp(p.seg[3], "approve") == 0;
    if (!list && !approve_path)
        return false;
    if (!a->quarantine) {
        http_respond_error(res, 503, "quarantine is not running yet");
        return true;
    }
    if (list && req->method != HTTP_GET) {
        http_respond_not_allowed(res, "GET");
    } else if (approve_path && req->method != HTTP_POST) {
        http_respond_not_allowed(res, "POST");
    } else if (list) {
        http_respond_json(res, 200, quarantine_json(a->quarantine));
    } else {
        approve(a, p.seg[2], res);
    }
    return true;
}
