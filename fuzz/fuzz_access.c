/* fuzz_access.c - the access rules (http/access.h) on hostile header values.
 *
 * Input: five NUL-separated fields - Host, Origin, X-API-Key, Authorization,
 * ?apikey= - then flags from the last byte. Beyond "never crash", it checks
 * the rules' promises: without the right key a protected request is never
 * let through when a key is set; on loopback a non-loopback Host is always
 * refused; and an allowed answer is 0, a refusal one of 401/403/421. */
#include "http/access.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void trap_unless(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[size - 1];
    char *text = malloc(size);
    memcpy(text, data, size - 1);
    text[size - 1] = '\0';

    const char *field[5] = {NULL, NULL, NULL, NULL, NULL};
    char *p = text, *end = text + size - 1;
    for (int i = 0; i < 5 && p <= end; i++) {
        field[i] = (flags & (1u << i)) ? p : NULL; /* absent header */
        p += strlen(p) + 1;
    }

    static char key[] = KEY;
    static char empty[] = "";
    static char origin[] = "https://allowed.example";
    char *origins[] = {origin};
    config cfg = {0};
    cfg.api_key = (flags & 0x20) ? key : empty;
    cfg.allowed_origins = origins;
    cfg.n_allowed_origins = 1;

    access_request req = {
        .host = field[0],
        .origin = field[1],
        .api_key = field[2],
        .authorization = field[3],
        .query_key = field[4],
        .state_changing = flags & 0x40,
        .needs_key = flags & 0x80,
    };
    bool on_loopback = (flags & 0x18) != 0x18;
    const char *why = NULL;
    int status = access_check(&cfg, on_loopback, &req, &why);
    trap_unless(status == 0 || ((status == 401 || status == 403 || status == 421) && why));

    if (status == 0 && req.needs_key && cfg.api_key[0]) {
        bool carried = (req.api_key && strcmp(req.api_key, KEY) == 0) ||
                       (req.query_key && strcmp(req.query_key, KEY) == 0) ||
                       (req.authorization && strncasecmp(req.authorization, "Bearer ", 7) == 0 &&
                        strcmp(req.authorization + 7, KEY) == 0);
        trap_unless(carried);
    }
    if (status == 0 && on_loopback)
        trap_unless(req.host && access_is_loopback_host(req.host));
    if (req.host)
        (void)access_is_loopback_host(req.host);
    (void)access_listen_is_loopback(text);
    free(text);
    return 0;
}
