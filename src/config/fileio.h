/* fileio.h - the config file's bytes: read whole, and written atomically
 * through symlinks. Used by src/config (config.c, save.c, file.c) and the
 * OAuth token file (oauth/oauth_store.c), which is written the same way.
 *
 * A write makes a temp file beside the file it replaces, fsyncs it, and
 * renames it over that file. Symlinks are followed first (config_write_target
 * in config.h), so the temp file is made in the target's directory, the
 * rename replaces the target and a linked ~/.mcpproxy/mcp_config.json stays
 * a link. The write is split in two so that a caller can look at the file
 * once more between the temp file being durable and the rename (file.c's
 * check for hand edits). */
#ifndef MCPPROXY_CONFIG_FILEIO_H
#define MCPPROXY_CONFIG_FILEIO_H

#include "config/config.h"
#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>

/* Appends the whole file to *out (NUL-terminated, as strbufs are). Returns 0
 * or a negative errno (-ENOENT: there is no file; -EISDIR: a directory). */
int config_read_bytes(const char *path, strbuf *out);

/* What a save writes for cfg: config_to_json's text and a final newline.
 * New string of *len bytes (plus a NUL). */
char *config_file_text(const config *cfg, size_t *len);

/* A write under way: both strings owned. */
typedef struct config_write {
    char *target; /* the file the rename replaces */
    char *tmp;    /* the temp file beside it */
} config_write;

/* Writes len bytes to a new temp file (mode 0600) beside path's target and
 * fsyncs it. A missing parent directory of the target is created (mode
 * 0700: the default ~/.mcpproxy may not exist yet). On failure err says
 * why, nothing is left behind and *w is empty. On success exactly one of
 * config_write_commit and config_write_abort must follow. */
bool config_write_begin(config_write *w, const char *path, const char *bytes, size_t len, char err[CONFIG_ERR_LEN]);

/* Renames the temp file over the target and fsyncs the directory. On
 * failure the temp file is removed and the target is untouched. Frees *w. */
bool config_write_commit(config_write *w, char err[CONFIG_ERR_LEN]);

/* Removes the temp file; the target is untouched. Frees *w. */
void config_write_abort(config_write *w);

#endif
