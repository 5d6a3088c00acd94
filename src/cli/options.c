/* options.c - parsing and documenting the command line. */
#include "cli/options.h"

#include "config/config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

void cli_print_help(FILE *out)
{
    fputs("mcpproxy " MCPPROXY_VERSION " - one MCP endpoint for many MCP servers, with live events\n"
          "\n"
          "Usage: mcpproxy [serve] [options]\n"
          "  or:  mcpproxy gen-key [--config FILE]\n"
          "  or:  mcpproxy events [--url URL] [--server NAME] [--types a,b] [--json]\n"
          "  or:  mcpproxy import FILE | --from claude|cursor|vscode [--config FILE] [--dry-run]\n"
          "\n"
          "serve (the default) starts the upstream MCP servers listed in the config and\n"
          "serves the dashboard, the HTTP API and the real-time event stream (WebSocket\n"
          "/ws/events, /ws/servers).\n"
          "\n"
          "gen-key writes a new random \"api_key\" into the config file and prints the\n"
          "dashboard URL that carries it. With a key set, every API and WebSocket request\n"
          "must present it (X-API-Key, Authorization: Bearer, or ?apikey=); a key is\n"
          "required to listen on anything but loopback.\n"
          "\n"
          "events prints the live event stream of a running mcpproxy, one line per\n"
          "event, and reconnects (resuming without gaps) if the connection drops. The\n"
          "URL and API key default to the config's listen address and api_key.\n"
          "\n"
          "import adds the MCP servers of another tool's config file (Claude Desktop,\n"
          "Cursor, VS Code) to the config file, skipping what it cannot add and saying\n"
          "why (mcpproxy import --help).\n"
          "\n"
          "Options:\n"
          "  --config FILE        config file (default: ~/.mcpproxy/mcp_config.json; when that\n"
          "                       file does not exist mcpproxy starts with defaults and creates\n"
          "                       it on the first change made through the API). Servers are\n"
          "                       listed under \"mcpServers\" (or VS Code's \"servers\"), as an\n"
          "                       array or keyed by name as Claude Desktop and Cursor write them;\n"
          "                       relative paths in it are relative to the file\n"
          "  --listen HOST:PORT   address to serve on (default: the config's \"listen\",\n"
          "                       127.0.0.1:8080); port 0 picks a free port\n"
          "  --log-level LEVEL    debug, info (default), warn or error\n"
          "  --log-format FORMAT  text (default; key=value) or json (one object per line)\n"
          "  --url URL            events: the proxy to watch (default http://<listen>)\n"
          "  --server NAME        events: only events about this server\n"
          "  --types a,b          events: only these event types\n"
          "  --api-key KEY        events: the proxy's API key (default: the config's)\n"
          "  --json               events: print each event as its raw JSON\n"
          "  -h, --help           show this help and exit\n"
          "  --version            print the version and exit\n"
          "\n"
          "Endpoints (see docs/PROTOCOL.md):\n"
          "  /                    live dashboard\n"
          "  /ws/events           every event over WebSocket (?types=a,b&since=SEQ&epoch=E&batch=1)\n"
          "  /ws/servers?server=N events about one server\n"
          "  /events              the same stream as Server-Sent Events (curl -N)\n"
          "  /mcp                 MCP endpoint (Streamable HTTP): every Ready server's tools\n"
          "  /api/...             HTTP API: servers, groups, events, realtime stats\n"
          "  /healthz, /metrics   health check and Prometheus metrics\n"
          "\n"
          "Signals: SIGINT/SIGTERM stop gracefully (WebSocket clients get close code 1001);\n"
          "SIGHUP reloads the config file now (it is also reloaded when it changes).\n"
          "\n"
          "Exit status: 0 after a graceful stop; 1 when it cannot start (the port is in\n"
          "use, the config file cannot be read, does not parse or its directory cannot be\n"
          "written: one line on stderr says which, before any server is started); 2 for\n"
          "a bad command line.\n",
          out);
}

/* Accepts "--name value" and "--name=value". Returns the value or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    *matched = false;
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=') {
        *matched = true;
        return arg + n + 1;
    }
    if (arg[n] != '\0')
        return NULL;
    *matched = true;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Options whose value is a non-empty string kept as given (borrowed from
 * argv), and where cli_options keeps it. */
static const struct {
    const char *name;
    size_t offset;
} string_options[] = {
    {"--config", offsetof(cli_options, config_path)},
    {"--listen", offsetof(cli_options, listen)},
    {"--url", offsetof(cli_options, url)},
    {"--server", offsetof(cli_options, server)},
    {"--types", offsetof(cli_options, types)},
    {"--api-key", offsetof(cli_options, api_key)},
};

/* Matches argv[*i] against string_options and stores its value. Returns the
 * value, or NULL with *matched telling "not one of them" from "no value". */
static const char *string_option(int argc, char **argv, int *i, cli_options *out, bool *matched)
{
    for (size_t k = 0; k < sizeof string_options / sizeof string_options[0]; k++) {
        const char *value = option_value(argc, argv, i, string_options[k].name, matched);
        if (*matched) {
            *(const char **)((char *)out + string_options[k].offset) = value;
            return value;
        }
    }
    return NULL;
}

bool cli_parse(int argc, char **argv, cli_options *out, char *err, size_t err_len)
{
    *out = (cli_options){.level = LOG_INFO, .format = LOG_FORMAT_TEXT};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value;
        bool matched;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            out->help = true;
        } else if (strcmp(arg, "--version") == 0) {
            out->version = true;
        } else if (i == 1 && strcmp(arg, "serve") == 0) {
            out->command = CLI_SERVE;
        } else if (i == 1 && strcmp(arg, "gen-key") == 0) {
            out->command = CLI_GEN_KEY;
        } else if (i == 1 && strcmp(arg, "events") == 0) {
            out->command = CLI_EVENTS;
        } else if (strcmp(arg, "--json") == 0) {
            out->json = true;
        } else if ((value = string_option(argc, argv, &i, out, &matched)) || matched) {
            if (!value || !*value)
                goto missing;
        } else if ((value = option_value(argc, argv, &i, "--log-level", &matched)) || matched) {
            if (!value)
                goto missing;
            if (!log_level_parse(value, &out->level)) {
                snprintf(err, err_len, "--log-level must be debug, info, warn or error (got \"%s\")", value);
                return false;
            }
        } else if ((value = option_value(argc, argv, &i, "--log-format", &matched)) || matched) {
            if (!value)
                goto missing;
            if (!log_format_parse(value, &out->format)) {
                snprintf(err, err_len, "--log-format must be text or json (got \"%s\")", value);
                return false;
            }
        } else {
            snprintf(err, err_len, "unknown option \"%s\" (see mcpproxy --help)", arg);
            return false;
        }
        continue;
    missing:
        snprintf(err, err_len, "%s needs a value (see mcpproxy --help)", arg);
        return false;
    }
    char host[256];
    int port;
    if (out->listen && !config_split_listen(out->listen, host, sizeof host, &port)) {
        snprintf(err, err_len, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got \"%s\")", out->listen);
        return false;
    }
    return true;
}
