/* addr_limit.c - counts per address in a linked list (see addr_limit.h).
 *
 * A list is linear in the number of distinct client addresses; at the sizes
 * a local proxy or a team gateway sees (a handful of addresses) that is
 * cheaper than a hash table. A public-facing deployment with thousands of
 * distinct peers would want one. */
#include "http/addr_limit.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

struct addr_count {
    addr_count *next;
    uint32_t count;
    char address[64];
};

struct addr_limit {
    addr_count *addresses;
    size_t total;
    uint32_t max_total;
    uint32_t max_per_address;
    const char *total_why, *address_why;
};

addr_limit *addr_limit_create(uint32_t max_total, uint32_t max_per_address, const char *total_why,
                              const char *address_why)
{
    addr_limit *l = xcalloc(1, sizeof *l);
    l->max_total = max_total;
    l->max_per_address = max_per_address;
    l->total_why = total_why;
    l->address_why = address_why;
    return l;
}

void addr_limit_destroy(addr_limit *l)
{
    if (!l)
        return;
    while (l->addresses) {
        addr_count *next = l->addresses->next;
        free(l->addresses);
        l->addresses = next;
    }
    free(l);
}

addr_count *addr_limit_acquire(addr_limit *l, const char *address, const char **why)
{
    if (l->total >= l->max_total) {
        *why = l->total_why;
        return NULL;
    }
    addr_count *a = l->addresses;
    while (a && strcmp(a->address, address) != 0)
        a = a->next;
    if (a && a->count >= l->max_per_address) {
        *why = l->address_why;
        return NULL;
    }
    if (!a) {
        a = xcalloc(1, sizeof *a);
        strncpy(a->address, address, sizeof a->address - 1);
        a->next = l->addresses;
        l->addresses = a;
    }
    a->count++;
    l->total++;
    return a;
}

void addr_limit_release(addr_limit *l, addr_count *token)
{
    l->total--;
    if (--token->count > 0)
        return;
    /* The last one from this address: forget it, so the list holds only
     * addresses that count now. */
    for (addr_count **p = &l->addresses; *p; p = &(*p)->next) {
        if (*p == token) {
            *p = token->next;
            free(token);
            return;
        }
    }
}

size_t addr_limit_total(const addr_limit *l)
{
    return l->total;
}
