/* routes.h - the REST API's and the dashboard's handlers, in the form the
 * HTTP server calls (http_handler_fn). Each returns true when the path is
 * its own (and has filled the response). */
#ifndef MCPPROXY_HTTP_ROUTES_H
#define MCPPROXY_HTTP_ROUTES_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

#include <stdbool.h>

/* /healthz, /api/events, /api/realtime/stats, /metrics (api.c). */
bool api_route(void *app, const http_request *req, http_response *res);

/* /api/servers..., /api/groups... (api_servers.c). */
bool api_servers_route(void *app, const http_request *req, http_response *res);

/* The embedded dashboard (static.c). */
bool static_route(void *unused, const http_request *req, http_response *res);

#endif
