/* strmap.h - a hash table from strings to pointers.
 *
 * For lookups by name where a list of thousands (of servers) would
 * otherwise be searched once per element, making one pass quadratic.
 * Open addressing with linear probing, kept at most half full; a removal
 * shifts the entries after it back, so no tombstones pile up. Keys are
 * borrowed: a key must stay valid and unchanged while it is in the map
 * (usually it is the name inside the value). Zero-initialize, then use. */
#ifndef MCPPROXY_CORE_STRMAP_H
#define MCPPROXY_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
    const char *key; /* NULL: empty */
    void *value;
    uint64_t hash;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots; /* n_slots of them, a power of two; NULL until the first put */
    size_t n_slots;
    size_t count;
} strmap;

/* The value stored for `key`, or NULL. */
void *strmap_get(const strmap *m, const char *key);

/* Stores value for key (borrowed), replacing the key and value stored for
 * an equal key. `value` must not be NULL (NULL reads as absent). */
void strmap_put(strmap *m, const char *key, void *value);

/* Removes key; returns the value it had, or NULL if it was absent. */
void *strmap_del(strmap *m, const char *key);

/* Frees the table (not the keys or values); the map is empty again. */
void strmap_free(strmap *m);

#endif
