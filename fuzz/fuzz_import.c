/* fuzz_import.c - config_import() on arbitrary bytes (`mcpproxy import`
 * reads files other tools wrote, JSONC included: a typo must give an error,
 * never a crash).
 *
 * Invariants: the error message is NUL-terminated inside its buffer; on
 * failure the config is unchanged; every server it adds is one the config
 * file takes back: the config with them saved, as text, parses again to
 * the same servers. The input is copied without a trailing NUL so reads
 * past `len` are caught by ASan. */
#include "config/import.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (size)
        memcpy(text, data, size);
    config cfg;
    config_init_defaults(&cfg);
    config_import_report rep;
    char err[CONFIG_ERR_LEN];
    memset(err, 'x', sizeof err);
    bool ok = config_import(&cfg, text, size, "fuzz.json", "/base", &rep, err);
    free(text);
    if (!ok) {
        if (!memchr(err, '\0', sizeof err) || cfg.n_servers || rep.n_entries)
            abort();
        config_free(&cfg);
        return 0;
    }
    if (cfg.n_servers != rep.n_added || rep.n_added > rep.n_entries)
        abort();
    json_t *first = config_to_json(&cfg);
    char *dumped = json_dumps(first, JSON_COMPACT);
    config again;
    if (!dumped || !config_parse(dumped, strlen(dumped), "round-trip", &again, err))
        abort(); /* an imported server the config file would refuse */
    json_t *a = config_servers_to_json(&cfg), *b = config_servers_to_json(&again);
    if (!json_equal(a, b))
        abort();
    json_decref(a);
    json_decref(b);
    json_decref(first);
    free(dumped);
    config_free(&again);
    config_import_report_free(&rep);
    config_free(&cfg);
    return 0;
}
