/* events_cmd.h - `mcpproxy events`: the live event stream in a terminal. */
#ifndef MCPPROXY_CLI_EVENTS_CMD_H
#define MCPPROXY_CLI_EVENTS_CMD_H

#include "cli/options.h"

extern const cli_command events_command;

#endif
