/* app.c - the app's lifecycle state, published as app_state_changed. */
#include "app/app.h"

#include "core/log.h"

static const char *const state_names[] = {
    [APP_STARTING] = "Starting",
    [APP_RUNNING] = "Running",
    [APP_RELOADING] = "Reloading",
    [APP_STOPPING] = "Stopping",
};

const char *app_state_name(app_state state)
{
    return state_names[state];
}

void app_set_state(app *a, app_state state)
{
    app_state old = a->state;
    a->state = state;
    /* The first state has no predecessor: Starting is published with no
     * old_state. */
    bool first = bus_head_seq(a->bus) == 0 && state == APP_STARTING;
    bus_publish(a->bus, &(event_fields){
                            .type = EVENT_APP_STATE_CHANGED,
                            .old_state = first ? NULL : app_state_name(old),
                            .new_state = app_state_name(state),
                        });
    log_kv(LOG_INFO, "app state changed", LOG_FIELDS(LOG_STR("state", app_state_name(state))));
}
