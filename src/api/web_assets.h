/* web_assets.h - the dashboard files (and the API's OpenAPI document)
 * embedded into the binary.
 *
 * The table is generated at build time from web/ by cmake/embed_web.cmake into
 * ${PROJECT_BINARY_DIR}/generated/web_assets.c (library mcp_web). Everything
 * here is static, read-only data that lives for the whole process; callers
 * borrow it and never free it. */
#ifndef MCPPROXY_WEB_ASSETS_H
#define MCPPROXY_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *path;          /* URL path, e.g. "/index.html", "/app.js" */
    const char *content_type;  /* e.g. "text/html; charset=utf-8" */
    const unsigned char *data; /* file bytes, followed by one extra NUL not counted in len */
    size_t len;                /* file size in bytes */
} web_asset;

extern const web_asset web_assets[];
extern const size_t web_assets_count;

/* docs/openapi.json as "/api/openapi.json", generated the same way into
 * ${PROJECT_BINARY_DIR}/generated/openapi_assets.c (library mcp_api). */
extern const web_asset openapi_assets[];
extern const size_t openapi_assets_count;

#endif
