/* wiring.c - parts created, routed, started and stopped in order (wiring.h). */
#include "app/wiring.h"

#include "api/cluster_servers.h"
#include "api/routes.h"
#include "app/app.h"
#include "cluster/cluster.h"
#include "cluster/registry.h"
#include "cluster/rpc.h"
#include "config/file.h"
#include "config/watch.h"
#include "core/bus.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "http/ticker.h"
#include "mcp/endpoint.h"
#include "stream/sse.h"
#include "store/activity.h"
#include "store/quarantine.h"
#include "store/store.h"
#include "stream/ws.h"
#include "net/curl_loop.h"
#include "upstream/manager.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct runtime {
    app app;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t stop_deadline;
    bool ws_closed;
    bool answers_drained;
    bool upstreams_stopped;
    bool finished;
} runtime;

/* Loads the config. A missing file at the default location means "defaults";
 * a missing --config file is an error, as is any invalid file. The path
 * kept is the file's own, symlinks resolved: the watch must watch the
 * directory the file is really saved in. */
static bool load_config(const app_options *opts, app *a)
{
    char err[CONFIG_ERR_LEN];
    a->config_path = realpath(opts->config_path, NULL);
    if (!a->config_path && opts->config_is_default && errno == ENOENT) {
        /* A link that dangles (to a dotfiles file not yet written) is
         * followed: the first save creates its target. */
        a->config_path = config_write_target(opts->config_path);
        if (!a->config_path)
            a->config_path = xstrdup(opts->config_path);
        a->config_file = config_file_create(a->config_path);
        config_init_defaults(&a->cfg);
        log_kv(LOG_INFO, "no config file yet: starting with defaults", LOG_FIELDS(LOG_STR("path", a->config_path)));
        return true;
    }
    if (!a->config_path) {
        fprintf(stderr, "mcpproxy: config file %s: %s (create it, or name another with --config FILE)\n",
                opts->config_path, strerror(errno));
        return false;
    }
    if (access(a->config_path, R_OK) != 0) {
        fprintf(stderr, "mcpproxy: cannot read config file %s: %s (fix its permissions, or use --config FILE)\n",
                a->config_path, strerror(errno));
        return false;
    }
    a->config_file = config_file_create(a->config_path);
    if (!config_file_load(a->config_file, &a->cfg, err)) {
        fprintf(stderr, "mcpproxy: invalid config: %s\n", err);
        return false;
    }
    return true;
}

/* Every change made through the API is saved by a rename in the config
 * file's directory (created on the first save if missing): a directory we
 * cannot write would fail every such change later, so the start fails now.
 * The nearest directory that exists is the one that must be writable. */
static bool config_dir_writable(const char *config_path)
{
    char *dir = xstrdup(config_path);
    bool ok = true;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash) {
            free(dir);
            dir = xstrdup(".");
        } else if (slash == dir) {
            slash[1] = '\0';
        } else {
            *slash = '\0';
        }
        struct stat st;
        if (stat(dir, &st) == 0 || errno != ENOENT || strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
            break;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr,
                "mcpproxy: config directory %s is not writable (%s): changes could not be saved - fix its "
                "permissions, or use --config FILE in a writable directory\n",
                dir, strerror(errno));
        ok = false;
    }
    free(dir);
    return ok;
}

/* The routes, in the order they are tried; prefixes that need the key are
 * everything but the dashboard's files and the health check. */
static void add_routes(app *a)
{
    http_server_add_route(a->http, "/mcp", true, mcp_endpoint_route, a->mcp);
    http_server_add_route(a->http, "/events", true, sse_route, a->sse);
    http_server_add_route(a->http, "/ws/", true, ws_route, NULL);
    /* Before /api/servers: it answers /api/servers/{name}/approve. */
    http_server_add_route(a->http, "/api/servers", true, api_quarantine_route, a);
    http_server_add_route(a->http, "/api/quarantine", true, api_quarantine_route, a);
    http_server_add_route(a->http, "/api/servers", true, api_servers_route, a);
    http_server_add_route(a->http, "/api/groups", true, api_groups_route, a);
    http_server_add_route(a->http, "/api/events", true, api_events_route, a);
    http_server_add_route(a->http, "/api/activity", true, api_activity_route, a);
    http_server_add_route(a->http, "/api/openapi.json", true, api_openapi_route, NULL);
    http_server_add_route(a->http, "/api/", true, api_metrics_route, a);
    http_server_add_route(a->http, "/metrics", true, api_metrics_route, a);
    http_server_add_route(a->http, "/healthz", false, api_metrics_route, a);
    /* No key: the user's browser comes back here from a login; the
     * login's single-use state guards it (api/oauth.c). */
    http_server_add_route(a->http, "/oauth/callback", false, api_oauth_route, a);
    http_server_add_route(a->http, "/", false, static_route, NULL);
}

/* A hand edit of the config file, valid and different: applied while the
 * app says Reloading. */
static void on_config_changed(config *next, void *ctx)
{
    app *a = ctx;
    app_state before = a->state;
    if (before == APP_RUNNING)
        app_set_state(a, APP_RELOADING);
    manager_apply_config(a->manager, next);
    if (before == APP_RUNNING)
        app_set_state(a, APP_RUNNING);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Everything has stopped (or the deadline passed): let go of the loop. */
static void finish(runtime *rt)
{
    if (rt->finished)
        return;
    rt->finished = true;
    app *a = &rt->app;
    sse_manager_close(a->sse);
    mcp_endpoint_close(a->mcp);
    http_server_close(a->http);
    /* After /mcp: the calls its close ended are in the log. */
    activity_log_close(a->activity);
    quarantine_close(a->quarantine);
    ticker_close(a->ticker);
    /* Its last words (this node's servers leave the others' lists) go out
     * before the connection closes. */
    registry_close(a->registry);
    rpc_close(a->rpc);
    cluster_close(a->cluster);
    /* After the servers: their last exchanges (a session's DELETE) are done. */
    curl_loop_close(a->curl, NULL, NULL);
    uv_timer_stop(&rt->stop_deadline);
    close_handle((uv_handle_t *)&rt->stop_deadline);
    close_handle((uv_handle_t *)&rt->sigint);
    close_handle((uv_handle_t *)&rt->sigterm);
    close_handle((uv_handle_t *)&rt->sighup);
}

static void maybe_finish(runtime *rt)
{
    if (rt->ws_closed && rt->answers_drained && rt->upstreams_stopped)
        finish(rt);
}

static void on_ws_closed(void *ctx)
{
    runtime *rt = ctx;
    rt->ws_closed = true;
    maybe_finish(rt);
}

static void on_answers_drained(void *ctx)
{
    runtime *rt = ctx;
    rt->answers_drained = true;
    maybe_finish(rt);
}

static void on_upstreams_stopped(void *ctx)
{
    runtime *rt = ctx;
    rt->upstreams_stopped = true;
    maybe_finish(rt);
}

static void on_stop_deadline(uv_timer_t *t)
{
    runtime *rt = t->data;
    log_kv(LOG_WARN, "stop deadline reached: closing what is left",
           LOG_FIELDS(LOG_INT("clients_drained", rt->ws_closed && rt->answers_drained),
                      LOG_INT("upstreams_stopped", rt->upstreams_stopped)));
    finish(rt);
}

/* SIGHUP: reload the config file now, by the file watch's own path (a
 * file whose bytes are the ones loaded or written last changes nothing). */
static void on_sighup(uv_signal_t *sig, int signum)
{
    (void)signum;
    app *a = &((runtime *)sig->data)->app;
    if (!a->watch)
        return;
    log_kv(LOG_INFO, "SIGHUP: reloading the config file", LOG_FIELDS(LOG_STR("path", a->config_path)));
    config_watch_reload(a->watch);
}

/* The stop, in parallel: streams end and calls in flight are answered now,
 * what they wrote drains with the loop; upstream servers are stopped. */
static void on_signal(uv_signal_t *sig, int signum)
{
    runtime *rt = sig->data;
    app *a = &rt->app;
    if (a->state == APP_STOPPING) {
        log_kv(LOG_WARN, "second signal: exiting now", LOG_FIELDS(LOG_STR("signal", strsignal(signum))));
        exit(1);
    }
    log_kv(LOG_INFO, "stopping", LOG_FIELDS(LOG_STR("signal", strsignal(signum))));
    app_set_state(a, APP_STOPPING);
    uv_timer_start(&rt->stop_deadline, on_stop_deadline, APP_STOP_DEADLINE_MS, 0);
    config_watch_close(a->watch);
    a->watch = NULL;
    sse_manager_close(a->sse);
    mcp_endpoint_close(a->mcp);
    ws_manager_close(a->ws, on_ws_closed, rt);
    http_server_drain(a->http, on_answers_drained, rt);
    manager_close(a->manager, on_upstreams_stopped, rt);
}

/* Creates the parts that serve clients. Returns false (said on stderr) when
 * the server cannot listen. */
static bool start_serving(app *a, const char *listen)
{
    a->ws = ws_manager_create(a);
    http_server_options opts = {
        .loop = a->loop,
        .cfg = &a->cfg,
        .listen = listen ? listen : a->cfg.listen,
        .stats = &a->stats,
        .ticker = a->ticker,
        .ws_protocol = ws_manager_protocol(a->ws),
        .ws_extensions = ws_manager_extensions(),
    };
    char err[512];
    a->http = http_server_create(&opts, err, sizeof err);
    if (!a->http) {
        fprintf(stderr, "mcpproxy: %s\n", err);
        ws_manager_destroy(a->ws);
        a->ws = NULL;
        return false;
    }
    a->sse = sse_manager_create(a);
    a->mcp = mcp_endpoint_create(a);
    add_routes(a);
    return true;
}

/* The database, opened before anything is said or started: a file that
 * cannot be used fails the start with one line (said on stderr). */
static bool open_store(app *a)
{
    char err[1024];
    char *path = store_resolve_path(a->cfg.database, a->config_path);
    a->store = store_open(path, err, sizeof err);
    free(path);
    if (!a->store) {
        fprintf(stderr, "mcpproxy: %s\n", err);
        return false;
    }
    return true;
}

/* What lives in the database, once the start cannot fail any more (the
 * first start trusts the configured servers, and says so). */
static void start_store(app *a)
{
    a->activity = activity_log_create(a->loop, a->store, &a->cfg.activity);
    a->quarantine = quarantine_create(a->loop, a->store, a->bus, &a->cfg.quarantine);
    quarantine_trust_initial(a->quarantine, &a->cfg);
}

static void close_store(app *a)
{
    activity_log_destroy(a->activity);
    quarantine_destroy(a->quarantine);
    store_destroy(a->store);
}

int app_run(const app_options *opts)
{
    runtime rt = {0};
    app *a = &rt.app;
    if (!load_config(opts, a) || !config_dir_writable(a->config_path)) {
        config_free(&a->cfg);
        config_file_destroy(a->config_file);
        free(a->config_path);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    a->loop = &loop;
    a->bus = bus_create(a->cfg.websocket.history);
    bus_limit_bytes(a->bus, a->cfg.websocket.history_bytes);
    a->ticker = ticker_create(a->loop);

    /* Before anything is said or started: a start that fails here leaves
     * one line on stderr, naming what to fix. The store first: a file that
     * cannot be used fails the start before the cluster's connection is made. */
    bool serving = open_store(a);
    if (serving && a->cfg.cluster.enabled) {
        char err[512];
        a->cluster = cluster_create(a, err, sizeof err);
        if (!a->cluster) {
            fprintf(stderr, "mcpproxy: %s\n", err);
            serving = false;
        }
    }
    if (!serving || !start_serving(a, opts->listen)) {
        ticker_close(a->ticker);
        cluster_close(a->cluster);
        /* To the end: the cluster's connection closes in a work thread. */
        uv_run(&loop, a->cluster ? UV_RUN_DEFAULT : UV_RUN_NOWAIT);
        cluster_destroy(a->cluster);
        ticker_destroy(a->ticker);
        close_store(a);
        uv_loop_close(&loop);
        bus_destroy(a->bus);
        config_free(&a->cfg);
        config_file_destroy(a->config_file);
        free(a->config_path);
        return 1;
    }

    app_set_state(a, APP_STARTING);
    log_kv(LOG_INFO, "database",
           LOG_FIELDS(LOG_STR("path", store_path(a->store)), LOG_INT("schema_version", store_file_version(a->store))));
    start_store(a);
    uv_signal_init(&loop, &rt.sigint);
    uv_signal_init(&loop, &rt.sigterm);
    uv_signal_init(&loop, &rt.sighup);
    uv_timer_init(&loop, &rt.stop_deadline);
    rt.sigint.data = rt.sigterm.data = rt.sighup.data = rt.stop_deadline.data = &rt;
    uv_signal_start(&rt.sigint, on_signal, SIGINT);
    uv_signal_start(&rt.sigterm, on_signal, SIGTERM);
    uv_signal_start(&rt.sighup, on_sighup, SIGHUP);

    a->curl = curl_loop_create(a->loop);
    strbuf callback = {0};
    strbuf_appendf(&callback, "%s/oauth/callback", http_server_url(a->http));
    a->manager = manager_create(a, a->curl, callback.data);
    strbuf_free(&callback);
    manager_set_notification_sink(a->manager, mcp_endpoint_upstream_notification, a->mcp);
    if (a->cluster) {
        a->registry = registry_create(a, a->cluster);
        registry_set_source(a->registry, api_cluster_local_servers, a);
        registry_set_listener(a->registry, mcp_endpoint_remote_changed, a->mcp);
        a->rpc = rpc_create(a, a->cluster);
        rpc_serve(a->rpc, mcp_endpoint_remote_request, mcp_endpoint_remote_cancel, a->mcp);
        registry_set_node_down(a->registry, rpc_node_down, a->rpc);
        registry_set_gate_listener(a->registry, api_cluster_gate_changed, a);
        manager_set_start_gate(a->manager, api_cluster_start_gate, a);
    }
    manager_start(a->manager);
    a->watch = config_watch_create(a->loop, a->config_file, &a->cfg, on_config_changed, a);
    log_kv(LOG_INFO, "listening",
           LOG_FIELDS(LOG_STR("url", http_server_url(a->http)), LOG_STR("config", a->config_path),
                      LOG_STR("version", MCPPROXY_VERSION)));
    app_set_state(a, APP_RUNNING);

    uv_run(&loop, UV_RUN_DEFAULT);

    http_server_destroy(a->http);
    ws_manager_destroy(a->ws);
    mcp_endpoint_destroy(a->mcp);
    sse_manager_destroy(a->sse);
    manager_destroy(a->manager);
    curl_loop_destroy(a->curl);
    ticker_destroy(a->ticker);
    registry_destroy(a->registry);
    rpc_destroy(a->rpc);
    cluster_destroy(a->cluster);
    close_store(a);
    if (uv_loop_close(&loop) != 0)
        log_msg(LOG_WARN, "event loop closed with handles still open");
    bus_destroy(a->bus);
    config_free(&a->cfg);
    config_file_destroy(a->config_file);
    free(a->config_path);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
