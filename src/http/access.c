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

/* Whether s[0..len) is a decimal number from 0 to max, written the plain
 * way: digits only, no sign, no leading zero (a resolver may read "010" as
 * octal). */
static bool plain_number(const char *s, size_t len, unsigned max)
{
    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= max;
}

/* 127.0.0.0/8 as a strict dotted quad. */
static bool loopback_ipv4(const char *s, size_t len)
{
    const char *end = s + len;
    for (int part = 0; part < 4; part++) {
        const char *dot = part < 3 ? memchr(s, '.', (size_t)(end - s)) : end;
        if (!dot || !plain_number(s, (size_t)(dot - s), 255) || (part == 0 && (dot - s != 3 || memcmp(s, "127", 3))))
            return false;
        s = dot + 1;
    }
    return true;
}

bool access_is_loopback_host(const char *hostport)
{
    /* Host = "[v6]" or a name or IPv4 address, then ":port" or nothing
     * (RFC 9110 7.2); anything else is not a loopback name. */
    const char *host = hostport, *host_end, *rest;
    if (*host == '[') {
        host_end = strchr(host, ']');
        if (!host_end)
            return false;
        rest = host_end + 1;
        if ((size_t)(host_end - host) != 4 || memcmp(host, "[::1", 4) != 0)
            return false;
    } else {
        host_end = host + strcspn(host, ":");
        rest = host_end;
        size_t len = (size_t)(host_end - host);
        if (!(len == 9 && strncasecmp(host, "localhost", 9) == 0) && !loopback_ipv4(host, len))
            return false;
    }
    return *rest == '\0' || (*rest == ':' && plain_number(rest + 1, strlen(rest + 1), 65535));
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
