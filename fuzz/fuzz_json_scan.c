/* fuzz_json_scan.c - the tree-less JSON scanner (core/json_scan) that lets
 * /mcp pass an upstream's result bytes to a client as they are: whatever it
 * accepts must be JSON jansson accepts too (else bytes that are not JSON
 * could reach a client), and each member span it reports must hold exactly
 * the value jansson finds under that key.
 *
 * Input: any bytes, scanned as a whole value and as an object. */
#include "core/json_scan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    bool valid = json_scan_valid(text, size);
    json_t *tree = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    if (valid && !tree)
        abort(); /* accepted what jansson refuses */

    json_member m[16];
    size_t n = 0;
    if (json_scan_object(text, size, m, 16, &n)) {
        if (!valid || !json_is_object(tree))
            abort();
        for (size_t i = 0; i < n && n <= 16; i++) {
            if (m[i].key_escaped || memchr(m[i].key, '\0', m[i].key_len))
                continue;
            char key[64];
            if (m[i].key_len >= sizeof key)
                continue;
            memcpy(key, m[i].key, m[i].key_len);
            key[m[i].key_len] = '\0';
            bool ambiguous;
            const json_member *found = json_member_find(m, n, key, &ambiguous);
            if (!found)
                continue; /* duplicated or maybe spelled by an escaped key: a tree decides */
            json_t *value = json_loadb(found->value, found->value_len, JSON_DECODE_ANY, NULL);
            if (!value || !json_equal(value, json_object_get(tree, key)))
                abort();
            if (!json_scan_valid(found->value, found->value_len))
                abort();
            int64_t v;
            if (json_span_int64(found->value, found->value_len, &v) &&
                (!json_is_integer(value) || json_integer_value(value) != v))
                abort();
            json_decref(value);
        }
    }
    json_decref(tree);
    return 0;
}
