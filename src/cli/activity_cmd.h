/* activity_cmd.h - `mcpproxy activity`: the activity log of /mcp calls. */
#ifndef MCPPROXY_CLI_ACTIVITY_CMD_H
#define MCPPROXY_CLI_ACTIVITY_CMD_H

#include "cli/options.h"

extern const cli_command activity_command;

#endif
