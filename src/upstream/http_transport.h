/* http_transport.h - one remote MCP server over HTTP, as a transport
 * (transport.h), on the process's curl_loop.
 *
 * Three ways, by the server's `protocol`:
 *
 * - "streamable-http" ("http"): MCP 2025-06-18 Streamable HTTP. Every
 *   message is POSTed to the url (Accept: application/json,
 *   text/event-stream); the answer is a JSON body or an event stream that
 *   carries it (and any requests and notifications first); 202 for a
 *   notification. The Mcp-Session-Id of the initialize answer is sent with
 *   everything after it, MCP-Protocol-Version once negotiated. After
 *   notifications/initialized the GET stream for the server's own messages
 *   is opened when offered (405: not offered) and resumed with
 *   Last-Event-ID after a cut. Stopping DELETEs the session.
 * - "sse": the 2024-11-05 HTTP+SSE transport. A GET opens the event
 *   stream; its `endpoint` event names where to POST (same origin only);
 *   answers come over the stream.
 * - "auto": Streamable HTTP; when the first POST (initialize) gets a 4xx
 *   other than 401/403, the server is taken for an HTTP+SSE one, as the
 *   specification's backwards-compatibility section says.
 *
 * What ends the transport, with a reason in plain words (on_closed): a
 * failure to connect, resolve or verify TLS, a cut stream, 401/403 (a 401
 * with a Bearer WWW-Authenticate challenge is reported as such: the
 * server wants an OAuth login), a 404
 * on a request that carried a session id (the session is gone: the owner
 * starts a new one), an answer or event past max_message_bytes. Any other
 * HTTP error fails only the request it answered (a JSON-RPC error naming
 * the status is delivered for it). A notifications/cancelled sent for a
 * request also abandons that request's POST.
 *
 * Every connection is the transport's own (a libcurl share of its
 * connection cache): when it ends, none stays open. The configured
 * headers go with every request and never into a log. TLS is verified
 * against the system's CA store unless tls_skip_verify (a warning is
 * logged then). Redirects are not followed. */
#ifndef MCPPROXY_UPSTREAM_HTTP_TRANSPORT_H
#define MCPPROXY_UPSTREAM_HTTP_TRANSPORT_H

#include "config/config.h"
#include "upstream/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct curl_loop;

typedef struct http_transport_options {
    const char *server_name;     /* for log lines; copied */
    uint32_t connect_timeout_ms; /* each connection attempt */
    /* Bytes of messages POSTed and not yet answered (or waiting for the
     * SSE endpoint), at most (one message of any size when none waits). */
    size_t max_queued_bytes;
    /* One received message (a JSON body, one event), at most. */
    size_t max_message_bytes;
    struct curl_loop *curl; /* borrowed; outlives the transport */
    /* The OAuth access token to send as "Authorization: Bearer", read
     * afresh for every request (a refresh replaces it mid-session); NULL,
     * or a function returning NULL: none. Not sent when the server's
     * headers set an Authorization of their own. */
    const char *(*bearer)(void *ctx);
    void *bearer_ctx;
} http_transport_options;

/* Starts the transport for srv (srv->url set; protocol "streamable-http",
 * "http", "sse" or "auto"). Nothing is sent before the first message,
 * except that "sse" opens its stream at once. NULL with err when the url
 * cannot be used. `opts` and `cbs` are copied, `srv` too; `ctx` borrowed. */
transport *http_transport_start(uv_loop_t *loop, const server_config *srv, const http_transport_options *opts,
                                const transport_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN]);

#endif
