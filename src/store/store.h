/* store.h - mcpproxy's one embedded database: an SQLite file (WAL mode)
 * holding what must outlive the process (the activity log).
 *
 * The schema is versioned with SQLite's `user_version`: store_open() applies
 * every migration the file has not seen, each in its own transaction, so a
 * file is always at one known version; a file written by a newer mcpproxy
 * (a version this one does not know) is refused rather than guessed at.
 * The connection is used from the loop's thread only. */
#ifndef MCPPROXY_STORE_STORE_H
#define MCPPROXY_STORE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct store store;

/* The schema version this build writes (the number of migrations). */
int store_schema_version(void);

/* Opens (creating it and its directory, mode 0700, if missing) and
 * migrates the database at `path`. NULL with the reason in err when the
 * file cannot be opened, is not an SQLite database, fails its integrity
 * check, or is from a newer mcpproxy. */
store *store_open(const char *path, char *err, size_t err_len);

/* Closes the file (a WAL checkpoint happens on the last close). NULL is
 * ignored. */
void store_destroy(store *s);

/* The connection (borrowed, valid until store_destroy) and the file's path
 * (borrowed). */
sqlite3 *store_db(store *s);
const char *store_path(const store *s);

/* The schema version of the open file (after migrations: the latest). */
int store_file_version(store *s);

/* Runs SQL that returns no rows; false with sqlite's message in err. */
bool store_exec(store *s, const char *sql, char *err, size_t err_len);

/* Where the database is (new string): `configured` (the config's
 * "database") when absolute; relative to the config file's directory when
 * relative; "" or NULL: mcpproxy.db beside the config file. */
char *store_resolve_path(const char *configured, const char *config_path);

#endif
