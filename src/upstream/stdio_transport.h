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
#include "upstream/transport.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct reaper;

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
 * to clean up, on_closed is never called). `opts` and `cbs` are copied;
 * `ctx` is borrowed and must outlive the transport.
 *
 * As a transport (transport.h): each stdout line is one message (a line
 * that is too long or not JSON goes to on_bad_message); stderr bytes go to
 * on_diagnostic as they come; on_closed reports the exit status once every
 * handle is closed (reason NULL). A send queues one message followed by
 * '\n'. A stop closes the server's stdin, sends SIGTERM to its process
 * group and SIGKILL after grace_ms if it has not exited; calling it again
 * only ever brings the SIGKILL forward (a process stop cutting short the
 * longer grace of a disable), never postpones it. transport_pid is the
 * child's pid (also its process group id): the supervisor's when
 * mcpproxy-exec is used. */
transport *stdio_transport_start(uv_loop_t *loop, const server_config *srv, const stdio_transport_options *opts,
                                 const transport_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN]);

/* Where the exec helper is looked for: next to the running binary. Returns
 * a malloc'd path when the helper exists, else NULL. */
char *stdio_transport_find_helper(void);

#endif
