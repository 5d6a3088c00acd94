/* resources.h - the resources and resource templates /mcp offers: those of
 * every Ready, enabled upstream, with their URIs as the servers gave them,
 * then those of the other cluster nodes' Ready servers (each entry names
 * its node, where its reads go).
 *
 * A resource is routed by an index of which server listed its URI. A URI
 * listed by two servers is offered once, by the first in config order,
 * which also serves its reads (the later one's is logged and left out). A
 * URI that no server listed is routed by the servers' resource templates:
 * the first template (config order, then the server's order) that matches
 * it (mcp_uri_template_match) picks the server.
 *
 * The entries of a server that quarantine holds are kept for routing, so a
 * read of one is refused with the quarantine's reason (calls.c) rather than
 * "no server offers it", but they are left out of both listings, as the
 * server's tools and prompts are. */
#ifndef MCPPROXY_MCP_RESOURCES_H
#define MCPPROXY_MCP_RESOURCES_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct manager;
struct quarantine;

typedef struct mcp_resource_entry {
    char *server; /* owned */
    json_t *def;  /* the resource or template object as the server sent it; one reference */
    bool held;    /* its server is quarantined: routed, never listed */
    char *node;   /* the cluster node that runs the server (owned); NULL: this one */
} mcp_resource_entry;

typedef struct mcp_resources {
    mcp_resource_entry *resources; /* config order, then the server's */
    size_t n_resources;
    mcp_resource_entry *templates;
    size_t n_templates;
    json_t *index; /* uri -> its position in resources; owned, never NULL once built */
} mcp_resources;

/* Builds from the manager (NULL: empty) and the config, marking held the
 * entries of the servers quarantine `q` holds (borrowed; NULL or disabled:
 * none). `out` must be empty (zeroed or freed). */
void mcp_resources_build(mcp_resources *out, struct manager *m, const config *cfg, struct quarantine *q);

/* Adds the resources and templates of the other cluster nodes' servers
 * that are Ready and not quarantined on their node (`remote`: the
 * registry's entries by server name, registry_remote_all; borrowed; NULL:
 * none), after this node's own, servers in name order; a URI listed
 * already keeps its earlier server. */
void mcp_resources_add_remote(mcp_resources *r, json_t *remote);

/* Whether two offer the same resources and templates, equal as sent. */
bool mcp_resources_equal(const mcp_resources *a, const mcp_resources *b);

/* The server that serves `uri`: the one that listed it, else the one with
 * the first template that matches it; NULL when none. Borrowed. *by_template
 * tells which, *node the node that runs it (NULL: this one). */
const char *mcp_resources_route(const mcp_resources *r, const char *uri, bool *by_template, const char **node);

/* New references: the resources/list and resources/templates/list arrays,
 * each object as its server sent it; held entries left out. */
json_t *mcp_resources_list_json(const mcp_resources *r);
json_t *mcp_resources_templates_json(const mcp_resources *r);

/* Pure: whether `uri` is an expansion of the RFC 6570 URI template `tmpl`,
 * matched loosely: literal text must match exactly; an expression {...}
 * matches any run of characters, where a simple one ({var}, {.var}, {;var})
 * does not cross a '/', '?' or '#' and {/var}, {?var}, {&var}, {+var},
 * {#var} may. Templates or URIs longer than 4096 bytes never match. */
bool mcp_uri_template_match(const char *tmpl, const char *uri);

void mcp_resources_free(mcp_resources *r);

#endif
