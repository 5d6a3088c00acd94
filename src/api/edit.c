/* edit.c - a change through the API: built on the file's settings,
 * saved atomically unless the file has hand edits not yet loaded, then
 * applied (see edit.h). */
#include "api/edit.h"

#include "config/file.h"
#include "core/log.h"
#include "core/util.h"
#include "upstream/manager.h"

#include <stdlib.h>

void api_edit_begin(app *a, config *out)
{
    config_copy_settings(out, config_file_settings(a->config_file));
    out->n_servers = a->cfg.n_servers;
    out->servers = xcalloc(a->cfg.n_servers + 1, sizeof(server_config)); /* +1: room for an add */
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        server_config_copy(&out->servers[i], &a->cfg.servers[i]);
}

bool api_edit_commit(app *a, config *neu, http_response *res)
{
    char err[CONFIG_ERR_LEN];
    config_file_result saved = config_file_save(a->config_file, neu, err);
    if (saved == CONFIG_FILE_CONFLICT) {
        log_kv(LOG_WARN, "config file has unloaded edits; API change refused", LOG_FIELDS(LOG_STR("error", err)));
        http_respond_error(res, 409, "the change was not applied: %s", err);
        config_free(neu);
        return false;
    }
    if (saved != CONFIG_FILE_OK) {
        log_kv(LOG_ERROR, "config save failed; change not applied", LOG_FIELDS(LOG_STR("error", err)));
        http_respond_error(res, 500, "the change was not applied because the config file could not be written: %s",
                           err);
        config_free(neu);
        return false;
    }
    manager_commit_config(a->manager, neu);
    return true;
}
