/* request.h - one HTTP request as handlers see it, and reading it from lws.
 *
 * The server fills an http_request (all strings owned by the connection and
 * valid for the duration of the handler call); handlers never touch lws. */
#ifndef MCPPROXY_HTTP_REQUEST_H
#define MCPPROXY_HTTP_REQUEST_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct http_slot;

typedef enum http_method {
    HTTP_GET,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
    HTTP_OPTIONS,
    HTTP_HEAD,
    HTTP_OTHER
} http_method;

typedef struct http_request {
    http_method method;
    const char *path;  /* decoded path without the query, e.g. "/api/servers/x" */
    const char *query; /* raw query string without '?', "" if none */
    const char *body;  /* request body (NUL-terminated), "" if none */
    size_t body_len;
    /* The few request headers handlers read; NULL when absent or too long
     * to be valid. */
    const char *accept;
    const char *content_type;
    const char *mcp_session_id;       /* Mcp-Session-Id */
    const char *mcp_protocol_version; /* MCP-Protocol-Version */
    const char *last_event_id;        /* Last-Event-ID */
    const char *peer;                 /* the client's address ("" when unknown) */
    /* A HEAD request: `method` says GET, and the answer goes out without its
     * body. A handler that would answer later or stream answers at once
     * instead (the status and content type it would send). */
    bool head;
    /* Where a deferred answer attaches (exchange.h); the connection's. */
    struct http_slot *slot;
} http_request;

/* Copies the value of query parameter `name` (URL-decoded) into out.
 * Returns 1 if present, 0 if absent, -1 if it does not fit or is malformed. */
int http_query_get(const char *query, const char *name, char *out, size_t out_len);

/* Whether an Accept header admits a media type ("type/sub"), by exact name,
 * "type/ *" or "* / *" (parameters such as q= are ignored). No header
 * (NULL) admits everything. */
bool http_accepts(const char *accept, const char *type);

/* ---- reading a request from lws ---------------------------------------- */

/* The request's method, from whichever method token lws parsed. */
http_method http_request_method(struct lws *wsi);

/* The longest query parameter (name=value, decoded) read; a request with a
 * longer one is refused (414), since the parameters after it would be lost. */
#define HTTP_MAX_QUERY_PARAM 4096

/* Rebuilds the request's query string from lws' decoded URL arguments,
 * re-encoding '%', '&' and '+' in values so http_query_get() reads each
 * value back exactly. `out` is left NUL-terminated ("" when none). Returns
 * false when a parameter is longer than HTTP_MAX_QUERY_PARAM (out then
 * holds those before it). */
bool http_request_query(struct lws *wsi, strbuf *out);

/* Copies a known header (`token` is an enum lws_token_indexes) or, with
 * `custom` set ("x-api-key:"), a custom one into buf. Returns buf, or NULL
 * when absent or longer than the buffer. */
const char *http_request_header(struct lws *wsi, int token, const char *custom, char *buf, size_t len);

#endif
