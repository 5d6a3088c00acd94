/* fuzz_api_events.c - the POST /api/events decoder, driven through the real
 * handler (api_events_route) with a real bus, exactly as the server calls it once a
 * request body is complete. The body is what any client holding the API key
 * (or any local process, when there is none) can send.
 *
 * Invariants: the answer is 200 or 400 with a JSON body; a 200 published
 * exactly the events it names (all-or-nothing), a 400 published none. */
#include "app/app.h"
#include "core/bus.h"
#include "api/routes.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static app the_app;

static void trap_unless(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!the_app.bus) {
        /* One bus for the whole run: a small ring keeps memory flat while
         * events keep being published. */
        config_init_defaults(&the_app.cfg);
        the_app.bus = bus_create(64);
        trap_unless(the_app.bus != NULL);
    }
    /* server.c hands handlers a NUL-terminated copy of the body. */
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    body[size] = '\0';
    http_request req = {
        .method = HTTP_POST,
        .path = "/api/events",
        .query = "",
        .body = body,
        .body_len = size,
    };
    http_response res = {0};
    uint64_t before = bus_head_seq(the_app.bus);
    trap_unless(api_events_route(&the_app, &req, &res));
    uint64_t after = bus_head_seq(the_app.bus);

    trap_unless(res.status == 200 || res.status == 400);
    json_error_t err;
    json_t *answer = json_loadb(res.body.data, res.body.len, 0, &err);
    trap_unless(answer != NULL);
    if (res.status == 400) {
        trap_unless(after == before);
        trap_unless(json_is_string(json_object_get(answer, "error")));
    } else if (json_object_get(answer, "seq")) {
        trap_unless(after == before + 1);
        trap_unless((uint64_t)json_integer_value(json_object_get(answer, "seq")) == after);
    } else {
        json_t *seqs = json_object_get(answer, "seqs");
        trap_unless(json_is_array(seqs) && json_array_size(seqs) == after - before);
    }
    json_decref(answer);
    strbuf_free(&res.body);
    free(body);
    return 0;
}
