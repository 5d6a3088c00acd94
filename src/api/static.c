/* static.c - serves the dashboard embedded at build time (web_assets). */
#include "api/routes.h"
#include "api/web_assets.h"

#include <string.h>

bool static_route(void *ctx, const http_request *req, http_response *res)
{
    (void)ctx;
    if (req->method != HTTP_GET)
        return false;
    const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    for (size_t i = 0; i < web_assets_count; i++) {
        const web_asset *asset = &web_assets[i];
        if (strcmp(asset->path, path) == 0) {
            http_respond_bytes(res, 200, asset->content_type, asset->data, asset->len);
            /* Revalidate every time: the binary, and so the page, can change
             * under the same URL. */
            res->cache_control = "no-cache";
            return true;
        }
    }
    return false;
}
