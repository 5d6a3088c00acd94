/* serve_cmd.h - `mcpproxy [serve]`: run the proxy. */
#ifndef MCPPROXY_CLI_SERVE_CMD_H
#define MCPPROXY_CLI_SERVE_CMD_H

#include "cli/options.h"

extern const cli_command serve_command;

/* The options of serve, for the overview (`mcpproxy help`, --help). */
#define SERVE_OPTIONS_HELP                                                                                             \
    "  --config FILE        config file (default: ~/.mcpproxy/mcp_config.json; when that\n"                            \
    "                       file does not exist mcpproxy starts with defaults and creates\n"                           \
    "                       it on the first change made through the API). Servers are\n"                               \
    "                       listed under \"mcpServers\" (or VS Code's \"servers\"), as an\n"                           \
    "                       array or keyed by name as Claude Desktop and Cursor write them;\n"                         \
    "                       relative paths in it are relative to the file\n"                                           \
    "  --listen HOST:PORT   address to serve on (default: the config's \"listen\",\n"                                  \
    "                       127.0.0.1:8080); port 0 picks a free port\n"                                               \
    "  --log-level LEVEL    debug, info (default), warn or error\n"                                                    \
    "  --log-format FORMAT  text (default; key=value) or json (one object per line)\n"

#endif
