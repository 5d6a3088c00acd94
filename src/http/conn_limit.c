/* conn_limit.c - per-address counts in a linked list.
 *
 * A list is linear in the number of distinct client addresses; at the sizes
 * a local proxy or a team gateway sees (a handful of addresses) that is
 * cheaper than a hash table. A public-facing deployment with thousands of
 * distinct peers would want one. */
#include "http/conn_limit.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

struct conn_addr {
    conn_addr *next;
    uint32_t count;
    char address[64];
};

struct conn_limit {
    conn_addr *addresses;
    size_t total;
    uint32_t max_total;
    uint32_t max_per_address;
};

conn_limit *conn_limit_create(uint32_t max_total, uint32_t max_per_address)
{
    conn_limit *cl = xcalloc(1, sizeof *cl);
    cl->max_total = max_total;
    cl->max_per_address = max_per_address;
    return cl;
}

void conn_limit_destroy(conn_limit *cl)
{
    if (!cl)
        return;
    while (cl->addresses) {
        conn_addr *next = cl->addresses->next;
        free(cl->addresses);
        cl->addresses = next;
    }
    free(cl);
}

conn_addr *conn_limit_acquire(conn_limit *cl, const char *address, const char **why)
{
    if (cl->total >= cl->max_total) {
        *why = "too many connections (limits.max_connections)";
        return NULL;
    }
    conn_addr *a = cl->addresses;
    while (a && strcmp(a->address, address) != 0)
        a = a->next;
    if (a && a->count >= cl->max_per_address) {
        *why = "too many connections from this address (limits.max_connections_per_address)";
        return NULL;
    }
    if (!a) {
        a = xcalloc(1, sizeof *a);
        strncpy(a->address, address, sizeof a->address - 1);
        a->next = cl->addresses;
        cl->addresses = a;
    }
    a->count++;
    cl->total++;
    return a;
}

void conn_limit_release(conn_limit *cl, conn_addr *token)
{
    cl->total--;
    if (--token->count > 0)
        return;
    /* The last connection from this address: forget it, so the list holds
     * only addresses that are connected now. */
    for (conn_addr **p = &cl->addresses; *p; p = &(*p)->next) {
        if (*p == token) {
            *p = token->next;
            free(token);
            return;
        }
    }
}

size_t conn_limit_total(const conn_limit *cl)
{
    return cl->total;
}
