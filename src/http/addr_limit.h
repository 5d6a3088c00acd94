/* addr_limit.h - caps on how many of something (connections, bodies in
 * progress, /mcp sessions) there are at once, in total and per client
 * address, so one client or a flood of them cannot take them all.
 *
 * Pure bookkeeping: ask when one begins, give the token back when it ends. */
#ifndef MCPPROXY_HTTP_ADDR_LIMIT_H
#define MCPPROXY_HTTP_ADDR_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct addr_limit addr_limit;
typedef struct addr_count addr_count; /* one client address and its count */

/* `total_why` and `address_why` are the refusals' reasons, naming the
 * settings (static strings). */
addr_limit *addr_limit_create(uint32_t max_total, uint32_t max_per_address, const char *total_why,
                              const char *address_why);

/* All tokens must have been released. NULL is ignored. */
void addr_limit_destroy(addr_limit *l);

/* Counts one more for `address` (text form). Returns a token to release
 * when it ends (owned by the limiter), or NULL when a cap is reached, with
 * the reason in *why. */
addr_count *addr_limit_acquire(addr_limit *l, const char *address, const char **why);

void addr_limit_release(addr_limit *l, addr_count *token);

size_t addr_limit_total(const addr_limit *l);

#endif
