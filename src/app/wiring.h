/* wiring.h - the running proxy: every part created, connected and stopped in
 * order. The only file that knows all of them.
 *
 *   Starting ── config, bus, the cluster's NATS link (when configured),
 *               HTTP server (routes, WebSocket protocol), stream, /mcp,
 *               upstream manager, config watch ──▶ Running
 *   Running  ── SIGHUP: the config file is reloaded now, as the file watch
 *              would (config_watch_reload)
 *   Running  ── SIGINT/SIGTERM ──▶ Stopping: WebSocket clients get 1001, SSE
 *              streams end, /mcp calls in flight are answered with an error
 *              and upstreams get SIGTERM, in parallel; when all of that is
 *              written and the servers have exited (or after
 *              APP_STOP_DEADLINE_MS) the lws context goes, the loop drains,
 *              and app_run returns 0. A second signal exits at once. */
#ifndef MCPPROXY_APP_WIRING_H
#define MCPPROXY_APP_WIRING_H

#include <stdbool.h>

/* Whatever is still open this long after a stop signal is cut off, so the
 * process is gone within 2 s of SIGTERM. */
#define APP_STOP_DEADLINE_MS 1500

typedef struct app_options {
    const char *config_path; /* the config file */
    bool config_is_default;  /* a missing default file means "defaults" */
    const char *listen;      /* overrides the config's listen, or NULL */
} app_options;

/* Runs the proxy until it is stopped. Returns the process exit code: 0
 * after a graceful stop, 1 when it could not start - a config file that is
 * unreadable or invalid, a config directory it cannot write, a cluster
 * credentials file it cannot read (a NATS server that is away is waited
 * for, in the background), a listen address in use - said in one
 * line on stderr before any upstream server is started. */
int app_run(const app_options *opts);

#endif
