/* schema.h - the numeric and boolean settings sections of the config file
 * (websocket, limits, mcp, upstream) as data: each key with its type, place
 * in struct config and bounds. One table serves parsing (config.c), saving
 * (save.c) and comparing (diff.c), so a key added here is read, checked,
 * listed in error messages, written back and diffed without more code.
 * Private to src/config. */
#ifndef MCPPROXY_CORE_CONFIG_SCHEMA_H
#define MCPPROXY_CORE_CONFIG_SCHEMA_H

#include "config/config.h"

#include <stddef.h>
#include <stdint.h>

typedef enum config_field_kind { CONFIG_U32, CONFIG_BOOL } config_field_kind;

typedef struct config_field {
    const char *key;
    config_field_kind kind;
    size_t offset;     /* of the uint32_t or bool within struct config */
    uint32_t min, max; /* CONFIG_U32 only */
} config_field;

typedef struct config_section {
    const char *name; /* the object's key at the top level */
    const config_field *fields;
    size_t n_fields;
} config_section;

extern const config_section config_sections[];
extern const size_t config_section_count;

#endif
