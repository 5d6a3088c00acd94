/* stdio_transport.c - child process, pipes, process group, stop sequence. */
#include "upstream/stdio_transport.h"

#include "core/json_write.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "core/jsonrpc.h"
#include "upstream/reaper.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* After the process exited, how long to wait for its pipes to drain (a
 * grandchild may hold them open; it has been SIGKILLed with the group). */
#define DRAIN_TIMEOUT_MS 1000
#define READ_BUF_SIZE 65536

typedef struct stdio_transport {
    transport base; /* first: the transport functions cast back */
    uv_loop_t *loop;
    transport_callbacks cbs;
    void *ctx;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t timer;       /* kill timer while stopping, drain timer after exit */
    uint32_t stop_grace_ms; /* for a stop of our own (stdout closed) */
    size_t max_queued_bytes;
    struct reaper *reaper; /* borrowed, may be NULL */
    strbuf queued;         /* messages waiting for the write in flight */
    char *writing;         /* the bytes of the write in flight, or NULL; owned */
    size_t writing_len;
    bool write_failed;    /* the pipe refused a write: nothing more is sent */
    uv_write_t write_req; /* one write at a time */
    uint64_t kill_at;     /* loop time of the SIGKILL, while stopping */
    int pid;
    int open_handles; /* handles not yet closed */
    bool spawned;     /* false: spawn failed, free silently when closed */
    bool exited;
    bool stdin_closed;
    bool stopping;
    bool closing; /* uv_close issued on every handle */
    bool out_eof, err_eof;
    int64_t exit_status;
    int term_signal;
    jsonrpc_framer framer;
    char out_buf[READ_BUF_SIZE];
    char err_buf[READ_BUF_SIZE];
} stdio_transport;

static int stdio_send(transport *base, const json_t *msg);
static int stdio_send_text(transport *base, const char *text, size_t len);
static void stdio_stop(transport *base, uint32_t grace_ms);
static void stdio_destroy(transport *base);
static int stdio_pid(const transport *base);

static const transport_vtable stdio_vtable = {
    .send = stdio_send, .send_text = stdio_send_text, .stop = stdio_stop, .destroy = stdio_destroy, .pid = stdio_pid};

static void handle_closed(uv_handle_t *h)
{
    stdio_transport *t = h->data;
    /* stdin may be closed early (stop, exit); finish only after close_all. */
    if (--t->open_handles > 0 || !t->closing)
        return;
    if (!t->spawned) {
        jsonrpc_framer_free(&t->framer);
        free(t);
        return;
    }
    /* Everything is closed: the owner may free us from inside on_closed. */
    transport_end end = {.exit_status = t->exit_status, .term_signal = t->term_signal, .reason = NULL};
    t->cbs.on_closed(&end, t->ctx);
}

static void close_handle(stdio_transport *t, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        t->open_handles++;
        uv_close(h, handle_closed);
    }
}

static void close_all(stdio_transport *t)
{
    if (t->closing)
        return;
    t->closing = true;
    /* Guard: handle_closed must not reach zero before every close is issued. */
    t->open_handles++;
    close_handle(t, (uv_handle_t *)&t->proc);
    close_handle(t, (uv_handle_t *)&t->in);
    close_handle(t, (uv_handle_t *)&t->out);
    close_handle(t, (uv_handle_t *)&t->err);
    close_handle(t, (uv_handle_t *)&t->timer);
    t->stdin_closed = true;
    t->open_handles--; /* still > 0: five closes pending */
}

static void maybe_finish(stdio_transport *t)
{
    if (t->exited && t->out_eof && t->err_eof)
        close_all(t);
}

static void drain_timeout(uv_timer_t *timer)
{
    close_all(timer->data);
}

static void kill_timeout(uv_timer_t *timer)
{
    stdio_transport *t = timer->data;
    if (!t->exited) {
        log_kv(LOG_WARN, "upstream did not exit after SIGTERM; sending SIGKILL", LOG_FIELDS(LOG_INT("pid", t->pid)));
        kill(-t->pid, SIGKILL);
    }
}

static void on_process_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    stdio_transport *t = proc->data;
    t->exited = true;
    t->exit_status = exit_status;
    t->term_signal = term_signal;
    if (t->reaper)
        reaper_untrack(t->reaper, t->pid);
    /* The leader is gone; its children (same group) must not outlive it. The
     * group id cannot be reused while any member lives, so this reaches only
     * our server's descendants (or no one: ESRCH). */
    kill(-t->pid, SIGKILL);
    if (!t->stdin_closed) {
        t->stdin_closed = true;
        close_handle(t, (uv_handle_t *)&t->in);
    }
    uv_timer_stop(&t->timer);
    uv_timer_start(&t->timer, drain_timeout, DRAIN_TIMEOUT_MS, 0);
    maybe_finish(t);
}

static void alloc_out(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    stdio_transport *t = h->data;
    *buf = uv_buf_init(t->out_buf, sizeof(t->out_buf));
}

static void alloc_err(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    stdio_transport *t = h->data;
    *buf = uv_buf_init(t->err_buf, sizeof(t->err_buf));
}

static void on_line(const char *line, size_t len, void *ctx)
{
    stdio_transport *t = ctx;
    if (t->cbs.on_text && t->cbs.on_text(line, len, t->ctx))
        return;
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
    if (!msg) {
        t->cbs.on_bad_message(jerr.text, line, len, t->ctx);
        return;
    }
    t->cbs.on_message(msg, len, t->ctx);
    json_decref(msg);
}

static void on_overflow(size_t len, void *ctx)
{
    stdio_transport *t = ctx;
    char why[96];
    snprintf(why, sizeof(why), "line of %zu bytes exceeds the limit of %zu", len, t->framer.max_line);
    t->cbs.on_bad_message(why, "", 0, t->ctx);
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    stdio_transport *t = s->data;
    if (n > 0) {
        jsonrpc_framer_feed(&t->framer, buf->base, (size_t)n, on_line, on_overflow, t);
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        t->out_eof = true;
        /* stdout closed while the process lives: it cannot talk to us any
         * more, so it is as good as dead. */
        if (!t->exited)
            stdio_stop(&t->base, t->stop_grace_ms);
        maybe_finish(t);
    }
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    stdio_transport *t = s->data;
    if (n > 0) {
        t->cbs.on_diagnostic(buf->base, (size_t)n, t->ctx);
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        t->err_eof = true;
        maybe_finish(t);
    }
}

char *stdio_transport_find_helper(void)
{
    const char *override = getenv("MCPPROXY_EXEC_HELPER");
    if (override)
        return (*override && access(override, X_OK) == 0) ? xstrdup(override) : NULL;
    char exe[4096];
    size_t size = sizeof(exe);
    if (uv_exepath(exe, &size) != 0)
        return NULL;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s/mcpproxy-exec", exe);
    if (access(sb.data, X_OK) != 0) {
        strbuf_free(&sb);
        return NULL;
    }
    return sb.data;
}

/* The environment for the child: ours, with the server's entries replacing
 * or adding variables. Returns a NULL-terminated array; strings owned. */
static char **build_env(const server_config *srv)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + srv->n_env + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < srv->n_env && !overridden; j++)
            overridden = strlen(srv->env[j].name) == name_len && strncmp(srv->env[j].name, environ[i], name_len) == 0;
        if (!overridden)
            env[k++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < srv->n_env; j++) {
        strbuf sb = {0};
        strbuf_appendf(&sb, "%s=%s", srv->env[j].name, srv->env[j].value);
        env[k++] = sb.data;
    }
    env[k] = NULL;
    return env;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Whether `command` can be executed (a path, or a name found on PATH). */
static bool command_runnable(const char *command, const char *working_dir)
{
    if (strchr(command, '/')) {
        if (command[0] == '/' || !working_dir || !*working_dir)
            return access(command, X_OK) == 0;
        strbuf sb = {0};
        strbuf_appendf(&sb, "%s/%s", working_dir, command);
        bool ok = access(sb.data, X_OK) == 0;
        strbuf_free(&sb);
        return ok;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        strbuf sb = {0};
        strbuf_appendf(&sb, "%.*s/%s", (int)len, path, command);
        bool ok = access(sb.data, X_OK) == 0;
        strbuf_free(&sb);
        if (ok)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

/* Moves why a start failed into err. The message names the command (any
 * length), so it is cut to fit on a character boundary. Frees *why. */
static void set_start_error(char err[CONFIG_ERR_LEN], strbuf *why)
{
    utf8_copy(err, CONFIG_ERR_LEN, why->data);
    strbuf_free(why);
}

transport *stdio_transport_start(uv_loop_t *loop, const server_config *srv, const stdio_transport_options *opts,
                                 const transport_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN])
{
    const char *wd = (srv->working_dir && *srv->working_dir) ? srv->working_dir : NULL;
    if (!command_runnable(srv->command, wd)) {
        strbuf why = {0};
        strbuf_appendf(&why, "command not found or not executable: %s", srv->command);
        set_start_error(err, &why);
        return NULL;
    }
    stdio_transport *t = xcalloc(1, sizeof(*t));
    t->base.vt = &stdio_vtable;
    t->loop = loop;
    t->cbs = *cbs;
    t->ctx = ctx;
    t->stop_grace_ms = opts->stop_grace_ms;
    t->max_queued_bytes = opts->max_queued_bytes;
    t->reaper = opts->reaper;
    t->write_req.data = t;
    jsonrpc_framer_init(&t->framer, JSONRPC_MAX_LINE_DEFAULT);
    uv_pipe_init(loop, &t->in, 0);
    uv_pipe_init(loop, &t->out, 0);
    uv_pipe_init(loop, &t->err, 0);
    uv_timer_init(loop, &t->timer);
    t->in.data = t->out.data = t->err.data = t->timer.data = t->proc.data = t;

    char *helper = stdio_transport_find_helper();
    size_t argc = 0;
    char **argv = xcalloc(srv->n_args + 4, sizeof(char *));
    char ppid[24];
    snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
    if (helper) {
        argv[argc++] = helper;
        argv[argc++] = ppid;
    }
    argv[argc++] = srv->command;
    for (size_t i = 0; i < srv->n_args; i++)
        argv[argc++] = srv->args[i];
    argv[argc] = NULL;
    char **env = build_env(srv);

    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&t->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&t->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&t->err},
    };
    uv_process_options_t popts = {
        .exit_cb = on_process_exit,
        .file = argv[0],
        .args = argv,
        .env = env,
        .cwd = wd,
        /* DETACHED = setsid(): own session and process group, so a signal
         * to -pid reaches the server and everything it started, and a
         * terminal's ^C aimed at mcpproxy does not hit the servers directly
         * (we stop them in order instead). */
        .flags = UV_PROCESS_DETACHED,
        .stdio_count = 3,
        .stdio = stdio,
    };
    int rc = uv_spawn(loop, &t->proc, &popts);
    free(argv);
    free(helper);
    free_strv(env);
    if (rc != 0) {
        strbuf why = {0};
        strbuf_appendf(&why, "cannot start '%s': %s", srv->command, uv_strerror(rc));
        set_start_error(err, &why);
        t->spawned = false;
        t->exited = true;
        close_all(t); /* frees t once libuv lets go of the handles */
        return NULL;
    }
    t->spawned = true;
    t->pid = t->proc.pid;
    if (t->reaper)
        reaper_track(t->reaper, t->pid);
    uv_read_start((uv_stream_t *)&t->out, alloc_out, on_out_read);
    uv_read_start((uv_stream_t *)&t->err, alloc_err, on_err_read);
    return &t->base;
}

static void flush(stdio_transport *t);

static void write_done(uv_write_t *req, int status)
{
    stdio_transport *t = req->data;
    free(t->writing);
    t->writing = NULL;
    t->writing_len = 0;
    /* A failure (the server closed its stdin, or we did) shows up as the
     * process exiting; nothing more is written. */
    if (status != 0)
        t->write_failed = true;
    else if (t->queued.len && !t->stdin_closed)
        flush(t);
}

/* Hands everything queued to one write. */
static void flush(stdio_transport *t)
{
    assert(!t->writing && t->queued.len > 0);
    t->writing = t->queued.data;
    t->writing_len = t->queued.len;
    t->queued = (strbuf){0};
    uv_buf_t buf = uv_buf_init(t->writing, (unsigned)t->writing_len);
    int rc = uv_write(&t->write_req, (uv_stream_t *)&t->in, &buf, 1, write_done);
    if (rc != 0) {
        free(t->writing);
        t->writing = NULL;
        t->writing_len = 0;
        t->write_failed = true;
    }
}

static bool can_send(const stdio_transport *t)
{
    return !(t->stdin_closed || t->stopping || t->exited || t->write_failed);
}

static int queued(stdio_transport *t, size_t before);

static int stdio_send(transport *base, const json_t *msg)
{
    stdio_transport *t = (stdio_transport *)base;
    if (!can_send(t))
        return UV_EPIPE;
    /* Written straight onto the end of the queue (no text of its own to
     * allocate, copy and free), and taken back off when it does not fit. */
    size_t before = t->queued.len;
    json_write(&t->queued, msg);
    return queued(t, before);
}

static int stdio_send_text(transport *base, const char *text, size_t len)
{
    stdio_transport *t = (stdio_transport *)base;
    if (!can_send(t))
        return UV_EPIPE;
    size_t before = t->queued.len;
    strbuf_append(&t->queued, text, len);
    return queued(t, before);
}

/* A message was appended to the queue from `before` on: it ends its line,
 * and is taken back off when it would pass the bound. */
static int queued(stdio_transport *t, size_t before)
{
    strbuf_append(&t->queued, "\n", 1);
    size_t len = t->queued.len - before;
    /* What we hold for the server: the queue, and the write in flight
     * (held until its callback, even when the pipe took it at once). */
    size_t waiting = before + t->writing_len;
    if (waiting > 0 && waiting + len > t->max_queued_bytes) {
        t->queued.len = before;
        return UV_ENOBUFS;
    }
    if (!t->writing)
        flush(t);
    return 0;
}

static void stdio_stop(transport *base, uint32_t grace_ms)
{
    stdio_transport *t = (stdio_transport *)base;
    if (t->exited)
        return;
    uint64_t kill_at = uv_now(t->loop) + grace_ms;
    if (t->stopping) {
        if (kill_at < t->kill_at) {
            t->kill_at = kill_at;
            uv_timer_start(&t->timer, kill_timeout, grace_ms, 0);
        }
        return;
    }
    t->stopping = true;
    t->kill_at = kill_at;
    /* EOF on stdin is the polite MCP way to say "exit"; SIGTERM to the group
     * covers servers that ignore it, SIGKILL the ones that ignore both. */
    if (!t->stdin_closed) {
        t->stdin_closed = true;
        close_handle(t, (uv_handle_t *)&t->in);
    }
    kill(-t->pid, SIGTERM);
    uv_timer_start(&t->timer, kill_timeout, grace_ms, 0);
}

static void stdio_destroy(transport *base)
{
    stdio_transport *t = (stdio_transport *)base;
    jsonrpc_framer_free(&t->framer);
    strbuf_free(&t->queued);
    free(t);
}

static int stdio_pid(const transport *base)
{
    const stdio_transport *t = (const stdio_transport *)base;
    return t->pid;
}
