/* backoff.h - reconnect delays: exponential with jitter.
 *
 * The n-th retry waits base * 2^(n-1), capped at max, then "equal jitter":
 * a uniform draw in [d/2, d]. Half the delay is kept so a crash loop never
 * spins faster than base/2; the random half spreads servers that failed
 * together (the proxy restarted, a shared dependency blinked). Pure code. */
#ifndef MCPPROXY_UPSTREAM_BACKOFF_H
#define MCPPROXY_UPSTREAM_BACKOFF_H

#include <stdint.h>

/* The un-jittered delay for retry number `attempt` (1 = first retry). */
uint64_t backoff_delay_ms(uint32_t attempt, uint64_t base_ms, uint64_t max_ms);

/* Applies equal jitter; `random` is any 32-bit random value. */
uint64_t backoff_jitter_ms(uint64_t delay_ms, uint32_t random);

#endif
