/* api_servers.h - the REST API for upstream servers and groups.
 *
 *   GET    /api/servers/status          {"seq","epoch","servers":[status...]}
 *   GET    /api/servers                 {"servers":[config + status...]}
 *   POST   /api/servers                 add (body: a server config object)
 *   GET    /api/servers/{name}          config + status
 *   PATCH  /api/servers/{name}          edit (body: the fields to change)
 *   DELETE /api/servers/{name}
 *   GET    /api/servers/{name}/tools    {"server","tool_count","tools":[...]}
 *   GET    /api/servers/{name}/logs     {"server","lines":[...]} (?tail=N)
 *   POST   /api/servers/{name}/enable|disable|restart
 *   GET    /api/groups                  {"groups":[{"name","enabled","servers"}]}
 *   POST   /api/groups                  {"name","servers":[...]}: put servers in a group
 *   POST   /api/groups/{name}/enable|disable
 *
 * Every change is validated, written to the config file atomically, and only
 * then applied and published; a failed write changes nothing. */
#ifndef MCPPROXY_HTTP_API_SERVERS_H
#define MCPPROXY_HTTP_API_SERVERS_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <stdbool.h>

/* Returns false when the path is not under /api/servers or /api/groups;
 * true when it filled the response. */
bool api_servers_route(void *app, const http_request *req, http_response *res);

#endif
