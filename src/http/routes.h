/* routes.h - the request handlers behind the HTTP server. Each returns true
 * when the path is its own (and has filled the response). */
#ifndef MCPPROXY_HTTP_ROUTES_H
#define MCPPROXY_HTTP_ROUTES_H

#include "app/app.h"
#include "http/http_types.h"

#include <stdbool.h>

/* /healthz, /api/events, /api/realtime/stats, /metrics (api.c). */
bool api_route(app *a, const http_request *req, http_response *res);

/* /api/servers..., /api/groups... (api_servers.c). */
bool api_servers_route(app *a, const http_request *req, http_response *res);

/* The embedded dashboard (static.c). */
bool static_route(const http_request *req, http_response *res);

#endif
