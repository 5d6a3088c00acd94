/* backoff.c - exponential backoff with equal jitter. */
#include "upstream/backoff.h"

uint64_t backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t max_ms)
{
    if (attempt == 0)
        attempt = 1;
    uint64_t d = base_ms;
    for (uint32_t i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    return d > max_ms ? max_ms : d;
}

uint64_t backoff_jitter_ms(uint64_t delay_ms, uint32_t random)
{
    uint64_t half = delay_ms / 2;
    uint64_t spread = delay_ms - half;
    return half + (spread ? (uint64_t)random % (spread + 1) : 0);
}
