/* dlist.h - an intrusive doubly linked list: the node lives inside the
 * element, so adding and removing are O(1) and allocate nothing. Used for
 * the bus's subscribers and the stream clients. */
#ifndef MCPPROXY_CORE_DLIST_H
#define MCPPROXY_CORE_DLIST_H

#include "core/util.h"

#include <stddef.h>

typedef struct dlist_node {
    struct dlist_node *prev, *next;
} dlist_node;

typedef struct dlist {
    dlist_node *head;
    size_t count;
} dlist;

/* The element that contains `node` as its member `member`. */
#define DLIST_ENTRY(node, type, member) CONTAINER_OF(node, type, member)

static inline void dlist_push_front(dlist *list, dlist_node *node)
{
    node->prev = NULL;
    node->next = list->head;
    if (list->head)
        list->head->prev = node;
    list->head = node;
    list->count++;
}

static inline void dlist_remove(dlist *list, dlist_node *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        list->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    node->prev = node->next = NULL;
    list->count--;
}

#endif
