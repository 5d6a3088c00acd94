/* config.h - mcpproxy's configuration file: defaults, strict parsing, saving.
 *
 * The file is JSON (README shows every key). Parsing is strict: an unknown key, a value
 * of the wrong type or out of range is an error whose message names the key
 * and, where the text allows, its line and column. A config struct owns every
 * string and array it points to; config_free() releases them. */
#ifndef MCPPROXY_CORE_CONFIG_H
#define MCPPROXY_CORE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_LEN 512

typedef struct ws_settings {
    uint32_t ping_interval_ms;  /* 54000: send a ping this often */
    uint32_t pong_timeout_ms;   /* 60000: close a client silent this long */
    uint32_t write_timeout_ms;  /* 10000: close a client whose write is stuck this long */
    uint32_t max_message_bytes; /* 524288: larger client messages close with 1009 */
    uint32_t send_queue;        /* 256: pending messages per client before drops */
    uint32_t max_clients;       /* 10000: one more is refused with 503 */
    uint32_t history;           /* 4096: events kept for resume; >= send_queue */
    uint32_t history_bytes;     /* 64 MiB: ... and at most this many bytes of them */
    uint32_t send_queue_bytes;  /* 8 MiB: pending bytes per client before drops */
    uint32_t max_event_bytes;   /* 1 MiB: a larger event is refused (POST /api/events: 413) */
} ws_settings;

/* Bounds on what one client can make the server hold. */
typedef struct limits_settings {
    uint32_t max_header_bytes;               /* 8192: larger request headers are refused */
    uint32_t max_body_bytes;                 /* 4 MiB: larger request bodies get 413 */
    uint32_t max_connections;                /* 2048: TCP connections at once, all clients */
    uint32_t max_connections_per_address;    /* 512: from one client address */
    uint32_t handshake_timeout_ms;           /* 10000: headers (and WebSocket handshake) must arrive in time */
    uint32_t keepalive_timeout_ms;           /* 15000: idle HTTP keep-alive connections are closed */
    uint32_t request_timeout_ms;             /* 10000: a whole request, headers and body, must arrive in time */
    uint32_t max_pending_bodies_per_address; /* 32: requests whose body is still arriving, from one address */
} limits_settings;

/* How upstream servers are started, retried and stopped. */
typedef struct upstream_settings {
    uint32_t backoff_base_ms;    /* 1000: first retry delay, doubling per failure */
    uint32_t backoff_max_ms;     /* 300000: longest retry delay */
    uint32_t ready_reset_ms;     /* 30000: Ready this long resets the failure count */
    uint32_t request_timeout_ms; /* 30000: handshake and tools/list */
    uint32_t stop_grace_ms;      /* 1000 (at most 60000): SIGTERM, then SIGKILL after this;
                                  * a process stop cuts it to 1000 */
    /* Bounds on what one server can make mcpproxy hold; past any of them
     * the server is failed (Error, last_error names the key, backoff). The
     * tool listing bounds bound the prompts, resources and resource
     * templates listings alike, each on its own. */
    uint32_t max_queued_bytes;    /* 8 MiB (at most 1 GiB): bytes waiting to be written to its stdin */
    uint32_t max_tool_pages;      /* 1000: tools/list pages in one listing */
    uint32_t max_tool_list_bytes; /* 32 MiB: bytes of tools/list answers in one listing */
    uint32_t max_tools;           /* 10000: tools in one listing */
    uint32_t max_message_bytes;   /* 16 MiB: one message (or answer body) from a remote server */
} upstream_settings;

/* The proxy's own MCP endpoint (/mcp). */
typedef struct mcp_settings {
    uint32_t call_timeout_ms;          /* 300000: a tools/call waits this long for its upstream */
    uint32_t session_ttl_ms;           /* 1800000: an idle session expires */
    uint32_t ping_interval_ms;         /* 15000: keep-alive comment on open SSE streams */
    uint32_t unused_session_ttl_ms;    /* 60000: a session with no request after initialize expires sooner */
    uint32_t max_sessions;             /* 1024: sessions at once, all clients */
    uint32_t max_sessions_per_address; /* 256: from one client address */
    uint32_t list_page_size;           /* 100: items per page of prompts/list, resources/list, templates */
    bool log_tool_arguments;           /* false: tool_called events carry the arguments */
} mcp_settings;

/* The activity log in the database (src/store/activity.h). */
typedef struct activity_settings {
    uint32_t retention_days;     /* 30: older rows are deleted */
    uint32_t max_rows;           /* 100000: past this the oldest rows are deleted */
    uint32_t max_argument_bytes; /* 4096: a call's arguments (JSON) are cut to this */
} activity_settings;

/* What waits for approval (src/store/quarantine.h). */
typedef struct quarantine_settings {
    bool new_servers;   /* true: a server added after the first start is Quarantined until approved */
    bool changed_tools; /* true: a tool whose description or input schema changed is held until approved */
} quarantine_settings;

typedef struct env_var {
    char *name;
    char *value;
} env_var;

/* A remote server's OAuth settings (all optional). Tokens are not here: they
 * live in the token file (oauth/oauth_store.h), never in the config. */
typedef struct oauth_settings {
    bool present;        /* the server has an "oauth" object */
    char *client_id;     /* NULL: registered dynamically (RFC 7591) */
    char *client_secret; /* NULL: a public client; a secret like env values */
    char *scopes;        /* space-separated, NULL: what the server asks for */
    char *redirect_uri;  /* NULL: http://LISTEN/oauth/callback */
} oauth_settings;

typedef struct server_config {
    char *name; /* CONFIG_NAME_RULE; unique */
    /* "stdio" (the default with a command), "streamable-http" ("http" is
     * the same), "sse" (the 2024-11-05 HTTP+SSE transport) or "auto" (the
     * default with a url: Streamable HTTP, falling back to SSE). */
    char *protocol;
    char *command;    /* a stdio server: exactly one of command and url */
    char *url;        /* a remote server: http:// or https:// */
    env_var *headers; /* sent with every request to url; secrets like env */
    size_t n_headers;
    bool tls_skip_verify; /* false: https certificates are verified (system CA store) */
    oauth_settings oauth; /* a remote server only */
    char **args;
    size_t n_args;
    env_var *env;
    size_t n_env;
    char *working_dir; /* "" = inherit */
    bool enabled;
    char *group; /* "" = no group, else CONFIG_NAME_RULE */
} server_config;

/* How the file lists its servers. A save writes them back the same way, so
 * a file shaped like another tool's stays shaped like it. */
typedef struct config_servers_form {
    bool by_name;    /* an object keyed by server name, as Claude Desktop, Cursor and VS Code
                      * write it; false: our array of objects with a "name" */
    bool vscode_key; /* under "servers", as VS Code's mcp.json; false: under "mcpServers" */
} config_servers_form;

/* A cluster of nodes sharing one event history in a NATS JetStream stream
 * (src/cluster). Absent from the file = a single node (enabled false, the
 * strings NULL). */
typedef struct cluster_settings {
    bool enabled;          /* the file has a "cluster" object */
    char *nats_url;        /* "nats://127.0.0.1:4222"; several servers of one NATS cluster comma-separated */
    char *stream;          /* "MCPPROXY_EVENTS": letters, digits, '_' and '-' */
    char *node;            /* required: this node's name, same characters, at most 64 */
    uint32_t history;      /* 100000: events the stream keeps (the oldest leave) */
    char *credentials;     /* "" = none, else a NATS .creds file */
    uint32_t buffer;       /* 10000: this node's events held while the stream is unreachable */
    uint32_t replicas;     /* 1: copies of the stream a NATS cluster keeps (1 to 5) when it creates it */
    uint32_t heartbeat_ms; /* 1000: how often this node says it is alive; 3 missed = unreachable */
} cluster_settings;

typedef struct config {
    char *listen;  /* "127.0.0.1:8080" */
    char *api_key; /* "" = none */
    char **allowed_origins;
    size_t n_allowed_origins;
    uint32_t auto_disable_threshold; /* 3 */
    ws_settings websocket;
    limits_settings limits;
    mcp_settings mcp;
    upstream_settings upstream;
    cluster_settings cluster;
    activity_settings activity;
    quarantine_settings quarantine;
    char *database; /* "" = mcpproxy.db next to the config file */
    char *routing;  /* "direct" (every tool as server__tool) or "search" (retrieve_tools, call_tool) on /mcp */
    server_config *servers;
    size_t n_servers;
    config_servers_form servers_form; /* the file's; a save keeps it */
} config;

/* Fills cfg with the defaults and no servers. */
void config_init_defaults(config *cfg);

/* Parses JSON text (len bytes) over the defaults. On error returns false, leaves
 * cfg empty (safe to config_free) and writes a message to err. `origin` names
 * the text in messages (usually the file path). */
bool config_parse(const char *text, size_t len, const char *origin, config *cfg, char err[CONFIG_ERR_LEN]);

/* Reads and parses a file. A missing file is an error (the caller decides
 * whether to fall back to defaults). */
bool config_load_file(const char *path, config *cfg, char err[CONFIG_ERR_LEN]);

/* Splits "HOST:PORT" ("[::1]:8080" for IPv6). Port 0 asks the OS for a free one.
 * host_out receives at most host_len-1 bytes. */
/* Frees the cluster section's strings and leaves it disabled. */
void config_cluster_free(cluster_settings *c);

bool config_split_listen(const char *listen, char *host_out, size_t host_len, int *port_out);

/* The one rule for server and group names. Each name is a single URL path
 * segment of the API (/api/servers/NAME, /api/groups/NAME/enable), so none
 * may hold a '/', nor anything URL decoding changes ('%', '+'), nor be a
 * dot segment ("." and "..") that clients and servers remove from paths:
 * a name the API accepted must be one it can reach. */
#define CONFIG_NAME_MAX 64
#define CONFIG_NAME_RULE "1-64 characters of A-Z a-z 0-9 _ - . (not \".\" or \"..\")"

/* Whether `name` follows CONFIG_NAME_RULE. If not, err says so, naming it
 * as `what` ("server name", "group"). */
bool config_name_valid(const char *name, const char *what, char err[CONFIG_ERR_LEN]);

/* Validates one server entry (name and group by CONFIG_NAME_RULE, an empty
 * group meaning none; exactly one of command and url; a url that is
 * http(s); a protocol that fits it). */
bool config_server_validate(const server_config *srv, char err[CONFIG_ERR_LEN]);

/* Fills in a missing protocol: "auto" for a url, else "stdio". */
void config_server_default_protocol(server_config *srv);

/* Deep copy / free of one server entry. */
void server_config_copy(server_config *dst, const server_config *src);
void server_config_free(server_config *srv);

/* The directory of a config file's path ("." for a bare name). New string. */
char *config_dir_of(const char *config_path);

/* What is run for srv when its config file is in base_dir (absolute): a
 * deep copy whose relative working_dir is made absolute against base_dir,
 * then whose relative command holding a '/' (a bare name is looked up on
 * PATH) and relative args that name an existing file or directory are made
 * absolute against the working_dir if there is one, else base_dir. Options
 * (args starting with '-') are left alone. dst is new (server_config_free). */
void config_server_resolve_paths(server_config *dst, const server_config *src, const char *base_dir);

/* Finds a server by name, or NULL. */
server_config *config_find_server(const config *cfg, const char *name);

/* What a secret reads as wherever it is shown rather than stored. */
#define CONFIG_SECRET_MASK "***"

/* One server in the file's shape. With mask_secrets, env and headers
 * values and oauth.client_secret read CONFIG_SECRET_MASK (for events, API responses and logs; they
 * carry tokens). A stdio server has no url, headers or tls_skip_verify
 * keys; a remote one no command, args, env or working_dir. New reference. */
json_t *server_config_to_json(const server_config *srv, bool mask_secrets);

/* The whole config as JSON, in the file's shape (servers_form), secrets
 * included (this is what is saved). New reference. */
json_t *config_to_json(const config *cfg);

/* The servers alone as an array of server objects, whatever the file's
 * form: what comparisons of two configs look at. New reference. */
json_t *config_servers_to_json(const config *cfg);

/* Copies every setting but the servers (dst gets none): the strings are
 * copied, dst is a new config to config_free. */
void config_copy_settings(config *dst, const config *src);

/* Writes the config to path atomically: temp file in the same directory, mode
 * 0600, fsync, rename, fsync of the directory. A symlink is followed: the
 * temp file goes beside its target and the rename replaces the target, so
 * the link stays. A missing parent directory is created (mode 0700). On
 * failure the old file is untouched and err says why. (config/file.h saves
 * the running proxy's changes, refusing while the file has hand edits.) */
bool config_save_file(const config *cfg, const char *path, char err[CONFIG_ERR_LEN]);

/* The file a write of `path` replaces: path with its symlinks followed (the
 * last one may dangle: its target is where the file will be created). New
 * string, or NULL with errno set (ELOOP) when the links do not end. */
char *config_write_target(const char *path);

void config_free(config *cfg);

#endif
