/* stdio_transport.h - one upstream MCP server as a child process.
 *
 * Spawns `command args` with the server's env and working_dir in its own
 * session and process group (so a stop reaches the server's own children
 * too), speaks newline-delimited JSON on its stdin/stdout and hands every
 * stderr byte to the owner. The child is always reaped through libuv's exit
 * callback: no zombies.
 *
 * What is written to the server waits in one buffer while a write is in
 * flight, and one write takes all of it: a server that stops reading makes
 * the buffer grow, up to max_queued_bytes; past that a send is refused.
 *
 * Orphans: the child is started through `mcpproxy-exec` (built next to the
 * mcpproxy binary) when it exists: a small supervisor that forks the
 * server, keeps everything the server starts below itself (a child
 * subreaper), kills all of it when the server exits, and kills all of it
 * when mcpproxy dies (its parent-death signal), SIGKILL included. What a
 * killed supervisor leaves behind is mcpproxy's (upstream/reaper.h). */
#ifndef MCPPROXY_UPSTREAM_STDIO_TRANSPORT_H
#define MCPPROXY_UPSTREAM_STDIO_TRANSPORT_H

#include "config/config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct reaper;
typedef struct stdio_transport stdio_transport;

typedef struct stdio_transport_callbacks {
    /* One parsed JSON value per stdout line of `len` bytes; `msg` is
     * borrowed. */
    void (*on_message)(json_t *msg, size_t len, void *ctx);
    /* A stdout line that could not be used (too long, not JSON); for logs. */
    void (*on_bad_line)(const char *why, const char *line, size_t len, void *ctx);
    /* Raw stderr bytes (borrowed). */
    void (*on_stderr)(const char *bytes, size_t len, void *ctx);
    /* The process has exited and every handle is closed. Called exactly
     * once; the owner may destroy the transport from inside it.
     * exit_status is the exit code (when term_signal is 0). */
    void (*on_exit)(int64_t exit_status, int term_signal, void *ctx);
} stdio_transport_callbacks;

typedef struct stdio_transport_options {
    /* The grace of the stop the transport starts on its own, when the
     * server closes its stdout but lives on. */
    uint32_t stop_grace_ms;
    /* Bytes written to the server that it has not taken yet, at most (one
     * message of any size is taken when nothing waits). */
    size_t max_queued_bytes;
    /* Told the child's pid while libuv waits for it; borrowed, may be NULL. */
    struct reaper *reaper;
} stdio_transport_options;

/* Spawns the server. On failure returns NULL with a reason in err (nothing
 * to clean up, on_exit is never called). `opts` and `cbs` are copied; `ctx`
 * is borrowed and must outlive the transport. */
stdio_transport *stdio_transport_start(uv_loop_t *loop, const server_config *srv, const stdio_transport_options *opts,
                                       const stdio_transport_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN]);

/* Queues one message followed by '\n'. `msg` is borrowed. Returns 0;
 * UV_ENOBUFS when it would take what waits for the server past
 * max_queued_bytes (nothing is queued: the server is not reading); or
 * another negative libuv error (the transport is stopping, the pipe is
 * gone). */
int stdio_transport_send(stdio_transport *t, const json_t *msg);

/* Stops the server: closes its stdin, sends SIGTERM to its process group and
 * SIGKILL after grace_ms if it has not exited. on_exit follows. Calling it
 * again only ever brings the SIGKILL forward (a process stop cutting short
 * the longer grace of a disable); it never postpones it. */
void stdio_transport_stop(stdio_transport *t, uint32_t grace_ms);

/* Frees the transport; only after on_exit (or from inside it). */
void stdio_transport_destroy(stdio_transport *t);

/* The child's pid (also its process group id): the supervisor's when
 * mcpproxy-exec is used. */
int stdio_transport_pid(const stdio_transport *t);

/* Where the exec helper is looked for: next to the running binary. Returns
 * a malloc'd path when the helper exists, else NULL. */
char *stdio_transport_find_helper(void);

#endif
