/* exec_helper.c - `mcpproxy-exec PARENT_PID COMMAND [ARGS...]`: the
 * supervisor of one upstream server.
 *
 * mcpproxy starts every server through it, in a session and process group
 * of its own. It
 *   - asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG),
 *     and checks the parent is still the one that started it (it may have
 *     died before the prctl);
 *   - becomes a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the
 *     server starts stays below it, in whatever session or group, since an
 *     orphan is re-parented to its nearest subreaper ancestor;
 *   - forks the server, which stays in the supervisor's session and group
 *     (so mcpproxy's signals to the group reach it directly), with
 *     PR_SET_PDEATHSIG = SIGKILL (so it dies if the supervisor is killed),
 *     and waits;
 *   - passes on to the server the signals others send to the supervisor
 *     (mcpproxy signals the whole group: those the server got already);
 *   - when the server exits, or mcpproxy dies (even by SIGKILL), SIGKILLs
 *     every process below itself, reaps them all, and then exits the way the
 *     server did (its code, or its signal), so mcpproxy sees the server's
 *     own end.
 * Its stdin and stdout go to /dev/null once the server has them, so that
 * EOF means what it meant without it; it keeps stderr for its own few
 * lines. Linux only; no threads, no handlers: signals are blocked and taken
 * with sigwaitinfo. */
#include "upstream/proc_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Passed on to the server when someone other than mcpproxy sends them. */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* SIGKILL to every process below us, once each per pass. */
static void kill_descendants(void)
{
    size_t n;
    proc_entry *v = proc_scan(&n);
    size_t k = proc_descendants(v, n, (int)getpid());
    for (size_t i = 0; i < k; i++)
        if (v[i].state != 'Z')
            kill(v[i].pid, SIGKILL);
    free(v);
}

/* Reaps whatever child has exited; notes the server's status. */
static void reap(pid_t server, int *status, bool *server_done, int flags)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, flags)) > 0) {
        if (pid == server) {
            *status = st;
            *server_done = true;
        }
        flags |= WNOHANG; /* one blocking wait at most, then what is ready */
    }
}

/* Kills everything below us and waits until nothing is: each orphan of a
 * killed process is re-parented to us, so ECHILD means no process is left
 * below us, however deep or detached it was. */
static void end_all(pid_t server, int *status, bool *server_done)
{
    for (;;) {
        kill_descendants();
        /* Also by pid, in case /proc could not be read; only while it is
         * unreaped, so the pid is still the server's. */
        if (!*server_done)
            kill(server, SIGKILL);
        errno = 0;
        reap(server, status, server_done, 0);
        if (errno == ECHILD)
            return;
    }
}

/* Exits the way the server ended. */
static int mirror(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    /* The server dumped core if it was going to: no second dump. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    return 128 + sig; /* a signal whose default is not to terminate */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mcpproxy-exec PARENT_PID COMMAND [ARGS...]\n");
        return 127;
    }
    pid_t parent = (pid_t)strtol(argv[1], NULL, 10);
    sigset_t waited, old;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&waited, forwarded[i]);
    sigprocmask(SIG_BLOCK, &waited, &old);
    signal(SIGPIPE, SIG_IGN); /* a write to a stderr nobody reads must not kill us */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        fprintf(stderr, "mcpproxy-exec: prctl: %s\n", strerror(errno));
        return 127;
    }
    if (getppid() != parent)
        return 127; /* mcpproxy is already gone */
    pid_t self = getpid();
    pid_t server = fork();
    if (server < 0) {
        fprintf(stderr, "mcpproxy-exec: fork: %s\n", strerror(errno));
        return 127;
    }
    if (server == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[2], &argv[2]);
        fprintf(stderr, "mcpproxy-exec: cannot run '%s': %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }

    int status = 0;
    bool server_done = false;
    while (!server_done) {
        siginfo_t si;
        int sig = sigwaitinfo(&waited, &si);
        if (sig < 0)
            continue; /* EINTR */
        if (getppid() != parent)
            break; /* mcpproxy died: end everything below us */
        if (sig == SIGCHLD)
            reap(server, &status, &server_done, WNOHANG);
        else if (si.si_pid != parent || getpgid(server) != getpgrp())
            kill(server, sig); /* from mcpproxy to the group: the server has it unless it left the group */
    }
    end_all(server, &status, &server_done);
    return mirror(status);
}
