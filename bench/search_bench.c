/* search_bench - how long retrieve_tools' search takes with many tools
 * indexed (src/store/tool_index.c, the code /mcp runs): builds an index of
 * N synthetic tools (default 10,000) shaped like real ones, then times Q
 * searches of two to four words (default 20,000) and prints the build time
 * and the search latency's percentiles. Results: docs/BENCHMARKS.md.
 *
 *   search-bench [--tools N] [--queries Q] [--limit L] */
#include "store/tool_index.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const services[] = {"github",   "gitlab", "jira",   "slack",  "gmail",  "calendar", "drive",
                                       "postgres", "s3",     "stripe", "k8s",    "notion", "weather",  "maps",
                                       "twilio",   "docker", "linear", "sentry", "zoom",   "hubspot"};
static const char *const objects[] = {"issue",  "repository", "message", "channel", "email",     "event",   "file",
                                      "folder", "table",      "row",     "bucket",  "invoice",   "payment", "pod",
                                      "page",   "forecast",   "route",   "sms",     "container", "volume",  "user",
                                      "team",   "comment",    "label",   "release"};
static const char *const actions[] = {"create", "list", "get", "update", "delete", "search"};

#define N_SERVICES (sizeof services / sizeof services[0])
#define N_OBJECTS (sizeof objects / sizeof objects[0])
#define N_ACTIONS (sizeof actions / sizeof actions[0])

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n_tools = 10000, n_queries = 20000, limit = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tools") == 0)
            n_tools = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--queries") == 0)
            n_queries = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--limit") == 0)
            limit = atol(argv[i + 1]);
    }
    if (n_tools < 1 || n_queries < 1 || limit < 1 || limit > 50) {
        fprintf(stderr, "usage: search-bench [--tools N] [--queries Q] [--limit 1-50]\n");
        return 2;
    }
    char err[256];
    tool_index *ix = tool_index_create(err, sizeof err);
    if (!ix) {
        fprintf(stderr, "search-bench: %s\n", err);
        return 1;
    }
    srand(42);
    int64_t t0 = now_ns();
    tool_index_begin(ix);
    for (long i = 0; i < n_tools; i++) {
        /* Distinct names past the 3,000 combinations: a variant number. */
        const char *svc = services[i % N_SERVICES];
        const char *obj = objects[(i / N_SERVICES) % N_OBJECTS];
        const char *act = actions[(i / (N_SERVICES * N_OBJECTS)) % N_ACTIONS];
        long variant = i / (long)(N_SERVICES * N_OBJECTS * N_ACTIONS);
        char name[128], server[64], desc[256];
        snprintf(server, sizeof server, "%s%ld", svc, variant);
        snprintf(name, sizeof name, "%s_%s_%s", act, obj, svc);
        snprintf(desc, sizeof desc, "%s a %s in %s (variant %ld). Returns the %s as JSON with its id and fields.", act,
                 obj, svc, variant, obj);
        json_t *def =
            json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}}}", "name", name, "description", desc,
                      "inputSchema", "type", "object", "properties", "id", "type", "string", "description",
                      "its identifier", "query", "type", "string", "description", "text to look for");
        char offered[200];
        snprintf(offered, sizeof offered, "%s__%s", server, name);
        tool_index_put(ix, offered, server, def);
        json_decref(def);
    }
    tool_index_commit(ix);
    int64_t build_ns = now_ns() - t0;

    int64_t *lat = malloc(sizeof *lat * (size_t)n_queries);
    int64_t *cpu = malloc(sizeof *cpu * (size_t)n_queries);
    tool_hit hits[50];
    long found = 0;
    double kind_sum[3] = {0};
    long kind_n[3] = {0};
    for (long q = 0; q < n_queries; q++) {
        char query[200];
        switch (q % 3) {
        case 0:
            snprintf(query, sizeof query, "%s %s", actions[rand() % N_ACTIONS], objects[rand() % N_OBJECTS]);
            break;
        case 1:
            snprintf(query, sizeof query, "%s a %s in %s", actions[rand() % N_ACTIONS], objects[rand() % N_OBJECTS],
                     services[rand() % N_SERVICES]);
            break;
        default:
            snprintf(query, sizeof query, "find the %s of my %s", objects[rand() % N_OBJECTS],
                     services[rand() % N_SERVICES]);
            break;
        }
        int64_t s = now_ns(), c = cpu_ns();
        size_t n = tool_index_search(ix, query, NULL, (size_t)limit, hits);
        lat[q] = now_ns() - s;
        cpu[q] = cpu_ns() - c;
        kind_sum[q % 3] += (double)lat[q];
        kind_n[q % 3]++;
        found += n > 0;
        tool_hits_free(hits, n);
    }
    qsort(lat, (size_t)n_queries, sizeof *lat, cmp_i64);
    qsort(cpu, (size_t)n_queries, sizeof *cpu, cmp_i64);
    double sum = 0;
    for (long q = 0; q < n_queries; q++)
        sum += (double)lat[q];
#define PCT(p) ((double)lat[(long)((double)(n_queries - 1) * (p))] / 1000.0)
    printf("tools %zu  build %.1f ms  queries %ld (%ld with hits)  limit %ld\n", tool_index_count(ix),
           (double)build_ns / 1e6, n_queries, found, limit);
    printf("search latency (us): mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
           sum / (double)n_queries / 1000.0, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), PCT(1.0));
    /* CPU time: what the search itself costs, without the waits a loaded
     * machine adds to the wall clock. */
    printf("search CPU time (us):  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
           (double)cpu[(long)((double)(n_queries - 1) * 0.5)] / 1000.0,
           (double)cpu[(long)((double)(n_queries - 1) * 0.9)] / 1000.0,
           (double)cpu[(long)((double)(n_queries - 1) * 0.99)] / 1000.0,
           (double)cpu[(long)((double)(n_queries - 1) * 0.999)] / 1000.0, (double)cpu[n_queries - 1] / 1000.0);
    free(cpu);
    printf("mean by query shape (us): \"ACTION OBJECT\" %.1f, \"ACTION a OBJECT in SERVICE\" %.1f, "
           "\"find the OBJECT of my SERVICE\" %.1f\n",
           kind_sum[0] / (double)kind_n[0] / 1000.0, kind_sum[1] / (double)kind_n[1] / 1000.0,
           kind_sum[2] / (double)kind_n[2] / 1000.0);
    free(lat);
    tool_index_destroy(ix);
    return 0;
}
