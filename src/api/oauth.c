/* oauth.c - logging remote servers in: POST /api/servers/{name}/login and
 * /logout (called from servers.c), and GET /oauth/callback, where the
 * user's browser comes back from the authorization server.
 *
 * The callback needs no API key: a browser following the authorization
 * server's redirect cannot carry one. It is guarded by the login's
 * `state` instead: random, single use, valid for a few minutes, known
 * only to whoever started the login (with the key) — a forged, replayed
 * or expired state is refused and changes nothing. */
#include "api/oauth.h"

#include "api/routes.h"
#include "core/log.h"
#include "core/util.h"
#include "upstream/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A login or a callback answered later; freed by its callback, which the
 * manager calls exactly once. */
typedef struct waiting {
    http_pending *http;
    bool gone;
    char *server;
} waiting;

static void waiting_gone(void *ctx)
{
    waiting *w = ctx;
    w->gone = true;
}

static waiting *waiting_new(const http_request *req, const char *server)
{
    waiting *w = xcalloc(1, sizeof(*w));
    w->server = server ? xstrdup(server) : NULL;
    w->http = http_respond_later(req, waiting_gone, w);
    return w;
}

static void waiting_finish(waiting *w, int status, const char *type, const char *body)
{
    if (w->gone)
        http_pending_release(w->http);
    else
        http_pending_finish(w->http, status, type, body, strlen(body));
    free(w->server);
    free(w);
}

static void login_answered(const char *url, const char *error, void *ctx)
{
    waiting *w = ctx;
    json_t *body = url ? json_pack("{s:s, s:s}", "server", w->server, "authorization_url", url)
                       : json_pack("{s:s}", "error", error ? error : "the login could not start");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    waiting_finish(w, url ? 200 : 502, "application/json", text);
    free(text);
}

void api_server_login(app *a, const char *name, const http_request *req, http_response *res)
{
    (void)res; /* answered through the pending handle, which exists before any callback can run */
    char err[512];
    waiting *w = waiting_new(req, name);
    if (!manager_login(a->manager, name, login_answered, w, err, sizeof err)) {
        json_t *body = json_pack("{s:s}", "error", err);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        waiting_finish(w, 409, "application/json", text);
        free(text);
    }
}

void api_server_logout(app *a, const char *name, http_response *res)
{
    char err[512];
    if (!manager_logout(a->manager, name, err, sizeof err)) {
        http_respond_error(res, strstr(err, "token file") ? 500 : 409, "%s", err);
        return;
    }
    http_respond_json(res, 200, manager_server_status_json(a->manager, name));
}

/* ---- GET /oauth/callback ------------------------------------------------- */

static void html_escaped(strbuf *sb, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '<':
            strbuf_appendf(sb, "&lt;");
            break;
        case '>':
            strbuf_appendf(sb, "&gt;");
            break;
        case '&':
            strbuf_appendf(sb, "&amp;");
            break;
        case '"':
            strbuf_appendf(sb, "&quot;");
            break;
        case '\'':
            strbuf_appendf(sb, "&#39;");
            break;
        default:
            strbuf_append(sb, c, 1);
        }
    }
}

static char *page(const char *title, const char *text)
{
    strbuf sb = {0};
    strbuf_appendf(&sb, "<!doctype html><meta charset=utf-8><title>mcpproxy: ");
    html_escaped(&sb, title);
    strbuf_appendf(&sb, "</title><h1>");
    html_escaped(&sb, title);
    strbuf_appendf(&sb, "</h1><p>");
    html_escaped(&sb, text);
    strbuf_appendf(&sb, "</p>\n");
    return sb.data;
}

static void callback_done(const char *error, void *ctx)
{
    waiting *w = ctx;
    char *body = error ? page("Login failed", error)
                       : page("Logged in", "mcpproxy is connecting to the server now. You can close this tab.");
    waiting_finish(w, error ? 502 : 200, "text/html; charset=utf-8", body);
    free(body);
}

static void respond_page(http_response *res, int status, const char *title, const char *text)
{
    char *body = page(title, text);
    http_respond_bytes(res, status, "text/html; charset=utf-8", body, strlen(body));
    free(body);
}

bool api_oauth_route(void *ctx, const http_request *req, http_response *res)
{
    app *a = ctx;
    if (strcmp(req->path, "/oauth/callback") != 0)
        return false;
    if (req->method != HTTP_GET) {
        http_respond_not_allowed(res, "GET");
        return true;
    }
    if (!a->manager) {
        respond_page(res, 503, "Not ready", "mcpproxy is starting; try again in a moment.");
        return true;
    }
    char state[128] = "", code[HTTP_MAX_QUERY_PARAM + 1] = "", error[256] = "";
    int has_state = http_query_get(req->query, "state", state, sizeof state);
    int has_code = http_query_get(req->query, "code", code, sizeof code);
    int has_error = http_query_get(req->query, "error", error, sizeof error);
    if (has_state != 1 || has_code < 0 || has_error < 0) {
        respond_page(res, 400, "Not a valid login",
                     "This address lacks a valid state parameter. Start the login again (mcpproxy auth login NAME, or "
                     "Log in on the dashboard).");
        return true;
    }
    if (req->head) {
        /* HEAD answers as GET would begin to, and changes nothing: a link
         * checker or prefetcher must not use up the login's state. */
        bool live = manager_oauth_state_known(a->manager, state);
        memset(code, 0, sizeof code);
        respond_page(res, live ? 200 : 400, live ? "Logging in" : "Not a valid login",
                     live ? "Open this address with GET to complete the login."
                          : "This login is unknown, was already used, or has expired.");
        return true;
    }
    waiting *w = waiting_new(req, NULL);
    bool known = manager_oauth_callback(a->manager, state, has_code == 1 ? code : NULL, has_error == 1 ? error : NULL,
                                        callback_done, w);
    memset(code, 0, sizeof code);
    if (!known) {
        log_msg(LOG_WARN, "OAuth callback refused: unknown, used or expired state");
        char *body = page("Not a valid login", "This login is unknown, was already used, or has expired. Start the "
                                               "login again (mcpproxy auth login NAME, or Log in on the dashboard).");
        waiting_finish(w, 400, "text/html; charset=utf-8", body);
        free(body);
    }
    return true;
}
