/* oauth_parse.h - the pure parts of OAuth for remote servers (no I/O):
 * reading a WWW-Authenticate challenge, the well-known metadata URLs of
 * RFC 9728 and RFC 8414 (with OpenID Connect's), PKCE (RFC 7636, S256),
 * form encoding. oauth.c does the flow with them; tests/unit checks them. */
#ifndef MCPPROXY_OAUTH_PARSE_H
#define MCPPROXY_OAUTH_PARSE_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>

/* The value of auth-param `name` (case-insensitive) of the Bearer challenge
 * in a WWW-Authenticate header value (RFC 6750 §3, RFC 9728 §5.1): quoted
 * strings unescaped, tokens as they are. New string, or NULL when the
 * header has no Bearer challenge or the challenge no such parameter. */
char *oauth_challenge_param(const char *header, const char *name);

/* Whether the header holds a Bearer challenge at all. */
bool oauth_challenge_is_bearer(const char *header);

/* The protected resource metadata URLs to try for a server URL, in order
 * (RFC 9728 §3.1: the well-known path inserted before the URL's path, then
 * at the root). Fills out[] with new strings; returns how many (0: the URL
 * does not parse). */
size_t oauth_resource_metadata_urls(const char *server_url, char *out[2]);

/* The authorization server metadata URLs to try for an issuer, in order:
 * RFC 8414 §3.1, then OpenID Connect Discovery (inserted and appended), as
 * the MCP authorization specification lists them. Returns how many. */
size_t oauth_server_metadata_urls(const char *issuer, char *out[3]);

/* A PKCE pair: `verifier` gets 43 characters of base64url randomness,
 * `challenge` its S256 transform (both NUL-terminated). */
void oauth_pkce(char verifier[44], char challenge[44]);

/* The S256 challenge of a given verifier (for tests and oauth_pkce). */
void oauth_pkce_challenge(const char *verifier, char challenge[44]);

/* Appends "name=value" (value percent-encoded, '&' before all but the
 * first pair) to a form body or a query string. */
void oauth_form_add(strbuf *sb, const char *name, const char *value);

/* Whether `resource` (a protected resource metadata's `resource`) names the
 * server at `server_url`: the same scheme, host and port, and a path that is
 * the server's or a prefix of it at a '/' boundary (RFC 9728 §3.3, RFC 8707). */
bool oauth_resource_matches(const char *resource, const char *server_url);

#endif
