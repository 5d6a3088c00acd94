/* path.c - splitting API paths (see path.h). */
#include "api/path.h"

#include <string.h>

bool api_path_split(const char *path, api_path *out)
{
    out->n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (out->n == API_MAX_SEGMENTS || len >= API_SEGMENT_LEN)
            return false;
        memcpy(out->seg[out->n], p, len);
        out->seg[out->n][len] = '\0';
        out->n++;
        p += len;
    }
    return true;
}
