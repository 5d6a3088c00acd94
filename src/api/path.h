/* path.h - an API path split at '/': "/api/servers/x/tools" → api,
 * servers, x, tools. */
#ifndef MCPPROXY_API_PATH_H
#define MCPPROXY_API_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define API_MAX_SEGMENTS 4
#define API_SEGMENT_LEN 128

typedef struct api_path {
    size_t n;
    char seg[API_MAX_SEGMENTS][API_SEGMENT_LEN];
} api_path;

/* False when the path has more segments, or a longer one, than fit. */
bool api_path_split(const char *path, api_path *out);

#endif
