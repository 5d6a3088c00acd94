/* options.h - mcpproxy's command line: the command table's entry, one
 * small parser every command uses, and the options shared by the commands
 * that talk to a running proxy. */
#ifndef MCPPROXY_CLI_OPTIONS_H
#define MCPPROXY_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes, the same for every command (README, `mcpproxy help`). */
enum {
    CLI_OK = 0,
    CLI_ERROR = 1,       /* the command failed (the proxy said why) */
    CLI_USAGE = 2,       /* bad command line or config file */
    CLI_UNREACHABLE = 3, /* no proxy answers at the address */
    CLI_REFUSED = 4,     /* the proxy refused the request (API key, Origin) */
};

/* One command: `mcpproxy NAME ...`. main.c's table lists them all. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line, for `mcpproxy help` */
    const char *help;    /* the whole of `mcpproxy help NAME`: usage, options, examples */
    /* argv[0] is the command's name. Returns the exit code. */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
} cli_command;

/* An option a command accepts. Exactly one of value, flag, list is set;
 * values are borrowed from argv. */
typedef struct cli_strings {
    const char *v[64];
    size_t n;
} cli_strings;

typedef struct cli_opt {
    const char *name;   /* "--url" */
    const char **value; /* takes a value: "--url X" or "--url=X" */
    bool *flag;         /* takes none */
    cli_strings *list;  /* takes a value, may be repeated */
    bool empty_ok;      /* "" is a value (a group of none, an empty argument), not a mistake */
} cli_opt;

/* What is not an option, in order (borrowed from argv). */
typedef struct cli_args {
    char **v;
    size_t n;
} cli_args;

/* Parses argv[1..] against opts (n_opts of them). -h/--help prints
 * cmd->help. Once `raw_after` arguments are positional, the rest are too,
 * options or not (a server's command line); 0 = never. "--" ends options.
 * Returns true to go on; false with *exit_code set: 0 after --help, 2
 * after a usage error (printed, naming the command). On true args->v is
 * allocated (free it); on false nothing is. */
bool cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts, size_t n_opts, size_t raw_after,
                    cli_args *args, int *exit_code);

/* Prints "mcpproxy NAME: <message> (see mcpproxy help NAME)" and returns 2. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options of every command that talks to a running proxy. */
typedef struct client_opts {
    const char *url;     /* NULL = http://<the config's listen> */
    const char *api_key; /* NULL = $MCPPROXY_API_KEY, then the config's api_key */
    const char *config;  /* NULL = ~/.mcpproxy/mcp_config.json */
    bool json;
} client_opts;

/* clang-format off */
#define CLI_CLIENT_OPTS(o)                                  \
    {"--url", &(o).url, NULL, NULL, false},                 \
    {"--api-key", &(o).api_key, NULL, NULL, false},         \
    {"--config", &(o).config, NULL, NULL, false},           \
    {"--json", NULL, &(o).json, NULL, false}
/* clang-format on */

/* The help text of those options, for every client command's help. */
#define CLI_CLIENT_HELP                                                                                                \
    "  --url URL         the proxy (default: http://<listen> from the config file)\n"                                  \
    "  --api-key KEY     its API key (default: $MCPPROXY_API_KEY, then the config's api_key)\n"                        \
    "  --config FILE     the config file to read those from (default: ~/.mcpproxy/mcp_config.json)\n"                  \
    "  --json            print what the proxy answered as JSON\n"

/* ~/.mcpproxy/mcp_config.json (new string; caller frees). */
char *cli_default_config_path(void);

#endif
