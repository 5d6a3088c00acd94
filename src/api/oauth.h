/* oauth.h - the API's side of remote servers' OAuth logins (oauth.c):
 * POST /api/servers/{name}/login → {"server","authorization_url"} once
 * discovery (and registration) are done; POST /api/servers/{name}/logout →
 * the status; GET /oauth/callback (api_oauth_route, no API key: the login's
 * single-use state guards it). */
#ifndef MCPPROXY_API_OAUTH_H
#define MCPPROXY_API_OAUTH_H

#include "app/app.h"
#include "http/exchange.h"
#include "http/request.h"

void api_server_login(app *a, const char *name, const http_request *req, http_response *res);
void api_server_logout(app *a, const char *name, http_response *res);

#endif
