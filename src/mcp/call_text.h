/* call_text.h - a POST /mcp body that is one plain tools/call request,
 * read without a tree.
 *
 * Why: parsing the client's request into a jansson tree, renaming the tool
 * in it and writing it out again for the upstream was the largest part of
 * a call's remaining cost after the answer stopped being parsed
 * (docs/BENCHMARKS.md). A plain call is found by json_scan instead, and
 * its arguments' bytes go to the upstream as the client wrote them.
 *
 * "Plain" means: one JSON object (json_scan's rules: only what jansson
 * accepts), "jsonrpc":"2.0", an id that is a string or an integer of at most
 * 18 digits, "method":"tools/call", and params holding a string "name" and
 * an optional object "arguments", nothing else (no _meta: a progress token
 * needs the tree way); no key escaped or repeated where these are looked
 * for. Anything else is left to the general path, which parses the body
 * and answers every case (errors included) as before. */
#ifndef MCPPROXY_MCP_CALL_TEXT_H
#define MCPPROXY_MCP_CALL_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mcp_call_text {
    json_t *id;            /* the client's id (new reference) */
    char name[256];        /* the tool name asked for (no escapes, no NUL) */
    const char *arguments; /* the arguments object's bytes in the body, or NULL */
    size_t arguments_len;
} mcp_call_text;

/* Whether body[0..len) is a plain tools/call; out is filled when it is
 * (mcp_call_text_free() it then). */
bool mcp_call_text_parse(const char *body, size_t len, mcp_call_text *out);

void mcp_call_text_free(mcp_call_text *ct);

#endif
