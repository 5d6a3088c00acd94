/* access.c - the rules of access.h.
 *
 * - API key: when one is configured, every protected request must carry it;
 *   compared in constant time.
 * - Host (DNS rebinding): while mcpproxy listens on loopback, a request whose
 *   Host is not a loopback name was sent to some other name that resolved
 *   here - a rebinding attack - and is refused with 421.
 * - Origin (cross-site WebSocket hijacking, CSRF): a browser always sends
 *   Origin on WebSocket upgrades and cross-site POSTs. It must be this
 *   server itself, a loopback origin, or listed in allowed_origins. Requests
 *   without Origin come from non-browser clients and pass. */
#include "http/access.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copies the host part of "host", "host:port" or "[v6]:port" into out. */
static void host_part(const char *hostport, char *out, size_t out_len)
{
    const char *start = hostport, *end;
    if (*start == '[') {
        start++;
        end = strchr(start, ']');
        if (!end)
            end = start + strlen(start);
    } else {
        end = strchr(start, ':');
        if (!end)
            end = start + strlen(start);
    }
    snprintf(out, out_len, "%.*s", (int)(end - start), start);
}

bool access_is_loopback_host(const char *hostport)
{
    char host[256];
    host_part(hostport, host, sizeof host);
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    /* 127.0.0.0/8 written as a dotted quad */
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

bool access_listen_is_loopback(const char *listen)
{
    char host[256];
    int port;
    if (!config_split_listen(listen, host, sizeof host, &port))
        return false;
    return strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || access_is_loopback_host(host);
}

static bool key_matches(const char *expected, const char *given)
{
    return given && secure_equals(expected, strlen(expected), given, strlen(given));
}

static bool has_valid_key(const config *cfg, const access_request *req)
{
    const char *bearer = NULL;
    if (req->authorization && strncasecmp(req->authorization, "Bearer ", 7) == 0)
        bearer = req->authorization + 7;
    /* Evaluate all three so the time taken does not say which one matched. */
    bool ok = key_matches(cfg->api_key, req->api_key);
    ok |= key_matches(cfg->api_key, bearer);
    ok |= key_matches(cfg->api_key, req->query_key);
    return ok;
}

/* "scheme://host[:port]" -> the authority part. */
static const char *origin_authority(const char *origin)
{
    const char *sep = strstr(origin, "://");
    return sep ? sep + 3 : NULL;
}

static bool origin_allowed(const config *cfg, const access_request *req)
{
    if (!req->origin)
        return true;
    for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
        if (strcasecmp(cfg->allowed_origins[i], req->origin) == 0)
            return true;
    }
    const char *authority = origin_authority(req->origin);
    if (!authority || !*authority)
        return false; /* "null" (sandboxed frames, file://) or garbage */
    if (req->host && strcasecmp(authority, req->host) == 0)
        return true; /* same origin: the dashboard served by this process */
    return access_is_loopback_host(authority);
}

int access_check(const config *cfg, bool on_loopback, const access_request *req, const char **why)
{
    /* Beyond loopback the server is reachable by other names on purpose, and
     * the API key (required there) guards it. */
    if (on_loopback && !(req->host && access_is_loopback_host(req->host))) {
        *why = "Host header does not name this server (mcpproxy on loopback answers only to "
               "localhost, 127.0.0.1 and [::1])";
        return 421;
    }
    if (req->state_changing && !origin_allowed(cfg, req)) {
        *why = "Origin not allowed: add it to \"allowed_origins\" in the config to let that site in";
        return 403;
    }
    if (req->needs_key && cfg->api_key[0] && !has_valid_key(cfg, req)) {
        *why = "API key required: send X-API-Key, Authorization: Bearer, or ?apikey=";
        return 401;
    }
    return 0;
}
