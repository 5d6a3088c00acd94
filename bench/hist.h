/* hist — latency histogram with 1 µs buckets up to one second.
 *
 * Why not HDR-style log buckets: one second of 1 µs counters is 4 MB, exact to
 * the microsecond, and the bench has memory to spare. Samples of a second or
 * more are counted in `over` (and still reach `max`); a percentile that falls
 * among them is reported as HIST_RANGE_US. */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_RANGE_US 1000000

typedef struct hist {
    uint32_t *counts; /* HIST_RANGE_US buckets, owned */
    uint64_t n;
    uint64_t over;
    int64_t max;
    int64_t min;
    double sum;
} hist;

void hist_init(hist *h);
void hist_free(hist *h);
void hist_reset(hist *h);
/* Negative samples (clock skew cannot happen on one machine, but be safe) count as 0. */
void hist_add(hist *h, int64_t us);
/* q in [0,1]; 0 when empty. */
int64_t hist_quantile(const hist *h, double q);

#endif
