/* call_cmd.h - `mcpproxy call SERVER__TOOL '{json}'`: one tool call through /mcp. */
#ifndef MCPPROXY_CLI_CALL_CMD_H
#define MCPPROXY_CLI_CALL_CMD_H

#include "cli/options.h"

extern const cli_command call_command;

#endif
