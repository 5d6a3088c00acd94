/* file.h - the config file as mcpproxy last loaded or wrote it.
 *
 * The file has two writers: the user (hand edits, which the watch reloads
 * CONFIG_WATCH_DEBOUNCE_MS after the last save) and the API. This record
 * is the one place both consult, so they agree on which version of the
 * file is "ours": a fingerprint of its bytes (length and 64-bit FNV-1a, or
 * "no file" before the first save of a first run) and the file's own
 * settings (everything but mcpServers, which the running config holds).
 *
 * An API save refuses, writing nothing, while the file on disk is not the
 * one recorded: a hand edit the watch has not reloaded yet, a file left
 * invalid by a user in the middle of an edit, a file removed or created
 * behind our back. Writing over it would lose the user's edit. The file is
 * compared right before the rename that replaces it; an edit saved in the
 * microseconds between that comparison and the rename is still lost, which
 * no rename-based save can rule out. */
#ifndef MCPPROXY_CONFIG_FILE_H
#define MCPPROXY_CONFIG_FILE_H

#include "config/config.h"

typedef struct config_file config_file;

typedef enum config_file_result {
    CONFIG_FILE_OK,       /* loaded and recorded, or saved and recorded */
    CONFIG_FILE_SAME,     /* reload: the bytes are the ones recorded; nothing done */
    CONFIG_FILE_CONFLICT, /* save: the file is not the one recorded; nothing written */
    CONFIG_FILE_FAILED,   /* err says why: cannot read, does not parse, cannot write */
} config_file_result;

/* A record of `path` (copied) that says "no file yet": what a first run at
 * the default location starts from. config_file_load records a file. */
config_file *config_file_create(const char *path);

/* Frees the record. NULL is ignored. */
void config_file_destroy(config_file *f);

const char *config_file_path(const config_file *f);

/* Reads and parses the file into *cfg (a new config, as config_load_file)
 * and records it. On failure err names the file (with line and column
 * where the text allows), *cfg is empty and the record is unchanged. */
bool config_file_load(config_file *f, config *cfg, char err[CONFIG_ERR_LEN]);

/* The watch's reload: CONFIG_FILE_SAME when the bytes on disk are the
 * recorded ones (our own save coming back, or a save that changed
 * nothing), else as config_file_load (OK, or FAILED: the running config
 * stays). *cfg is filled only on OK, and empty (safe to config_free)
 * otherwise. */
config_file_result config_file_reload(config_file *f, config *cfg, char err[CONFIG_ERR_LEN]);

/* The file's own settings as recorded, without servers (defaults while
 * there is no file). Borrowed; valid until the next load, reload or save. */
const config *config_file_settings(const config_file *f);

/* Writes cfg to the file atomically (config_save_file: 0600, through
 * symlinks) unless the file on disk is not the recorded one: then
 * CONFIG_FILE_CONFLICT, nothing written, and err names the file and what
 * happened to it (its parse error, with line and column, when it does not
 * parse). On CONFIG_FILE_OK cfg is recorded as the file. */
config_file_result config_file_save(config_file *f, const config *cfg, char err[CONFIG_ERR_LEN]);

#endif
