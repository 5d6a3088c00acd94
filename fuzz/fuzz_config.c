/* fuzz_config.c - config_parse() on arbitrary bytes (the config file is
 * trusted, but it is also written by the API and hand-edited: a typo must
 * give an error, never a crash).
 *
 * Invariants: the error message is NUL-terminated inside its buffer, and a
 * config that parses survives the round trip config_to_json -> text ->
 * config_parse unchanged (config_save.c promises it emits exactly what the
 * parser accepts). The input is copied without a trailing NUL so reads past
 * `len` are caught by ASan. */
#include "config/config.h"

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
    char err[CONFIG_ERR_LEN];
    memset(err, 'x', sizeof err);
    bool ok = config_parse(text, size, "fuzz.json", &cfg, err);
    free(text);
    if (!ok) {
        if (!memchr(err, '\0', sizeof err))
            abort();
        config_free(&cfg); /* documented as safe after a failure */
        return 0;
    }

    json_t *first = config_to_json(&cfg);
    char *dumped = json_dumps(first, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!first || !dumped)
        abort();
    config again;
    if (!config_parse(dumped, strlen(dumped), "round-trip", &again, err))
        abort(); /* we wrote something we cannot read back */
    json_t *second = config_to_json(&again);
    if (!json_equal(first, second))
        abort();
    json_decref(first);
    json_decref(second);
    free(dumped);
    config_free(&again);
    config_free(&cfg);
    return 0;
}
