/* fuzz_query.c - the query-string parser (http_query_get) and the ?types=
 * list parser (event_type_mask_parse): both see raw bytes from any client
 * before the access rules have had their say about the rest.
 *
 * Input: the query string. Every parameter name the server reads is looked
 * up with a few output sizes (tiny ones force the "does not fit" path); a
 * value that was found is then parsed as a types list, as ws.c does. */
#include "core/event.h"
#include "http/request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* lws hands us a NUL-terminated string: cut at the first NUL. */
    char *query = malloc(size + 1);
    memcpy(query, data, size);
    query[size] = '\0';

    static const char *const names[] = {"types", "server", "since", "epoch", "batch", "apikey", "tail", ""};
    static const size_t sizes[] = {1, 2, 8, 256, 4096};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            char *out = malloc(sizes[j]);
            int got = http_query_get(query, names[i], out, sizes[j]);
            if (got < -1 || got > 1)
                abort();
            if (got == 1 && !memchr(out, '\0', sizes[j]))
                abort();
            if (got == 1 && sizes[j] == 4096) {
                event_type_mask mask = 0;
                char err[128];
                memset(err, 'x', sizeof err);
                if (event_type_mask_parse(out, &mask, err, sizeof err)) {
                    if (mask == 0 || (mask & ~EVENT_MASK_ALL))
                        abort();
                } else if (!memchr(err, '\0', sizeof err)) {
                    abort();
                }
            }
            free(out);
        }
    }

    /* The whole input as a types list too: it need not come through a query. */
    event_type_mask mask = 0;
    char err[128];
    if (event_type_mask_parse(query, &mask, err, sizeof err) && (mask == 0 || (mask & ~EVENT_MASK_ALL)))
        abort();
    free(query);
    return 0;
}
