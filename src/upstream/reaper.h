/* reaper.h - what upstream servers leave behind, adopted and ended.
 *
 * reaper_create makes mcpproxy a child subreaper (PR_SET_CHILD_SUBREAPER):
 * a process below it whose parent dies is re-parented to mcpproxy instead
 * of to init, so nothing a server starts can slip away by losing its parent
 * (a double fork, a setsid daemon). Every child of mcpproxy is then either a
 * server process a transport started (tracked here while libuv waits for
 * it) or such an adopted orphan. libuv reaps only the pids it spawned, so
 * the orphans are this module's: on every SIGCHLD (and at reaper_close) it
 * SIGKILLs the live ones and reaps the dead ones.
 *
 * When orphans reach mcpproxy: with mcpproxy-exec, the supervisor that
 * runs each server is itself the subreaper of the server's tree and kills
 * it when the server exits, so orphans reach mcpproxy only when a
 * supervisor was killed first (the SIGKILL that ends a stop grace). Without
 * it, every process of a server's tree whose parent exits becomes
 * mcpproxy's, and is killed at the next SIGCHLD mcpproxy gets — at the
 * latest when that server exits. */
#ifndef MCPPROXY_UPSTREAM_REAPER_H
#define MCPPROXY_UPSTREAM_REAPER_H

#include <uv.h>

typedef struct reaper reaper;

/* Becomes a subreaper (a log line says so when the kernel refuses; then
 * orphans go to init as before) and watches SIGCHLD. */
reaper *reaper_create(uv_loop_t *loop);

/* A child mcpproxy spawned and libuv reaps: never killed or reaped here.
 * Untrack it once libuv has reaped it. */
void reaper_track(reaper *r, int pid);
void reaper_untrack(reaper *r, int pid);

/* Kills the adopted children that live and reaps those that are done. */
void reaper_sweep(reaper *r);

/* A last sweep, then stops watching; done runs once the signal handle is
 * closed. */
void reaper_close(reaper *r, void (*done)(void *ctx), void *ctx);

/* After reaper_close's done; accepts NULL. */
void reaper_destroy(reaper *r);

#endif
