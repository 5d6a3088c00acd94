/* import_cmd.h - `mcpproxy import FILE | --from claude|cursor|vscode`. */
#ifndef MCPPROXY_CLI_IMPORT_CMD_H
#define MCPPROXY_CLI_IMPORT_CMD_H

/* Runs the command; argv[0] is "import". `default_config` is the config
 * file used without --config (borrowed). Returns the exit code: 0 done
 * (servers skipped with a reason included), 1 a file could not be read,
 * parsed or written, 2 a bad command line. */
int import_cmd_main(int argc, char **argv, const char *default_config);

#endif
