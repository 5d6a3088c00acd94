/* app.h - the one process-wide context every part is handed.
 *
 * Everything runs on `loop`. The app owns the bus, the config and the parts
 * (wiring.c creates and destroys them); parts hold a borrowed pointer to the
 * app and never free it. This header and app.c depend on core and config
 * only, so any part may include them; only wiring.c knows every part. */
#ifndef MCPPROXY_APP_H
#define MCPPROXY_APP_H

#include "core/bus.h"
#include "core/stats.h"
#include "config/config.h"

#include <uv.h>

struct manager;      /* src/upstream/manager.h */
struct http_server;  /* src/http/server.h */
struct ws_manager;   /* src/stream/ws.h */
struct sse_manager;  /* src/stream/sse.h */
struct mcp_endpoint; /* src/mcp/endpoint.h */
struct config_watch; /* src/config/watch.h */
struct config_file;  /* src/config/file.h */
struct ticker;       /* src/http/ticker.h */
struct curl_loop;    /* src/net/curl_loop.h */
struct cluster;      /* src/cluster/cluster.h */
struct registry;     /* src/cluster/registry.h */
struct rpc;          /* src/cluster/rpc.h */
struct store;        /* src/store/store.h */
struct activity_log; /* src/store/activity.h */
struct quarantine;   /* src/store/quarantine.h */

typedef enum app_state { APP_STARTING, APP_RUNNING, APP_RELOADING, APP_STOPPING } app_state;

typedef struct app {
    uv_loop_t *loop;
    bus *bus;
    config cfg;        /* the running configuration */
    char *config_path; /* absolute path of the config file; owned */
    /* the file as loaded or written last, which the watch and the API's
     * saves share (a save refuses while the file has unloaded edits); owned */
    struct config_file *config_file;
    app_state state;
    proxy_stats stats;             /* every part's counters (core/stats.h) */
    struct manager *manager;       /* upstream servers; owned */
    struct curl_loop *curl;        /* HTTP transfers of remote servers; owned */
    struct http_server *http;      /* owned */
    struct ws_manager *ws;         /* /ws/events, /ws/servers; owned */
    struct sse_manager *sse;       /* /events; owned */
    struct mcp_endpoint *mcp;      /* /mcp; owned */
    struct config_watch *watch;    /* live reload of config_path; owned */
    struct ticker *ticker;         /* the keep-alive jobs of every stream; owned */
    struct store *store;           /* the database (cfg.database); owned */
    struct activity_log *activity; /* every /mcp call, in the store; owned */
    struct quarantine *quarantine; /* what waits for approval; owned */
    struct cluster *cluster;       /* the NATS stream's link; NULL on a single node; owned */
    struct registry *registry;     /* every node's servers; NULL on a single node; owned */
    struct rpc *rpc;               /* calls to and from other nodes; NULL on a single node; owned */
    /* "connecting", "connected" or "disconnected" (static text, set by the
     * cluster); NULL on a single node */
    const char *cluster_state;
} app;

const char *app_state_name(app_state state);

/* Moves the app to a new state and publishes app_state_changed. */
void app_set_state(app *a, app_state state);

#endif
