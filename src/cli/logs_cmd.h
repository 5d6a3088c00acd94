/* logs_cmd.h - `mcpproxy logs SERVER [-f]`: a server's stderr. */
#ifndef MCPPROXY_CLI_LOGS_CMD_H
#define MCPPROXY_CLI_LOGS_CMD_H

#include "cli/options.h"

extern const cli_command logs_command;

#endif
