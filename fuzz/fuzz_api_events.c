/* fuzz_api_events.c - the POST /api/events decoder (api_events_decode),
 * then the decoded events published on a real bus, as the handler does once
 * a request body is complete. The body is what any client holding the API
 * key (or any local process, when there is none) can send.
 *
 * Invariants: the decoder accepts, or refuses with 400 or 413 and a JSON
 * error; what it accepts publishes exactly the events the body holds. */
#include "api/event_decode.h"
#include "config/config.h"
#include "core/bus.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void trap_unless(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bus *the_bus;
    static config cfg;
    if (!the_bus) {
        /* One bus for the whole run: a small ring keeps memory flat while
         * events keep being published. */
        config_init_defaults(&cfg);
        the_bus = bus_create(64);
    }
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, 0, &err);
    if (!body)
        return 0; /* the handler answers invalid JSON before the decoder */
    http_response res = {0};
    event_fields *events = NULL;
    size_t n = 0;
    uint64_t before = bus_head_seq(the_bus);
    if (api_events_decode(body, cfg.websocket.max_event_bytes, &events, &n, &res)) {
        trap_unless(res.status == 0 && n >= 1);
        trap_unless(n == (json_is_array(body) ? json_array_size(body) : 1));
        for (size_t i = 0; i < n; i++)
            trap_unless(bus_publish(the_bus, &events[i]) == before + i + 1);
        free(events);
    } else {
        trap_unless(res.status == 400 || res.status == 413);
        json_t *answer = json_loadb(res.body.data, res.body.len, 0, &err);
        trap_unless(json_is_string(json_object_get(answer, "error")));
        json_decref(answer);
        trap_unless(bus_head_seq(the_bus) == before);
    }
    strbuf_free(&res.body);
    json_decref(body);
    return 0;
}
