/* events_cmd.h - `mcpproxy events`: the live event stream in a terminal. */
#ifndef MCPPROXY_CLI_EVENTS_CMD_H
#define MCPPROXY_CLI_EVENTS_CMD_H

#include "cli/options.h"

/* Connects to a running mcpproxy's /ws/events (or /ws/servers) and prints
 * every event until SIGINT/SIGTERM. `config_path` supplies the default URL
 * and API key (a missing file means defaults). Returns the exit code. */
int events_cmd_run(const cli_options *opts, const char *config_path);

#endif
