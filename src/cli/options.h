/* options.h - mcpproxy's command line. */
#ifndef MCPPROXY_CLI_OPTIONS_H
#define MCPPROXY_CLI_OPTIONS_H

#include "core/log.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum cli_command { CLI_SERVE, CLI_GEN_KEY, CLI_EVENTS } cli_command;

typedef struct cli_options {
    cli_command command;
    const char *config_path; /* NULL = ~/.mcpproxy/mcp_config.json; borrowed from argv */
    const char *listen;      /* NULL = from the config; borrowed from argv */
    log_level level;
    log_format format;
    bool help;
    bool version;
    /* events */
    const char *url;     /* NULL = from the config's listen */
    const char *server;  /* only this server's events */
    const char *types;   /* comma-separated type filter */
    const char *api_key; /* NULL = from the config */
    bool json;           /* print raw JSON lines */
} cli_options;

/* Parses argv. Returns false with a message in err for a bad command line. */
bool cli_parse(int argc, char **argv, cli_options *out, char *err, size_t err_len);

void cli_print_help(FILE *out);

#endif
