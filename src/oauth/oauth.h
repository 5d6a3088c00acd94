/* oauth.h - OAuth 2.1 for one remote server (MCP authorization, 2025-06-18):
 * discovery, dynamic registration, the authorization code flow with PKCE,
 * refresh. One oauth_flow per remote server, owned by the manager.
 *
 * Login (oauth_flow_login), all on the curl_loop:
 *   1. protected resource metadata (RFC 9728): the URL of the server's
 *      WWW-Authenticate `resource_metadata`, else the well-known URLs;
 *      its first `authorization_servers` entry is the issuer;
 *   2. authorization server metadata (RFC 8414, then OpenID Connect
 *      discovery); S256 must be supported when the server lists methods;
 *   3. the client: oauth.client_id from the config, else one registered
 *      earlier with this authorization server (kept in the token file),
 *      else dynamic registration (RFC 7591) as a public client;
 *   4. the authorization URL: code, PKCE S256, a random `state` (single
 *      use, valid OAUTH_STATE_TTL_MS), `resource` (RFC 8707), scopes.
 * The browser comes back to the proxy's /oauth/callback with the state and
 * the code (oauth_flow_complete): the code is exchanged at the token
 * endpoint, the tokens are written to the token file (oauth_store.h) and
 * on_login fires (the manager starts the server with them). A callback
 * that fails (the authorization server said no, or refused the exchange)
 * fires on_login with the reason: whoever waits for the login learns it.
 *
 * Tokens: the access token goes with every request of the server's
 * transport (oauth_flow_access_token); it is refreshed ahead of expiry (a
 * third of its life before, at most 60 s) and when the server answers 401
 * (oauth_flow_refresh). A refresh the authorization server refuses forgets
 * the tokens and reports why (OAUTH_REFRESH_REFUSED): the server needs a
 * new login. A refresh that gets no answer keeps the tokens and reports
 * it (OAUTH_REFRESH_UNANSWERED); one ahead of expiry is then tried again
 * every OAUTH_RETRY_MS, one asked for (after a 401) is left to the caller
 * (the manager's backoff). A paused flow (its server disabled) refreshes
 * nothing until it is resumed. No token, code, verifier or secret is ever
 * logged or put into a message. */
#ifndef MCPPROXY_OAUTH_H
#define MCPPROXY_OAUTH_H

#include "config/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define OAUTH_STATE_TTL_MS (10 * 60 * 1000)
#define OAUTH_RETRY_MS 5000

struct curl_loop;
struct oauth_store;
typedef struct oauth_flow oauth_flow;

typedef struct oauth_flow_options {
    const char *server_name;        /* copied */
    const char *server_url;         /* copied; the resource */
    const oauth_settings *settings; /* copied */
    bool tls_skip_verify;
    const char *redirect_uri;  /* when settings have none: the proxy's /oauth/callback; copied */
    uint32_t timeout_ms;       /* each HTTP exchange */
    struct curl_loop *curl;    /* borrowed; outlives the flow */
    struct oauth_store *store; /* borrowed; outlives the flow */
    bool paused;               /* no refresh until oauth_flow_set_paused(false) */
} oauth_flow_options;

typedef enum oauth_refresh_result {
    OAUTH_REFRESHED,         /* new tokens in place */
    OAUTH_REFRESH_REFUSED,   /* the tokens are forgotten: a new login is needed */
    OAUTH_REFRESH_UNANSWERED /* the authorization server did not answer; the tokens stay */
} oauth_refresh_result;

typedef struct oauth_flow_callbacks {
    /* A login's callback ended: error NULL, the tokens are in place; else
     * why it failed in plain words (borrowed; the tokens held before stay). */
    void (*on_login)(const char *error, void *ctx);
    /* A refresh ended; reason in plain words (borrowed) unless refreshed. */
    void (*on_refreshed)(oauth_refresh_result result, const char *reason, void *ctx);
} oauth_flow_callbacks;

/* The answer to a login start: the URL to open, or why there is none
 * (both borrowed for the call). */
typedef void (*oauth_login_cb)(const char *authorization_url, const char *error, void *ctx);
/* The end of a callback: NULL when logged in, else why not (borrowed). */
typedef void (*oauth_done_cb)(const char *error, void *ctx);

/* Reads the server's tokens from the store. Never NULL. `opts` and `cbs`
 * copied, `ctx` borrowed. */
oauth_flow *oauth_flow_create(uv_loop_t *loop, const oauth_flow_options *opts, const oauth_flow_callbacks *cbs,
                              void *ctx);

/* New settings (url, oauth, tls): a login under way is given up (its
 * pending answers get an error) and the tokens are read again (the store
 * gives them only for the same url). */
void oauth_flow_reconfigure(oauth_flow *f, const oauth_flow_options *opts);

/* Gives up what is under way (pending answers get an error), then closes
 * the timer; done runs once it is closed. */
void oauth_flow_close(oauth_flow *f, void (*done)(void *ctx), void *ctx);

/* After close's done; NULL is accepted. */
void oauth_flow_destroy(oauth_flow *f);

/* The access token to send, or NULL. Borrowed until the next change. */
const char *oauth_flow_access_token(const oauth_flow *f);

/* Whether a refresh token is at hand. */
bool oauth_flow_can_refresh(const oauth_flow *f);

/* Starts a refresh (no-op when one runs, or paused); on_refreshed reports
 * it. One that gets no answer is not tried again by the flow. */
void oauth_flow_refresh(oauth_flow *f);

/* Paused: no refresh is started or scheduled (one under way finishes, so
 * a rotated refresh token is not lost). Resumed: a refresh is scheduled
 * again, at once when the token is due. */
void oauth_flow_set_paused(oauth_flow *f, bool paused);

/* What the server said in its 401's WWW-Authenticate (borrowed): where its
 * metadata is, what scope it wants. NULL forgets it. */
void oauth_flow_set_challenge(oauth_flow *f, const char *www_authenticate);

/* Starts a login; cb runs exactly once (also when the flow is closed or
 * reconfigured first). false (and no cb) when one is already being
 * prepared. */
bool oauth_flow_login(oauth_flow *f, oauth_login_cb cb, void *ctx);

/* Whether `state` is this flow's live (unexpired, unused) login state. */
bool oauth_flow_owns_state(const oauth_flow *f, const char *state);

/* The browser came back with the flow's state: `code`, or the
 * authorization server's `error` (borrowed). The state is used up at once.
 * cb runs exactly once. */
void oauth_flow_complete(oauth_flow *f, const char *code, const char *error, oauth_done_cb cb, void *ctx);

/* Forgets the tokens and the registration (logout): the store entry goes.
 * false with err when the file could not be written. */
bool oauth_flow_forget(oauth_flow *f, char *err, size_t err_len);

#endif
