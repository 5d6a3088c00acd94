/* openapi.c - GET /api/openapi.json: docs/openapi.json, embedded at build
 * time (web_assets.h), so what the binary serves describes the binary. */
#include "api/routes.h"
#include "api/web_assets.h"

#include <string.h>

bool api_openapi_route(void *ctx, const http_request *req, http_response *res)
{
    (void)ctx;
    const web_asset *doc = &openapi_assets[0];
    if (strcmp(req->path, doc->path) != 0)
        return false;
    if (req->method != HTTP_GET)
        http_respond_not_allowed(res, "GET");
    else
        http_respond_bytes(res, 200, doc->content_type, doc->data, doc->len);
    return true;
}
