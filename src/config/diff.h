/* diff.h - what changed from one config to the next, as data.
 *
 * Pure: it reads two configs and returns a description, with no I/O and no
 * events. Whoever applies a change (the upstream manager, on a reload or an
 * API edit) decides from it what to start, stop and announce. */
#ifndef MCPPROXY_CONFIG_DIFF_H
#define MCPPROXY_CONFIG_DIFF_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

/* A server's settings, in the order a diff names them. */
typedef enum server_field {
    SERVER_FIELD_PROTOCOL,
    SERVER_FIELD_COMMAND,
    SERVER_FIELD_ARGS,
    SERVER_FIELD_ENV,
    SERVER_FIELD_WORKING_DIR,
    SERVER_FIELD_URL,
    SERVER_FIELD_HEADERS,
    SERVER_FIELD_TLS_SKIP_VERIFY,
    SERVER_FIELD_OAUTH,
    SERVER_FIELD_ENABLED,
    SERVER_FIELD_GROUP,
    SERVER_FIELD_COUNT
} server_field;

#define SERVER_FIELD_BIT(f) (1u << (f))

/* The fields that reach the server's process or connection: a change to
 * any of them needs a restart. */
#define SERVER_FIELDS_OF_PROCESS                                                                                       \
    (SERVER_FIELD_BIT(SERVER_FIELD_PROTOCOL) | SERVER_FIELD_BIT(SERVER_FIELD_COMMAND) |                                \
     SERVER_FIELD_BIT(SERVER_FIELD_ARGS) | SERVER_FIELD_BIT(SERVER_FIELD_ENV) |                                        \
     SERVER_FIELD_BIT(SERVER_FIELD_WORKING_DIR) | SERVER_FIELD_BIT(SERVER_FIELD_URL) |                                 \
     SERVER_FIELD_BIT(SERVER_FIELD_HEADERS) | SERVER_FIELD_BIT(SERVER_FIELD_TLS_SKIP_VERIFY) |                         \
     SERVER_FIELD_BIT(SERVER_FIELD_OAUTH))

/* The field's key in the config file ("protocol", "working_dir", ...). */
const char *server_field_name(server_field f);

/* The SERVER_FIELD_BIT()s of the fields that differ between a and b. A
 * missing string (NULL) equals "", as in the file. */
unsigned server_config_diff(const server_config *a, const server_config *b);

typedef enum server_change_kind { SERVER_ADDED, SERVER_CHANGED, SERVER_UNCHANGED } server_change_kind;

/* One server of the new config, matched by name with the old one. */
typedef struct server_change {
    server_change_kind kind;
    const server_config *before; /* in the old config; NULL when added */
    const server_config *after;  /* in the new config */
    unsigned fields;             /* SERVER_FIELD_BIT()s that differ (0 unless changed) */
} server_change;

typedef struct config_changes {
    /* Servers of the old config that the new one lacks, in the old order. A
     * renamed server is one removed and one added. */
    const server_config **removed;
    size_t n_removed;
    /* Every server of the new config, in the new order. */
    server_change *servers;
    size_t n_servers;
    size_t n_added, n_changed;
    /* Groups whose members or enabled state may have changed, each once,
     * as first met: those of removed servers, then in the new order those
     * of added servers and both the old and new group of a server whose
     * group or enabled changed. No empty group. */
    const char **groups;
    size_t n_groups;
    /* Top-level settings other than mcpServers whose values differ, by key
     * ("listen", "auto_disable_threshold", "websocket", ...), in the
     * file's order. Static strings. */
    const char **settings;
    size_t n_settings;
} config_changes;

/* Compares `before` with `after`. The result points into both (servers,
 * group names): they must outlive it and stay unchanged, though their
 * server arrays may be handed to another config struct. Never NULL; free
 * with config_changes_free. */
config_changes *config_diff(const config *before, const config *after);

void config_changes_free(config_changes *c);

#endif
