/* conn_limit.h - caps on concurrent connections, in total and per client
 * address, so one client (or a flood of them) cannot take every fd.
 *
 * Pure bookkeeping: server.c asks at accept time and gives the token back
 * when the connection is destroyed. */
#ifndef MCPPROXY_HTTP_CONN_LIMIT_H
#define MCPPROXY_HTTP_CONN_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct conn_limit conn_limit;
typedef struct conn_addr conn_addr; /* one client address and its count */

conn_limit *conn_limit_create(uint32_t max_total, uint32_t max_per_address);

/* All tokens must have been released. */
void conn_limit_destroy(conn_limit *cl);

/* Counts a new connection from `address` (text form). Returns a token to
 * release when it closes (owned by the limiter), or NULL when a limit is
 * reached, with the reason in *why. */
conn_addr *conn_limit_acquire(conn_limit *cl, const char *address, const char **why);

void conn_limit_release(conn_limit *cl, conn_addr *token);

size_t conn_limit_total(const conn_limit *cl);

#endif
