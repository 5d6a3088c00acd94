/* oauth_fetch.h - one OAuth HTTP exchange on the curl_loop: a GET of
 * metadata, or a POST of a form (token endpoint) or of JSON (registration),
 * whose answer is read as JSON. Never blocks; no redirects; at most
 * OAUTH_FETCH_MAX_BYTES of answer. The body sent may hold secrets (codes,
 * refresh tokens, client secrets): it is never logged, and neither is the
 * answer. */
#ifndef MCPPROXY_OAUTH_FETCH_H
#define MCPPROXY_OAUTH_FETCH_H

#include <jansson.h>
#include <stdbool.h>

#define OAUTH_FETCH_MAX_BYTES (1024 * 1024)

struct curl_loop;
typedef struct oauth_fetch oauth_fetch;

typedef struct oauth_fetch_result {
    long status;       /* HTTP status, 0 when none came */
    json_t *json;      /* the answer as JSON (borrowed), or NULL when it was not JSON */
    const char *error; /* why no HTTP answer came, in plain words, or NULL; borrowed */
} oauth_fetch_result;

typedef void (*oauth_fetch_cb)(const oauth_fetch_result *r, void *ctx);

typedef struct oauth_fetch_request {
    const char *url;
    const char *body;         /* NULL: a GET */
    const char *content_type; /* of the body: application/x-www-form-urlencoded or application/json */
    bool tls_skip_verify;
    unsigned timeout_ms;
} oauth_fetch_request;

/* Starts the exchange (the request's strings are copied); cb runs once on
 * the loop, unless oauth_fetch_cancel comes first. Returns the exchange
 * (borrowed until cb or the cancel). */
oauth_fetch *oauth_fetch_start(struct curl_loop *cl, const oauth_fetch_request *req, oauth_fetch_cb cb, void *ctx);

/* No callback after this; the transfer is dropped. NULL is accepted. */
void oauth_fetch_cancel(oauth_fetch *f);

#endif
