/* auth_cmd.h - `mcpproxy auth login|logout SERVER`: OAuth logins of remote
 * servers. */
#ifndef MCPPROXY_CLI_AUTH_CMD_H
#define MCPPROXY_CLI_AUTH_CMD_H

#include "cli/options.h"

extern const cli_command auth_command;

#endif
