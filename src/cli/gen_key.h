/* gen_key.h - `mcpproxy gen-key`: put a fresh API key into the config. */
#ifndef MCPPROXY_CLI_GEN_KEY_H
#define MCPPROXY_CLI_GEN_KEY_H

#include "config/config.h"

/* Loads the config at path (defaults when the file does not exist yet),
 * sets a new random api_key, saves it atomically (mode 0600) and prints the
 * key and the dashboard URL on stdout. Returns the process exit code. */
int gen_key_run(const char *config_path);

#endif
