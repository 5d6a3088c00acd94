/* watch.c - directory watch, debounce, reload (see watch.h). */
#include "config/watch.h"

#include "core/log.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

struct config_watch {
    char *path;
    config_file *file;
    const config *running;
    config_changed_fn on_change;
    void *ctx;
    uv_fs_event_t event;
    uv_timer_t debounce;
    char *dir;
    char *base;
    int open_handles;
};

void config_watch_reload(config_watch *w)
{
    config neu;
    char err[CONFIG_ERR_LEN];
    config_file_result loaded = config_file_reload(w->file, &neu, err);
    if (loaded == CONFIG_FILE_SAME) {
        log_kv(LOG_DEBUG, "config file unchanged", LOG_FIELDS(LOG_STR("path", w->path)));
        return;
    }
    if (loaded != CONFIG_FILE_OK) {
        /* The parser's message names the line and column. */
        log_kv(LOG_WARN, "config reload rejected; keeping the running config",
               LOG_FIELDS(LOG_STR("path", w->path), LOG_STR("error", err)));
        return;
    }
    /* Only what a reload applies counts: settings overridden on the
     * command line differ for good, and other settings need a restart. */
    json_t *now = config_servers_to_json(w->running);
    json_t *next = config_servers_to_json(&neu);
    bool same = json_equal(now, next) && w->running->auto_disable_threshold == neu.auto_disable_threshold;
    json_decref(now);
    json_decref(next);
    if (same) {
        /* Its other settings are recorded (API writes keep them) but, as
         * on any reload, take effect at the next start. */
        log_kv(LOG_INFO, "config file reloaded; no server changed (other settings apply after a restart)",
               LOG_FIELDS(LOG_STR("path", w->path)));
        config_free(&neu);
        return;
    }
    log_kv(LOG_INFO, "config file changed; applying", LOG_FIELDS(LOG_STR("path", w->path)));
    w->on_change(&neu, w->ctx);
}

static void debounced(uv_timer_t *t)
{
    config_watch_reload(t->data);
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)events;
    config_watch *w = h->data;
    if (status < 0) {
        log_kv(LOG_WARN, "config watch error", LOG_FIELDS(LOG_STR("error", uv_strerror(status))));
        return;
    }
    if (filename && strcmp(filename, w->base) != 0)
        return;
    uv_timer_start(&w->debounce, debounced, CONFIG_WATCH_DEBOUNCE_MS, 0);
}

config_watch *config_watch_create(uv_loop_t *loop, config_file *file, const config *running,
                                  config_changed_fn on_change, void *ctx)
{
    config_watch *w = xcalloc(1, sizeof(*w));
    const char *path = config_file_path(file);
    w->path = xstrdup(path);
    w->file = file;
    w->running = running;
    w->on_change = on_change;
    w->ctx = ctx;
    w->dir = xstrdup(path);
    char *slash = strrchr(w->dir, '/');
    if (slash) {
        w->base = xstrdup(slash + 1);
        if (slash == w->dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    } else {
        w->base = xstrdup(w->dir);
        free(w->dir);
        w->dir = xstrdup(".");
    }
    uv_fs_event_init(loop, &w->event);
    uv_timer_init(loop, &w->debounce);
    w->event.data = w->debounce.data = w;
    int rc = uv_fs_event_start(&w->event, on_event, w->dir, 0);
    if (rc != 0)
        log_kv(LOG_WARN, "cannot watch the config directory; edits apply after a restart",
               LOG_FIELDS(LOG_STR("dir", w->dir), LOG_STR("error", uv_strerror(rc))));
    else
        log_kv(LOG_DEBUG, "watching config file", LOG_FIELDS(LOG_STR("path", w->path)));
    return w;
}

static void watch_closed(uv_handle_t *h)
{
    config_watch *w = h->data;
    if (--w->open_handles > 0)
        return;
    free(w->path);
    free(w->dir);
    free(w->base);
    free(w);
}

void config_watch_close(config_watch *w)
{
    if (!w)
        return;
    w->open_handles = 2;
    uv_close((uv_handle_t *)&w->event, watch_closed);
    uv_close((uv_handle_t *)&w->debounce, watch_closed);
}
