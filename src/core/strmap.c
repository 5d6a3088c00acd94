/* strmap.c - string-keyed hash table (see strmap.h). */
#include "core/strmap.h"

#include "core/util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_MIN_SLOTS 16

/* FNV-1a, 64 bits: keys are names from a trusted config or an API client
 * who can already run commands, so a keyed hash would buy nothing. */
static uint64_t hash_of(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->n_slots - 1;
    size_t i = (size_t)h & mask;
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

static void grow(strmap *m)
{
    strmap_slot *old = m->slots;
    size_t old_n = m->n_slots;
    m->n_slots = old_n ? old_n * 2 : STRMAP_MIN_SLOTS;
    m->slots = xcalloc(m->n_slots, sizeof(*m->slots));
    for (size_t i = 0; i < old_n; i++) {
        if (!old[i].key)
            continue;
        size_t j = (size_t)old[i].hash & (m->n_slots - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->n_slots - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *strmap_get(const strmap *m, const char *key)
{
    if (!m->count)
        return NULL;
    return m->slots[slot_of(m, key, hash_of(key))].value;
}

void strmap_put(strmap *m, const char *key, void *value)
{
    assert(key && value);
    if (2 * (m->count + 1) > m->n_slots)
        grow(m);
    uint64_t h = hash_of(key);
    strmap_slot *s = &m->slots[slot_of(m, key, h)];
    if (!s->key)
        m->count++;
    *s = (strmap_slot){.key = key, .value = value, .hash = h};
}

void *strmap_del(strmap *m, const char *key)
{
    if (!m->count)
        return NULL;
    size_t mask = m->n_slots - 1;
    size_t i = slot_of(m, key, hash_of(key));
    void *value = m->slots[i].value;
    if (!m->slots[i].key)
        return NULL;
    m->slots[i] = (strmap_slot){0};
    m->count--;
    /* Backward shift: an entry after the hole that could sit in it (its
     * home is not between the hole and itself, cyclically) moves back, so
     * every chain stays unbroken. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j] = (strmap_slot){0};
        i = j;
    }
    return value;
}

void strmap_free(strmap *m)
{
    free(m->slots);
    *m = (strmap){0};
}
