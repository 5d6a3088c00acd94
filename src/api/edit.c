/* edit.c - a change through the API: built on the file's settings,
 * saved atomically, then applied (see edit.h). */
#include "api/edit.h"

#include "core/log.h"
#include "core/util.h"
#include "upstream/manager.h"

#include <stdlib.h>

/* The config to write: the file's own non-server settings (so command-line
 * overrides such as --listen never leak into it), or the running ones when
 * the file does not parse right now; plus a copy of the running servers. */
void api_edit_begin(app *a, config *out)
{
    char err[CONFIG_ERR_LEN];
    if (!a->config_path || !config_load_file(a->config_path, out, err)) {
        config_free(out);
        config_init_defaults(out);
        free(out->listen);
        out->listen = xstrdup(a->cfg.listen);
        free(out->api_key);
        out->api_key = xstrdup(a->cfg.api_key);
        out->n_allowed_origins = a->cfg.n_allowed_origins;
        out->allowed_origins = xcalloc(a->cfg.n_allowed_origins + 1, sizeof(char *));
        for (size_t i = 0; i < a->cfg.n_allowed_origins; i++)
            out->allowed_origins[i] = xstrdup(a->cfg.allowed_origins[i]);
        out->websocket = a->cfg.websocket;
    }
    for (size_t i = 0; i < out->n_servers; i++)
        server_config_free(&out->servers[i]);
    free(out->servers);
    out->auto_disable_threshold = a->cfg.auto_disable_threshold;
    out->n_servers = a->cfg.n_servers;
    out->servers = xcalloc(a->cfg.n_servers + 1, sizeof(server_config)); /* +1: room for an add */
    for (size_t i = 0; i < a->cfg.n_servers; i++)
        server_config_copy(&out->servers[i], &a->cfg.servers[i]);
}

/* Saves, then hands the config to the manager (which publishes). On a failed
 * write responds 500, frees neu and returns false: nothing changed. */
bool api_edit_commit(app *a, config *neu, http_response *res)
{
    char err[CONFIG_ERR_LEN];
    if (a->config_path && !config_save_file(neu, a->config_path, err)) {
        log_kv(LOG_ERROR, "config save failed; change not applied", LOG_FIELDS(LOG_STR("error", err)));
        http_respond_error(res, 500, "the change was not applied because the config file could not be written: %s",
                           err);
        config_free(neu);
        return false;
    }
    manager_commit_config(a->manager, neu);
    return true;
}

