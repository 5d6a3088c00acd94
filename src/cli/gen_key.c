/* gen_key.c - `mcpproxy gen-key`. The key goes to stdout for the person
 * who asked for it, never to the log. */
#include "cli/gen_key.h"

#include "config/config.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int gen_key_save(const char *config_path)
{
    config cfg;
    char err[CONFIG_ERR_LEN];
    struct stat st;
    if (stat(config_path, &st) != 0 && errno == ENOENT) {
        config_init_defaults(&cfg);
    } else if (!config_load_file(config_path, &cfg, err)) {
        fprintf(stderr, "mcpproxy: invalid config: %s\n", err);
        return 2;
    }

    unsigned char raw[24];
    random_bytes(raw, sizeof raw);
    char key[2 * sizeof raw + 1];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    free(cfg.api_key);
    cfg.api_key = xstrdup(key);

    if (!config_save_file(&cfg, config_path, err)) {
        fprintf(stderr, "mcpproxy: cannot save the new key: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    char host[256];
    int port;
    if (!config_split_listen(cfg.listen, host, sizeof host, &port))
        snprintf(host, sizeof host, "127.0.0.1");
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    printf("api_key written to %s\n"
           "key:       %s\n"
           "dashboard: http://%s:%d/?apikey=%s\n"
           "A running mcpproxy keeps its old key until it is restarted: a reload of the\n"
           "config file applies only mcpServers and auto_disable_threshold.\n",
           config_path, key, host, port, key);
    config_free(&cfg);
    return 0;
}

static int gen_key_run(const cli_command *cmd, int argc, char **argv)
{
    const char *config_path = NULL;
    const cli_opt opts[] = {{"--config", &config_path, NULL, NULL, false}};
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, 1, 0, &args, &rc))
        return rc;
    size_t n_args = args.n;
    free(args.v);
    if (n_args)
        return cli_usage_error(cmd, "takes no arguments");
    char *path = config_path ? xstrdup(config_path) : cli_default_config_path();
    rc = gen_key_save(path);
    free(path);
    return rc;
}

const cli_command gen_key_command = {
    "gen-key",
    "write a new random API key into the config file",
    "Usage: mcpproxy gen-key [--config FILE]\n"
    "\n"
    "Writes a new random \"api_key\" into the config file (mode 0600) and prints\n"
    "the key and the dashboard URL that carries it. With a key set, every API,\n"
    "WebSocket and /mcp request must present it (X-API-Key, Authorization: Bearer,\n"
    "or ?apikey=); a key is required to listen on anything but loopback.\n"
    "A running mcpproxy keeps the key it started with until it is restarted (a\n"
    "reload of the file applies only mcpServers and auto_disable_threshold).\n"
    "The client commands (status, servers, ...) read the key from the same file.\n"
    "\n"
    "Options:\n"
    "  --config FILE     the config file (default: ~/.mcpproxy/mcp_config.json)\n"
    "\n"
    "Example:\n"
    "  mcpproxy gen-key && mcpproxy status\n"
    "\n"
    "Exit codes: 0 ok, 1 the file could not be written, 2 usage or invalid config.\n",
    gen_key_run,
};
