/* reaper.c - subreaper, SIGCHLD watch, killing and reaping adopted orphans. */
#include "upstream/reaper.h"

#include "core/log.h"
#include "core/util.h"
#include "upstream/proc_scan.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct reaper {
    uv_signal_t sigchld;
    int *tracked; /* pids of the server processes libuv waits for */
    size_t n_tracked, cap_tracked;
    void (*done)(void *ctx);
    void *done_ctx;
};

static bool is_tracked(const reaper *r, int pid)
{
    for (size_t i = 0; i < r->n_tracked; i++)
        if (r->tracked[i] == pid)
            return true;
    return false;
}

void reaper_sweep(reaper *r)
{
    size_t n;
    proc_entry *v = proc_scan(&n);
    int self = (int)getpid();
    for (size_t i = 0; i < n; i++) {
        if (v[i].ppid != self || is_tracked(r, v[i].pid))
            continue;
        if (v[i].state == 'Z') {
            waitpid(v[i].pid, NULL, WNOHANG);
        } else {
            /* Its SIGCHLD brings it back here to be reaped. */
            log_kv(LOG_INFO, "killing a process an upstream server left behind", LOG_FIELDS(LOG_INT("pid", v[i].pid)));
            kill(v[i].pid, SIGKILL);
        }
    }
    free(v);
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    (void)signum;
    reaper_sweep(h->data);
}

reaper *reaper_create(uv_loop_t *loop)
{
    reaper *r = xcalloc(1, sizeof(*r));
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        log_kv(LOG_WARN, "cannot become a child subreaper; what servers leave behind goes to init",
               LOG_FIELDS(LOG_STR("error", strerror(errno))));
    uv_signal_init(loop, &r->sigchld);
    r->sigchld.data = r;
    uv_signal_start(&r->sigchld, on_sigchld, SIGCHLD);
    return r;
}

void reaper_track(reaper *r, int pid)
{
    if (r->n_tracked == r->cap_tracked) {
        r->cap_tracked = r->cap_tracked ? r->cap_tracked * 2 : 8;
        r->tracked = xrealloc(r->tracked, r->cap_tracked * sizeof *r->tracked);
    }
    r->tracked[r->n_tracked++] = pid;
}

void reaper_untrack(reaper *r, int pid)
{
    for (size_t i = 0; i < r->n_tracked; i++) {
        if (r->tracked[i] == pid) {
            r->tracked[i] = r->tracked[--r->n_tracked];
            return;
        }
    }
}

static void closed(uv_handle_t *h)
{
    reaper *r = h->data;
    if (r->done)
        r->done(r->done_ctx);
}

void reaper_close(reaper *r, void (*done)(void *ctx), void *ctx)
{
    reaper_sweep(r);
    r->done = done;
    r->done_ctx = ctx;
    uv_signal_stop(&r->sigchld);
    uv_close((uv_handle_t *)&r->sigchld, closed);
}

void reaper_destroy(reaper *r)
{
    if (!r)
        return;
    free(r->tracked);
    free(r);
}
