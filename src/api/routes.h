/* routes.h - the REST API's and the dashboard's handlers, in the form the
 * HTTP server calls (http_handler_fn, with the app as ctx). Each returns
 * true when the path is its own (and has answered). docs/PROTOCOL.md
 * documents every endpoint.
 *
 *   events.c   POST /api/events                   publish events
 *   metrics.c  GET  /healthz, /api/realtime/stats, /metrics
 *   servers.c  GET  /api/servers/status           {"seq","epoch","servers":[status...]}
 *              GET  /api/servers                  {"servers":[config + status...]}
 *              POST /api/servers                  add (body: a server config object)
 *              GET|PATCH|DELETE /api/servers/{name}
 *              GET  /api/servers/{name}/status    the server's status object
 *              GET  /api/servers/{name}/tools     {"server","tool_count","tools":[...]}
 *              GET  /api/servers/{name}/logs      {"server","lines":[...],"total"} (?tail=N, ?since=T)
 *              POST /api/servers/{name}/enable|disable|restart
 *   oauth.c    POST /api/servers/{name}/login|logout  OAuth of a remote server (called from servers.c)
 *              GET  /oauth/callback               where the browser comes back from a login (no API key)
 *   groups.c   GET  /api/groups                   {"groups":[{"name","enabled","servers"}]}
 *              POST /api/groups                   {"name","servers":[...]}: put servers in a group
 *              POST /api/groups/{name}/enable|disable
 *   activity.c GET  /api/activity                  {"rows":[...],"next_cursor"} (?server, tool, outcome,
 *                                                  since, until, q, limit, cursor)
 *              GET  /api/activity/export           the same rows as JSON Lines or CSV (?format=jsonl|csv)
 *   quarantine.c GET /api/quarantine               {"servers":[...],"tools":[...]}: what waits for approval
 *              POST /api/servers/{name}/approve   approve the server and its tools as they are now
 *   openapi.c  GET  /api/openapi.json             the OpenAPI 3.1 document of this API (docs/openapi.json)
 *   static.c   GET  /, the dashboard's files
 *
 * Every change is validated, written to the config file atomically, and
 * only then applied and published (edit.h); a failed write changes nothing. */
#ifndef MCPPROXY_API_ROUTES_H
#define MCPPROXY_API_ROUTES_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <stdbool.h>

bool api_events_route(void *app, const http_request *req, http_response *res);
bool api_metrics_route(void *app, const http_request *req, http_response *res);
bool api_servers_route(void *app, const http_request *req, http_response *res);
bool api_groups_route(void *app, const http_request *req, http_response *res);
bool api_activity_route(void *app, const http_request *req, http_response *res);
bool api_quarantine_route(void *app, const http_request *req, http_response *res);
bool api_openapi_route(void *unused, const http_request *req, http_response *res);
bool api_oauth_route(void *app, const http_request *req, http_response *res);
bool static_route(void *unused, const http_request *req, http_response *res);

#endif
