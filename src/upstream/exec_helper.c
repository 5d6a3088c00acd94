/* exec_helper.c - `mcpproxy-exec PARENT_PID COMMAND [ARGS...]`.
 *
 * libuv's uv_spawn has no pre-exec hook, so this tiny program is the hook:
 * it asks the kernel to SIGKILL it when its parent (mcpproxy) dies, checks
 * the parent is still the one that spawned it (it may have died between fork
 * and prctl), and execs the real server. The death signal survives execve, so
 * the server itself is killed if mcpproxy is SIGKILLed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mcpproxy-exec PARENT_PID COMMAND [ARGS...]\n");
        return 127;
    }
    long parent = strtol(argv[1], NULL, 10);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fprintf(stderr, "mcpproxy-exec: prctl: %s\n", strerror(errno));
        return 127;
    }
    if ((long)getppid() != parent)
        return 127; /* mcpproxy is already gone */
    execvp(argv[2], &argv[2]);
    fprintf(stderr, "mcpproxy-exec: cannot run '%s': %s\n", argv[2], strerror(errno));
    return 127;
}
