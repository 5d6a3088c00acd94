/*
 * server.c - the demo server's event loop: one thread, one poll(2).
 *
 * Three things wake the loop: bytes on stdin, a due timer (--crash-after,
 * --tools-change-every, a running "sleep" tool call), and SIGTERM/SIGINT,
 * which a handler turns into a byte on a self-pipe so that poll sees it with
 * no race between "check the flag" and "go to sleep". Each event is handled
 * to completion before the next, and a "sleep" call is a timer rather than a
 * blocked thread, so requests that arrive after it are answered meanwhile.
 *
 * Why poll and not libuv: stdin may be a pipe, a regular file or a terminal,
 * and a plain read() after poll() handles all three alike; and stdout stays a
 * blocking descriptor, so we never set O_NONBLOCK on a file description we
 * may share with the process that started us.
 */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest accepted input line, without its newline. A longer line is
 * answered with -32700 and skipped; reading goes on after it. */
#define MAX_LINE_BYTES (1024 * 1024)
/* The read buffer holds one longest line plus its newline, so a full buffer
 * without a newline in it means the line is too long. */
#define LINE_BUF_BYTES (MAX_LINE_BYTES + 1)

enum timer_kind { TIMER_CRASH, TIMER_TOOLS_CHANGE, TIMER_SLEEP };

/*
 * Timers are a singly linked list sorted by due time: inserting is O(n), the
 * next due timer is the head. A demo server has a handful of timers; if
 * thousands of sleeps were ever pending at once, a binary heap would be the
 * better structure.
 */
struct demo_timer {
    int64_t due_ms; /* on the scale of now_ms() */
    enum timer_kind kind;
    json_t *request_id; /* TIMER_SLEEP: the request to answer; owned */
    int64_t sleep_ms;   /* TIMER_SLEEP: the duration asked for, for the answer */
    struct demo_timer *next;
};

/* Splits stdin into lines. */
struct line_reader {
    char *buf;       /* LINE_BUF_BYTES long; owned */
    size_t len;      /* bytes held */
    size_t scanned;  /* leading bytes of buf known to hold no newline */
    bool discarding; /* inside a too-long line: drop bytes up to its newline */
};

/* Set by the signal handler; the self-pipe makes poll() return for it. */
static volatile sig_atomic_t signal_received;
static int signal_pipe[2] = {-1, -1};

/* ---- time and timers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_insert(struct demo_server *srv, struct demo_timer *t)
{
    /* After timers due at the same time, so equal timers fire in the order
     * they were started. */
    struct demo_timer **link = &srv->timers;
    while (*link && (*link)->due_ms <= t->due_ms)
        link = &(*link)->next;
    t->next = *link;
    *link = t;
}

static bool timer_start(struct demo_server *srv, enum timer_kind kind, int64_t delay_ms, json_t *request_id,
                        int64_t sleep_ms)
{
    struct demo_timer *t = calloc(1, sizeof *t);
    if (!t)
        return false;
    t->due_ms = now_ms() + delay_ms;
    t->kind = kind;
    t->request_id = json_incref(request_id);
    t->sleep_ms = sleep_ms;
    timer_insert(srv, t);
    return true;
}

static void timer_free(struct demo_timer *t)
{
    json_decref(t->request_id);
    free(t);
}

static void timers_free_all(struct demo_server *srv)
{
    while (srv->timers) {
        struct demo_timer *t = srv->timers;
        srv->timers = t->next;
        timer_free(t);
    }
}

bool server_sleep_start(struct demo_server *srv, json_t *id, int64_t ms)
{
    return timer_start(srv, TIMER_SLEEP, ms, id, ms);
}

bool server_sleep_cancel(struct demo_server *srv, const json_t *id)
{
    for (struct demo_timer **link = &srv->timers; *link; link = &(*link)->next) {
        struct demo_timer *t = *link;
        if (t->kind == TIMER_SLEEP && json_equal(t->request_id, (json_t *)id)) {
            *link = t->next;
            timer_free(t);
            return true;
        }
    }
    return false;
}

/* Acts on a timer already unlinked from the list; frees or re-inserts it. */
static void timer_fire(struct demo_server *srv, struct demo_timer *t, int64_t now)
{
    switch (t->kind) {
    case TIMER_CRASH:
        server_log(srv, "crashing on purpose now (--crash-after), exit status 3");
        server_stop(srv, 3);
        timer_free(t);
        break;
    case TIMER_TOOLS_CHANGE:
        mcp_toggle_extra_tool(srv);
        /* Next tick one period after this one was due, so ticks do not drift;
         * if we fell far behind, count from now instead of firing a burst. */
        t->due_ms += srv->opt.tools_change_ms;
        if (t->due_ms <= now)
            t->due_ms = now + srv->opt.tools_change_ms;
        timer_insert(srv, t);
        break;
    case TIMER_SLEEP:
        mcp_sleep_finished(srv, t->request_id, t->sleep_ms);
        timer_free(t);
        break;
    }
}

static void timers_run_due(struct demo_server *srv)
{
    int64_t now = now_ms();
    while (!srv->stopping && srv->timers && srv->timers->due_ms <= now) {
        struct demo_timer *t = srv->timers;
        srv->timers = t->next;
        timer_fire(srv, t, now);
    }
}

/* How long poll() may sleep: until the next timer, or forever. */
static int poll_timeout(const struct demo_server *srv)
{
    if (!srv->timers)
        return -1;
    int64_t wait = srv->timers->due_ms - now_ms();
    if (wait < 0)
        return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ---- output ---- */

void server_log(const struct demo_server *srv, const char *fmt, ...)
{
    /* Format first, then one fprintf, so the line reaches stderr in one
     * write and a reader capturing our stderr never sees it torn. */
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", srv->opt.name, text);
}

void server_stop(struct demo_server *srv, int status)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    srv->exit_status = status;
}

/* Blocks until fd is writable; for a stdout someone else made non-blocking. */
static void wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    poll(&p, 1, -1);
}

/* Writes all of data. Returns 0, or the errno that stopped it. A signal
 * (EINTR) stops it too, so SIGTERM ends a server whose reader stalled. */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n >= 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (signal_received)
            return EINTR;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            wait_writable(fd);
            continue;
        }
        return errno;
    }
    return 0;
}

void server_send(struct demo_server *srv, json_t *msg)
{
    /* Once stopping, stay silent: e.g. after --fail-handshake's answer. */
    char *text = msg && !srv->stopping ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (srv->stopping)
        return;
    if (!text) {
        server_log(srv, "out of memory building a message; it was dropped");
        return;
    }
    /* JSON_COMPACT output has no raw newline (jansson escapes them inside
     * strings), so the newline we add is the message's only one. */
    int err = write_all(STDOUT_FILENO, text, strlen(text));
    if (!err)
        err = write_all(STDOUT_FILENO, "\n", 1);
    free(text);
    if (err == EPIPE) {
        server_log(srv, "stdout was closed by the client; exiting");
        server_stop(srv, 0);
    } else if (err == EINTR) {
        server_stop(srv, 0); /* the loop reports the signal */
    } else if (err) {
        server_log(srv, "writing stdout failed: %s", strerror(err));
        server_stop(srv, 1);
    }
}

/* ---- input ---- */

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

static void reader_deliver(struct demo_server *srv, const char *line, size_t len)
{
    /* Blank lines carry no message; skipping them quietly makes the server
     * pleasant to drive by hand, as does accepting CRLF line ends. */
    if (is_blank(line, len))
        return;
    if (line[len - 1] == '\r')
        len--;
    mcp_handle_line(srv, line, len);
}

/* Hands every complete line in the buffer to the protocol and keeps the
 * incomplete rest at the front of the buffer. */
static void reader_split(struct demo_server *srv, struct line_reader *r)
{
    size_t start = 0;
    size_t from = r->scanned;
    char *nl;
    while (!srv->stopping && (nl = memchr(r->buf + from, '\n', r->len - from))) {
        size_t line_len = (size_t)(nl - (r->buf + start));
        if (r->discarding)
            r->discarding = false; /* the end of the too-long line: drop it */
        else
            reader_deliver(srv, r->buf + start, line_len);
        start += line_len + 1;
        from = start;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    r->scanned = r->len;
    if (r->len == LINE_BUF_BYTES) {
        /* A full buffer with no newline: the line is too long. Answer once,
         * then drop its bytes until its newline comes. */
        if (!r->discarding)
            mcp_reject_long_line(srv, MAX_LINE_BYTES);
        r->discarding = true;
        r->len = 0;
        r->scanned = 0;
    }
}

/* End of input: a last line without a newline still counts, then we exit.
 * Pending sleeps are not waited for: EOF is how a client (or the proxy,
 * when it dies) tells us to go, and it should not have to wait. */
static void reader_finish(struct demo_server *srv, struct line_reader *r)
{
    if (r->len > 0 && !r->discarding)
        reader_deliver(srv, r->buf, r->len);
    r->len = 0;
    server_log(srv, "end of input; exiting");
    server_stop(srv, 0);
}

static void reader_fill(struct demo_server *srv, struct line_reader *r)
{
    ssize_t n = read(STDIN_FILENO, r->buf + r->len, LINE_BUF_BYTES - r->len);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        server_log(srv, "reading stdin failed: %s", strerror(errno));
        server_stop(srv, 1);
        return;
    }
    if (n == 0) {
        reader_finish(srv, r);
        return;
    }
    r->len += (size_t)n;
    reader_split(srv, r);
}

/* ---- signals ---- */

static void on_signal(int signo)
{
    int saved_errno = errno;
    signal_received = signo;
    if (write(signal_pipe[1], "s", 1) < 0) {
        /* The pipe is full: a wake-up is pending already. */
    }
    errno = saved_errno;
}

static bool signals_install(struct demo_server *srv)
{
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        server_log(srv, "pipe2: %s", strerror(errno));
        return false;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a write to stdout blocked on a full pipe returns EINTR,
     * so SIGTERM ends the server even when its reader stopped reading. */
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A closed stdout should be an EPIPE we handle, not a silent death. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return true;
}

static void signals_close(void)
{
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0)
            close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
}

/* ---- the loop ---- */

static void loop_once(struct demo_server *srv, struct line_reader *reader)
{
    timers_run_due(srv);
    if (srv->stopping)
        return;
    struct pollfd fds[2] = {
        {.fd = STDIN_FILENO, .events = POLLIN},
        {.fd = signal_pipe[0], .events = POLLIN},
    };
    int ready = poll(fds, 2, poll_timeout(srv));
    if (signal_received) {
        server_log(srv, "got %s; exiting", strsignal(signal_received));
        server_stop(srv, 0);
        return;
    }
    if (ready < 0) {
        if (errno == EINTR)
            return;
        server_log(srv, "poll: %s", strerror(errno));
        server_stop(srv, 1);
        return;
    }
    /* POLLIN, POLLHUP and POLLERR all mean "read() has news": data, end of
     * input, or an error it will report. */
    if (fds[0].revents)
        reader_fill(srv, reader);
}

static bool timers_start_periodic(struct demo_server *srv)
{
    if (srv->opt.crash_after_ms > 0 && !timer_start(srv, TIMER_CRASH, srv->opt.crash_after_ms, NULL, 0))
        return false;
    if (srv->opt.tools_change_ms > 0 && !timer_start(srv, TIMER_TOOLS_CHANGE, srv->opt.tools_change_ms, NULL, 0))
        return false;
    return true;
}

int server_run(struct demo_server *srv)
{
    struct line_reader reader = {.buf = malloc(LINE_BUF_BYTES)};
    if (!reader.buf || !timers_start_periodic(srv)) {
        server_log(srv, "out of memory at start");
        server_stop(srv, 1);
    } else if (!signals_install(srv)) {
        server_stop(srv, 1);
    } else {
        server_log(srv, "ready: MCP over stdio, pid %ld", (long)getpid());
    }
    while (!srv->stopping)
        loop_once(srv, &reader);
    timers_free_all(srv);
    free(reader.buf);
    signals_close();
    return srv->exit_status;
}
