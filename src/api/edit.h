/* edit.h - how the API changes the configuration: start from the config
 * file's own settings and the running servers, change the copy, save it
 * atomically, then hand it to the manager, which applies the difference
 * and publishes it. A failed save changes nothing. */
#ifndef MCPPROXY_API_EDIT_H
#define MCPPROXY_API_EDIT_H

#include "app/app.h"
#include "config/config.h"
#include "http/exchange.h"

#include <stdbool.h>

/* The config to change: the file's own non-server settings (so
 * command-line overrides such as --listen never leak into it), or the
 * running ones when the file does not parse right now; plus a copy of the
 * running servers, with room for one more. `out` is owned by the caller
 * until api_edit_commit. */
void api_edit_begin(app *a, config *out);

/* Saves `neu`, then applies it. Takes over neu's contents either way. On a
 * failed write responds 500 and returns false: nothing changed. */
bool api_edit_commit(app *a, config *neu, http_response *res);

#endif
