/* tools_cmd.h - `mcpproxy tools [SERVER]`: the tools on offer. */
#ifndef MCPPROXY_CLI_TOOLS_CMD_H
#define MCPPROXY_CLI_TOOLS_CMD_H

#include "cli/options.h"

extern const cli_command tools_command;

#endif
