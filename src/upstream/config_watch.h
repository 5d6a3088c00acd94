/* config_watch.h - applies hand edits of the config file while running.
 *
 * Watches the directory that holds the file (editors save by writing a new
 * file and renaming it over the old one, which a watch on the file itself
 * would lose), waits for the burst of events of one save to settle, then
 * reloads. A file that does not parse is rejected with a log line naming the
 * line and column, and the running config stays. A file equal to the running
 * config (our own API writes land here too) is ignored. */
#ifndef MCPPROXY_UPSTREAM_CONFIG_WATCH_H
#define MCPPROXY_UPSTREAM_CONFIG_WATCH_H

#include "app/app.h"

struct manager;
typedef struct config_watch config_watch;

/* Milliseconds of quiet after the last file event before a reload. */
#define CONFIG_WATCH_DEBOUNCE_MS 150

/* Starts watching a->config_path; reloads go to manager_apply_config. Both
 * pointers are borrowed. Returns NULL (logged) if the directory cannot be
 * watched; the proxy runs on without live reload then. */
config_watch *config_watch_start(app *a, struct manager *m);

/* Stops watching; the struct is freed once its handles are closed. NULL ok. */
void config_watch_stop(config_watch *w);

/* Reloads now (also used for SIGHUP). */
void config_watch_reload(app *a, struct manager *m);

#endif
