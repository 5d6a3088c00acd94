/* quarantine.h - the API's view of quarantine (store/quarantine.h): the
 * "quarantined" field of a server's status. */
#ifndef MCPPROXY_API_QUARANTINE_H
#define MCPPROXY_API_QUARANTINE_H

#include "app/app.h"

#include <jansson.h>

/* Sets "quarantined" (true or false) on a status object that has "name";
 * borrowed. */
void api_mark_quarantined(app *a, json_t *status);

#endif
