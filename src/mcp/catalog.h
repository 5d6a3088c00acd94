/* mcp_catalog.h - the tools /mcp offers: every tool of every Ready, enabled
 * upstream, named <server>__<tool> (and, built the same way, every prompt).
 *
 * Names must fit what common MCP clients accept: [A-Za-z0-9_-]{1,64}. Other
 * bytes become '_'; a name longer than 64 (or one that collides with an
 * earlier name) keeps its first 55 bytes and gets "_" + 8 hex digits of a
 * hash (FNV-1a, 32 bits) of the original server and tool names. The catalog
 * maps each offered name back to its server and original tool name. */
#ifndef MCPPROXY_HTTP_MCP_CATALOG_H
#define MCPPROXY_HTTP_MCP_CATALOG_H

#include "config/config.h"
#include "upstream/mcp_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct manager;

#define MCP_TOOL_NAME_MAX 64

typedef struct mcp_catalog_entry {
    char name[MCP_TOOL_NAME_MAX + 1]; /* as offered */
    char *server;                     /* owned */
    char *tool;                       /* the upstream's own name; owned */
    json_t *def;                      /* the tool object as the server sent it; one reference */
    char *node;                       /* the cluster node that runs the server (owned); NULL: this one */
} mcp_catalog_entry;

typedef struct mcp_catalog {
    mcp_catalog_entry *entries; /* in config order, then the server's order */
    size_t n;
    json_t *index; /* offered name -> its position in entries; owned, NULL when empty */
} mcp_catalog;

/* Pure: the offered name of one tool. `hashed` forces the hashed form. */
void mcp_tool_name(const char *server, const char *tool, bool hashed, char out[MCP_TOOL_NAME_MAX + 1]);

/* Builds the catalog from the manager (NULL: empty) and the config. `out`
 * must be empty (zeroed or freed). */
void mcp_catalog_build(mcp_catalog *out, struct manager *m, const config *cfg);

/* The same for the prompts (kind MCP_LIST_PROMPTS), named like tools:
 * <server>__<prompt>, the same rules. Entries' `tool` is then the
 * upstream's prompt name. */
void mcp_catalog_build_list(mcp_catalog *out, struct manager *m, const config *cfg, mcp_list_kind kind);

/* The tools, leaving out what quarantine `q` holds (a quarantined
 * server's tools, changed tools); NULL holds nothing. */
struct quarantine;
void mcp_catalog_build_checked(mcp_catalog *out, struct manager *m, const config *cfg, struct quarantine *q);

/* A list of another kind (prompts) without a quarantined server's. */
void mcp_catalog_build_list_checked(mcp_catalog *out, struct manager *m, const config *cfg, mcp_list_kind kind,
                                    struct quarantine *q);

/* Adds the tools of the other cluster nodes' servers that are Ready and not
 * quarantined on their node, as their nodes last wrote them to the
 * registry (`r` borrowed; NULL: a single node, nothing added), after this
 * node's own, named the same way. */
struct registry;
void mcp_catalog_add_remote(mcp_catalog *c, struct registry *r);

/* The same for another list of the registry's entries: "prompts". */
void mcp_catalog_add_remote_list(mcp_catalog *c, struct registry *r, const char *key);

/* Whether two catalogs offer the same names with equal definitions. */
bool mcp_catalog_equal(const mcp_catalog *a, const mcp_catalog *b);

/* The entry offered under `name`, or NULL. Borrowed. A hash lookup. */
const mcp_catalog_entry *mcp_catalog_find(const mcp_catalog *c, const char *name);

/* The tools/list array: each definition as sent, with the offered name.
 * New reference. */
json_t *mcp_catalog_tools_json(const mcp_catalog *c);

/* The configured server whose sanitized name + "__" prefixes `name`
 * (longest match), for saying why a tool is missing; *prefix_len gets the
 * prefix's length. Borrowed, or NULL. */
const char *mcp_catalog_guess_server(const config *cfg, const char *name, size_t *prefix_len);

void mcp_catalog_free(mcp_catalog *c);

#endif
