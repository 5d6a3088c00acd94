/* status_cmd.h - `mcpproxy status [--watch]`: the servers at a glance. */
#ifndef MCPPROXY_CLI_STATUS_CMD_H
#define MCPPROXY_CLI_STATUS_CMD_H

#include "cli/options.h"

extern const cli_command status_command;

#endif
