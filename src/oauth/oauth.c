/* oauth.c - discovery, registration, login and refresh for one remote
 * server (oauth.h). */
#include "oauth/oauth.h"

#include "core/log.h"
#include "core/util.h"
#include "oauth/oauth_fetch.h"
#include "oauth/oauth_parse.h"
#include "oauth/oauth_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REASON_LEN 512
/* A token is refreshed a third of its life before it expires, at most
 * this long before. */
#define REFRESH_AHEAD_MAX_MS 60000

typedef enum step { STEP_IDLE, STEP_RESOURCE, STEP_SERVER, STEP_REGISTER, STEP_CALLBACK, STEP_EXCHANGE } step;

struct oauth_flow {
    uv_loop_t *loop;
    struct curl_loop *curl;
    oauth_store *store;
    oauth_flow_callbacks cbs;
    void *ctx;
    char *name, *url, *redirect_uri;
    oauth_settings settings;
    bool tls_skip_verify;
    uint32_t timeout_ms;
    bool paused; /* the server is disabled: no refresh */

    /* The tokens in use (from the store, a login or a refresh). */
    char *access_token, *refresh_token;
    int64_t issued_at_ms, expires_at_ms; /* 0: unknown */
    char *token_endpoint, *client_id, *client_secret, *resource;
    bool client_registered; /* client_id came from dynamic registration (reused by later logins) */

    /* The server's last 401 challenge. */
    char *challenge_metadata, *challenge_scope;

    /* A login under way. */
    step step;
    char *candidates[3];
    size_t n_candidates, next_candidate;
    char *last_failure; /* of the candidate URLs, for the message */
    oauth_fetch *fetch;
    char *issuer, *authorization_endpoint, *registration_endpoint, *login_token_endpoint, *login_resource;
    char *login_client_id, *login_client_secret, *login_scope;
    bool registered; /* the login's client was registered dynamically */
    char state[65];
    char verifier[44];
    uint64_t state_expires_ms;
    oauth_login_cb login_cb;
    void *login_ctx;
    oauth_done_cb done_cb;
    void *done_ctx;

    /* Refresh. */
    oauth_fetch *refresh_fetch;
    bool refresh_asked; /* oauth_flow_refresh wants the one under way: no retry of our own */
    uv_timer_t timer;
    void (*close_done)(void *ctx);
    void *close_ctx;
};

static void set_str(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? xstrdup(value) : NULL;
}

/* Frees a string that may hold a secret, wiping it first. */
static void wipe(char **slot)
{
    if (*slot)
        memset(*slot, 0, strlen(*slot));
    free(*slot);
    *slot = NULL;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && *v ? v : NULL;
}

/* Wall-clock milliseconds: expiries are kept in the token file across
 * restarts, so not the loop's monotonic clock. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_settings(oauth_settings *dst, const oauth_settings *src)
{
    dst->present = src->present;
    set_str(&dst->client_id, src->client_id);
    set_str(&dst->client_secret, src->client_secret);
    set_str(&dst->scopes, src->scopes);
    set_str(&dst->redirect_uri, src->redirect_uri);
}

static void free_settings(oauth_settings *s)
{
    free(s->client_id);
    wipe(&s->client_secret);
    free(s->scopes);
    free(s->redirect_uri);
    *s = (oauth_settings){0};
}

/* ---- tokens -------------------------------------------------------------- */

static void drop_tokens(oauth_flow *f)
{
    wipe(&f->access_token);
    wipe(&f->refresh_token);
    f->issued_at_ms = f->expires_at_ms = 0;
    uv_timer_stop(&f->timer);
}

static void refresh_due(uv_timer_t *timer);

/* Arms the refresh ahead of expiry (when there is a refresh token and an
 * expiry). */
static void schedule_refresh(oauth_flow *f, uint64_t at_least_ms)
{
    uv_timer_stop(&f->timer);
    if (!f->refresh_token || !f->expires_at_ms || f->close_done || f->paused)
        return;
    int64_t life = f->expires_at_ms - f->issued_at_ms;
    int64_t ahead = life > 0 ? life / 3 : 0;
    if (ahead > REFRESH_AHEAD_MAX_MS)
        ahead = REFRESH_AHEAD_MAX_MS;
    int64_t wait = f->expires_at_ms - ahead - now_ms();
    if (wait < (int64_t)at_least_ms)
        wait = (int64_t)at_least_ms;
    uv_timer_start(&f->timer, refresh_due, (uint64_t)wait, 0);
}

/* Reads the server's entry of the store. */
static void load_tokens(oauth_flow *f)
{
    drop_tokens(f);
    json_t *e = oauth_store_get(f->store, f->name, f->url);
    set_str(&f->token_endpoint, jstr(e, "token_endpoint"));
    set_str(&f->client_id, jstr(e, "client_id"));
    wipe(&f->client_secret);
    f->client_secret = jstr(e, "client_secret") ? xstrdup(jstr(e, "client_secret")) : NULL;
    set_str(&f->resource, jstr(e, "resource"));
    f->client_registered = json_is_true(json_object_get(e, "registered"));
    if (jstr(e, "access_token"))
        f->access_token = xstrdup(jstr(e, "access_token"));
    if (jstr(e, "refresh_token"))
        f->refresh_token = xstrdup(jstr(e, "refresh_token"));
    f->expires_at_ms = json_integer_value(json_object_get(e, "expires_at"));
    f->issued_at_ms = json_integer_value(json_object_get(e, "issued_at"));
    /* A client from the config wins over one registered earlier. */
    if (f->settings.client_id && (!f->client_id || strcmp(f->client_id, f->settings.client_id) != 0)) {
        set_str(&f->client_id, f->settings.client_id);
        wipe(&f->client_secret);
        f->client_secret = f->settings.client_secret ? xstrdup(f->settings.client_secret) : NULL;
        f->client_registered = false;
    }
    schedule_refresh(f, 0);
}

/* The entry as the store keeps it. New reference. */
static json_t *entry_json(const oauth_flow *f)
{
    json_t *e = json_object();
    if (f->access_token)
        json_object_set_new(e, "access_token", json_string(f->access_token));
    if (f->refresh_token)
        json_object_set_new(e, "refresh_token", json_string(f->refresh_token));
    if (f->expires_at_ms) {
        json_object_set_new(e, "expires_at", json_integer(f->expires_at_ms));
        json_object_set_new(e, "issued_at", json_integer(f->issued_at_ms));
    }
    if (f->token_endpoint)
        json_object_set_new(e, "token_endpoint", json_string(f->token_endpoint));
    if (f->client_id)
        json_object_set_new(e, "client_id", json_string(f->client_id));
    if (f->client_secret)
        json_object_set_new(e, "client_secret", json_string(f->client_secret));
    if (f->resource)
        json_object_set_new(e, "resource", json_string(f->resource));
    if (f->client_registered)
        json_object_set_new(e, "registered", json_true());
    return e;
}

static void save(oauth_flow *f)
{
    char err[REASON_LEN];
    if (!oauth_store_put(f->store, f->name, f->url, entry_json(f), err, sizeof err))
        log_kv(LOG_ERROR, "OAuth tokens not saved", LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", err)));
}

/* A token endpoint's answer: the tokens are taken when it holds an
 * access_token (true); else *why says what it said. */
static bool take_tokens(oauth_flow *f, const oauth_fetch_result *r, const char *what, char why[REASON_LEN])
{
    const char *access = jstr(r->json, "access_token");
    if (r->error) {
        snprintf(why, REASON_LEN, "%s failed: authorization server %s did not answer (%s)", what, f->token_endpoint,
                 r->error);
        return false;
    }
    if (r->status != 200 || !access) {
        const char *e = jstr(r->json, "error"), *d = jstr(r->json, "error_description");
        snprintf(why, REASON_LEN, "%s refused by %s: HTTP %ld%s%s%s%.200s", what, f->token_endpoint, r->status,
                 e ? " " : "", e ? e : "", d ? ": " : "", d ? d : "");
        return false;
    }
    wipe(&f->access_token);
    f->access_token = xstrdup(access);
    const char *refresh = jstr(r->json, "refresh_token");
    if (refresh) { /* rotated, or the first one; else the old one stays */
        wipe(&f->refresh_token);
        f->refresh_token = xstrdup(refresh);
    }
    json_t *exp = json_object_get(r->json, "expires_in");
    f->issued_at_ms = now_ms();
    f->expires_at_ms = json_is_number(exp) && json_number_value(exp) > 0
                           ? f->issued_at_ms + (int64_t)(json_number_value(exp) * 1000)
                           : 0;
    return true;
}

/* ---- refresh ------------------------------------------------------------- */

static void refreshed(const oauth_fetch_result *r, void *ctx)
{
    oauth_flow *f = ctx;
    f->refresh_fetch = NULL;
    bool asked = f->refresh_asked;
    f->refresh_asked = false;
    char why[REASON_LEN];
    if (take_tokens(f, r, "the token refresh", why)) {
        log_kv(LOG_INFO, "OAuth token refreshed", LOG_FIELDS(LOG_STR("server", f->name)));
        save(f);
        schedule_refresh(f, 0);
        f->cbs.on_refreshed(OAUTH_REFRESHED, NULL, f->ctx);
        return;
    }
    if (r->error) {
        /* No answer: the tokens may still be good. Ahead of expiry we try
         * again; after a 401 the manager retries with its backoff. */
        bool again = !asked && !f->paused;
        if (again) {
            log_kv(LOG_WARN, "OAuth token refresh failed; trying again",
                   LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", why), LOG_INT("retry_ms", OAUTH_RETRY_MS)));
            uv_timer_start(&f->timer, refresh_due, OAUTH_RETRY_MS, 0);
        } else {
            log_kv(LOG_WARN, "OAuth token refresh failed",
                   LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", why)));
        }
        f->cbs.on_refreshed(OAUTH_REFRESH_UNANSWERED, why, f->ctx);
        return;
    }
    log_kv(LOG_WARN, "OAuth token refresh refused: login required",
           LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", why)));
    drop_tokens(f);
    save(f);
    f->cbs.on_refreshed(OAUTH_REFRESH_REFUSED, why, f->ctx);
}

static void start_refresh(oauth_flow *f, bool asked)
{
    if (f->close_done || f->paused)
        return;
    if (f->refresh_fetch) {
        f->refresh_asked = f->refresh_asked || asked;
        return;
    }
    uv_timer_stop(&f->timer);
    if (!f->refresh_token || !f->token_endpoint || !f->client_id) {
        drop_tokens(f);
        f->cbs.on_refreshed(OAUTH_REFRESH_REFUSED, "no refresh token", f->ctx);
        return;
    }
    f->refresh_asked = asked;
    strbuf body = {0};
    oauth_form_add(&body, "grant_type", "refresh_token");
    oauth_form_add(&body, "refresh_token", f->refresh_token);
    oauth_form_add(&body, "client_id", f->client_id);
    if (f->client_secret)
        oauth_form_add(&body, "client_secret", f->client_secret);
    if (f->resource)
        oauth_form_add(&body, "resource", f->resource);
    oauth_fetch_request req = {.url = f->token_endpoint,
                               .body = body.data,
                               .content_type = "application/x-www-form-urlencoded",
                               .tls_skip_verify = f->tls_skip_verify,
                               .timeout_ms = f->timeout_ms};
    f->refresh_fetch = oauth_fetch_start(f->curl, &req, refreshed, f);
    memset(body.data, 0, body.len);
    strbuf_free(&body);
}

static void refresh_due(uv_timer_t *timer)
{
    start_refresh(timer->data, false);
}

void oauth_flow_refresh(oauth_flow *f)
{
    start_refresh(f, true);
}

void oauth_flow_set_paused(oauth_flow *f, bool paused)
{
    if (f->paused == paused)
        return;
    f->paused = paused;
    /* A refresh under way is left to finish: the authorization server may
     * already have rotated the refresh token, and only its answer has the
     * new one. Nothing is scheduled after it while paused. */
    if (paused)
        uv_timer_stop(&f->timer);
    else if (!f->refresh_fetch)
        schedule_refresh(f, 0);
}

/* ---- login --------------------------------------------------------------- */

static void clear_candidates(oauth_flow *f)
{
    for (size_t i = 0; i < f->n_candidates; i++)
        free(f->candidates[i]);
    f->n_candidates = f->next_candidate = 0;
    free(f->last_failure);
    f->last_failure = NULL;
}

/* Forgets the login under way (not its pending answers). */
static void login_reset(oauth_flow *f)
{
    oauth_fetch_cancel(f->fetch);
    f->fetch = NULL;
    clear_candidates(f);
    free(f->issuer), free(f->authorization_endpoint), free(f->registration_endpoint);
    free(f->login_token_endpoint), free(f->login_resource), free(f->login_client_id), free(f->login_scope);
    f->issuer = f->authorization_endpoint = f->registration_endpoint = f->login_token_endpoint = NULL;
    f->login_resource = f->login_client_id = f->login_scope = NULL;
    wipe(&f->login_client_secret);
    memset(f->state, 0, sizeof f->state);
    memset(f->verifier, 0, sizeof f->verifier);
    f->state_expires_ms = 0;
    f->registered = false;
    f->step = STEP_IDLE;
}

static void login_answer(oauth_flow *f, const char *url, const char *error)
{
    oauth_login_cb cb = f->login_cb;
    f->login_cb = NULL;
    if (cb)
        cb(url, error, f->login_ctx);
}

static void login_fail(oauth_flow *f, const char *error)
{
    log_kv(LOG_WARN, "OAuth login cannot start", LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", error)));
    login_reset(f);
    login_answer(f, NULL, error);
}

static void fetch_next(oauth_flow *f);

static void authorization_url(oauth_flow *f)
{
    char challenge[44];
    oauth_pkce(f->verifier, challenge);
    unsigned char raw[32];
    random_bytes(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(f->state + 2 * i, 3, "%02x", raw[i]);
    f->state_expires_ms = (uint64_t)now_ms() + OAUTH_STATE_TTL_MS;
    strbuf q = {0};
    oauth_form_add(&q, "response_type", "code");
    oauth_form_add(&q, "client_id", f->login_client_id);
    oauth_form_add(&q, "redirect_uri", f->redirect_uri);
    oauth_form_add(&q, "code_challenge", challenge);
    oauth_form_add(&q, "code_challenge_method", "S256");
    oauth_form_add(&q, "state", f->state);
    oauth_form_add(&q, "resource", f->login_resource);
    if (f->login_scope)
        oauth_form_add(&q, "scope", f->login_scope);
    strbuf url = {0};
    strbuf_appendf(&url, "%s%s%s", f->authorization_endpoint, strchr(f->authorization_endpoint, '?') ? "&" : "?",
                   q.data);
    strbuf_free(&q);
    f->step = STEP_CALLBACK;
    log_kv(LOG_INFO, "OAuth login ready: waiting for the browser",
           LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("authorization_server", f->issuer),
                      LOG_STR("client", f->registered ? "registered" : "configured")));
    login_answer(f, url.data, NULL);
    strbuf_free(&url);
}

static void registered(const oauth_fetch_result *r, void *ctx)
{
    oauth_flow *f = ctx;
    f->fetch = NULL;
    const char *id = jstr(r->json, "client_id");
    char why[REASON_LEN];
    if (r->error || (r->status != 201 && r->status != 200) || !id) {
        const char *e = jstr(r->json, "error"), *d = jstr(r->json, "error_description");
        if (r->error)
            snprintf(why, sizeof why, "dynamic client registration at %s got no answer: %s", f->registration_endpoint,
                     r->error);
        else
            snprintf(why, sizeof why,
                     "dynamic client registration at %s was refused (HTTP %ld%s%s%s%.200s); set oauth.client_id",
                     f->registration_endpoint, r->status, e ? " " : "", e ? e : "", d ? ": " : "", d ? d : "");
        login_fail(f, why);
        return;
    }
    set_str(&f->login_client_id, id);
    wipe(&f->login_client_secret);
    if (jstr(r->json, "client_secret"))
        f->login_client_secret = xstrdup(jstr(r->json, "client_secret"));
    f->registered = true;
    /* Kept with the tokens, so a later login or a refresh uses it again. */
    wipe(&f->client_secret);
    set_str(&f->client_id, f->login_client_id);
    f->client_secret = f->login_client_secret ? xstrdup(f->login_client_secret) : NULL;
    set_str(&f->token_endpoint, f->login_token_endpoint);
    set_str(&f->resource, f->login_resource);
    f->client_registered = true;
    save(f);
    authorization_url(f);
}

static void register_client(oauth_flow *f)
{
    f->step = STEP_REGISTER;
    json_t *body = json_pack("{s:s, s:[s], s:[s,s], s:[s], s:s}", "client_name", "mcpproxy", "redirect_uris",
                             f->redirect_uri, "grant_types", "authorization_code", "refresh_token", "response_types",
                             "code", "token_endpoint_auth_method", "none");
    if (f->login_scope)
        json_object_set_new(body, "scope", json_string(f->login_scope));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    oauth_fetch_request req = {.url = f->registration_endpoint,
                               .body = text,
                               .content_type = "application/json",
                               .tls_skip_verify = f->tls_skip_verify,
                               .timeout_ms = f->timeout_ms};
    f->fetch = oauth_fetch_start(f->curl, &req, registered, f);
    free(text);
}

/* The authorization server is known: pick the client. */
static void choose_client(oauth_flow *f)
{
    if (f->settings.client_id) {
        set_str(&f->login_client_id, f->settings.client_id);
        wipe(&f->login_client_secret);
        if (f->settings.client_secret)
            f->login_client_secret = xstrdup(f->settings.client_secret);
        authorization_url(f);
        return;
    }
    json_t *e = oauth_store_get(f->store, f->name, f->url);
    if (json_is_true(json_object_get(e, "registered")) && jstr(e, "client_id") && jstr(e, "token_endpoint") &&
        strcmp(jstr(e, "token_endpoint"), f->login_token_endpoint) == 0) {
        set_str(&f->login_client_id, jstr(e, "client_id"));
        wipe(&f->login_client_secret);
        if (jstr(e, "client_secret"))
            f->login_client_secret = xstrdup(jstr(e, "client_secret"));
        f->registered = true;
        authorization_url(f);
        return;
    }
    if (!f->registration_endpoint) {
        char why[REASON_LEN];
        snprintf(why, sizeof why,
                 "the authorization server %s offers no dynamic client registration: register mcpproxy there (redirect "
                 "URI %s) and set oauth.client_id",
                 f->issuer, f->redirect_uri);
        login_fail(f, why);
        return;
    }
    register_client(f);
}

/* One metadata document came (or a candidate failed: try the next). */
static void metadata_answer(const oauth_fetch_result *r, void *ctx)
{
    oauth_flow *f = ctx;
    f->fetch = NULL;
    const char *url = f->candidates[f->next_candidate - 1];
    bool usable = !r->error && r->status == 200 && json_is_object(r->json);
    char why[REASON_LEN];
    if (usable && f->step == STEP_RESOURCE) {
        json_t *servers = json_object_get(r->json, "authorization_servers");
        const char *issuer = json_string_value(json_array_get(servers, 0));
        const char *resource = jstr(r->json, "resource");
        if (!issuer) {
            usable = false;
        } else if (resource && !oauth_resource_matches(resource, f->url)) {
            snprintf(why, sizeof why, "the protected resource metadata at %s is for another resource (%.200s), not %s",
                     url, resource, f->url);
            login_fail(f, why);
            return;
        } else {
            set_str(&f->issuer, issuer);
            set_str(&f->login_resource, resource ? resource : f->url);
            if (!f->login_scope) {
                json_t *scopes = json_object_get(r->json, "scopes_supported");
                strbuf sb = {0};
                size_t i;
                json_t *s;
                json_array_foreach(scopes, i, s) {
                    if (json_is_string(s))
                        strbuf_appendf(&sb, "%s%s", sb.len ? " " : "", json_string_value(s));
                }
                f->login_scope = sb.data;
            }
            clear_candidates(f);
            f->n_candidates = oauth_server_metadata_urls(f->issuer, f->candidates);
            f->step = STEP_SERVER;
            fetch_next(f);
            return;
        }
    } else if (usable && f->step == STEP_SERVER) {
        const char *authz = jstr(r->json, "authorization_endpoint"), *token = jstr(r->json, "token_endpoint");
        json_t *methods = json_object_get(r->json, "code_challenge_methods_supported");
        bool s256 = !methods;
        size_t i;
        json_t *m;
        json_array_foreach(methods, i, m) {
            s256 = s256 || (json_is_string(m) && strcmp(json_string_value(m), "S256") == 0);
        }
        if (!authz || !token) {
            usable = false;
        } else if (!s256) {
            snprintf(why, sizeof why, "the authorization server %s does not support PKCE with S256", f->issuer);
            login_fail(f, why);
            return;
        } else {
            set_str(&f->authorization_endpoint, authz);
            set_str(&f->login_token_endpoint, token);
            set_str(&f->registration_endpoint, jstr(r->json, "registration_endpoint"));
            clear_candidates(f);
            choose_client(f);
            return;
        }
    }
    free(f->last_failure);
    strbuf sb = {0};
    if (r->error)
        strbuf_appendf(&sb, "%s: %s", url, r->error);
    else
        strbuf_appendf(&sb, "%s: HTTP %ld%s", url, r->status, r->status == 200 ? " (not usable metadata)" : "");
    f->last_failure = sb.data;
    fetch_next(f);
}

static void fetch_next(oauth_flow *f)
{
    if (f->next_candidate >= f->n_candidates) {
        char why[REASON_LEN];
        snprintf(why, sizeof why, "no %s metadata found (last tried %.300s)",
                 f->step == STEP_RESOURCE ? "OAuth protected resource" : "OAuth authorization server",
                 f->last_failure ? f->last_failure : "nothing");
        login_fail(f, why);
        return;
    }
    oauth_fetch_request req = {
        .url = f->candidates[f->next_candidate++], .tls_skip_verify = f->tls_skip_verify, .timeout_ms = f->timeout_ms};
    f->fetch = oauth_fetch_start(f->curl, &req, metadata_answer, f);
}

bool oauth_flow_login(oauth_flow *f, oauth_login_cb cb, void *ctx)
{
    if (f->login_cb || f->step == STEP_EXCHANGE || f->close_done)
        return false;
    login_reset(f); /* a login waiting for its callback is replaced: its state is no longer valid */
    f->login_cb = cb;
    f->login_ctx = ctx;
    f->login_scope = f->settings.scopes   ? xstrdup(f->settings.scopes)
                     : f->challenge_scope ? xstrdup(f->challenge_scope)
                                          : NULL;
    f->step = STEP_RESOURCE;
    if (f->challenge_metadata) {
        f->candidates[0] = xstrdup(f->challenge_metadata);
        f->n_candidates = 1;
    } else {
        f->n_candidates = oauth_resource_metadata_urls(f->url, f->candidates);
    }
    log_kv(LOG_INFO, "OAuth login: discovering", LOG_FIELDS(LOG_STR("server", f->name)));
    fetch_next(f);
    return true;
}

bool oauth_flow_owns_state(const oauth_flow *f, const char *state)
{
    return f->step == STEP_CALLBACK && state && f->state[0] && (uint64_t)now_ms() < f->state_expires_ms &&
           secure_equals(state, strlen(state), f->state, strlen(f->state));
}

static void done_answer(oauth_flow *f, const char *error)
{
    oauth_done_cb cb = f->done_cb;
    f->done_cb = NULL;
    if (cb)
        cb(error, f->done_ctx);
}

static void exchanged(const oauth_fetch_result *r, void *ctx)
{
    oauth_flow *f = ctx;
    f->fetch = NULL;
    /* The login's client and endpoint become the ones in use (a failed
     * exchange restores what the token file holds). */
    set_str(&f->token_endpoint, f->login_token_endpoint);
    set_str(&f->client_id, f->login_client_id);
    wipe(&f->client_secret);
    f->client_secret = f->login_client_secret ? xstrdup(f->login_client_secret) : NULL;
    set_str(&f->resource, f->login_resource);
    f->client_registered = f->registered;
    char why[REASON_LEN];
    bool ok = take_tokens(f, r, "the authorization code exchange", why);
    login_reset(f);
    if (!ok) {
        log_kv(LOG_WARN, "OAuth login failed", LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", why)));
        load_tokens(f);
        done_answer(f, why);
        f->cbs.on_login(why, f->ctx);
        return;
    }
    log_kv(LOG_INFO, "OAuth login completed", LOG_FIELDS(LOG_STR("server", f->name)));
    save(f);
    schedule_refresh(f, 0);
    done_answer(f, NULL);
    f->cbs.on_login(NULL, f->ctx);
}

void oauth_flow_complete(oauth_flow *f, const char *code, const char *error, oauth_done_cb cb, void *ctx)
{
    /* Used up now, whatever follows: a replayed callback finds no state. */
    memset(f->state, 0, sizeof f->state);
    f->state_expires_ms = 0;
    f->done_cb = cb;
    f->done_ctx = ctx;
    char why[REASON_LEN];
    if (error || !code || !*code) {
        snprintf(why, sizeof why, "the authorization server did not authorize mcpproxy: %.200s",
                 error ? error : "no code in the redirect");
        log_kv(LOG_WARN, "OAuth login failed", LOG_FIELDS(LOG_STR("server", f->name), LOG_STR("reason", why)));
        login_reset(f);
        done_answer(f, why);
        f->cbs.on_login(why, f->ctx);
        return;
    }
    f->step = STEP_EXCHANGE;
    strbuf body = {0};
    oauth_form_add(&body, "grant_type", "authorization_code");
    oauth_form_add(&body, "code", code);
    oauth_form_add(&body, "redirect_uri", f->redirect_uri);
    oauth_form_add(&body, "client_id", f->login_client_id);
    oauth_form_add(&body, "code_verifier", f->verifier);
    oauth_form_add(&body, "resource", f->login_resource);
    if (f->login_client_secret)
        oauth_form_add(&body, "client_secret", f->login_client_secret);
    oauth_fetch_request req = {.url = f->login_token_endpoint,
                               .body = body.data,
                               .content_type = "application/x-www-form-urlencoded",
                               .tls_skip_verify = f->tls_skip_verify,
                               .timeout_ms = f->timeout_ms};
    f->fetch = oauth_fetch_start(f->curl, &req, exchanged, f);
    memset(body.data, 0, body.len);
    strbuf_free(&body);
}

/* ---- the rest ------------------------------------------------------------ */

const char *oauth_flow_access_token(const oauth_flow *f)
{
    return f->access_token;
}

bool oauth_flow_can_refresh(const oauth_flow *f)
{
    return f->refresh_token && f->token_endpoint && f->client_id;
}

void oauth_flow_set_challenge(oauth_flow *f, const char *www_authenticate)
{
    free(f->challenge_metadata);
    free(f->challenge_scope);
    f->challenge_metadata = oauth_challenge_param(www_authenticate, "resource_metadata");
    f->challenge_scope = oauth_challenge_param(www_authenticate, "scope");
}

bool oauth_flow_forget(oauth_flow *f, char *err, size_t err_len)
{
    drop_tokens(f);
    oauth_fetch_cancel(f->refresh_fetch);
    f->refresh_fetch = NULL;
    f->refresh_asked = false;
    set_str(&f->token_endpoint, NULL);
    set_str(&f->client_id, NULL);
    wipe(&f->client_secret);
    f->client_registered = false;
    return oauth_store_remove(f->store, f->name, err, err_len);
}

/* Answers what waits with `why` and stops what runs. */
static void give_up(oauth_flow *f, const char *why)
{
    oauth_fetch_cancel(f->refresh_fetch);
    f->refresh_fetch = NULL;
    f->refresh_asked = false;
    login_reset(f);
    login_answer(f, NULL, why);
    done_answer(f, why);
}

static void apply_options(oauth_flow *f, const oauth_flow_options *opts)
{
    set_str(&f->name, opts->server_name);
    set_str(&f->url, opts->server_url);
    copy_settings(&f->settings, opts->settings);
    set_str(&f->redirect_uri, opts->settings->redirect_uri ? opts->settings->redirect_uri : opts->redirect_uri);
    f->tls_skip_verify = opts->tls_skip_verify;
    f->timeout_ms = opts->timeout_ms;
    f->paused = opts->paused;
}

oauth_flow *oauth_flow_create(uv_loop_t *loop, const oauth_flow_options *opts, const oauth_flow_callbacks *cbs,
                              void *ctx)
{
    oauth_flow *f = xcalloc(1, sizeof(*f));
    f->loop = loop;
    f->curl = opts->curl;
    f->store = opts->store;
    f->cbs = *cbs;
    f->ctx = ctx;
    uv_timer_init(loop, &f->timer);
    f->timer.data = f;
    apply_options(f, opts);
    load_tokens(f);
    return f;
}

void oauth_flow_reconfigure(oauth_flow *f, const oauth_flow_options *opts)
{
    give_up(f, "the server's settings changed; start the login again");
    apply_options(f, opts);
    load_tokens(f);
}

static void timer_closed(uv_handle_t *h)
{
    oauth_flow *f = h->data;
    f->close_done(f->close_ctx);
}

void oauth_flow_close(oauth_flow *f, void (*done)(void *ctx), void *ctx)
{
    f->close_done = done;
    f->close_ctx = ctx;
    give_up(f, "the server was removed, or mcpproxy is stopping");
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, timer_closed);
}

void oauth_flow_destroy(oauth_flow *f)
{
    if (!f)
        return;
    drop_tokens(f);
    clear_candidates(f);
    free(f->name), free(f->url), free(f->redirect_uri);
    free_settings(&f->settings);
    free(f->token_endpoint), free(f->client_id), free(f->resource);
    wipe(&f->client_secret);
    free(f->challenge_metadata), free(f->challenge_scope);
    free(f);
}
