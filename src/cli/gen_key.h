/* gen_key.h - `mcpproxy gen-key`: put a fresh API key into the config. */
#ifndef MCPPROXY_CLI_GEN_KEY_H
#define MCPPROXY_CLI_GEN_KEY_H

#include "cli/options.h"

/* Loads the config (defaults when the file does not exist yet), sets a new
 * random api_key, saves it atomically (mode 0600) and prints the key and
 * the dashboard URL on stdout. */
extern const cli_command gen_key_command;

#endif
