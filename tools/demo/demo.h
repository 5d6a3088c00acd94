/*
 * demo.h - what the two halves of mcp-demo-server share.
 *
 * server.c owns the process: the poll loop, stdin and stdout, timers, signals.
 * mcp.c owns the protocol: JSON-RPC messages, the MCP methods, the tools.
 * mcp.c calls server_* to act on the world; server.c calls mcp_* when
 * something arrives. Both run on the one thread, so nothing here is locked.
 */
#ifndef MCP_DEMO_SERVER_DEMO_H
#define MCP_DEMO_SERVER_DEMO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The command line, parsed (see usage() in mcp-demo-server.c). */
struct demo_options {
    const char *name;        /* serverInfo.name and log prefix; borrowed from argv */
    int64_t crash_after_ms;  /* exit 3 after this long; 0 = never */
    int64_t tools_change_ms; /* toggle the extra tool this often; 0 = never */
    size_t page_size;        /* tools per tools/list page; 0 = all in one page */
    long stderr_lines;       /* numbered lines to write to stderr at start */
    bool fail_handshake;     /* answer initialize with an error, then exit 1 */
};

struct demo_timer; /* private to server.c */

struct demo_server {
    struct demo_options opt;
    struct demo_timer *timers; /* owned; sorted by due time */
    unsigned extra_serial;     /* k of the newest extra_<k> tool; 0 = none yet */
    bool extra_present;        /* is extra_<extra_serial> in the tool list now */
    bool initialized;          /* initialize was answered: notifications may flow */
    bool stopping;             /* leave the loop; exit_status says how */
    int exit_status;
};

/* ---- server.c: the loop ---- */

/* Runs until end of input, a signal, a crash timer or a fatal error.
 * Returns the process exit status. */
int server_run(struct demo_server *srv);

/* Writes one message as a line on stdout. Takes ownership of msg (NULL is
 * tolerated: it means building the message ran out of memory). */
void server_send(struct demo_server *srv, json_t *msg);

/* Asks the loop to end with this status; the first reason given wins. */
void server_stop(struct demo_server *srv, int status);

/* Calls mcp_sleep_finished(id, ms) after ms milliseconds. Keeps its own
 * reference to id. Returns false only when out of memory. */
bool server_sleep_start(struct demo_server *srv, json_t *id, int64_t ms);

/* Forgets a pending sleep for request id; false if there is none. */
bool server_sleep_cancel(struct demo_server *srv, const json_t *id);

/* One line on stderr, prefixed with the server's name. */
void server_log(const struct demo_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- mcp.c: the protocol ---- */

/* Handles one input line (without its newline): a JSON-RPC message. */
void mcp_handle_line(struct demo_server *srv, const char *line, size_t len);

/* Answers a line that was too long to read (-32700, id null). */
void mcp_reject_long_line(struct demo_server *srv, size_t limit);

/* Answers the tools/call "sleep" whose timer ran out; id is borrowed. */
void mcp_sleep_finished(struct demo_server *srv, json_t *id, int64_t ms);

/* Adds or removes the extra tool and tells the client the list changed. */
void mcp_toggle_extra_tool(struct demo_server *srv);

#endif
