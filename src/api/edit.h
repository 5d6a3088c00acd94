/* edit.h - how the API changes the configuration: start from the config
 * file's own settings and the running servers, change the copy, save it
 * atomically, then hand it to the manager, which applies the difference
 * and publishes it. A refused or failed save changes nothing. */
#ifndef MCPPROXY_API_EDIT_H
#define MCPPROXY_API_EDIT_H

#include "app/app.h"
#include "config/config.h"
#include "http/exchange.h"

#include <stdbool.h>

/* The config to change: the file's own non-server settings as last loaded
 * or written (so command-line overrides such as --listen never leak into
 * it, and a hand edit of them that was reloaded is kept), plus a copy of
 * the running servers, with room for one more. `out` is owned by the
 * caller until api_edit_commit. */
void api_edit_begin(app *a, config *out);

/* Saves `neu`, then applies it. Takes over neu's contents either way. When
 * the file on disk is not the one last loaded or written (a hand edit not
 * yet reloaded, or one that does not parse) responds 409 naming the file
 * (and its parse error); when the write fails responds 500. Either way it
 * returns false: nothing changed, the file is untouched. */
bool api_edit_commit(app *a, config *neu, http_response *res);

#endif
