/* events_cmd.c - `mcpproxy events`.
 *
 * A WebSocket client (lws, on a libuv loop of its own) of the same stream
 * the dashboard uses. It remembers the last seq and the run's epoch, so a
 * reconnect resumes exactly where it left off (since=SEQ&epoch=E); if the
 * proxy restarted or the gap is too old it says so. Events go to stdout,
 * one line each; everything about the connection goes to stderr. */
#include "cli/events_cmd.h"

#include "config/config.h"
#include "core/event.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 10000

typedef struct watcher {
    uv_loop_t loop;
    struct lws_context *ctx;
    struct lws *wsi;
    uv_signal_t sigint, sigterm;
    uv_timer_t retry;
    char host[256];
    int port;
    strbuf base_path; /* /ws/events?... without since/epoch */
    bool json;
    uint64_t last_seq; /* 0 = nothing seen yet */
    char epoch[33];
    uint32_t retry_ms;
    bool ever_connected;
    bool stopping;
    int exit_code;
    strbuf rx; /* a message arriving in fragments */
} watcher;

static void print_event(watcher *w, json_t *ev, const char *raw)
{
    if (w->json) {
        puts(raw);
    } else {
        const char *ts = json_string_value(json_object_get(ev, "timestamp"));
        const char *server = json_string_value(json_object_get(ev, "server_name"));
        const char *old_state = json_string_value(json_object_get(ev, "old_state"));
        const char *new_state = json_string_value(json_object_get(ev, "new_state"));
        char *data = json_dumps(json_object_get(ev, "data"), JSON_COMPACT | JSON_PRESERVE_ORDER);
        /* "2026-11-28T01:02:03.456789Z" -> "01:02:03.456" */
        printf("%.12s  %-6" PRIu64 " %-22s %-12s", ts && strlen(ts) >= 23 ? ts + 11 : "?",
               (uint64_t)json_integer_value(json_object_get(ev, "seq")), json_string_value(json_object_get(ev, "type")),
               server ? server : "-");
        if (old_state || new_state)
            printf(" %s -> %s", old_state ? old_state : "", new_state ? new_state : "");
        if (data && strcmp(data, "{}") != 0)
            printf(" %s", data);
        putchar('\n');
        free(data);
    }
    fflush(stdout);
}

static void handle_message(watcher *w, const char *text)
{
    json_error_t err;
    json_t *msg = json_loads(text, 0, &err);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        fprintf(stderr, "mcpproxy events: unreadable message from the proxy: %s\n", err.text);
    } else if (strcmp(type, "hello") == 0) {
        const char *epoch = json_string_value(json_object_get(msg, "epoch"));
        if (w->epoch[0] && epoch && strcmp(w->epoch, epoch) != 0)
            fprintf(stderr, "mcpproxy events: the proxy restarted (new epoch %s)\n", epoch);
        snprintf(w->epoch, sizeof w->epoch, "%s", epoch ? epoch : "");
    } else if (strcmp(type, "resync_required") == 0) {
        fprintf(stderr, "mcpproxy events: could not resume (%s); continuing live\n",
                json_string_value(json_object_get(msg, "reason")));
    } else if (strcmp(type, "events_dropped") == 0) {
        fprintf(stderr,
                "mcpproxy events: %" JSON_INTEGER_FORMAT " events dropped (seq %" JSON_INTEGER_FORMAT
                "..%" JSON_INTEGER_FORMAT "): this terminal fell behind\n",
                json_integer_value(json_object_get(msg, "count")),
                json_integer_value(json_object_get(msg, "first_seq")),
                json_integer_value(json_object_get(msg, "last_seq")));
    } else {
        w->last_seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
        print_event(w, msg, text);
    }
    json_decref(msg);
}

static void connect_now(watcher *w);

static void on_retry(uv_timer_t *t)
{
    connect_now(t->data);
}

/* The connection is gone: try again later, doubling the wait. A first
 * attempt that fails means a wrong URL or key: say so and stop. */
static void connection_ended(watcher *w, const char *why)
{
    w->wsi = NULL;
    if (w->stopping)
        return;
    if (!w->ever_connected) {
        fprintf(stderr, "mcpproxy events: cannot connect to http://%s:%d%s: %s\n", w->host, w->port, w->base_path.data,
                why);
        w->exit_code = 1;
        w->stopping = true;
        uv_stop(&w->loop);
        return;
    }
    fprintf(stderr, "mcpproxy events: disconnected (%s); retrying in %.1f s\n", why, w->retry_ms / 1000.0);
    uv_timer_start(&w->retry, on_retry, w->retry_ms, 0);
    w->retry_ms = w->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->retry_ms * 2;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    watcher *w = lws_get_opaque_user_data(wsi);
    if (!w)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        fprintf(stderr, "mcpproxy events: connected to http://%s:%d\n", w->host, w->port);
        w->ever_connected = true;
        w->retry_ms = RETRY_FIRST_MS;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        strbuf_append(&w->rx, in, len);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            handle_message(w, w->rx.data ? w->rx.data : "");
            w->rx.len = 0;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        connection_ended(w, in ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        connection_ended(w, "closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"mcpproxy-events-client", on_lws, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void connect_now(watcher *w)
{
    strbuf path = {0};
    strbuf_append(&path, w->base_path.data, w->base_path.len);
    if (w->last_seq && w->epoch[0])
        strbuf_appendf(&path, "%csince=%" PRIu64 "&epoch=%s", strchr(path.data, '?') ? '&' : '?', w->last_seq,
                       w->epoch);
    char host_header[300], origin[300];
    snprintf(host_header, sizeof host_header, "%s:%d", w->host, w->port);
    snprintf(origin, sizeof origin, "%s:%d", w->host, w->port); /* lws prefixes http:// */
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = w->ctx;
    ci.address = w->host;
    ci.port = w->port;
    ci.path = path.data;
    ci.host = host_header;
    ci.origin = origin;
    ci.local_protocol_name = protocols[0].name;
    ci.opaque_user_data = w;
    ci.pwsi = &w->wsi;
    if (!lws_client_connect_via_info(&ci) && !w->wsi)
        connection_ended(w, "cannot start the connection");
    strbuf_free(&path);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    watcher *w = sig->data;
    w->stopping = true;
    uv_stop(&w->loop);
}

/* "http://host:port" (or ws://); the path, if any, is ignored. */
static bool parse_url(const char *url, char *host, size_t host_len, int *port)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%.*s", (int)strcspn(p, "/?"), p);
    return config_split_listen(hostport, host, host_len, port);
}

/* Appends "&name=value" with the value percent-encoded. */
static void append_param(strbuf *sb, const char *name, const char *value)
{
    strbuf_appendf(sb, "%c%s=", strchr(sb->data, '?') ? '&' : '?', name);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~,", *c))
            strbuf_append(sb, c, 1);
        else
            strbuf_appendf(sb, "%%%02X", *c);
    }
}

static bool load_defaults(const char *config_path, config *cfg)
{
    char err[CONFIG_ERR_LEN];
    struct stat st;
    if (stat(config_path, &st) != 0 && errno == ENOENT) {
        config_init_defaults(cfg);
        return true;
    }
    if (config_load_file(config_path, cfg, err))
        return true;
    fprintf(stderr, "mcpproxy events: invalid config: %s\n", err);
    return false;
}

int events_cmd_run(const cli_options *opts, const char *config_path)
{
    event_type_mask mask;
    char err[160];
    if (opts->types && !event_type_mask_parse(opts->types, &mask, err, sizeof err)) {
        fprintf(stderr, "mcpproxy events: --types: %s\n", err);
        return 2;
    }
    config cfg;
    if (!load_defaults(config_path, &cfg))
        return 2;
    watcher w = {.json = opts->json, .retry_ms = RETRY_FIRST_MS};
    const char *url = opts->url ? opts->url : cfg.listen;
    if (!parse_url(url, w.host, sizeof w.host, &w.port)) {
        fprintf(stderr, "mcpproxy events: --url must look like http://127.0.0.1:8080 (got \"%s\")\n", url);
        config_free(&cfg);
        return 2;
    }
    if (strcmp(w.host, "0.0.0.0") == 0)
        snprintf(w.host, sizeof w.host, "127.0.0.1");
    strbuf_append(&w.base_path, opts->server ? "/ws/servers" : "/ws/events", opts->server ? 11 : 10);
    if (opts->server)
        append_param(&w.base_path, "server", opts->server);
    if (opts->types)
        append_param(&w.base_path, "types", opts->types);
    const char *key = opts->api_key ? opts->api_key : cfg.api_key;
    if (key && *key)
        append_param(&w.base_path, "apikey", key);
    config_free(&cfg);

    uv_loop_init(&w.loop);
    lws_set_log_level(LLL_ERR, NULL);
    void *foreign_loops[1] = {&w.loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = foreign_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.pcontext = &w.ctx;
    w.ctx = lws_create_context(&info);
    if (!w.ctx) {
        fprintf(stderr, "mcpproxy events: cannot start libwebsockets\n");
        return 1;
    }
    uv_signal_init(&w.loop, &w.sigint);
    uv_signal_init(&w.loop, &w.sigterm);
    uv_timer_init(&w.loop, &w.retry);
    w.sigint.data = w.sigterm.data = w.retry.data = &w;
    uv_signal_start(&w.sigint, on_signal, SIGINT);
    uv_signal_start(&w.sigterm, on_signal, SIGTERM);

    connect_now(&w);
    uv_run(&w.loop, UV_RUN_DEFAULT);

    /* Stopped: close the connection and lws' handles, then ours. */
    w.stopping = true;
    lws_context_destroy(w.ctx);
    uv_close((uv_handle_t *)&w.sigint, NULL);
    uv_close((uv_handle_t *)&w.sigterm, NULL);
    uv_close((uv_handle_t *)&w.retry, NULL);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    if (w.ctx)
        lws_context_destroy(w.ctx);
    uv_loop_close(&w.loop);
    strbuf_free(&w.base_path);
    strbuf_free(&w.rx);
    return w.exit_code;
}
