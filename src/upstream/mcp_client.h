/* mcp_client.h - the client side of MCP over one transport: a child's
 * stdio, or HTTP when the server's config has a url (transport.h).
 *
 * Does the handshake (initialize → notifications/initialized), lists tools,
 * then prompts, resources and resource templates where the server's
 * capabilities offer them (following nextCursor pages; Ready once all are
 * in), re-lists each on its list_changed, hands the server's other
 * notifications to on_notification, answers the
 * server's pings, and offers a general asynchronous request with
 * a per-request timeout (the /mcp endpoint's tools/call uses it). A timeout
 * fails only that request. A server that passes one of the options' bounds
 * (what waits for its stdin; pages, bytes or items of one listing: the tool
 * bounds apply to each list alike) is failed
 * as a whole: on_failed names the bound, and the client stops it.
 * Everything runs on the loop; callbacks fire from it. */
#ifndef MCPPROXY_UPSTREAM_MCP_CLIENT_H
#define MCPPROXY_UPSTREAM_MCP_CLIENT_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The version we ask for; an older one the server answers with is accepted
 * when it is in mcp_client_supported_versions. */
#define MCP_PROTOCOL_VERSION "2025-11-25"

/* Local error codes (JSON-RPC reserves -32000..-32099 for implementations). */
#define MCP_ERR_TIMEOUT (-32001)
#define MCP_ERR_CLOSED (-32002)

struct reaper;
struct curl_loop;
typedef struct mcp_client mcp_client;

/* The lists a server may offer, in the order the first round lists them. */
typedef enum mcp_list_kind {
    MCP_LIST_TOOLS,
    MCP_LIST_PROMPTS,
    MCP_LIST_RESOURCES,
    MCP_LIST_TEMPLATES, /* resources/templates/list */
    MCP_LIST_KINDS
} mcp_list_kind;

typedef struct mcp_error {
    int code;
    const char *message; /* borrowed */
    json_t *data;        /* borrowed, may be NULL */
} mcp_error;

/* Exactly one of result / err is non-NULL. Both are borrowed for the call. */
typedef void (*mcp_response_fn)(json_t *result, const mcp_error *err, void *ctx);

/* A result as the server wrote it: result[0..len) is one JSON value that
 * json_scan (core/json_scan.h) checked, so jansson accepts it too; the
 * bytes are borrowed for the call. */
typedef void (*mcp_raw_result_fn)(const char *result, size_t len, void *ctx);

typedef struct mcp_client_callbacks {
    /* The handshake finished; the lists are being listed next. */
    void (*on_initialized)(mcp_client *c, void *ctx);
    /* The tool list was (re)listed. `first` once the first round of
     * listings after the handshake is in (the client is ready from then
     * on; added/removed are the first tool listing's). */
    void (*on_tools)(mcp_client *c, size_t added, size_t removed, bool first, void *ctx);
    /* The handshake or the first listing failed, or the server passed a
     * bound; the client is stopping itself and on_exit follows. `reason` is
     * borrowed. */
    void (*on_failed)(mcp_client *c, const char *reason, void *ctx);
    /* A list other than tools was listed again after a list_changed
     * (only once Ready). May be NULL. */
    void (*on_list)(mcp_client *c, mcp_list_kind kind, void *ctx);
    /* A notification from the server that the client does not handle
     * itself (all but the list_changed ones), e.g.
     * notifications/progress. `method` and `params` (NULL when absent) are
     * borrowed for the call. May be NULL. */
    void (*on_notification)(mcp_client *c, const char *method, json_t *params, void *ctx);
    /* Raw stderr bytes of a local server, or a remote transport's notes
     * (one line each); borrowed. */
    void (*on_stderr)(const char *bytes, size_t len, void *ctx);
    /* The process exited and every pending request has been failed. Called
     * once; the owner may destroy the client from inside it. */
    void (*on_exit)(mcp_client *c, int64_t exit_status, int term_signal, void *ctx);
} mcp_client_callbacks;

typedef struct mcp_client_options {
    const char *server_name;     /* for log lines; copied */
    uint32_t request_timeout_ms; /* handshake and listings */
    uint32_t stop_grace_ms;      /* SIGTERM → SIGKILL */
    /* The bounds, as the config's `upstream` object names them (> 0). */
    uint32_t max_queued_bytes;    /* bytes waiting for the server's stdin */
    uint32_t max_tool_pages;      /* pages in one listing (of any list) */
    uint32_t max_tool_list_bytes; /* bytes of the answers of one listing */
    uint32_t max_tools;           /* items in one listing */
    uint32_t max_message_bytes;   /* one message of a remote server (0: 16 MiB) */
    struct reaper *reaper;        /* for a stdio transport; borrowed, may be NULL */
    struct curl_loop *curl;       /* for a remote one (the config has a url); borrowed, may be NULL */
    /* A remote one's OAuth access token, read for every request
     * (http_transport_options); may be NULL. */
    const char *(*bearer)(void *ctx);
    void *bearer_ctx;
} mcp_client_options;

extern const char *const mcp_client_supported_versions[];

/* Spawns the server (or, for a url, prepares its HTTP transport) and starts
 * the handshake. NULL with err on failure
 * (no callback fires then). `cbs` and `opts` are copied; `ctx` borrowed. */
mcp_client *mcp_client_start(uv_loop_t *loop, const server_config *srv, const mcp_client_options *opts,
                             const mcp_client_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN]);

/* Sends a request. `params` is borrowed (NULL: none). `cb` is called exactly
 * once (result, error, timeout after timeout_ms, or MCP_ERR_CLOSED when the
 * server goes away) unless the request is cancelled. Returns the request id
 * (> 0), or -1 when the server cannot be written to (cb is not called). */
int64_t mcp_client_request(mcp_client *c, const char *method, json_t *params, uint32_t timeout_ms, mcp_response_fn cb,
                           void *ctx);

/* The same, but a result that arrives as a plain response line of a stdio
 * server ({"jsonrpc":"2.0","id":N,"result":...} with no escaped or repeated
 * keys) goes to `raw` as its bytes, never parsed into a tree; everything
 * else (errors, timeouts, remote servers, unusual lines) goes to `cb`.
 * Exactly one of the two is called, once, unless the request is cancelled.
 * Why: /mcp passes a tool's result on unchanged, and parsing it only to
 * write it out again was most of a call's cost (docs/BENCHMARKS.md). */
int64_t mcp_client_request_raw(mcp_client *c, const char *method, json_t *params, uint32_t timeout_ms,
                               mcp_response_fn cb, mcp_raw_result_fn raw, void *ctx);

/* mcp_client_request_raw with params already written: params[0..len) is
 * one JSON object jansson accepts, on one line (transport_send_text), and
 * is copied. No tree is built on the way to a stdio server. */
int64_t mcp_client_request_text(mcp_client *c, const char *method, const char *params, size_t params_len,
                                uint32_t timeout_ms, mcp_response_fn cb, mcp_raw_result_fn raw, void *ctx);

/* Forgets a pending request: its callback will not be called. Sends
 * notifications/cancelled to the server. Unknown ids are ignored. */
void mcp_client_cancel(mcp_client *c, int64_t id, const char *reason);

/* Sends a notification; `params` borrowed. Returns 0 or a libuv error. */
int mcp_client_notify(mcp_client *c, const char *method, json_t *params);

/* Whether the handshake and first listing are done and the server lives. */
bool mcp_client_ready(const mcp_client *c);

/* The tool objects exactly as the server sent them (a JSON array).
 * Borrowed; replaced (not edited) on every re-list. */
json_t *mcp_client_tools(const mcp_client *c);
/* One list's items exactly as the server sent them (a JSON array; empty
 * when the server does not offer it). Borrowed; replaced on every re-list. */
json_t *mcp_client_list(const mcp_client *c, mcp_list_kind kind);
/* Negotiated version, or NULL before the handshake. Borrowed. */
const char *mcp_client_protocol_version(const mcp_client *c);
/* The server's serverInfo / capabilities objects, or NULL. Borrowed. */
json_t *mcp_client_server_info(const mcp_client *c);
json_t *mcp_client_capabilities(const mcp_client *c);
int mcp_client_pid(const mcp_client *c);
/* After on_exit: whether the connection ended because the remote server
 * forgot the session (a new one, not a failure, is the remedy). */
bool mcp_client_session_lost(const mcp_client *c);

/* After on_exit: the WWW-Authenticate value of the 401 (Bearer) that ended
 * a remote connection: the server wants an OAuth login. NULL otherwise.
 * Borrowed; lives as long as the client. */
const char *mcp_client_auth_challenge(const mcp_client *c);

/* Stops the server (stdin EOF, SIGTERM, SIGKILL after the options'
 * stop_grace_ms). on_exit follows. Idempotent. */
void mcp_client_stop(mcp_client *c);

/* The same with a grace of at most max_grace_ms. For a stop already under
 * way it brings the SIGKILL forward when that makes it sooner. */
void mcp_client_stop_within(mcp_client *c, uint32_t max_grace_ms);

/* Frees the client; only after on_exit (or from inside it). */
void mcp_client_destroy(mcp_client *c);

/* Pure helper: counts the tools, by name, that are in `now` and not in
 * `before` (added) and the reverse (removed). */
void mcp_tools_diff(const json_t *before, const json_t *now, size_t *added, size_t *removed);

#endif
