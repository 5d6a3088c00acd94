/* serve_cmd.c - `mcpproxy [serve]`: the proxy itself (app_run). */
#include "cli/serve_cmd.h"

#include "app/wiring.h"
#include "config/config.h"
#include "core/log.h"
#include "core/util.h"

#include <signal.h>
#include <stdlib.h>

static int serve_run(const cli_command *cmd, int argc, char **argv)
{
    const char *config_path = NULL, *listen = NULL, *level_name = NULL, *format_name = NULL;
    const cli_opt opts[] = {
        {"--config", &config_path, NULL, NULL, false},
        {"--listen", &listen, NULL, NULL, false},
        {"--log-level", &level_name, NULL, NULL, false},
        {"--log-format", &format_name, NULL, NULL, false},
    };
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        return rc;
    size_t n_args = args.n;
    const char *first = n_args ? args.v[0] : NULL;
    free(args.v);
    if (first)
        return cli_usage_error(cmd, "unknown command or argument \"%s\"", first);
    log_level level = LOG_INFO;
    log_format format = LOG_FORMAT_TEXT;
    if (level_name && !log_level_parse(level_name, &level))
        return cli_usage_error(cmd, "--log-level must be debug, info, warn or error (got \"%s\")", level_name);
    if (format_name && !log_format_parse(format_name, &format))
        return cli_usage_error(cmd, "--log-format must be text or json (got \"%s\")", format_name);
    char host[256];
    int port;
    if (listen && !config_split_listen(listen, host, sizeof host, &port))
        return cli_usage_error(cmd, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got \"%s\")", listen);
    /* A client or a child vanishing mid-write must be an error on that
     * socket or pipe, not the death of the process. */
    signal(SIGPIPE, SIG_IGN);
    log_setup(level, format);
    char *path = config_path ? xstrdup(config_path) : cli_default_config_path();
    app_options app_opts = {.config_path = path, .config_is_default = !config_path, .listen = listen};
    rc = app_run(&app_opts);
    free(path);
    return rc;
}

const cli_command serve_command = {
    "serve",
    "run the proxy (the default command)",
    "Usage: mcpproxy [serve] [--config FILE] [--listen HOST:PORT] [--log-level LEVEL] [--log-format FORMAT]\n"
    "\n"
    "Starts the upstream MCP servers listed in the config and serves the dashboard,\n"
    "the HTTP API, the real-time event stream (WebSocket /ws/events, /ws/servers,\n"
    "SSE /events) and the MCP endpoint /mcp. SIGINT/SIGTERM stop it gracefully\n"
    "(WebSocket clients get close code 1001); SIGHUP reloads the config file now\n"
    "(it is also reloaded when it changes).\n"
    "\n"
    "Options:\n" SERVE_OPTIONS_HELP "\n"
    "Examples:\n"
    "  mcpproxy\n"
    "  mcpproxy --config examples/demo.json --listen 127.0.0.1:8080\n"
    "\n"
    "Exit codes: 0 stopped by a signal; 1 could not start - the port is in use, the\n"
    "config file cannot be read or does not parse, or its directory cannot be\n"
    "written (one line on stderr says which, before any server is started); 2 bad\n"
    "command line.\n",
    serve_run,
};
