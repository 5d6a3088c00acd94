/* watch.h - hand edits of the config file, noticed while running.
 *
 * Watches the directory that holds the file (editors save by writing a new
 * file and renaming it over the old one, which a watch on the file itself
 * would lose), waits for the burst of events of one save to settle, then
 * reloads through the file's record (config/file.h), which the API's saves
 * update too. A file whose bytes are the recorded ones (our own API writes
 * land here) is ignored without being parsed. A file that does not parse is
 * rejected with a log line naming the line and column, and the running
 * config stays. A valid file becomes the record (so the API writes its
 * settings back); if its servers and auto_disable_threshold equal the
 * running config's, nothing else happens. Anything else is handed to the
 * callback: the watch knows nothing of who applies it. */
#ifndef MCPPROXY_CONFIG_WATCH_H
#define MCPPROXY_CONFIG_WATCH_H

#include "config/config.h"
#include "config/file.h"

#include <uv.h>

typedef struct config_watch config_watch;

/* Milliseconds of quiet after the last file event before a reload. */
#define CONFIG_WATCH_DEBOUNCE_MS 150

/* A changed, valid file. The callee takes over *next's contents (and leaves
 * or frees them as config_free would). */
typedef void (*config_changed_fn)(config *next, void *ctx);

/* Starts watching the file of `file`. `file`, `running` and `ctx` are
 * borrowed; `running` is read at each reload. Never NULL: if the directory
 * cannot be watched it says so in the log and the proxy runs on without
 * live reload. */
config_watch *config_watch_create(uv_loop_t *loop, config_file *file, const config *running,
                                  config_changed_fn on_change, void *ctx);

/* Reloads now (as after a file event). */
void config_watch_reload(config_watch *w);

/* Stops watching; the struct is freed once its handles are closed. NULL is
 * ignored. */
void config_watch_close(config_watch *w);

#endif
