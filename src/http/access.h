/* access.h - who may talk to mcpproxy: API key, Origin and Host rules.
 *
 * Pure functions over header values (no lws) so each rule is unit-tested
 * on its own; server.c and ws.c read the headers and apply them before any
 * handler runs or any upgrade happens. */
#ifndef MCPPROXY_HTTP_ACCESS_H
#define MCPPROXY_HTTP_ACCESS_H

#include "config/config.h"

#include <stdbool.h>

/* Header values of one request; NULL when the header is absent. */
typedef struct access_request {
    const char *host;          /* Host */
    const char *origin;        /* Origin */
    const char *api_key;       /* X-API-Key */
    const char *authorization; /* Authorization ("Bearer KEY") */
    const char *query_key;     /* ?apikey= */
    bool state_changing;       /* POST/PUT/PATCH/DELETE, or a WebSocket upgrade */
    bool needs_key;            /* API, /events, /ws, /mcp, /metrics */
} access_request;

/* Returns 0 when the request may proceed, else the HTTP status to refuse it
 * with (401, 403 or 421) and a message for the client in *why.
 * `on_loopback`: the server listens on a loopback address only. */
int access_check(const config *cfg, bool on_loopback, const access_request *req, const char **why);

/* Whether "host" or "host:port" names this machine's loopback
 * (localhost, 127.0.0.0/8, ::1). */
bool access_is_loopback_host(const char *host);

/* Whether the listen address keeps mcpproxy on loopback. */
bool access_listen_is_loopback(const char *listen);

#endif
