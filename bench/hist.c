#include "hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->counts = calloc(HIST_RANGE_US, sizeof *h->counts);
    if (!h->counts) {
        fprintf(stderr, "ws-bench: out of memory\n");
        exit(1);
    }
    h->min = INT64_MAX;
}

void hist_free(hist *h)
{
    free(h->counts);
    h->counts = NULL;
}

void hist_reset(hist *h)
{
    uint32_t *c = h->counts;
    memset(c, 0, HIST_RANGE_US * sizeof *c);
    memset(h, 0, sizeof *h);
    h->counts = c;
    h->min = INT64_MAX;
}

void hist_add(hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us < HIST_RANGE_US)
        h->counts[us]++;
    else
        h->over++;
    h->n++;
    h->sum += (double)us;
    if (us > h->max)
        h->max = us;
    if (us < h->min)
        h->min = us;
}

int64_t hist_quantile(const hist *h, double q)
{
    if (!h->n)
        return 0;
    /* The rank of the sample at quantile q, 1-based (nearest-rank method). */
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    uint64_t seen = 0;
    for (int64_t i = 0; i < HIST_RANGE_US; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return i;
    }
    return HIST_RANGE_US;
}
