/* main.c - mcpproxy: load the config, build the parts on one libuv loop,
 * run until a signal, then stop in order.
 *
 *   Starting ── config, bus, HTTP server, upstream manager ──▶ Running
 *   Running  ── SIGINT/SIGTERM ──▶ Stopping: WebSocket clients get 1001 and
 *              upstreams get SIGTERM, in parallel; when both are done (or
 *              after STOP_DEADLINE_MS) the lws context goes, the loop drains,
 *              and the process exits 0. A second signal exits at once. */
#include "app/app.h"
#include "cli/events_cmd.h"
#include "cli/gen_key.h"
#include "cli/options.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "upstream/manager.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whatever is still open this long after a stop signal is cut off, so the
 * process is gone within 2 s of SIGTERM. */
#define STOP_DEADLINE_MS 1500

typedef struct runtime {
    app app;
    uv_signal_t sigint, sigterm;
    uv_timer_t stop_deadline;
    bool clients_closed;
    bool upstreams_stopped;
    bool finished;
} runtime;

static char *default_config_path(void)
{
    const char *home = getenv("HOME");
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s/.mcpproxy/mcp_config.json", home && *home ? home : ".");
    return sb.data;
}

/* Loads the config. A missing file at the default location means "defaults";
 * a missing --config file is an error, as is any invalid file. */
static bool load_config(const cli_options *opts, app *a)
{
    char err[CONFIG_ERR_LEN];
    a->config_path = opts->config_path ? realpath(opts->config_path, NULL) : default_config_path();
    if (!a->config_path) {
        fprintf(stderr, "mcpproxy: config file %s: %s\n", opts->config_path, strerror(errno));
        return false;
    }
    struct stat st;
    if (!opts->config_path && stat(a->config_path, &st) != 0 && errno == ENOENT) {
        config_init_defaults(&a->cfg);
        log_kv(LOG_INFO, "no config file yet: starting with defaults",
               LOG_FIELDS(LOG_STR("path", a->config_path)));
        return true;
    }
    if (!config_load_file(a->config_path, &a->cfg, err)) {
        fprintf(stderr, "mcpproxy: invalid config: %s\n", err);
        return false;
    }
    return true;
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
    http_server_close(rt->app.http);
    uv_timer_stop(&rt->stop_deadline);
    close_handle((uv_handle_t *)&rt->stop_deadline);
    close_handle((uv_handle_t *)&rt->sigint);
    close_handle((uv_handle_t *)&rt->sigterm);
}

static void on_clients_closed(void *ctx)
{
    runtime *rt = ctx;
    rt->clients_closed = true;
    if (rt->upstreams_stopped)
        finish(rt);
}

static void on_upstreams_stopped(void *ctx)
{
    runtime *rt = ctx;
    rt->upstreams_stopped = true;
    if (rt->clients_closed)
        finish(rt);
}

static void on_stop_deadline(uv_timer_t *t)
{
    runtime *rt = t->data;
    log_kv(LOG_WARN, "stop deadline reached: closing what is left",
           LOG_FIELDS(LOG_INT("clients_drained", rt->clients_closed),
                      LOG_INT("upstreams_stopped", rt->upstreams_stopped)));
    finish(rt);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    runtime *rt = sig->data;
    if (rt->app.state == APP_STOPPING) {
        log_kv(LOG_WARN, "second signal: exiting now", LOG_FIELDS(LOG_STR("signal", strsignal(signum))));
        exit(1);
    }
    log_kv(LOG_INFO, "stopping", LOG_FIELDS(LOG_STR("signal", strsignal(signum))));
    app_set_state(&rt->app, APP_STOPPING);
    uv_timer_start(&rt->stop_deadline, on_stop_deadline, STOP_DEADLINE_MS, 0);
    http_server_shutdown(rt->app.http, on_clients_closed, rt);
    manager_stop_all(rt->app.manager, on_upstreams_stopped, rt);
}

static int run(const cli_options *opts)
{
    runtime rt = {0};
    app *a = &rt.app;
    if (!load_config(opts, a)) {
        free(a->config_path);
        return 2;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    a->loop = &loop;
    a->bus = bus_create(a->cfg.websocket.history);
    app_set_state(a, APP_STARTING);

    char err[512];
    a->http = http_server_create(a, opts->listen, err, sizeof err);
    if (!a->http) {
        fprintf(stderr, "mcpproxy: %s\n", err);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        bus_destroy(a->bus);
        config_free(&a->cfg);
        free(a->config_path);
        return 1;
    }

    uv_signal_init(&loop, &rt.sigint);
    uv_signal_init(&loop, &rt.sigterm);
    uv_timer_init(&loop, &rt.stop_deadline);
    rt.sigint.data = rt.sigterm.data = rt.stop_deadline.data = &rt;
    uv_signal_start(&rt.sigint, on_signal, SIGINT);
    uv_signal_start(&rt.sigterm, on_signal, SIGTERM);

    a->manager = manager_create(a);
    log_kv(LOG_INFO, "listening",
           LOG_FIELDS(LOG_STR("url", http_server_url(a->http)), LOG_STR("config", a->config_path),
                      LOG_STR("version", MCPPROXY_VERSION)));
    app_set_state(a, APP_RUNNING);

    uv_run(&loop, UV_RUN_DEFAULT);

    http_server_destroy(a->http);
    manager_destroy(a->manager);
    if (uv_loop_close(&loop) != 0)
        log_msg(LOG_WARN, "event loop closed with handles still open");
    bus_destroy(a->bus);
    config_free(&a->cfg);
    free(a->config_path);
    log_msg(LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    cli_options opts;
    char err[256];
    if (!cli_parse(argc, argv, &opts, err, sizeof err)) {
        fprintf(stderr, "mcpproxy: %s\n", err);
        return 2;
    }
    if (opts.help) {
        cli_print_help(stdout);
        return 0;
    }
    if (opts.version) {
        puts("mcpproxy " MCPPROXY_VERSION);
        return 0;
    }
    if (opts.command != CLI_EVENTS && (opts.url || opts.server || opts.types || opts.api_key || opts.json)) {
        fprintf(stderr, "mcpproxy: --url, --server, --types, --api-key and --json belong to `mcpproxy events`\n");
        return 2;
    }
    if (opts.command == CLI_GEN_KEY || opts.command == CLI_EVENTS) {
        char *path = opts.config_path ? xstrdup(opts.config_path) : default_config_path();
        int rc = opts.command == CLI_GEN_KEY ? gen_key_run(path) : events_cmd_run(&opts, path);
        free(path);
        return rc;
    }
    /* A client vanishing mid-write must be an error on that socket, not the
     * death of the process. */
    signal(SIGPIPE, SIG_IGN);
    log_setup(opts.level, opts.format);
    return run(&opts);
}
