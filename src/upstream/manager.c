/* manager.c - per-server state machine, backoff, auto-disable, applying
 * config changes (config/diff.h says what changed). */
#include "upstream/manager.h"

#include "config/diff.h"
#include "core/log.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "core/util.h"
#include "upstream/backoff.h"
#include "upstream/line_ring.h"
#include "upstream/mcp_client.h"
#include "oauth/oauth.h"
#include "oauth/oauth_store.h"
#include "upstream/reaper.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines of stderr carried in connection_lost. */
#define STDERR_TAIL_LINES 20
/* server_log: at most this many stderr lines per server per second go on
 * the bus, each cut to LOG_EVENT_LINE_BYTES. A chatty server would otherwise
 * fill every client's queue and push the events that matter out of the
 * history ring; the logs API keeps every line the ring holds. */
#define LOG_EVENT_LINES_PER_SEC 50
#define LOG_EVENT_LINE_BYTES 1024
/* Bytes of the last stderr line quoted in last_error after a crash. */
#define LAST_LINE_IN_REASON 400
/* The longest a process stop waits for a server before SIGKILL, whatever
 * upstream.stop_grace_ms says: the app cuts what is still open 1.5 s after
 * SIGTERM, and a server still running then would keep it from exiting. */
#define SHUTDOWN_STOP_GRACE_MS 1000

typedef enum conn_state {
    CONN_DISCONNECTED,
    CONN_CONNECTING,
    CONN_DISCOVERING,
    CONN_READY,
    CONN_ERROR,
    CONN_LOGIN_REQUIRED
} conn_state;

static const char *const conn_state_names[] = {"Disconnected", "Connecting", "Discovering",
                                               "Ready",        "Error",      "Login required"};

/* What to do once a server we are stopping has exited. */
typedef enum after_exit { AFTER_NOTHING, AFTER_RESTART, AFTER_REMOVE, AFTER_LOGIN } after_exit;

typedef struct upstream {
    struct manager *m;
    struct upstream *next;
    server_config cfg; /* own copy of the server's settings */
    conn_state state;
    bool auto_disabled;
    struct mcp_client *client; /* NULL when no process runs */
    bool stopping;             /* we asked it to stop: its exit is no failure */
    bool removing;             /* deleted: invisible to find(), freed after exit */
    after_exit after;
    char *fail_reason;      /* why the client failed (on_failed), until the exit */
    uint32_t retry_count;   /* retries since the last stable Ready period */
    uint32_t failure_count; /* consecutive failures */
    char *last_error;       /* may quote the server's stderr: any text */
    bool connected;
    char connected_since[TIMESTAMP_LEN];
    uv_timer_t timer; /* retry backoff, or the Ready-reset period */
    line_ring stderr_ring;
    uint64_t log_window_ns; /* start of the current server_log second */
    uint32_t log_sent;      /* lines published in that second */
    uint64_t log_skipped;   /* lines not published since the last server_log */
    oauth_flow *oauth;      /* a remote server's OAuth (oauth.h), else NULL */
    bool sent_token;        /* the running connection sends an OAuth token */
    bool refresh_tried;     /* a 401 led to a refresh since the last Ready */
    bool awaiting_refresh;  /* ... which runs: the server starts once it ends */
    bool gate_waiting;      /* the start gate said wait (manager_gate_changed asks again) */
} upstream;

struct manager {
    app *a;
    upstream *servers;
    /* The upstreams find() sees (those not being removed), by name: a walk
     * of the list per server made applying a change to thousands of
     * servers quadratic. Keys are the upstreams' own cfg.name. */
    strmap by_name;
    upstream **tail;        /* the last upstream's `next` (&servers when none): O(1) appends */
    reaper *reaper;         /* adopts and kills what servers leave behind */
    struct curl_loop *curl; /* remote servers' HTTP; borrowed */
    oauth_store *tokens;    /* remote servers' OAuth tokens */
    char *redirect_uri;     /* the proxy's /oauth/callback */
    bool reaper_closing;    /* closed last, once every server is gone */
    bool stopping_all;
    int closing; /* handles still closing */
    void (*stop_done)(void *ctx);
    void *stop_ctx;
    manager_notification_fn notify; /* the sink of servers' notifications, or NULL */
    void *notify_ctx;
    manager_start_gate_fn gate; /* may a server start (manager_set_start_gate), or NULL */
    void *gate_ctx;
};

static void upstream_start(upstream *u);

/* ---- small helpers ---------------------------------------------------- */

static void set_str(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? xstrdup(value) : NULL;
}

static upstream *find(struct manager *m, const char *name)
{
    return strmap_get(&m->by_name, name);
}

/* Takes u out of find()'s sight (a removal), if it is in it. */
static void unindex(upstream *u)
{
    if (strmap_get(&u->m->by_name, u->cfg.name) == u)
        strmap_del(&u->m->by_name, u->cfg.name);
}

static size_t tool_count(const upstream *u)
{
    return u->client ? json_array_size(mcp_client_tools(u->client)) : 0;
}

/* Prompts or resources on offer: those of a Ready server only (a list is
 * complete only once the first round is in). */
static size_t list_count(const upstream *u, mcp_list_kind kind)
{
    return u->client && u->state == CONN_READY ? json_array_size(mcp_client_list(u->client, kind)) : 0;
}

static void publish(struct manager *m, event_type type, const char *server, const char *old_state,
                    const char *new_state, json_t *data)
{
    bus_publish(m->a->bus,
                &(event_fields){
                    .type = type, .server_name = server, .old_state = old_state, .new_state = new_state, .data = data});
    json_decref(data);
}

static void set_state(upstream *u, conn_state state)
{
    if (u->state == state)
        return;
    conn_state old = u->state;
    u->state = state;
    log_kv(LOG_INFO, "server state changed",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("old_state", conn_state_names[old]),
                      LOG_STR("new_state", conn_state_names[state])));
    json_t *data = json_pack("{s:I, s:I, s:I}", "tool_count", (json_int_t)tool_count(u), "retry_count",
                             (json_int_t)u->retry_count, "failure_count", (json_int_t)u->failure_count);
    if (u->last_error && (state == CONN_ERROR || state == CONN_CONNECTING || state == CONN_LOGIN_REQUIRED))
        json_object_set_new(data, "last_error", json_string_lossy(u->last_error, strlen(u->last_error)));
    publish(u->m, EVENT_SERVER_STATE_CHANGED, u->cfg.name, conn_state_names[old], conn_state_names[state], data);
}

static const char *status_name(const upstream *u)
{
    if (!u->cfg.enabled)
        return "Disabled";
    if (u->auto_disabled)
        return "Auto-Disabled";
    return conn_state_names[u->state];
}

/* ---- lifetime of an upstream ------------------------------------------ */

static void maybe_all_stopped(struct manager *m);

static void reaper_closed(void *ctx)
{
    struct manager *m = ctx;
    m->closing--;
    maybe_all_stopped(m);
}

static void maybe_all_stopped(struct manager *m)
{
    if (!m->stopping_all || m->servers || m->closing > 0)
        return;
    if (!m->reaper_closing) {
        /* Last: it takes what the last servers to exit left behind. */
        m->reaper_closing = true;
        m->closing++;
        reaper_close(m->reaper, reaper_closed, m);
        return;
    }
    if (m->stop_done) {
        void (*done)(void *) = m->stop_done;
        m->stop_done = NULL;
        log_msg(LOG_INFO, "all upstream servers stopped");
        done(m->stop_ctx);
    }
}

static void upstream_closed(uv_handle_t *h)
{
    upstream *u = h->data;
    struct manager *m = u->m;
    assert(find(m, u->cfg.name) != u);
    line_ring_free(&u->stderr_ring);
    server_config_free(&u->cfg);
    free(u->last_error);
    free(u->fail_reason);
    free(u);
    m->closing--;
    maybe_all_stopped(m);
}

static void flow_closed(void *ctx)
{
    upstream *u = ctx;
    oauth_flow_destroy(u->oauth);
    u->oauth = NULL;
    uv_close((uv_handle_t *)&u->timer, upstream_closed);
}

/* Unlinks and frees (once its timer and OAuth flow are closed) a server
 * with no process. */
static void upstream_remove(upstream *u)
{
    struct manager *m = u->m;
    unindex(u);
    for (upstream **pp = &m->servers; *pp; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            if (!u->next)
                m->tail = pp;
            break;
        }
    }
    uv_timer_stop(&u->timer);
    m->closing++;
    if (u->oauth)
        oauth_flow_close(u->oauth, flow_closed, u);
    else
        uv_close((uv_handle_t *)&u->timer, upstream_closed);
}

static void on_oauth_login(const char *error, void *ctx);
static void on_oauth_refreshed(oauth_refresh_result result, const char *reason, void *ctx);

static bool is_remote(const server_config *cfg)
{
    return cfg->url && *cfg->url;
}

/* A disabled or auto-disabled server's tokens are not refreshed: nothing
 * uses them until it is enabled again (the refresh would only keep a dead
 * server's grant alive, and hit its authorization server for nothing). */
static bool refresh_paused(const upstream *u)
{
    return !u->cfg.enabled || u->auto_disabled;
}

static void update_refresh_pause(upstream *u)
{
    if (u->oauth)
        oauth_flow_set_paused(u->oauth, refresh_paused(u));
}

static oauth_flow_options flow_options(upstream *u)
{
    return (oauth_flow_options){.server_name = u->cfg.name,
                                .server_url = u->cfg.url ? u->cfg.url : "",
                                .settings = &u->cfg.oauth,
                                .tls_skip_verify = u->cfg.tls_skip_verify,
                                .redirect_uri = u->m->redirect_uri,
                                .timeout_ms = u->m->a->cfg.upstream.request_timeout_ms,
                                .curl = u->m->curl,
                                .store = u->m->tokens,
                                .paused = refresh_paused(u)};
}

/* A remote server gets its OAuth flow (tokens from the file); a server
 * that stops being remote keeps it, pointed at no url (no tokens). */
static void flow_update(upstream *u)
{
    oauth_flow_options o = flow_options(u);
    if (u->oauth)
        oauth_flow_reconfigure(u->oauth, &o);
    else if (is_remote(&u->cfg) && u->m->curl)
        u->oauth = oauth_flow_create(
            u->m->a->loop, &o, &(oauth_flow_callbacks){.on_login = on_oauth_login, .on_refreshed = on_oauth_refreshed},
            u);
}

static upstream *upstream_new(struct manager *m, const server_config *cfg)
{
    upstream *u = xcalloc(1, sizeof(*u));
    u->m = m;
    server_config_copy(&u->cfg, cfg);
    u->state = CONN_DISCONNECTED;
    line_ring_init(&u->stderr_ring, LINE_RING_DEFAULT_CAPACITY);
    uv_timer_init(m->a->loop, &u->timer);
    u->timer.data = u;
    /* Append: status lists follow config order anyway, but logs read better.
     * At the tail, not after a walk: a walk per server made starting
     * 10,000 servers quadratic. */
    *m->tail = u;
    m->tail = &u->next;
    strmap_put(&m->by_name, u->cfg.name, u);
    flow_update(u);
    return u;
}

/* Stops the process (if any), then does `after`. */
static void upstream_stop(upstream *u, after_exit after)
{
    uv_timer_stop(&u->timer);
    if (after == AFTER_REMOVE) {
        u->removing = true;
        unindex(u);
    }
    if (u->client) {
        /* A removal wins over a restart asked for earlier. */
        if (!u->stopping || after == AFTER_REMOVE || u->after == AFTER_NOTHING)
            u->after = after;
        u->stopping = true;
        /* Also shortens the grace of a stop already under way (a disable). */
        if (u->m->stopping_all)
            mcp_client_stop_within(u->client, SHUTDOWN_STOP_GRACE_MS);
        else
            mcp_client_stop(u->client);
        return;
    }
    u->connected = false;
    u->gate_waiting = false;
    set_state(u, after == AFTER_LOGIN ? CONN_LOGIN_REQUIRED : CONN_DISCONNECTED);
    if (after == AFTER_RESTART)
        upstream_start(u);
    else if (after == AFTER_REMOVE)
        upstream_remove(u);
}

static void reset_failures(upstream *u)
{
    u->failure_count = 0;
    u->retry_count = 0;
    u->auto_disabled = false;
    update_refresh_pause(u);
}

/* ---- client callbacks ------------------------------------------------- */

static void ready_period_passed(uv_timer_t *timer)
{
    upstream *u = timer->data;
    if (u->failure_count || u->retry_count)
        log_kv(LOG_DEBUG, "server stable; failure count reset", LOG_FIELDS(LOG_STR("server", u->cfg.name)));
    u->failure_count = 0;
    u->retry_count = 0;
}

static void on_initialized(struct mcp_client *c, void *ctx)
{
    upstream *u = ctx;
    json_t *info = mcp_client_server_info(c);
    publish(u->m, EVENT_CONNECTION_ESTABLISHED, u->cfg.name, NULL, NULL,
            json_pack("{s:s, s:O}", "protocol_version", mcp_client_protocol_version(c), "server_info",
                      info ? info : json_null()));
    log_kv(LOG_INFO, "server connected",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("protocol_version", mcp_client_protocol_version(c))));
    set_state(u, CONN_DISCOVERING);
}

static void on_tools(struct mcp_client *c, size_t added, size_t removed, bool first, void *ctx)
{
    upstream *u = ctx;
    size_t n = json_array_size(mcp_client_tools(c));
    publish(u->m, EVENT_TOOLS_UPDATED, u->cfg.name, NULL, NULL,
            json_pack("{s:I, s:I, s:I}", "tool_count", (json_int_t)n, "added", (json_int_t)added, "removed",
                      (json_int_t)removed));
    log_kv(LOG_INFO, "server tools updated",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_INT("tool_count", n), LOG_INT("added", added),
                      LOG_INT("removed", removed)));
    if (first) {
        u->connected = true;
        timestamp_now(u->connected_since);
        set_str(&u->last_error, NULL);
        u->refresh_tried = false;
        set_state(u, CONN_READY);
        /* Only a Ready period that lasts resets the failure count: a server
         * that crashes right after its handshake still gets auto-disabled. */
        uv_timer_start(&u->timer, ready_period_passed, u->m->a->cfg.upstream.ready_reset_ms, 0);
    }
}

/* A prompts/resources list was listed again after its list_changed: the
 * sink is told with that notification, now that the new list can be read
 * (manager_server_list). */
static void on_list(struct mcp_client *c, mcp_list_kind kind, void *ctx)
{
    (void)c;
    upstream *u = ctx;
    const char *method =
        kind == MCP_LIST_PROMPTS ? "notifications/prompts/list_changed" : "notifications/resources/list_changed";
    log_kv(LOG_DEBUG, "server list updated", LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("method", method)));
    if (u->m->notify)
        u->m->notify(u->cfg.name, method, NULL, u->m->notify_ctx);
}

static void on_failed(struct mcp_client *c, const char *reason, void *ctx)
{
    (void)c;
    upstream *u = ctx;
    set_str(&u->fail_reason, reason);
}

/* Publishes the lines pushed into the ring since `before` (its total
 * count) as one server_log event, within the per-second budget. Lines over
 * the budget are left out (the oldest of a read first) and counted; the
 * next event says how many were skipped before its lines. At the process's
 * exit (`final`) a count not yet told is published even without lines. */
static void publish_new_lines(upstream *u, uint64_t before, bool final)
{
    uint64_t fresh = u->stderr_ring.total - before;
    uint64_t now = uv_hrtime();
    if (now - u->log_window_ns >= 1000000000u) {
        u->log_window_ns = now;
        u->log_sent = 0;
    }
    uint64_t room = LOG_EVENT_LINES_PER_SEC - u->log_sent;
    uint64_t take = fresh < room ? fresh : room;
    /* The ring may have overwritten some of them (more than its capacity in
     * one read): those count as skipped too. */
    if (take > u->stderr_ring.count)
        take = u->stderr_ring.count;
    u->log_skipped += fresh - take;
    if (take == 0 && !(final && u->log_skipped))
        return;
    u->log_sent += (uint32_t)take;
    json_t *lines = json_array();
    for (uint64_t back = take; back-- > 0;) { /* the newest `take`, oldest first */
        const char *line = line_ring_nth_newest(&u->stderr_ring, (size_t)back);
        size_t n = utf8_prefix_len(line, strlen(line), LOG_EVENT_LINE_BYTES);
        json_array_append_new(lines, json_stringn(line, n)); /* ring lines are valid UTF-8 */
    }
    json_t *data = json_pack("{s:o}", "lines", lines);
    if (u->log_skipped) {
        json_object_set_new(data, "skipped", json_integer((json_int_t)u->log_skipped));
        u->log_skipped = 0;
    }
    publish(u->m, EVENT_SERVER_LOG, u->cfg.name, NULL, NULL, data);
}

static void on_notification(struct mcp_client *c, const char *method, json_t *params, void *ctx)
{
    (void)c;
    upstream *u = ctx;
    if (u->m->notify)
        u->m->notify(u->cfg.name, method, params, u->m->notify_ctx);
}

void manager_set_start_gate(struct manager *m, manager_start_gate_fn fn, void *ctx)
{
    m->gate = fn;
    m->gate_ctx = ctx;
}

void manager_set_notification_sink(struct manager *m, manager_notification_fn fn, void *ctx)
{
    m->notify = fn;
    m->notify_ctx = ctx;
}

static void on_stderr(const char *bytes, size_t len, void *ctx)
{
    upstream *u = ctx;
    uint64_t before = u->stderr_ring.total;
    line_ring_feed(&u->stderr_ring, bytes, len);
    publish_new_lines(u, before, false);
}

static void retry_now(uv_timer_t *timer)
{
    upstream *u = timer->data;
    if (!u->client && u->cfg.enabled && !u->auto_disabled && !u->m->stopping_all)
        upstream_start(u);
}

static void on_failure(upstream *u, const char *reason)
{
    struct manager *m = u->m;
    set_str(&u->last_error, reason);
    u->failure_count++;
    m->a->stats.upstream_failures++;
    u->connected = false;
    set_state(u, CONN_ERROR);
    uint32_t threshold = m->a->cfg.auto_disable_threshold;
    if (threshold > 0 && u->failure_count >= threshold) {
        u->auto_disabled = true;
        update_refresh_pause(u);
        char why[CONFIG_ERR_LEN + 64]; /* the count and the whole reason: no cut */
        snprintf(why, sizeof(why), "%u consecutive failures; last: %s", u->failure_count, reason);
        log_kv(LOG_WARN, "server auto-disabled",
               LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_INT("failure_count", u->failure_count),
                          LOG_STR("reason", why)));
        publish(m, EVENT_SERVER_AUTO_DISABLED, u->cfg.name, NULL, NULL,
                json_pack("{s:o, s:I}", "reason", json_string_lossy(why, strlen(why)), "failure_count",
                          (json_int_t)u->failure_count));
        return;
    }
    u->retry_count++;
    uint32_t rnd;
    random_bytes(&rnd, sizeof(rnd));
    uint64_t delay = backoff_jitter_ms(
        backoff_delay_ms(u->retry_count, m->a->cfg.upstream.backoff_base_ms, m->a->cfg.upstream.backoff_max_ms), rnd);
    log_kv(LOG_INFO, "server retry scheduled",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_INT("retry_count", u->retry_count),
                      LOG_INT("delay_ms", delay), LOG_STR("reason", reason)));
    uv_timer_start(&u->timer, retry_now, delay, 0);
}

/* A remote server ended a session that was Ready (it forgot it: HTTP 404).
 * Not a failure: no Error state and no count toward auto-disable; the
 * server goes straight back to Connecting for a new session. A server that
 * keeps doing it waits the usual backoff (retry_count grows until a Ready
 * period lasts), so it cannot make us reconnect in a loop. */
static void start_new_session(upstream *u, const char *reason)
{
    struct manager *m = u->m;
    log_kv(LOG_INFO, "server ended the session; starting a new one",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", reason)));
    publish(m, EVENT_CONNECTION_LOST, u->cfg.name, NULL, NULL,
            json_pack("{s:s, s:s, s:b}", "url", u->cfg.url, "reason", reason ? reason : "session ended", "session_lost",
                      true));
    u->connected = false;
    uint64_t delay = 0;
    if (u->retry_count > 0) {
        uint32_t rnd;
        random_bytes(&rnd, sizeof(rnd));
        delay = backoff_jitter_ms(
            backoff_delay_ms(u->retry_count, m->a->cfg.upstream.backoff_base_ms, m->a->cfg.upstream.backoff_max_ms),
            rnd);
    }
    u->retry_count++;
    if (delay == 0) {
        upstream_start(u);
        return;
    }
    set_state(u, CONN_CONNECTING);
    uv_timer_start(&u->timer, retry_now, delay, 0);
}

/* The server answered 401 with a Bearer challenge. With a refresh token
 * not yet tried since the last Ready, the token is refreshed and the server
 * started again; otherwise it waits in Login required for a login (not a
 * failure: no backoff, no count toward auto-disable). */
static void login_needed(upstream *u, const char *reason, const char *challenge)
{
    oauth_flow_set_challenge(u->oauth, challenge);
    u->connected = false;
    if (u->sent_token && oauth_flow_can_refresh(u->oauth) && !u->refresh_tried) {
        u->refresh_tried = true;
        u->awaiting_refresh = true;
        log_kv(LOG_INFO, "server refused its OAuth token; refreshing it", LOG_FIELDS(LOG_STR("server", u->cfg.name)));
        set_state(u, CONN_CONNECTING);
        oauth_flow_refresh(u->oauth);
        return;
    }
    char why[1024]; /* the reason whole, with the way out */
    snprintf(why, sizeof why, "%.600s; log in: mcpproxy auth login %s, or Log in on the dashboard",
             reason ? reason : "the server asks for an OAuth login", u->cfg.name);
    set_str(&u->last_error, why);
    log_kv(LOG_WARN, "server needs an OAuth login", LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", why)));
    set_state(u, CONN_LOGIN_REQUIRED);
}

static void on_client_exit(struct mcp_client *c, int64_t exit_status, int term_signal, void *ctx)
{
    upstream *u = ctx;
    struct manager *m = u->m;
    uint64_t before = u->stderr_ring.total;
    line_ring_flush(&u->stderr_ring);
    publish_new_lines(u, before, true);
    /* A Ready remote server that forgot our session: a new one at once. */
    bool new_session = mcp_client_session_lost(c) && u->state == CONN_READY;
    const char *challenge_text = mcp_client_auth_challenge(c);
    char *challenge = challenge_text && u->oauth ? xstrdup(challenge_text) : NULL;
    mcp_client_destroy(c);
    u->client = NULL;
    uv_timer_stop(&u->timer);
    char *fail_reason = u->fail_reason;
    u->fail_reason = NULL;

    if (u->stopping) {
        u->stopping = false;
        after_exit after = u->after;
        u->after = AFTER_NOTHING;
        free(fail_reason);
        free(challenge);
        log_kv(LOG_INFO, "server stopped", LOG_FIELDS(LOG_STR("server", u->cfg.name)));
        u->connected = false;
        set_state(u, after == AFTER_LOGIN && !m->stopping_all ? CONN_LOGIN_REQUIRED : CONN_DISCONNECTED);
        if (after == AFTER_REMOVE || m->stopping_all)
            upstream_remove(u);
        else if (after == AFTER_RESTART && u->cfg.enabled)
            upstream_start(u);
        maybe_all_stopped(m);
        return;
    }

    if (new_session) {
        free(challenge);
        start_new_session(u, fail_reason);
        free(fail_reason);
        return;
    }

    if (challenge) {
        login_needed(u, fail_reason, challenge);
        free(challenge);
        free(fail_reason);
        return;
    }

    /* Unasked-for exit: a crash, or a handshake failure we acted on. */
    json_t *data = json_object();
    char how[64];
    bool remote = u->cfg.url && *u->cfg.url;
    if (remote) {
        json_object_set_new(data, "url", json_string(u->cfg.url));
        snprintf(how, sizeof(how), "connection ended");
    } else if (term_signal) {
        json_object_set_new(data, "signal", json_string(strsignal(term_signal)));
        json_object_set_new(data, "signal_number", json_integer(term_signal));
        snprintf(how, sizeof(how), "killed by signal %d (%s)", term_signal, strsignal(term_signal));
    } else {
        json_object_set_new(data, "exit_code", json_integer(exit_status));
        snprintf(how, sizeof(how), "exited with code %lld", (long long)exit_status);
    }
    char *tail = line_ring_tail_text(&u->stderr_ring, STDERR_TAIL_LINES);
    json_object_set_new(data, "stderr_tail", json_string_lossy(tail, strlen(tail)));
    free(tail);
    log_kv(LOG_WARN, "server connection lost",
           LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("how", how), LOG_STR("reason", fail_reason)));
    publish(m, EVENT_CONNECTION_LOST, u->cfg.name, NULL, NULL, data);

    /* Cuts land on character boundaries: a character split in two would
     * make the reason invalid UTF-8. */
    char reason[CONFIG_ERR_LEN];
    /* The line that explains it, not the runtime's last words. */
    const char *last_line = line_ring_telling_line(&u->stderr_ring, STDERR_TAIL_LINES);
    if (fail_reason)
        utf8_copy(reason, sizeof(reason), fail_reason);
    else if (last_line)
        snprintf(reason, sizeof(reason), "%s: %.*s", how,
                 (int)utf8_prefix_len(last_line, strlen(last_line), LAST_LINE_IN_REASON), last_line);
    else
        snprintf(reason, sizeof(reason), "%s", how);
    free(fail_reason);
    on_failure(u, reason);
}

static const char *bearer_of(void *flow)
{
    return oauth_flow_access_token(flow);
}

static void upstream_start(upstream *u)
{
    struct manager *m = u->m;
    if (u->client || !u->cfg.enabled || u->auto_disabled || m->stopping_all)
        return;
    uv_timer_stop(&u->timer);
    char said[CONFIG_ERR_LEN] = "";
    manager_gate gate = m->gate ? m->gate(u->cfg.name, said, sizeof said, m->gate_ctx) : MANAGER_GATE_OPEN;
    if (gate == MANAGER_GATE_REFUSED) {
        /* Not a failure of the server's: no count, no retry. */
        log_kv(LOG_WARN, "server not started", LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", said)));
        u->gate_waiting = false;
        set_str(&u->last_error, said);
        u->connected = false;
        set_state(u, CONN_ERROR); /* its last_error says why */
        return;
    }
    if (gate == MANAGER_GATE_WAIT) {
        if (!u->gate_waiting)
            log_kv(LOG_INFO, "server waits before it starts",
                   LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", said)));
        u->gate_waiting = true;
        u->connected = false;
        set_state(u, CONN_CONNECTING);
        return;
    }
    u->gate_waiting = false;
    set_state(u, CONN_CONNECTING);
    const upstream_settings *set = &m->a->cfg.upstream;
    mcp_client_options opts = {.server_name = u->cfg.name,
                               .request_timeout_ms = set->request_timeout_ms,
                               .stop_grace_ms = set->stop_grace_ms,
                               .max_queued_bytes = set->max_queued_bytes,
                               .max_tool_pages = set->max_tool_pages,
                               .max_tool_list_bytes = set->max_tool_list_bytes,
                               .max_tools = set->max_tools,
                               .max_message_bytes = set->max_message_bytes,
                               .reaper = m->reaper,
                               .curl = m->curl};
    if (u->oauth && is_remote(&u->cfg)) {
        opts.bearer = bearer_of;
        opts.bearer_ctx = u->oauth;
    }
    u->sent_token = u->oauth && oauth_flow_access_token(u->oauth);
    u->awaiting_refresh = false;
    mcp_client_callbacks cbs = {.on_initialized = on_initialized,
                                .on_tools = on_tools,
                                .on_list = on_list,
                                .on_failed = on_failed,
                                .on_notification = on_notification,
                                .on_stderr = on_stderr,
                                .on_exit = on_client_exit};
    char err[CONFIG_ERR_LEN];
    /* Relative paths in the config are relative to its file, not to
     * wherever mcpproxy was started from. */
    char *base_dir = config_dir_of(m->a->config_path);
    server_config run;
    config_server_resolve_paths(&run, &u->cfg, base_dir);
    u->client = mcp_client_start(m->a->loop, &run, &opts, &cbs, u, err);
    server_config_free(&run);
    free(base_dir);
    if (!u->client) {
        log_kv(LOG_WARN, "server failed to start", LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", err)));
        on_failure(u, err);
        return;
    }
    m->a->stats.upstream_starts++;
    if (u->cfg.url && *u->cfg.url)
        log_kv(LOG_INFO, "server connecting",
               LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("url", u->cfg.url),
                          LOG_STR("protocol", u->cfg.protocol)));
    else
        log_kv(LOG_INFO, "server process started",
               LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_INT("pid", mcp_client_pid(u->client)),
                          LOG_STR("command", u->cfg.command)));
}

/* ---- creation and shutdown -------------------------------------------- */

struct manager *manager_create(app *a, struct curl_loop *curl, const char *redirect_uri)
{
    struct manager *m = xcalloc(1, sizeof(*m));
    m->a = a;
    m->curl = curl;
    m->redirect_uri = xstrdup(redirect_uri ? redirect_uri : "http://127.0.0.1:8080/oauth/callback");
    char *tokens_path = oauth_store_default_path(a->config_path);
    m->tokens = oauth_store_open(tokens_path);
    free(tokens_path);
    m->tail = &m->servers;
    m->reaper = reaper_create(a->loop);
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        upstream_new(m, &a->cfg.servers[i]);
    return m;
}

void manager_start(struct manager *m)
{
    for (upstream *u = m->servers; u; u = u->next)
        upstream_start(u);
}

void manager_gate_changed(struct manager *m, const char *server)
{
    upstream *u = find(m, server);
    if (u && u->gate_waiting && !u->client)
        upstream_start(u);
}

void manager_close(struct manager *m, void (*done)(void *ctx), void *ctx)
{
    m->stopping_all = true;
    m->stop_done = done;
    m->stop_ctx = ctx;
    upstream *u = m->servers;
    while (u) {
        upstream *next = u->next;
        upstream_stop(u, AFTER_REMOVE);
        u = next;
    }
    maybe_all_stopped(m);
}

void manager_destroy(struct manager *m)
{
    strmap_free(&m->by_name);
    reaper_destroy(m->reaper);
    oauth_store_destroy(m->tokens);
    free(m->redirect_uri);
    free(m);
}

/* ---- status ----------------------------------------------------------- */

static json_t *status_of(const upstream *u)
{
    bool remote = u->cfg.url && *u->cfg.url;
    /* A remote server shows its url where a local one shows its command. */
    json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "name", u->cfg.name, "group",
                          u->cfg.group ? u->cfg.group : "", "enabled", u->cfg.enabled, "protocol",
                          u->cfg.protocol ? u->cfg.protocol : "stdio", remote ? "url" : "command",
                          remote ? u->cfg.url : (u->cfg.command ? u->cfg.command : ""), "status", status_name(u),
                          "state", conn_state_names[u->state], "tool_count", (json_int_t)tool_count(u), "retry_count",
                          (json_int_t)u->retry_count, "failure_count", (json_int_t)u->failure_count);
    json_object_set_new(o, "prompt_count", json_integer((json_int_t)list_count(u, MCP_LIST_PROMPTS)));
    json_object_set_new(o, "resource_count", json_integer((json_int_t)list_count(u, MCP_LIST_RESOURCES)));
    json_object_set_new(o, "last_error",
                        u->last_error ? json_string_lossy(u->last_error, strlen(u->last_error)) : json_null());
    json_object_set_new(o, "connected_since",
                        (u->connected && u->state == CONN_READY) ? json_string(u->connected_since) : json_null());
    int pid = u->client ? mcp_client_pid(u->client) : 0;
    json_object_set_new(o, "pid", pid > 0 ? json_integer(pid) : json_null());
    return o;
}

json_t *manager_status_json(struct manager *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < m->a->cfg.n_servers; i++) {
        upstream *u = find(m, m->a->cfg.servers[i].name);
        if (u)
            json_array_append_new(arr, status_of(u));
    }
    return arr;
}

json_t *manager_server_status_json(struct manager *m, const char *name)
{
    upstream *u = find(m, name);
    return (u && config_find_server(&m->a->cfg, name)) ? status_of(u) : NULL;
}

json_t *manager_server_tools(struct manager *m, const char *name)
{
    static json_t *empty;
    upstream *u = find(m, name);
    if (!u || !config_find_server(&m->a->cfg, name))
        return NULL;
    if (u->client && u->state == CONN_READY)
        return mcp_client_tools(u->client);
    if (!empty)
        empty = json_array(); /* one immortal empty array, never edited */
    return empty;
}

json_t *manager_server_list(struct manager *m, const char *name, mcp_list_kind kind)
{
    upstream *u = find(m, name);
    return (u && u->client && u->state == CONN_READY) ? mcp_client_list(u->client, kind) : NULL;
}

struct mcp_client *manager_server_client(struct manager *m, const char *name)
{
    upstream *u = find(m, name);
    return (u && u->client && u->state == CONN_READY) ? u->client : NULL;
}

json_t *manager_server_logs(struct manager *m, const char *name, size_t n, uint64_t *total)
{
    upstream *u = find(m, name);
    if (!u || !config_find_server(&m->a->cfg, name))
        return NULL;
    *total = u->stderr_ring.total;
    return line_ring_tail_json(&u->stderr_ring, n);
}

static json_t *group_json(const config *cfg, const char *group)
{
    json_t *names = json_array();
    bool all_enabled = true;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const server_config *s = &cfg->servers[i];
        if (s->group && strcmp(s->group, group) == 0) {
            json_array_append_new(names, json_string(s->name));
            all_enabled = all_enabled && s->enabled;
        }
    }
    return json_pack("{s:s, s:o, s:b}", "group", group, "servers", names, "enabled",
                     all_enabled && json_array_size(names) > 0);
}

/* One pass with the groups by name: a scan of every server per group made
 * this quadratic with thousands of groups (it answers every group write). */
json_t *manager_groups_json(struct manager *m)
{
    const config *cfg = &m->a->cfg;
    json_t *arr = json_array();
    strmap groups = {0};
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const server_config *s = &cfg->servers[i];
        if (!s->group || !*s->group)
            continue;
        json_t *g = strmap_get(&groups, s->group);
        if (!g) {
            g = json_pack("{s:s, s:[], s:b}", "group", s->group, "servers", "enabled", true);
            json_array_append_new(arr, g);
            strmap_put(&groups, s->group, g);
        }
        json_array_append_new(json_object_get(g, "servers"), json_string(s->name));
        if (!s->enabled)
            json_object_set_new(g, "enabled", json_false());
    }
    strmap_free(&groups);
    return arr;
}

void manager_publish_group(struct manager *m, const char *group)
{
    if (!group || !*group)
        return;
    publish(m, EVENT_SERVER_GROUP_UPDATED, NULL, NULL, NULL, group_json(&m->a->cfg, group));
}

/* ---- applying a new configuration -------------------------------------- */

/* Steps, in this order (events follow it): announce a reload, adopt the new
 * servers, remove, create or update each server, publish touched groups. */

/* Settings the file changed that a reload does not apply: one log line
 * each. */
static void warn_unapplied(const config_changes *c)
{
    for (size_t i = 0; i < c->n_settings; i++) {
        const char *key = c->settings[i];
        /* A reload applies auto_disable_threshold; listen is routinely
         * overridden on the command line: no noise. */
        if (strcmp(key, "auto_disable_threshold") == 0 || strcmp(key, "listen") == 0)
            continue;
        log_kv(LOG_WARN, "setting changed in the config file; restart mcpproxy to apply it",
               LOG_FIELDS(LOG_STR("key", key)));
    }
}

/* A reload from the file is logged and published as config_change, with
 * the names of the servers added, removed and changed. */
static void announce_reload(struct manager *m, const config_changes *c)
{
    warn_unapplied(c);
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    for (size_t i = 0; i < c->n_removed; i++)
        json_array_append_new(removed, json_string(c->removed[i]->name));
    for (size_t i = 0; i < c->n_servers; i++) {
        const server_change *ch = &c->servers[i];
        if (ch->kind == SERVER_ADDED)
            json_array_append_new(added, json_string(ch->after->name));
        else if (ch->kind == SERVER_CHANGED)
            json_array_append_new(changed, json_string(ch->after->name));
    }
    log_kv(LOG_INFO, "config reloaded",
           LOG_FIELDS(LOG_INT("servers_added", c->n_added), LOG_INT("servers_removed", c->n_removed),
                      LOG_INT("servers_changed", c->n_changed)));
    publish(
        m, EVENT_CONFIG_CHANGE, NULL, NULL, NULL,
        json_pack("{s:o, s:o, s:o}", "servers_added", added, "servers_removed", removed, "servers_changed", changed));
}

/* The new servers (and auto_disable_threshold) become the running config
 * before any event about them, so that status requests those events
 * trigger see it. *neu is freed. Returns the old servers (*old_n of them):
 * the diff still points into them; the caller frees them last. */
static server_config *adopt_servers(struct manager *m, config *neu, size_t *old_n)
{
    config *cur = &m->a->cfg;
    server_config *old = cur->servers;
    *old_n = cur->n_servers;
    cur->servers = neu->servers;
    cur->n_servers = neu->n_servers;
    cur->auto_disable_threshold = neu->auto_disable_threshold;
    neu->servers = NULL;
    neu->n_servers = 0;
    config_free(neu);
    return old;
}

static void remove_server(struct manager *m, const server_config *o)
{
    upstream *u = find(m, o->name);
    publish(m, EVENT_SERVER_CONFIG_CHANGED, o->name, NULL, NULL, json_pack("{s:s}", "action", "deleted"));
    log_kv(LOG_INFO, "server removed", LOG_FIELDS(LOG_STR("server", o->name)));
    if (u)
        upstream_stop(u, AFTER_REMOVE);
}

/* `u` is the server's upstream if one exists (see apply_server). */
static void create_server(struct manager *m, const server_config *s, upstream *u)
{
    publish(m, EVENT_SERVER_CONFIG_CHANGED, s->name, NULL, NULL,
            json_pack("{s:s, s:o}", "action", "created", "server", server_config_to_json(s, true)));
    log_kv(LOG_INFO, "server added", LOG_FIELDS(LOG_STR("server", s->name)));
    if (!u)
        u = upstream_new(m, s);
    upstream_start(u);
}

static void update_server(struct manager *m, upstream *u, const server_change *ch)
{
    const server_config *o = ch->before, *s = ch->after;
    json_t *fields = json_array();
    for (int f = 0; f < SERVER_FIELD_COUNT; f++)
        if (ch->fields & SERVER_FIELD_BIT(f))
            json_array_append_new(fields, json_string(server_field_name((server_field)f)));
    bool restart = (ch->fields & SERVER_FIELDS_OF_PROCESS) != 0;
    publish(
        m, EVENT_SERVER_CONFIG_CHANGED, s->name, NULL, NULL,
        json_pack("{s:s, s:o, s:o}", "action", "updated", "changed", fields, "server", server_config_to_json(s, true)));
    log_kv(LOG_INFO, "server updated", LOG_FIELDS(LOG_STR("server", s->name), LOG_INT("restart", restart)));
    /* The index's key is the name in u->cfg: re-keyed before the old copy goes. */
    server_config old = u->cfg;
    server_config_copy(&u->cfg, s);
    strmap_put(&m->by_name, u->cfg.name, u);
    server_config_free(&old);
    if (ch->fields & (SERVER_FIELD_BIT(SERVER_FIELD_URL) | SERVER_FIELD_BIT(SERVER_FIELD_OAUTH) |
                      SERVER_FIELD_BIT(SERVER_FIELD_TLS_SKIP_VERIFY)))
        flow_update(u);
    update_refresh_pause(u);
    if (!s->enabled) {
        upstream_stop(u, AFTER_NOTHING);
    } else if (restart || !o->enabled) {
        /* New settings or a fresh enable: a clean slate. */
        reset_failures(u);
        if (u->client)
            upstream_stop(u, AFTER_RESTART);
        else
            upstream_start(u);
    }
}

/* Groups to publish besides the diff's (see apply_server); a JSON array
 * of names, each once. */
static void add_extra_group(json_t *extra, const char *group)
{
    if (!group || !*group)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(extra, i, v) {
        if (strcmp(json_string_value(v), group) == 0)
            return;
    }
    json_array_append_new(extra, json_string(group));
}

static void apply_server(struct manager *m, const server_change *ch, json_t *extra_groups)
{
    upstream *u = find(m, ch->after->name);
    if (ch->kind == SERVER_ADDED) {
        create_server(m, ch->after, u);
    } else if (!u) {
        /* Kept by the config but without an upstream: that happens only
         * while stopping all (every upstream is gone or going). It is
         * created like an added server, its group published with it. */
        add_extra_group(extra_groups, ch->after->group);
        create_server(m, ch->after, NULL);
    } else if (ch->kind == SERVER_CHANGED) {
        update_server(m, u, ch);
    }
}

static void publish_groups(struct manager *m, const config_changes *c, json_t *extra_groups)
{
    for (size_t i = 0; i < c->n_groups; i++)
        manager_publish_group(m, c->groups[i]);
    size_t i;
    json_t *g;
    json_array_foreach(extra_groups, i, g) {
        bool published = false;
        for (size_t k = 0; k < c->n_groups && !published; k++)
            published = strcmp(c->groups[k], json_string_value(g)) == 0;
        if (!published)
            manager_publish_group(m, json_string_value(g));
    }
}

static int apply(struct manager *m, config *neu, bool reload)
{
    config_changes *c = config_diff(&m->a->cfg, neu);
    if (reload)
        announce_reload(m, c);
    size_t old_n;
    server_config *old_servers = adopt_servers(m, neu, &old_n);
    for (size_t i = 0; i < c->n_removed; i++)
        remove_server(m, c->removed[i]);
    json_t *extra_groups = json_array();
    for (size_t i = 0; i < c->n_servers; i++)
        apply_server(m, &c->servers[i], extra_groups);
    publish_groups(m, c, extra_groups);
    json_decref(extra_groups);
    config_changes_free(c);
    for (size_t k = 0; k < old_n; k++)
        server_config_free(&old_servers[k]);
    free(old_servers);
    return 0;
}

int manager_apply_config(struct manager *m, config *new_cfg)
{
    return apply(m, new_cfg, true);
}

int manager_commit_config(struct manager *m, config *new_cfg)
{
    return apply(m, new_cfg, false);
}

bool manager_restart_server(struct manager *m, const char *name, char *err, size_t err_len)
{
    upstream *u = find(m, name);
    if (!u || !config_find_server(&m->a->cfg, name)) {
        snprintf(err, err_len, "no server named '%s'", name);
        return false;
    }
    if (!u->cfg.enabled) {
        snprintf(err, err_len, "server '%s' is disabled; enable it instead", name);
        return false;
    }
    log_kv(LOG_INFO, "server restart requested", LOG_FIELDS(LOG_STR("server", name)));
    reset_failures(u);
    upstream_stop(u, AFTER_RESTART);
    return true;
}

void manager_clear_auto_disable(struct manager *m, const char *name)
{
    upstream *u = find(m, name);
    if (!u || !u->auto_disabled)
        return;
    log_kv(LOG_INFO, "server re-enabled after auto-disable", LOG_FIELDS(LOG_STR("server", name)));
    reset_failures(u);
    upstream_start(u);
}

/* ---- OAuth ------------------------------------------------------------- */

/* A login's callback failed: the reason goes to last_error and out as
 * server_login_failed (the state stays what it was, so no state change
 * would tell whoever waits for the login). */
static void login_failed(upstream *u, const char *error)
{
    char why[1024]; /* the reason whole, with the way out */
    snprintf(why, sizeof why, "login failed: %.600s; try again: mcpproxy auth login %s, or Log in on the dashboard",
             error, u->cfg.name);
    set_str(&u->last_error, why);
    log_kv(LOG_WARN, "server login failed", LOG_FIELDS(LOG_STR("server", u->cfg.name), LOG_STR("reason", why)));
    publish(u->m, EVENT_SERVER_LOGIN_FAILED, u->cfg.name, NULL, NULL,
            json_pack("{s:o, s:s}", "reason", json_string_lossy(why, strlen(why)), "state", status_name(u)));
}

static void on_oauth_login(const char *error, void *ctx)
{
    upstream *u = ctx;
    if (u->removing || u->m->stopping_all)
        return;
    if (error) {
        login_failed(u, error);
        return;
    }
    reset_failures(u);
    u->refresh_tried = false;
    set_str(&u->last_error, NULL); /* the 401 that asked for the login is answered */
    if (!u->cfg.enabled)
        return;
    log_kv(LOG_INFO, "server logged in; connecting", LOG_FIELDS(LOG_STR("server", u->cfg.name)));
    if (u->client)
        upstream_stop(u, AFTER_RESTART);
    else
        upstream_start(u);
}

static void on_oauth_refreshed(oauth_refresh_result result, const char *reason, void *ctx)
{
    upstream *u = ctx;
    bool waiting = u->awaiting_refresh;
    u->awaiting_refresh = false;
    if (u->removing || u->m->stopping_all)
        return;
    if (result == OAUTH_REFRESHED) {
        if (waiting && !u->client)
            upstream_start(u);
        return;
    }
    if (result == OAUTH_REFRESH_UNANSWERED) {
        /* Ahead of expiry (nobody waits) the flow tries again itself. A
         * server waiting after a 401 fails like a connection that fails:
         * Error with the reason, the usual backoff (the retry's 401
         * refreshes again), a count toward auto-disable. */
        if (waiting && !u->client && u->cfg.enabled) {
            u->refresh_tried = false;
            on_failure(u, reason);
        }
        return;
    }
    char why[1024]; /* the reason whole, with the way out */
    snprintf(why, sizeof why, "%.600s; log in again: mcpproxy auth login %s, or Log in on the dashboard", reason,
             u->cfg.name);
    set_str(&u->last_error, why);
    if (u->client)
        upstream_stop(u, AFTER_LOGIN);
    else if (u->cfg.enabled && (waiting || u->state != CONN_DISCONNECTED)) {
        u->connected = false;
        set_state(u, CONN_LOGIN_REQUIRED);
    }
}

bool manager_login(struct manager *m, const char *name, oauth_login_cb cb, void *ctx, char *err, size_t err_len)
{
    upstream *u = find(m, name);
    if (!u || !config_find_server(&m->a->cfg, name)) {
        snprintf(err, err_len, "no server named '%s'", name);
        return false;
    }
    if (!u->oauth || !is_remote(&u->cfg)) {
        snprintf(err, err_len, "server '%s' is not a remote server (no url): there is nothing to log in to", name);
        return false;
    }
    if (!u->cfg.enabled) {
        snprintf(err, err_len, "server '%s' is disabled; enable it first (a login would have nothing to connect)",
                 name);
        return false;
    }
    if (!oauth_flow_login(u->oauth, cb, ctx)) {
        snprintf(err, err_len, "a login of server '%s' is already being prepared or completed; try again", name);
        return false;
    }
    return true;
}

bool manager_oauth_callback(struct manager *m, const char *state, const char *code, const char *error, oauth_done_cb cb,
                            void *ctx)
{
    for (upstream *u = m->servers; u; u = u->next) {
        if (u->oauth && !u->removing && oauth_flow_owns_state(u->oauth, state)) {
            oauth_flow_complete(u->oauth, code, error, cb, ctx);
            return true;
        }
    }
    return false;
}

bool manager_oauth_state_known(struct manager *m, const char *state)
{
    for (upstream *u = m->servers; u; u = u->next)
        if (u->oauth && !u->removing && oauth_flow_owns_state(u->oauth, state))
            return true;
    return false;
}

bool manager_logout(struct manager *m, const char *name, char *err, size_t err_len)
{
    upstream *u = find(m, name);
    if (!u || !config_find_server(&m->a->cfg, name)) {
        snprintf(err, err_len, "no server named '%s'", name);
        return false;
    }
    if (!u->oauth || !is_remote(&u->cfg)) {
        snprintf(err, err_len, "server '%s' is not a remote server (no url): it has no login", name);
        return false;
    }
    if (!oauth_flow_forget(u->oauth, err, err_len))
        return false;
    log_kv(LOG_INFO, "server logged out", LOG_FIELDS(LOG_STR("server", name)));
    if (!u->cfg.enabled)
        return true;
    set_str(&u->last_error, "logged out");
    uv_timer_stop(&u->timer);
    upstream_stop(u, AFTER_LOGIN);
    return true;
}
