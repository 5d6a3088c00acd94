/* groups_cmd.h - `mcpproxy groups list|add|rm|enable|disable`. */
#ifndef MCPPROXY_CLI_GROUPS_CMD_H
#define MCPPROXY_CLI_GROUPS_CMD_H

#include "cli/options.h"

extern const cli_command groups_command;

#endif
