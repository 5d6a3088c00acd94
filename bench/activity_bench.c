/* activity-bench - what the activity log costs the loop (src/store/activity.c,
 * the code the proxy runs): turns of B calls each are queued and written
 * (one transaction per turn, as one flush of the proxy; a turn over 128
 * calls is cut at 128 by the log's own bound) into a
 * fresh database file until N rows are in, timing each turn's write; then
 * the API's queries over them (a page, a filtered page, a text search).
 * Results: docs/BENCHMARKS.md.
 *
 *   activity-bench [--rows N] [--batch B] [--dir DIR] */
#include "store/activity.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double query_ms(activity_log *l, activity_filter f)
{
    json_t *rows;
    int64_t next;
    char err[256];
    int64_t s = now_ns();
    if (!activity_log_query(l, &f, &rows, &next, err, sizeof err)) {
        fprintf(stderr, "activity-bench: %s\n", err);
        exit(1);
    }
    double ms = (double)(now_ns() - s) / 1e6;
    json_decref(rows);
    return ms;
}

int main(int argc, char **argv)
{
    long n_rows = 100000, batch = 100;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rows") == 0)
            n_rows = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    if (n_rows < 1 || batch < 1) {
        fprintf(stderr, "usage: activity-bench [--rows N] [--batch B] [--dir DIR]\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/activity-bench-%d.db", dir, (int)getpid());
    char err[512];
    store *db = store_open(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "activity-bench: %s\n", err);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    activity_settings settings = {.retention_days = 30, .max_rows = (uint32_t)n_rows * 2, .max_argument_bytes = 4096};
    activity_log *l = activity_log_create(&loop, db, &settings);
    json_t *args = json_pack("{s:s, s:i, s:s}", "path", "/home/user/project/src/main.c", "line", 42, "text",
                             "a typical argument of a few dozen bytes");
    long turns = (n_rows + batch - 1) / batch;
    int64_t *lat = malloc(sizeof *lat * (size_t)turns);
    static const char *const tools[] = {"read_file", "write_file", "search", "create_issue", "list_pods"};
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t t0 = (int64_t)wall.tv_sec * 1000;
    for (long t = 0, row = 0; t < turns; t++) {
        for (long i = 0; i < batch && row < n_rows; i++, row++)
            activity_log_add(l, &(activity_record){.ts_ms = t0 + row,
                                                   .session_id = "0123456789abcdef0123456789abcdef",
                                                   .server = row % 3 ? "github" : "files",
                                                   .method = "tools/call",
                                                   .name = tools[row % 5],
                                                   .arguments = args,
                                                   .error = row % 10 ? NULL : "the tool reported an error",
                                                   .duration_ms = (uint64_t)(row % 300),
                                                   .response_bytes = 1024});
        int64_t s = now_ns();
        activity_log_flush(l); /* what the flush timer (or a full queue) does */
        lat[t] = now_ns() - s;
    }
    qsort(lat, (size_t)turns, sizeof *lat, cmp_i64);
    double sum = 0;
    for (long t = 0; t < turns; t++)
        sum += (double)lat[t];
    printf("rows %ld in turns of %ld: write per turn (ms) mean %.3f  p50 %.3f  p99 %.3f  max %.3f  (%.1f us/row)\n",
           n_rows, batch, sum / (double)turns / 1e6, (double)lat[turns / 2] / 1e6,
           (double)lat[(long)((double)(turns - 1) * 0.99)] / 1e6, (double)lat[turns - 1] / 1e6,
           sum / (double)n_rows / 1e3);
    printf(
        "queries (ms): newest 100 %.3f  server+tool+outcome 100 %.3f  q=text 100 %.3f  since/until 100 %.3f\n",
        query_ms(l, (activity_filter){.limit = 100}),
        query_ms(l, (activity_filter){.server = "files", .tool = "search", .outcome = "error", .limit = 100}),
        query_ms(l, (activity_filter){.q = "project/src", .limit = 100}),
        query_ms(l, (activity_filter){.since_ms = t0 + n_rows / 2, .until_ms = t0 + n_rows / 2 + 500, .limit = 100}));
    free(lat);
    json_decref(args);
    activity_log_close(l);
    uv_run(&loop, UV_RUN_DEFAULT);
    activity_log_destroy(l);
    store_destroy(db);
    uv_loop_close(&loop);
    char wal[600], shm[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    return 0;
}
