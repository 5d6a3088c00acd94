/* gen_key.c - `mcpproxy gen-key`. The key goes to stdout for the person
 * who asked for it, never to the log. */
#include "cli/gen_key.h"

#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int gen_key_run(const char *config_path)
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
           "Restart mcpproxy for the key to take effect.\n",
           config_path, key, host, port, key);
    config_free(&cfg);
    return 0;
}
