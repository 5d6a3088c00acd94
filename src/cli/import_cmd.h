/* import_cmd.h - `mcpproxy import FILE | --from claude|cursor|vscode`. */
#ifndef MCPPROXY_CLI_IMPORT_CMD_H
#define MCPPROXY_CLI_IMPORT_CMD_H

#include "cli/options.h"

extern const cli_command import_command;

#endif
