/* http_types.h - a parsed HTTP request and the response being built for it.
 *
 * The lws glue in server.c fills an http_request (all strings owned by the
 * server and valid for the duration of the handler call) and sends whatever
 * the handler put in the http_response. Handlers never touch lws. */
#ifndef MCPPROXY_HTTP_TYPES_H
#define MCPPROXY_HTTP_TYPES_H

#include "core/util.h"

#include <jansson.h>
#include <stddef.h>

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
    /* The few request headers handlers read (server.c copies them); NULL
     * when absent or too long to be valid. */
    const char *accept;
    const char *content_type;
    const char *mcp_session_id;       /* Mcp-Session-Id */
    const char *mcp_protocol_version; /* MCP-Protocol-Version */
    const char *last_event_id;        /* Last-Event-ID */
    /* Opaque: the connection, for http_respond_later() (http_pending.h). */
    void *conn;
} http_request;

/* A response header beyond the ones server.c always sends. */
#define HTTP_MAX_EXTRA_HEADERS 4
typedef struct http_header {
    char name[48];   /* e.g. "Mcp-Session-Id" */
    char value[208];
} http_header;

typedef struct http_response {
    int status;               /* 0 = not handled */
    const char *content_type; /* static string */
    strbuf body;              /* owned by the response */
    const char *allow;        /* for 405: the Allow header value (static), or NULL */
    const char *cache_control; /* static; NULL = "no-store" */
    http_header extra[HTTP_MAX_EXTRA_HEADERS];
    size_t n_extra;
} http_response;

/* Appends a header (copied) to a list of at most HTTP_MAX_EXTRA_HEADERS.
 * Returns false when it does not fit. */
bool http_headers_add(http_header headers[HTTP_MAX_EXTRA_HEADERS], size_t *n, const char *name, const char *value);

/* Adds a response header (copied). Returns false when it does not fit. */
bool http_response_add_header(http_response *res, const char *name, const char *value);

/* Sets status and a JSON body. Steals the reference to `body`. */
void http_respond_json(http_response *res, int status, json_t *body);

/* Sets status and {"error": "<formatted message>"}. */
void http_respond_error(http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets status and a body of the given content type (copied). */
void http_respond_bytes(http_response *res, int status, const char *content_type,
                        const void *bytes, size_t len);

/* Parses req->body as JSON. On failure responds 400 naming line/column and
 * returns NULL. New reference otherwise. */
json_t *http_parse_json_body(const http_request *req, http_response *res);

/* Copies the value of query parameter `name` (URL-decoded) into out.
 * Returns 1 if present, 0 if absent, -1 if it does not fit or is malformed. */
int http_query_get(const char *query, const char *name, char *out, size_t out_len);

#endif
