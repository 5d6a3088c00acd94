/* oauth_store.h - the OAuth token file: tokens and registered clients of
 * remote servers, kept out of the config file.
 *
 * One JSON file (by default oauth_tokens.json beside the config file, so
 * ~/.mcpproxy/oauth_tokens.json), mode 0600, written atomically (temp file,
 * fsync, rename: config/fileio.h) on every change, read once at start:
 *
 *   {"servers": {"NAME": {"url": ..., "access_token": ..., "refresh_token": ...,
 *                         "expires_at": MS, "token_endpoint": ..., "client_id": ...,
 *                         "client_secret": ..., "resource": ..., "scope": ...}}}
 *
 * An entry is used only for a server of the same name AND url: a server
 * renamed or pointed elsewhere does not inherit tokens. A file that does
 * not parse is left alone (nothing is written over it; logins then hold in
 * memory only, and the log says so). Nothing here logs a token. */
#ifndef MCPPROXY_OAUTH_STORE_H
#define MCPPROXY_OAUTH_STORE_H

#include <jansson.h>
#include <stdbool.h>

typedef struct oauth_store oauth_store;

/* Reads `path` (missing: empty). Never NULL; a file that does not parse is
 * logged and kept from being written over. `path` is copied. */
oauth_store *oauth_store_open(const char *path);

void oauth_store_destroy(oauth_store *s);

const char *oauth_store_path(const oauth_store *s);

/* The entry of server `name` when it was stored for `url`, or NULL.
 * Borrowed until the next change. */
json_t *oauth_store_get(oauth_store *s, const char *name, const char *url);

/* Replaces the entry of `name` (entry stolen; its "url" is set to url) and
 * writes the file. false with err when it could not be written (the entry
 * is kept in memory). */
bool oauth_store_put(oauth_store *s, const char *name, const char *url, json_t *entry, char *err, size_t err_len);

/* Removes the entry of `name` (if any) and writes the file. */
bool oauth_store_remove(oauth_store *s, const char *name, char *err, size_t err_len);

/* The default path: oauth_tokens.json in the directory of config_path.
 * New string. */
char *oauth_store_default_path(const char *config_path);

#endif
