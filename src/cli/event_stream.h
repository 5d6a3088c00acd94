/* event_stream.h - a running proxy's live events (Server-Sent Events,
 * /events) for the commands that follow them: `events`, `status --watch`
 * and `logs -f`.
 *
 * It keeps trying, from the start: a proxy that is not running yet is waited
 * for (one line says so), a dropped connection is retried with backoff
 * (0.5 s doubling to 10 s) and resumed where it left off (since=SEQ&epoch=E,
 * so nothing is missed or repeated; a restarted proxy is said so). Only a
 * refusal ends it (4, a missing or wrong key) or SIGINT/SIGTERM (0).
 * Connection news goes to stderr, one line each. */
#ifndef MCPPROXY_CLI_EVENT_STREAM_H
#define MCPPROXY_CLI_EVENT_STREAM_H

#include "cli/api_client.h"

#include <jansson.h>
#include <stdint.h>

typedef struct event_stream {
    api_client *api;  /* borrowed: the address and key */
    const char *path; /* "/events?..." without since/epoch; borrowed */
    bool resume;      /* after a reconnect, ask for what was missed */
    /* Every message in order: hello, control messages, events (msg and
     * raw borrowed for the call). Return false to stop with exit code 0. */
    bool (*on_message)(json_t *msg, const char *raw, void *ctx);
    /* Optional: called about once a second while connected (also when
     * nothing arrives), for work that waits on time. Return false to stop
     * with exit code 0. */
    bool (*on_tick)(void *ctx);
    void *ctx;
    /* kept by the stream */
    uint64_t last_seq;
    char epoch[40];
} event_stream;

/* Follows the stream until on_message says stop, a signal, or a refusal.
 * Returns the exit code. */
int event_stream_run(event_stream *s);

/* SIGINT and SIGTERM end a following command cleanly: installed by
 * event_stream_run, usable by other loops (`logs -f`). */
void cli_catch_stop_signals(void);
bool cli_stop_requested(void);

/* Sleeps up to ms, returning early (false) when asked to stop. */
bool cli_sleep_ms(long ms);

#endif
