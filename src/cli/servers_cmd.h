/* servers_cmd.h - `mcpproxy servers list|add|edit|rm|enable|disable|restart`. */
#ifndef MCPPROXY_CLI_SERVERS_CMD_H
#define MCPPROXY_CLI_SERVERS_CMD_H

#include "cli/options.h"

extern const cli_command servers_command;

#endif
