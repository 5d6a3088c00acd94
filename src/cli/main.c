/* main.c - mcpproxy's entry: pick the command named by argv[1] from the
 * table and run it. With no command (or only options) it serves. The
 * proxy itself is app_run (src/app/wiring.h, through serve_cmd.c). */
#include "cli/activity_cmd.h"
#include "cli/auth_cmd.h"
#include "cli/call_cmd.h"
#include "cli/events_cmd.h"
#include "cli/gen_key.h"
#include "cli/groups_cmd.h"
#include "cli/import_cmd.h"
#include "cli/logs_cmd.h"
#include "cli/options.h"
#include "cli/serve_cmd.h"
#include "cli/servers_cmd.h"
#include "cli/status_cmd.h"
#include "cli/tools_cmd.h"
#include "core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every command, in the order `mcpproxy help` lists them. */
static const cli_command *const commands[] = {
    &serve_command,    &status_command, &servers_command, &groups_command, &tools_command,   &call_command,
    &activity_command, &logs_command,   &events_command,  &auth_command,   &gen_key_command, &import_command,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void print_overview(FILE *out)
{
    fputs("mcpproxy " MCPPROXY_VERSION " - one MCP endpoint for many MCP servers, with live events\n"
          "\n"
          "Usage: mcpproxy [serve] [options]      run the proxy\n"
          "  or:  mcpproxy COMMAND [options]      talk to a running proxy, or edit the config\n"
          "  or:  mcpproxy help [COMMAND]         this overview, or one command's help\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("  help       this overview; `mcpproxy help COMMAND` (or COMMAND --help) for one\n"
          "\n"
          "Options of serve:\n" SERVE_OPTIONS_HELP "  -h, --help           show this help and exit\n"
          "  --version            print the version and exit\n"
          "\n"
          "Options of the commands that talk to a running proxy:\n" CLI_CLIENT_HELP "\n"
          "Exit codes: 0 ok, 1 error (the message says what the proxy answered),\n"
          "2 usage (bad command line, or config file for a client), 3 proxy not reachable,\n"
          "4 refused (a missing or wrong API key). serve exits 1 when it cannot start:\n"
          "the port is in use, or the config file cannot be read, does not parse or its\n"
          "directory cannot be written (one line on stderr says which).\n"
          "\n"
          "Signals (serve): SIGINT/SIGTERM stop it gracefully; SIGHUP reloads the config\n"
          "file now (it is also reloaded when it changes).\n"
          "\n"
          "Examples:\n"
          "  mcpproxy --config examples/demo.json\n"
          "  mcpproxy status --watch\n"
          "  mcpproxy call demo__add '{\"a\":2,\"b\":3}'\n"
          "  mcpproxy logs demo -f\n"
          "  mcpproxy import --from claude\n"
          "\n"
          "Endpoints (see docs/PROTOCOL.md; GET /api/openapi.json describes the REST API):\n"
          "  /                    live dashboard\n"
          "  /ws/events           every event over WebSocket (?types=a,b&since=SEQ&epoch=E&batch=1)\n"
          "  /ws/servers?server=N events about one server\n"
          "  /events              the same stream as Server-Sent Events (curl -N)\n"
          "  /mcp                 MCP endpoint (Streamable HTTP): every Ready server's tools\n"
          "  /mcp/search          the same in search mode: retrieve_tools and call_tool instead\n"
          "  /api/...             HTTP API: servers, groups, events, activity, realtime stats\n"
          "  /healthz, /metrics   health check and Prometheus metrics\n",
          out);
}

static int help_run(int argc, char **argv)
{
    if (argc <= 2) {
        print_overview(stdout);
        return CLI_OK;
    }
    const cli_command *cmd = find_command(argv[2]);
    if (!cmd || argc > 3) {
        fprintf(stderr, "mcpproxy help: %s \"%s\" (mcpproxy help lists the commands)\n",
                cmd ? "one command at a time, not" : "no command", argv[cmd ? 3 : 2]);
        return CLI_USAGE;
    }
    fputs(cmd->help, stdout);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    /* Out of memory aborts everywhere, jansson's allocations included, so no
     * caller handles a NULL from an allocation. */
    json_set_alloc_funcs(xmalloc, free);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        print_overview(stdout);
        return CLI_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        puts("mcpproxy " MCPPROXY_VERSION);
        return CLI_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "help") == 0)
        return help_run(argc, argv);
    /* No command, or options first: serve. */
    if (argc < 2 || argv[1][0] == '-')
        return serve_command.run(&serve_command, argc, argv);
    const cli_command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "mcpproxy: unknown command \"%s\" (mcpproxy help lists the commands)\n", argv[1]);
        return CLI_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmd->run(cmd, argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
