/* api_client.h - the commands' HTTP client of a running mcpproxy (libcurl's
 * easy interface: a command blocks until the answer is in). It finds the
 * proxy and its key, sends requests, and turns what can go wrong into one
 * plain message and the documented exit code (options.h): no answer = 3,
 * refused = 4, an error answer = 1. */
#ifndef MCPPROXY_CLI_API_CLIENT_H
#define MCPPROXY_CLI_API_CLIENT_H

#include "cli/options.h"
#include "core/util.h"

#include <curl/curl.h>
#include <jansson.h>

typedef struct api_client {
    const char *cmd; /* the command's name, for messages; borrowed */
    char url[300];   /* "http://host:port" */
    char where[280]; /* "host:port" */
    char *key;       /* owned; NULL = none */
    long timeout_ms; /* whole request; 0 = none (a tool call may take minutes) */
    CURL *curl;      /* owned, reused across requests */
} api_client;

typedef struct api_response {
    long status;
    strbuf body;
    char session_id[160]; /* the Mcp-Session-Id header, "" when absent */
} api_response;

/* Resolves the URL (--url, else the config's listen) and the key (--api-key,
 * else $MCPPROXY_API_KEY, else the config's api_key). False with *exit_code
 * (2: bad --url or config file, message printed). */
bool api_client_init(api_client *c, const char *cmd, const client_opts *o, int *exit_code);
void api_client_free(api_client *c);

/* Adds the proxy's address and key to a fresh easy handle (the event
 * stream's own). */
void api_client_setup(const api_client *c, CURL *curl, struct curl_slist **headers);

/* One request. body may be NULL; extra_headers is NULL-terminated or NULL.
 * Returns 0 with res filled (any status; free res->body), or 3 when nothing
 * answered (message printed). */
int api_send(api_client *c, const char *method, const char *path, const char *body, const char *const *extra_headers,
             api_response *res);

/* A JSON request (body borrowed, may be NULL) whose 2xx answer is JSON:
 * *out gets it (new reference). Anything else is printed: the proxy's own
 * error message, or what to do about a missing or wrong key. Returns the
 * exit code. */
int api_json(api_client *c, const char *method, const char *path, json_t *body, json_t **out);

/* Prints the message for an answer that is not 2xx; returns 1 or 4. */
int api_report_status(api_client *c, const api_response *res);

/* Prints the message for a proxy that does not answer (3). */
int api_report_unreachable(const api_client *c, const char *why);

/* Appends one URL path segment, percent-encoded: "/api/servers/" + name. */
void api_append_segment(strbuf *sb, const char *segment);

#endif
