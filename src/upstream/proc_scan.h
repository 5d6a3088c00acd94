/* proc_scan.h - the process tree as /proc shows it (Linux).
 *
 * Used by the reaper (children of mcpproxy it did not spawn) and by
 * mcpproxy-exec (every process below the supervisor). Self-contained: it
 * depends on libc only, so the small helper program can be built from it.
 * A snapshot: processes start and end while it is read, so callers that
 * must see everything go (kill, wait, read again) until nothing is left. */
#ifndef MCPPROXY_UPSTREAM_PROC_SCAN_H
#define MCPPROXY_UPSTREAM_PROC_SCAN_H

#include <stddef.h>

typedef struct proc_entry {
    int pid;
    int ppid;
    char state; /* as in /proc/PID/stat: 'R', 'S', 'Z' (exited, not yet reaped), ... */
} proc_entry;

/* Every process /proc lists now. A new array (free() it) of *n entries;
 * NULL and 0 when /proc cannot be read. Out of memory aborts. */
proc_entry *proc_scan(size_t *n);

/* Moves the processes below `root` (children, their children, ... as the
 * ppid links say) to the front of v and returns how many there are. Pure. */
size_t proc_descendants(proc_entry *v, size_t n, int root);

#endif
