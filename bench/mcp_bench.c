/* mcp-bench — load generator for MCP tool calls: through a Streamable HTTP
 * endpoint (mcpproxy's /mcp, or any other MCP proxy), or straight to a stdio
 * server (the floor: no proxy at all).
 *
 *   mcp-bench http  --url http://HOST:PORT/PATH --concurrency C --calls N
 *                   [--pid PID] [--tool NAME] [--args JSON] [--warmup W] [--label L]
 *   mcp-bench stdio --concurrency C --calls N [--tool NAME] [--args JSON]
 *                   [--warmup W] [--label L] -- COMMAND [ARGS...]
 *
 * http: one MCP session (initialize, notifications/initialized), then C
 * HTTP/1.1 keep-alive connections, each with one tools/call in flight at a
 * time: C calls in flight in all. An answer may be JSON (Content-Length) or
 * a stream (chunked text/event-stream); a connection the server closes
 * after an answer (`connection: close`) is reopened and counted.
 * stdio: the server is spawned with pipes, and C requests are kept in
 * flight on its stdin.
 *
 * The first W calls (default N/10) warm up and are not measured. Prints one
 * JSON object on stdout: calls/s, latency percentiles, and the CPU time of
 * --pid (the proxy) and of mcp-bench itself per measured call. One thread,
 * epoll; the answers are checked to hold a "result". */
#include "hist.h"
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONC 1024

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) {
        perror("mcp-bench");
        exit(1);
    }
    b->cap = cap;
}

static void buf_add(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_consume(buf *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->data)
        b->data[b->len] = '\0';
}

static void die(const char *what)
{
    fprintf(stderr, "mcp-bench: %s\n", what);
    exit(1);
}

typedef struct options {
    bool stdio;
    char host[128];
    char port[16];
    char path[256];
    int concurrency;
    long calls, warmup;
    int pid;
    const char *tool;
    const char *args;
    const char *label;
    char **command;
} options;

/* ---- HTTP responses ----------------------------------------------------- */

typedef struct http_answer {
    int status;
    bool close;
    char session[128];
    buf body; /* de-chunked */
} http_answer;

/* A complete response at the start of `in`: its length (bytes to consume),
 * 0 when more bytes are needed, -1 when it cannot be parsed. `eof` means no
 * more bytes will come (a body without length ends there). */
static long parse_response(const buf *in, bool eof, http_answer *a)
{
    if (!in->len)
        return 0;
    const char *end = strstr(in->data, "\r\n\r\n");
    if (!end)
        return 0;
    size_t head = (size_t)(end - in->data) + 4;
    if (sscanf(in->data, "HTTP/1.%*d %d", &a->status) != 1)
        return -1;
    long length = -1;
    bool chunked = false;
    a->close = false;
    for (const char *line = strstr(in->data, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "content-length:", 15))
            length = strtol(line + 15, NULL, 10);
        else if (!strncasecmp(line, "transfer-encoding:", 18))
            chunked = strstr(line, "chunked") && strstr(line, "chunked") < strstr(line, "\r\n");
        else if (!strncasecmp(line, "connection:", 11))
            a->close = strncasecmp(line + 11 + strspn(line + 11, " "), "close", 5) == 0;
        else if (!strncasecmp(line, "mcp-session-id:", 15))
            sscanf(line + 15, " %127[^\r\n]", a->session);
    }
    a->body.len = 0;
    if (length >= 0) {
        if (in->len < head + (size_t)length)
            return 0;
        buf_add(&a->body, in->data + head, (size_t)length);
        return (long)head + length;
    }
    if (chunked) {
        size_t at = head;
        for (;;) {
            const char *crlf = in->len > at ? strstr(in->data + at, "\r\n") : NULL;
            if (!crlf)
                return 0;
            size_t n = strtoul(in->data + at, NULL, 16);
            size_t data = (size_t)(crlf - in->data) + 2;
            if (in->len < data + n + 2)
                return 0;
            if (n == 0)
                return (long)(data + 2); /* no trailers from the servers we measure */
            buf_add(&a->body, in->data + data, n);
            at = data + n + 2;
        }
    }
    if (!eof)
        return 0;
    a->close = true;
    buf_add(&a->body, in->data + head, in->len - head);
    return (long)in->len;
}

/* ---- connections -------------------------------------------------------- */

typedef struct conn {
    int fd;
    buf in;
    int64_t start_us;
    bool busy;
} conn;

typedef struct bench {
    options o;
    int ep;
    conn conns[MAX_CONC];
    char session[128];
    long sent, done, failed, reconnects;
    hist h;
    int64_t t0_us, cpu0, self0;
    http_answer answer;
} bench;

static int dial(const options *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(o->host, o->port, &hints, &res))
        die("cannot resolve --url's host");
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen)) {
        perror("mcp-bench: connect");
        exit(1);
    }
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            perror("mcp-bench: send");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_post(bench *b, int fd, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                     "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n"
                     "%s%s%sContent-Length: %zu\r\n\r\n",
                     b->o.path, b->o.host, b->o.port, b->session[0] ? "Mcp-Session-Id: " : "", b->session,
                     b->session[0] ? "\r\n" : "", strlen(body));
    /* One send for head and body, as a client library would coalesce them. */
    char msg[4096];
    if ((size_t)n + strlen(body) >= sizeof msg)
        die("request too large");
    memcpy(msg, head, (size_t)n);
    memcpy(msg + n, body, strlen(body));
    send_all(fd, msg, (size_t)n + strlen(body));
}

/* Blocking request/answer, for the handshake. */
static void roundtrip(bench *b, int fd, const char *body, http_answer *a)
{
    buf in = {0};
    send_post(b, fd, body);
    for (;;) {
        char chunk[65536];
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            buf_add(&in, chunk, (size_t)r);
        long n = parse_response(&in, r <= 0, a);
        if (n < 0 || (n == 0 && r <= 0))
            die("bad answer to the handshake");
        if (n > 0)
            break;
    }
    free(in.data);
}

static void call_body(bench *b, long id, char *out, size_t len)
{
    snprintf(out, len,
             "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
             id, b->o.tool, b->o.args);
}

static void measure_start(bench *b)
{
    b->t0_us = procstat_monotonic_us();
    b->cpu0 = b->o.pid ? procstat_cpu_us(b->o.pid) : 0;
    b->self0 = procstat_cpu_us(getpid());
}

static void conn_open(bench *b, conn *c)
{
    c->fd = dial(&b->o);
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_next(bench *b, conn *c)
{
    if (b->sent >= b->o.warmup + b->o.calls) {
        c->busy = false;
        return;
    }
    char body[2048];
    call_body(b, ++b->sent, body, sizeof body);
    c->busy = true;
    c->start_us = procstat_monotonic_us();
    send_post(b, c->fd, body);
}

static void conn_answered(bench *b, conn *c, const http_answer *a)
{
    int64_t us = procstat_monotonic_us() - c->start_us;
    if (a->status != 200 || !strstr(a->body.data ? a->body.data : "", "\"result\""))
        b->failed++;
    if (++b->done == b->o.warmup)
        measure_start(b);
    else if (b->done > b->o.warmup)
        hist_add(&b->h, us);
}

static void conn_reopen(bench *b, conn *c)
{
    epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->in.len = 0;
    conn_open(b, c);
    b->reconnects++;
}

static void conn_readable(bench *b, conn *c)
{
    for (;;) {
        char chunk[65536];
        ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        bool eof = r <= 0;
        if (r > 0)
            buf_add(&c->in, chunk, (size_t)r);
        long n = c->busy ? parse_response(&c->in, eof, &b->answer) : 0;
        if (n < 0)
            die("unparsable HTTP answer");
        if (n > 0) {
            buf_consume(&c->in, (size_t)n);
            conn_answered(b, c, &b->answer);
            if (b->answer.close || eof)
                conn_reopen(b, c);
            conn_next(b, c);
            return;
        }
        if (eof) {
            if (c->busy)
                die("the server closed a connection before answering");
            conn_reopen(b, c);
            return;
        }
    }
}

static int run_http(bench *b)
{
    /* The session, on a connection of its own. */
    int fd = dial(&b->o);
    http_answer a = {0};
    roundtrip(b, fd,
              "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
              "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-bench\",\"version\":\"1\"}}}",
              &a);
    if (a.status != 200 || !a.session[0])
        die("initialize: no 200 with Mcp-Session-Id");
    snprintf(b->session, sizeof b->session, "%s", a.session);
    roundtrip(b, fd, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &a);
    close(fd);
    free(a.body.data);

    b->ep = epoll_create1(0);
    for (int i = 0; i < b->o.concurrency; i++)
        conn_open(b, &b->conns[i]);
    if (b->o.warmup == 0)
        measure_start(b);
    for (int i = 0; i < b->o.concurrency; i++)
        conn_next(b, &b->conns[i]);
    struct epoll_event evs[64];
    while (b->done < b->o.warmup + b->o.calls) {
        int n = epoll_wait(b->ep, evs, 64, 30000);
        if (n == 0)
            die("no answer within 30 s");
        for (int i = 0; i < n; i++)
            conn_readable(b, evs[i].data.ptr);
    }
    return 0;
}

/* ---- stdio -------------------------------------------------------------- */

typedef struct stdio_server {
    pid_t pid;
    int in, out; /* its stdin (we write), its stdout (we read) */
    buf lines;
} stdio_server;

static void spawn_server(stdio_server *s, char **argv)
{
    int to[2], from[2];
    if (pipe(to) || pipe(from))
        die("pipe");
    s->pid = fork();
    if (s->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execvp(argv[0], argv);
        perror("mcp-bench: exec");
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    s->in = to[1];
    s->out = from[0];
}

/* The next line from the server (NUL-terminated in s->lines, consumed by
 * the next call). Blocks. */
static char *next_line(stdio_server *s, size_t *consumed)
{
    buf_consume(&s->lines, *consumed);
    *consumed = 0;
    for (;;) {
        char *nl = s->lines.len ? memchr(s->lines.data, '\n', s->lines.len) : NULL;
        if (nl) {
            *nl = '\0';
            *consumed = (size_t)(nl - s->lines.data) + 1;
            return s->lines.data;
        }
        buf_reserve(&s->lines, 65536);
        ssize_t r = read(s->out, s->lines.data + s->lines.len, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("the stdio server closed its stdout");
        s->lines.len += (size_t)r;
    }
}

static void write_line(stdio_server *s, const char *line)
{
    size_t n = strlen(line);
    char msg[4096];
    if (n + 1 >= sizeof msg)
        die("request too large");
    memcpy(msg, line, n);
    msg[n] = '\n';
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = write(s->in, msg + off, n + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die("cannot write to the stdio server");
        off += (size_t)w;
    }
}

static int run_stdio(bench *b)
{
    stdio_server s = {0};
    size_t consumed = 0;
    signal(SIGPIPE, SIG_IGN);
    spawn_server(&s, b->o.command);
    write_line(&s,
               "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
               "\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-bench\",\"version\":\"1\"}}}");
    if (!strstr(next_line(&s, &consumed), "\"result\""))
        die("initialize failed");
    write_line(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");

    long total = b->o.warmup + b->o.calls;
    int64_t *start = calloc((size_t)total + 1, sizeof *start);
    char body[2048];
    if (b->o.warmup == 0)
        measure_start(b);
    for (int i = 0; i < b->o.concurrency && b->sent < total; i++) {
        call_body(b, ++b->sent, body, sizeof body);
        start[b->sent] = procstat_monotonic_us();
        write_line(&s, body);
    }
    while (b->done < total) {
        char *line = next_line(&s, &consumed);
        const char *id = strstr(line, "\"id\":");
        long k = id ? strtol(id + 5, NULL, 10) : 0;
        if (k < 1 || k > total)
            continue; /* a notification, or not ours */
        int64_t us = procstat_monotonic_us() - start[k];
        if (!strstr(line, "\"result\""))
            b->failed++;
        if (++b->done == b->o.warmup)
            measure_start(b);
        else if (b->done > b->o.warmup)
            hist_add(&b->h, us);
        if (b->sent < total) {
            call_body(b, ++b->sent, body, sizeof body);
            start[b->sent] = procstat_monotonic_us();
            write_line(&s, body);
        }
    }
    free(start);
    close(s.in);
    waitpid(s.pid, NULL, 0);
    free(s.lines.data);
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: mcp-bench http --url http://HOST:PORT/PATH [options]\n"
                    "       mcp-bench stdio [options] -- COMMAND [ARGS...]\n"
                    "options: --concurrency C (1) --calls N (10000) --warmup W (N/10) --pid PID\n"
                    "         --tool NAME (echo) --args JSON ({\"text\":\"hello\"}) --label TEXT\n");
    exit(2);
}

static void parse_options(options *o, int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (!strcmp(argv[1], "stdio"))
        o->stdio = true;
    else if (strcmp(argv[1], "http"))
        usage();
    o->concurrency = 1;
    o->calls = 10000;
    o->warmup = -1;
    o->tool = "echo";
    o->args = "{\"text\":\"hello\"}";
    o->label = o->stdio ? "stdio" : "http";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            o->command = argv + i + 1;
            break;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--url")) {
            if (sscanf(v, "http://%127[^:/]:%15[0-9]%255s", o->host, o->port, o->path) != 3)
                die("--url must be http://HOST:PORT/PATH");
        } else if (!strcmp(a, "--concurrency")) {
            o->concurrency = atoi(v);
        } else if (!strcmp(a, "--calls")) {
            o->calls = atol(v);
        } else if (!strcmp(a, "--warmup")) {
            o->warmup = atol(v);
        } else if (!strcmp(a, "--pid")) {
            o->pid = atoi(v);
        } else if (!strcmp(a, "--tool")) {
            o->tool = v;
        } else if (!strcmp(a, "--args")) {
            o->args = v;
        } else if (!strcmp(a, "--label")) {
            o->label = v;
        } else {
            usage();
        }
    }
    if (o->concurrency < 1 || o->concurrency > MAX_CONC || o->calls < 1)
        die("--concurrency must be 1..1024 and --calls at least 1");
    if (o->warmup < 0)
        o->warmup = o->calls / 10;
    if (o->stdio ? !o->command || !o->command[0] : !o->host[0])
        usage();
}

int main(int argc, char **argv)
{
    static bench b;
    parse_options(&b.o, argc, argv);
    hist_init(&b.h);
    int rc = b.o.stdio ? run_stdio(&b) : run_http(&b);
    int64_t wall = procstat_monotonic_us() - b.t0_us;
    int64_t cpu = b.o.pid ? procstat_cpu_us(b.o.pid) - b.cpu0 : 0;
    int64_t self = procstat_cpu_us(getpid()) - b.self0;
    double n = (double)b.o.calls;
    char proxy_cpu[32] = "null"; /* no --pid: nothing measured */
    if (b.o.pid)
        snprintf(proxy_cpu, sizeof proxy_cpu, "%.1f", (double)cpu / n);
    printf("{\"label\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"calls\":%ld,\"failed\":%ld,\"reconnects\":%ld,"
           "\"seconds\":%.3f,\"calls_per_s\":%.0f,\"p50_us\":%lld,\"p99_us\":%lld,\"max_us\":%lld,"
           "\"proxy_cpu_us_per_call\":%s,\"bench_cpu_us_per_call\":%.1f}\n",
           b.o.label, b.o.stdio ? "stdio" : "http", b.o.concurrency, b.o.calls, b.failed, b.reconnects,
           (double)wall / 1e6, n / ((double)wall / 1e6), (long long)hist_quantile(&b.h, 0.5),
           (long long)hist_quantile(&b.h, 0.99), (long long)b.h.max, proxy_cpu, (double)self / n);
    hist_free(&b.h);
    return b.failed ? 1 : rc;
}
