/* ws-bench — load generator for mcpproxy's real-time core.
 *
 * One thread, one libuv loop: libwebsockets clients of /ws/events (wsclients.c)
 * and an HTTP publisher of POST /api/events (publisher.c) share it. Prints one
 * JSON object per measurement on stdout; bench/run.sh turns them into tables.
 *
 *   ws-bench latency --url URL --clients N --rate R --seconds S [--bulk K] [--batch] [--slow M]
 *                    [--runs R:K,R:K,...]  (several runs on the same clients: rate R, bulk K)
 *   ws-bench ramp    --url URL --clients N --bulk K --rate R0 --factor F --max-rate RMAX --seconds S
 *   ws-bench idle    --url URL --steps 0,1000,5000
 *   ws-bench burst   --url URL --clients N --posts P --bulk K [--batch]
 *                    (P POSTs of K events at once, as fast as they are answered)
 *   ws-bench churn   --url URL --cycles N --parallel M
 *                    (N connect, hello, close cycles, M at a time; RSS before, after
 *                    the first tenth, and at the end)
 * common: --pid PID (the server, for CPU and RSS), --conns C (publisher connections), --pad B,
 *         --pub-url URL (publish to another server than the clients read from: a cluster's
 *         node A, the clients on node C; latency is then end to end through the stream),
 *         --raw (clients are a minimal frame reader on libuv instead of lws, whose client parser
 *         goes a byte at a time; not with --slow or churn),
 *         --peer (the server sends no hello: a client is ready once upgraded), --mix (the
 *         typical event mix, publisher.c). permessage-deflate is measured by deflate_bench.mjs
 *         with Node's ws: these lws 4.1 clients, given lws' permessage-deflate, never reported
 *         the hello and spun (not investigated further).
 *
 * Every run reports the server's CPU per delivered event (cpu_us_per_delivery)
 * and the TCP payload bytes the clients received per event (wire_bytes_per_event).
 */
#include "hist.h"
#include "procstat.h"
#include "publisher.h"
#include "wsclients.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

/* How long after the last publish the clients get to catch up. */
#define DRAIN_TIMEOUT_US 5000000
#define IDLE_SETTLE_MS 1500
/* A ramp step whose p99 exceeds this is not sustained: events are piling up. */
#define RAMP_MAX_P99_US 100000

typedef enum { MODE_LATENCY, MODE_RAMP, MODE_IDLE, MODE_BURST, MODE_CHURN } bench_mode;

typedef struct options {
    bench_mode mode;
    char host[64];
    int port;
    char pub_host[64]; /* --pub-url; "" = host */
    int pub_port;
    int clients, slow, bulk, conns, posts, cycles, parallel;
    bool batch, peer, mix, raw;
    double rate, factor, max_rate, seconds;
    int pid;
    size_t pad;
    int steps[16];
    int nsteps;
    double run_rate[16];
    int run_bulk[16];
    int nruns;
} options;

typedef struct bench {
    options o;
    uv_loop_t loop;
    uv_timer_t timer;
    wsc_pool *pool;
    publisher *pub;
    int step;             /* idle: the step; latency: the run */
    double rate;          /* the current run's rate */
    int bulk;             /* the current run's bulk */
    int64_t run_start_us; /* monotonic */
    int64_t publish_end_us;
    int64_t proxy_cpu0, self_cpu0;
    uint64_t rx_bytes0;
    long churn_rss0, churn_rss_warm;
    bool passed_any;
    double best_rate;
    int exit_code;
} bench;

static void usage(void)
{
    fprintf(stderr,
            "usage: ws-bench latency|ramp|idle|burst|churn --url http://HOST:PORT [options] (see bench/ws_bench.c)\n");
    exit(2);
}

static void parse_url(char host[64], int *port, const char *url)
{
    if (sscanf(url, "http://%63[^:/]:%d", host, port) != 2) {
        fprintf(stderr, "ws-bench: --url and --pub-url must be http://HOST:PORT\n");
        exit(2);
    }
}

static void parse_options(options *o, int argc, char **argv)
{
    if (argc < 2)
        usage();
    memset(o, 0, sizeof *o);
    o->clients = 1;
    o->bulk = 1;
    o->conns = 4;
    o->rate = 1000;
    o->factor = 1.5;
    o->max_rate = 1e6;
    o->seconds = 5;
    o->posts = 20;
    o->cycles = 50000;
    o->parallel = 50;
    if (strcmp(argv[1], "latency") == 0)
        o->mode = MODE_LATENCY;
    else if (strcmp(argv[1], "ramp") == 0)
        o->mode = MODE_RAMP;
    else if (strcmp(argv[1], "idle") == 0)
        o->mode = MODE_IDLE;
    else if (strcmp(argv[1], "burst") == 0)
        o->mode = MODE_BURST;
    else if (strcmp(argv[1], "churn") == 0)
        o->mode = MODE_CHURN;
    else
        usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--batch") == 0 || strcmp(a, "--peer") == 0 || strcmp(a, "--mix") == 0 ||
            strcmp(a, "--raw") == 0) {
            *(a[2] == 'b' ? &o->batch : a[2] == 'p' ? &o->peer : a[2] == 'm' ? &o->mix : &o->raw) = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--url") == 0)
            parse_url(o->host, &o->port, v);
        else if (strcmp(a, "--pub-url") == 0)
            parse_url(o->pub_host, &o->pub_port, v);
        else if (strcmp(a, "--clients") == 0)
            o->clients = atoi(v);
        else if (strcmp(a, "--slow") == 0)
            o->slow = atoi(v);
        else if (strcmp(a, "--bulk") == 0)
            o->bulk = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            o->conns = atoi(v);
        else if (strcmp(a, "--posts") == 0)
            o->posts = atoi(v);
        else if (strcmp(a, "--cycles") == 0)
            o->cycles = atoi(v);
        else if (strcmp(a, "--parallel") == 0)
            o->parallel = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            o->rate = atof(v);
        else if (strcmp(a, "--factor") == 0)
            o->factor = atof(v);
        else if (strcmp(a, "--max-rate") == 0)
            o->max_rate = atof(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(a, "--pid") == 0)
            o->pid = atoi(v);
        else if (strcmp(a, "--pad") == 0)
            o->pad = (size_t)atol(v);
        else if (strcmp(a, "--steps") == 0) {
            char *s = (char *)v, *end;
            while (*s && o->nsteps < 16) {
                o->steps[o->nsteps++] = (int)strtol(s, &end, 10);
                s = *end == ',' ? end + 1 : end;
                if (end == s && *s)
                    usage();
            }
        } else if (strcmp(a, "--runs") == 0) {
            char *s = (char *)v, *end;
            while (*s && o->nruns < 16) {
                o->run_rate[o->nruns] = strtod(s, &end);
                if (*end != ':')
                    usage();
                o->run_bulk[o->nruns++] = (int)strtol(end + 1, &end, 10);
                s = *end == ',' ? end + 1 : end;
            }
        } else
            usage();
    }
    if (!o->nruns) {
        o->run_rate[0] = o->rate;
        o->run_bulk[0] = o->bulk;
        o->nruns = 1;
    }
    if (o->raw && (o->slow || o->mode == MODE_CHURN))
        usage();
    if (!o->port || o->clients < 0 || o->conns < 1 || o->rate <= 0 || o->seconds <= 0 || o->posts < 1 ||
        o->cycles < 1 || o->parallel < 1)
        usage();
}

static int64_t self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void bench_finish(bench *b)
{
    uv_timer_stop(&b->timer);
    uv_close((uv_handle_t *)&b->timer, NULL);
    if (b->pub)
        publisher_close(b->pub);
    b->pub = NULL;
    wsc_pool_destroy(b->pool);
}

static void print_hist(const char *prefix, const hist *h)
{
    printf(",\"%sp50_us\":%lld,\"%sp99_us\":%lld,\"%sp999_us\":%lld,\"%smax_us\":%lld,\"%ssamples\":%llu", prefix,
           (long long)hist_quantile(h, 0.50), prefix, (long long)hist_quantile(h, 0.99), prefix,
           (long long)hist_quantile(h, 0.999), prefix, (long long)h->max, prefix, (unsigned long long)h->n);
}

/* One JSON line for the run that just drained; returns whether it was clean. */
static bool report_run(bench *b)
{
    int64_t now = procstat_monotonic_us();
    const publisher_stats *ps = publisher_get_stats(b->pub);
    const wsc_stats *st = wsc_pool_stats(b->pool, false);
    const wsc_stats *slow = wsc_pool_stats(b->pool, true);
    int normal = st->ready - st->closed;
    uint64_t expected = ps->events * (uint64_t)(normal > 0 ? normal : 0);
    double publish_s = (double)(b->publish_end_us - b->run_start_us) / 1e6;
    double wall_s = (double)(now - b->run_start_us) / 1e6;
    /* A burst is over when its last event arrives: deliveries per second
     * are counted from the first POST to then. */
    if (b->o.mode == MODE_BURST && st->last_event_us > b->run_start_us)
        publish_s = (double)(st->last_event_us - b->run_start_us) / 1e6;
    uint64_t wire = wsc_pool_rx_bytes(b->pool) - b->rx_bytes0;
    int64_t proxy_cpu = b->o.pid ? procstat_cpu_us(b->o.pid) : -1;
    double proxy_pct = proxy_cpu >= 0 ? (double)(proxy_cpu - b->proxy_cpu0) / 1e4 / wall_s : -1;
    double self_pct = (double)(self_cpu_us() - b->self_cpu0) / 1e4 / wall_s;
    /* Clean: every client got every event, nothing dropped, and the proxy
     * took the whole offered rate. */
    bool clean = st->dropped_notices == 0 && st->events == expected && ps->errors == 0 &&
                 (double)ps->events >= 0.95 * b->rate * b->o.seconds;
    /* Sustained, for the ramp, also means no growing backlog, which shows as latency. */
    if (b->o.mode == MODE_RAMP && hist_quantile(wsc_pool_hist(b->pool, false), 0.99) > RAMP_MAX_P99_US)
        clean = false;
    printf("{\"mode\":\"%s\",\"clients\":%d,\"slow\":%d,\"batch\":%s,\"bulk\":%d,\"rate\":%.0f,\"seconds\":%.1f",
           b->o.mode == MODE_RAMP    ? "ramp"
           : b->o.mode == MODE_BURST ? "burst"
                                     : "latency",
           normal, slow->ready, b->o.batch ? "true" : "false", b->bulk, b->rate, b->o.seconds);
    printf(",\"published\":%llu,\"publish_rate\":%.0f,\"requests\":%llu,\"post_errors\":%llu,\"backlog_max\":%llu"
           ",\"unsent\":%llu",
           (unsigned long long)ps->events, publish_s > 0 ? (double)ps->events / publish_s : 0,
           (unsigned long long)ps->requests, (unsigned long long)ps->errors, (unsigned long long)ps->backlog_max,
           (unsigned long long)ps->unsent);
    printf(",\"post_rtt_avg_us\":%.0f,\"post_rtt_max_us\":%lld",
           ps->requests ? ps->rtt_sum_us / (double)(ps->requests + ps->errors) : 0, (long long)ps->rtt_max_us);
    printf(",\"expected\":%llu,\"received\":%llu,\"messages\":%llu,\"delivered_per_s\":%.0f",
           (unsigned long long)expected, (unsigned long long)st->events, (unsigned long long)st->messages,
           publish_s > 0 ? (double)st->events / publish_s : 0);
    printf(",\"dropped_notices\":%llu,\"dropped_events\":%llu", (unsigned long long)st->dropped_notices,
           (unsigned long long)st->dropped_events);
    print_hist("", wsc_pool_hist(b->pool, false));
    if (slow->ready) {
        printf(",\"slow_received\":%llu,\"slow_dropped_notices\":%llu,\"slow_dropped_events\":%llu,\"slow_closed\":%d",
               (unsigned long long)slow->events, (unsigned long long)slow->dropped_notices,
               (unsigned long long)slow->dropped_events, slow->closed);
        print_hist("slow_", wsc_pool_hist(b->pool, true));
    }
    printf(",\"proxy_cpu_pct\":%.1f,\"bench_cpu_pct\":%.1f,\"clean\":%s", proxy_pct, self_pct,
           clean ? "true" : "false");
    printf(",\"proxy_cpu_us\":%lld,\"cpu_us_per_delivery\":%.3f,\"wire_bytes\":%llu,\"wire_bytes_per_event\":%.1f"
           ",\"peer\":%s,\"mix\":%s,\"raw\":%s}\n",
           (long long)(proxy_cpu >= 0 ? proxy_cpu - b->proxy_cpu0 : -1),
           proxy_cpu >= 0 && st->events ? (double)(proxy_cpu - b->proxy_cpu0) / (double)st->events : -1,
           (unsigned long long)wire, st->events ? (double)wire / (double)st->events : 0, b->o.peer ? "true" : "false",
           b->o.mix ? "true" : "false", b->o.raw ? "true" : "false");
    fflush(stdout);
    return clean;
}

static void start_run(bench *b);

/* Polls until every client has every event (slow ones: received or dropped). */
static void on_drain_tick(uv_timer_t *t)
{
    bench *b = t->data;
    const publisher_stats *ps = publisher_get_stats(b->pub);
    const wsc_stats *st = wsc_pool_stats(b->pool, false);
    const wsc_stats *slow = wsc_pool_stats(b->pool, true);
    int normal = st->ready - st->closed;
    bool all = st->events >= ps->events * (uint64_t)(normal > 0 ? normal : 0);
    int slow_open = slow->ready - slow->closed;
    all = all && slow->events + slow->dropped_events >= ps->events * (uint64_t)(slow_open > 0 ? slow_open : 0);
    if (!all && procstat_monotonic_us() - b->publish_end_us < DRAIN_TIMEOUT_US)
        return;
    uv_timer_stop(&b->timer);
    bool clean = report_run(b);
    if (b->o.mode == MODE_BURST) {
        bench_finish(b);
        return;
    }
    if (b->o.mode == MODE_RAMP) {
        if (clean) {
            b->passed_any = true;
            b->best_rate = b->rate;
        }
        double next = b->rate * b->o.factor;
        if (clean && next <= b->o.max_rate) {
            b->rate = next;
            start_run(b);
            return;
        }
        printf(
            "{\"mode\":\"ramp_result\",\"batch\":%s,\"clients\":%d,\"bulk\":%d,\"max_clean_rate\":%.0f,\"first_unclean_rate\":%.0f}\n",
            b->o.batch ? "true" : "false", normal, b->bulk, b->passed_any ? b->best_rate : 0, clean ? 0 : b->rate);
        fflush(stdout);
    } else if (++b->step < b->o.nruns) {
        b->rate = b->o.run_rate[b->step];
        b->bulk = b->o.run_bulk[b->step];
        start_run(b);
        return;
    }
    bench_finish(b);
}

static void on_published(void *arg)
{
    bench *b = arg;
    b->publish_end_us = procstat_monotonic_us();
    wsc_pool_resume_slow(b->pool);
    uv_timer_start(&b->timer, on_drain_tick, 10, 10);
}

static void start_run(bench *b)
{
    wsc_pool_reset(b->pool);
    b->rx_bytes0 = wsc_pool_rx_bytes(b->pool);
    b->run_start_us = procstat_monotonic_us();
    b->proxy_cpu0 = b->o.pid ? procstat_cpu_us(b->o.pid) : -1;
    b->self_cpu0 = self_cpu_us();
    if (b->o.mode == MODE_BURST)
        publisher_burst(b->pub, (uint64_t)b->o.posts * (uint64_t)b->bulk, b->bulk, on_published, b);
    else
        publisher_run(b->pub, b->rate, b->bulk, (int64_t)(b->o.seconds * 1e6), on_published, b);
}

static bool check_connected(bench *b, int want)
{
    const wsc_stats *st = wsc_pool_stats(b->pool, false);
    const wsc_stats *slow = wsc_pool_stats(b->pool, true);
    int got = st->ready + slow->ready;
    if (got == want && !st->conn_errors && !slow->conn_errors)
        return true;
    fprintf(stderr, "ws-bench: %d of %d clients connected (%d failed)\n", got, want,
            st->conn_errors + slow->conn_errors);
    b->exit_code = 1;
    bench_finish(b);
    return false;
}

static void on_clients_ready(void *arg)
{
    bench *b = arg;
    if (!check_connected(b, b->o.clients + b->o.slow))
        return;
    b->rate = b->o.run_rate[0];
    b->bulk = b->o.run_bulk[0];
    start_run(b);
}

static void idle_next(bench *b);

static void on_churn_progress(void *arg, int closed)
{
    bench *b = arg;
    if (closed == b->o.cycles / 10)
        b->churn_rss_warm = procstat_rss_kb(b->o.pid);
}

static void on_churn_done(void *arg)
{
    bench *b = arg;
    const wsc_stats *st = wsc_pool_stats(b->pool, false);
    long rss = procstat_rss_kb(b->o.pid);
    double wall_s = (double)(procstat_monotonic_us() - b->run_start_us) / 1e6;
    printf("{\"mode\":\"churn\",\"cycles\":%d,\"parallel\":%d,\"failed\":%d,\"seconds\":%.1f,\"rss_start_kb\":%ld"
           ",\"rss_tenth_kb\":%ld,\"rss_end_kb\":%ld,\"growth_kb\":%ld,\"growth_after_tenth_kb\":%ld,\"peer\":%s}\n",
           b->o.cycles, b->o.parallel, st->conn_errors, wall_s, b->churn_rss0, b->churn_rss_warm, rss,
           rss - b->churn_rss0, rss - b->churn_rss_warm, b->o.peer ? "true" : "false");
    fflush(stdout);
    if (st->conn_errors)
        b->exit_code = 1;
    bench_finish(b);
}

static void on_idle_settled(uv_timer_t *t)
{
    bench *b = t->data;
    int n = b->o.steps[b->step];
    long rss = procstat_rss_kb(b->o.pid);
    printf("{\"mode\":\"idle\",\"clients\":%d,\"proxy_rss_kb\":%ld}\n", n, rss);
    fflush(stdout);
    b->step++;
    idle_next(b);
}

static void on_idle_ready(void *arg)
{
    bench *b = arg;
    if (!check_connected(b, b->o.steps[b->step]))
        return;
    uv_timer_start(&b->timer, on_idle_settled, IDLE_SETTLE_MS, 0);
}

static void idle_next(bench *b)
{
    if (b->step >= b->o.nsteps) {
        bench_finish(b);
        return;
    }
    wsc_pool_grow(b->pool, b->o.steps[b->step], 0, 100, on_idle_ready, b);
}

int main(int argc, char **argv)
{
    static bench b; /* static: large, and the loop's handles point into it */
    parse_options(&b.o, argc, argv);
    uv_loop_init(&b.loop);
    uv_timer_init(&b.loop, &b.timer);
    b.timer.data = &b;

    char path[64];
    snprintf(path, sizeof path, "/ws/events%s", b.o.batch ? "?batch=1" : "");
    int max_clients = b.o.mode == MODE_CHURN ? b.o.parallel : b.o.clients + b.o.slow;
    for (int i = 0; i < b.o.nsteps; i++)
        if (b.o.steps[i] > max_clients)
            max_clients = b.o.steps[i];
    b.pool = wsc_pool_new(&b.loop, b.o.host, b.o.port, path, max_clients,
                          (b.o.peer ? WSC_NO_HELLO : 0) | (b.o.raw ? WSC_RAW : 0));
    if (!b.pool) {
        fprintf(stderr, "ws-bench: cannot create the lws context\n");
        return 1;
    }
    if (b.o.mode == MODE_IDLE) {
        if (!b.o.pid || !b.o.nsteps)
            usage();
        idle_next(&b);
    } else if (b.o.mode == MODE_CHURN) {
        if (!b.o.pid)
            usage();
        b.run_start_us = procstat_monotonic_us();
        b.churn_rss0 = procstat_rss_kb(b.o.pid);
        wsc_pool_churn(b.pool, b.o.cycles, b.o.parallel, 1, on_churn_progress, on_churn_done, &b);
    } else {
        bool other = b.o.pub_host[0] != '\0';
        b.pub = publisher_new(&b.loop, other ? b.o.pub_host : b.o.host, other ? b.o.pub_port : b.o.port, b.o.conns,
                              b.o.pad);
        publisher_set_mix(b.pub, b.o.mix);
        wsc_pool_grow(b.pool, max_clients, b.o.slow, 100, on_clients_ready, &b);
    }
    uv_run(&b.loop, UV_RUN_DEFAULT);
    wsc_pool_free(b.pool);
    uv_loop_close(&b.loop);
    return b.exit_code;
}
