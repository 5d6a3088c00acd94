/* http_transport.c - Streamable HTTP and HTTP+SSE clients (http_transport.h). */
#include "upstream/http_transport.h"

#include "core/dlist.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/util.h"
#include "net/curl_loop.h"
#include "oauth/oauth_parse.h"
#include "upstream/sse_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Why the transport ended, as on_closed reports it. */
#define REASON_LEN 512
/* Bytes of an error answer's body quoted in a reason. */
#define ERROR_BODY_HEAD 200
/* The GET stream is opened again this long after a cut, unless the server
 * said otherwise (the event stream's `retry`). */
#define GET_RETRY_MS 1000
/* A DELETE of the session at stop waits at most this long. */
#define DELETE_TIMEOUT_MS 2000

typedef enum mode { MODE_STREAMABLE, MODE_SSE } mode;
typedef enum body_kind { BODY_NONE, BODY_JSON, BODY_SSE, BODY_OTHER } body_kind;

typedef struct http_transport http_transport;

/* One HTTP exchange: a POST of a message, the GET stream or the DELETE. */
typedef struct exchange {
    http_transport *t;
    dlist_node node;
    curl_xfer *xfer;
    bool dead;       /* cancelled or ended: freed at the next safe point */
    bool is_get;     /* the stream of the server's messages */
    json_t *id;      /* the request's id (a POST of a request), or NULL */
    char *method;    /* of the message POSTed, or NULL */
    char *text;      /* the message POSTed (auto mode keeps the first to resend it) */
    size_t text_len; /* counted in t->queued_bytes while the POST lasts */
    bool answered;   /* the response to `id` came */
    long status;     /* of the latest status line */
    char phrase[64]; /* its reason phrase */
    char *challenge; /* a 401's WWW-Authenticate value */
    body_kind kind;
    strbuf body; /* a JSON answer, or the head of an error answer */
    sse_parser sse;
} exchange;

struct http_transport {
    transport base; /* first: the transport functions cast back */
    uv_loop_t *loop;
    struct curl_loop *curl;
    CURLSH *share; /* this transport's connections, closed with it */
    transport_callbacks cbs;
    void *ctx;
    char *name;
    char *url;      /* as configured */
    char *endpoint; /* where messages are POSTed: url, or the SSE endpoint */
    char *where;    /* host:port, for messages */
    env_var *headers;
    size_t n_headers;
    bool tls_skip_verify;
    mode mode;
    bool auto_mode; /* may still fall back to SSE */
    uint32_t connect_timeout_ms;
    size_t max_queued_bytes, max_message_bytes, queued_bytes;
    char *session_id;
    char *protocol_version;
    json_t *init_id;     /* id of the initialize request, until answered */
    dlist exchanges;     /* every exchange, alive or dead */
    exchange *get;       /* the GET stream, or NULL */
    bool get_unoffered;  /* 405: the server has no GET stream */
    bool get_failed;     /* the last GET attempt failed to connect */
    char *last_event_id; /* of the GET stream, for its resumption */
    int64_t retry_ms;    /* the stream's retry field, or -1 */
    json_t *waiting;     /* SSE mode: messages (strings) before the endpoint */
    exchange *del;       /* the DELETE of the session at stop, or NULL */
    uint32_t del_timeout_ms;
    uv_timer_t timer; /* the GET stream's resumption */
    int busy;         /* inside a callback of ours: frees wait */
    bool stopping;
    bool closing;
    const char *(*bearer)(void *ctx); /* the OAuth access token, or NULL */
    bool own_authorization;           /* headers has an Authorization of its own */
    void *bearer_ctx;
    char *challenge;   /* the WWW-Authenticate of the 401 that ended it */
    char *end_reason;  /* why it ended unasked, or NULL */
    bool session_lost; /* ... because the server forgot the session */
};

static int http_send(transport *base, const json_t *msg);
static void http_stop(transport *base, uint32_t grace_ms);
static void http_destroy(transport *base);
static int http_pid(const transport *base);

static const transport_vtable http_vtable = {
    .send = http_send, .stop = http_stop, .destroy = http_destroy, .pid = http_pid};

static void end_with(http_transport *t, const char *reason, bool polite);
static void open_get(http_transport *t);

/* ---- small helpers ---------------------------------------------------- */

static void note(http_transport *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(http_transport *t, const char *fmt, ...)
{
    char line[REASON_LEN + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, REASON_LEN, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    line[len++] = '\n';
    t->cbs.on_diagnostic(line, len, t->ctx);
}

static void exchange_free(exchange *x)
{
    dlist_remove(&x->t->exchanges, &x->node);
    json_decref(x->id);
    free(x->method);
    free(x->challenge);
    free(x->text);
    strbuf_free(&x->body);
    sse_parser_free(&x->sse);
    free(x);
}

/* Stops an exchange's transfer; the struct goes at the next safe point. */
static void exchange_kill(exchange *x)
{
    if (x->dead)
        return;
    x->dead = true;
    x->t->queued_bytes -= x->text_len;
    x->text_len = 0;
    curl_xfer_cancel(x->xfer);
    x->xfer = NULL;
    if (x->t->get == x)
        x->t->get = NULL;
    if (x->t->del == x)
        x->t->del = NULL;
}

static void closed(uv_handle_t *h);

/* Frees dead exchanges unless a callback of ours is running (it may hold
 * one); finishes the end once nothing is left. */
static void settle(http_transport *t)
{
    if (t->busy > 0)
        return;
    dlist_node *n = t->exchanges.head;
    while (n) {
        dlist_node *next = n->next;
        exchange *x = DLIST_ENTRY(n, exchange, node);
        if (x->dead)
            exchange_free(x);
        n = next;
    }
    if (t->stopping && !t->closing && !t->exchanges.head) {
        t->closing = true;
        uv_timer_stop(&t->timer);
        uv_close((uv_handle_t *)&t->timer, closed);
    }
}

/* The message a failed transfer gets, in plain words. */
static void curl_words(const http_transport *t, const char *what, const curl_xfer_end *end, char out[REASON_LEN])
{
    const char *detail = end->errbuf && *end->errbuf ? end->errbuf : curl_easy_strerror(end->result);
    switch (end->result) {
    case CURLE_COULDNT_CONNECT:
        if (end->os_errno == ECONNREFUSED)
            snprintf(out, REASON_LEN, "connection refused by %s", t->where);
        else
            snprintf(out, REASON_LEN, "cannot connect to %s: %s", t->where,
                     end->os_errno ? strerror((int)end->os_errno) : detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out, REASON_LEN, "cannot resolve the host of %s (DNS): %s", t->url, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, REASON_LEN, "%s did not answer in time (%s): %s", t->where, what, detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        snprintf(out, REASON_LEN,
                 "TLS with %s failed: %s (the certificate must be valid for the host and signed by a CA the "
                 "system trusts; tls_skip_verify turns the check off)",
                 t->where, detail);
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        snprintf(out, REASON_LEN, "the connection to %s was cut (%s): %s", t->where, what, detail);
        break;
    default:
        snprintf(out, REASON_LEN, "%s to %s failed: %s", what, t->url, detail);
        break;
    }
}

/* An HTTP error status in plain words, with the head of its body. */
static void status_words(const http_transport *t, const exchange *x, const char *url, char out[REASON_LEN])
{
    const char *hint = "";
    if (x->status == 401 && x->challenge)
        hint = ": this server needs a login (OAuth)";
    else if (x->status == 401 || x->status == 403)
        hint = ": this server needs credentials (headers)";
    char head[ERROR_BODY_HEAD + 1] = "";
    if (x->kind == BODY_OTHER || x->kind == BODY_JSON) {
        size_t n = utf8_prefix_len(x->body.data ? x->body.data : "", x->body.len, ERROR_BODY_HEAD);
        memcpy(head, x->body.data ? x->body.data : "", n);
        head[n] = '\0';
        for (char *c = head; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    snprintf(out, REASON_LEN, "HTTP %ld%s%s from %s%s%s%s", x->status, x->phrase[0] ? " " : "", x->phrase, url, hint,
             head[0] ? ": " : "", head);
    (void)t;
}

/* A 401 with a Bearer challenge ends the transport as a login matter. */
static void take_challenge(http_transport *t, exchange *x)
{
    if (x->status == 401 && x->challenge && !t->challenge) {
        t->challenge = x->challenge;
        x->challenge = NULL;
    }
}

/* ---- receiving ------------------------------------------------------- */

/* A message (or a batch of them) from the server. */
static void deliver(http_transport *t, exchange *x, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!msg) {
        t->cbs.on_bad_message(jerr.text, text, len, t->ctx);
        return;
    }
    size_t n = json_is_array(msg) ? json_array_size(msg) : 1;
    for (size_t i = 0; i < n && !t->stopping; i++) {
        json_t *one = json_is_array(msg) ? json_array_get(msg, i) : msg;
        json_t *id = json_object_get(one, "id");
        bool response = id && !json_object_get(one, "method");
        if (response && x && x->id && json_equal(id, x->id))
            x->answered = true;
        if (response && t->init_id && json_equal(id, t->init_id)) {
            const char *v = json_string_value(json_object_get(json_object_get(one, "result"), "protocolVersion"));
            /* It becomes a header value: visible ASCII only (the client
             * refuses versions it does not know anyway). */
            bool visible = v && *v;
            for (const char *c = v; visible && *c; c++)
                visible = *c >= 0x21 && *c <= 0x7E;
            if (visible) {
                free(t->protocol_version);
                t->protocol_version = xstrdup(v);
            }
            json_decref(t->init_id);
            t->init_id = NULL;
        }
        t->cbs.on_message(one, len, t->ctx);
    }
    json_decref(msg);
}

/* Where an SSE endpoint event points, resolved against the url; NULL
 * (with a reason) when it is not on the same origin. */
static char *resolve_endpoint(http_transport *t, const char *rel, char reason[REASON_LEN])
{
    CURLU *base = curl_url(), *other = curl_url();
    char *out = NULL, *s1 = NULL, *h1 = NULL, *p1 = NULL, *s2 = NULL, *h2 = NULL, *p2 = NULL;
    bool ok = curl_url_set(base, CURLUPART_URL, t->url, 0) == CURLUE_OK &&
              curl_url_set(base, CURLUPART_URL, rel, 0) == CURLUE_OK &&
              curl_url_get(base, CURLUPART_URL, &out, 0) == CURLUE_OK &&
              curl_url_set(other, CURLUPART_URL, t->url, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get(base, CURLUPART_SCHEME, &s1, 0);
        curl_url_get(base, CURLUPART_HOST, &h1, 0);
        curl_url_get(base, CURLUPART_PORT, &p1, CURLU_DEFAULT_PORT);
        curl_url_get(other, CURLUPART_SCHEME, &s2, 0);
        curl_url_get(other, CURLUPART_HOST, &h2, 0);
        curl_url_get(other, CURLUPART_PORT, &p2, CURLU_DEFAULT_PORT);
        ok = s1 && s2 && h1 && h2 && p1 && p2 && strcasecmp(s1, s2) == 0 && strcasecmp(h1, h2) == 0 &&
             strcmp(p1, p2) == 0;
        if (!ok)
            snprintf(reason, REASON_LEN,
                     "the SSE endpoint event of %s points to another origin (%.200s): refused, the headers would "
                     "go there",
                     t->url, out);
    } else {
        snprintf(reason, REASON_LEN, "the SSE endpoint event of %s is not a URL: %.200s", t->url, rel);
    }
    char *result = ok ? xstrdup(out) : NULL;
    curl_free(out);
    curl_free(s1), curl_free(h1), curl_free(p1), curl_free(s2), curl_free(h2), curl_free(p2);
    curl_url_cleanup(base);
    curl_url_cleanup(other);
    return result;
}

static void start_post(http_transport *t, char *text, size_t len, const json_t *msg);

/* SSE mode: the endpoint is known; what waited is POSTed. */
static void endpoint_known(http_transport *t, const char *rel)
{
    if (t->endpoint)
        return; /* a second endpoint event changes nothing */
    char reason[REASON_LEN];
    t->endpoint = resolve_endpoint(t, rel, reason);
    if (!t->endpoint) {
        end_with(t, reason, false);
        return;
    }
    json_t *waiting = t->waiting;
    t->waiting = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(waiting, i, s) {
        t->queued_bytes -= json_string_length(s);
        json_t *msg = json_loadb(json_string_value(s), json_string_length(s), 0, NULL);
        start_post(t, xstrdup(json_string_value(s)), json_string_length(s), msg);
        json_decref(msg);
    }
    json_decref(waiting);
}

static bool on_event(const char *type, const char *data, size_t len, const char *last_id, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    if (x->is_get && last_id) {
        free(t->last_event_id);
        t->last_event_id = xstrdup(last_id);
    }
    /* An event without data only primes the last event id (2025-11-25). */
    if (strcmp(type, "message") == 0 && len > 0)
        deliver(t, x, data, len);
    else if (strcmp(type, "endpoint") == 0 && t->mode == MODE_SSE && x->is_get)
        endpoint_known(t, data);
    return !x->dead && !t->stopping;
}

static bool on_header(const char *line, size_t len, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A status line (each response, 1xx included): "HTTP/1.1 200 OK". */
        const char *sp = memchr(line, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->phrase[0] = '\0';
        const char *ph = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)) : NULL;
        if (ph) {
            size_t n = len - (size_t)(ph + 1 - line);
            while (n > 0 && (ph[n] == '\r' || ph[n] == '\n' || ph[n] == '\0'))
                n--;
            n = n < sizeof x->phrase - 1 ? n : sizeof x->phrase - 1;
            n = utf8_prefix_len(ph + 1, n, n);
            memcpy(x->phrase, ph + 1, n);
            x->phrase[n] = '\0';
        }
        x->kind = BODY_NONE;
        return true;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return true;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - name_len - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (name_len == 12 && strncasecmp(line, "content-type", 12) == 0) {
        if (x->status >= 200 && x->status < 300 && vlen >= 17 && strncasecmp(v, "text/event-stream", 17) == 0)
            x->kind = BODY_SSE;
        else if (x->status >= 200 && x->status < 300 && vlen >= 16 && strncasecmp(v, "application/json", 16) == 0)
            x->kind = BODY_JSON;
        else
            x->kind = BODY_OTHER;
    } else if (name_len == 16 && strncasecmp(line, "www-authenticate", 16) == 0 && x->status == 401) {
        char *value = xmalloc(vlen + 1);
        memcpy(value, v, vlen);
        value[vlen] = '\0';
        if (oauth_challenge_is_bearer(value) && !x->challenge)
            x->challenge = value;
        else
            free(value);
    } else if (name_len == 14 && strncasecmp(line, "mcp-session-id", 14) == 0 && x->method &&
               strcmp(x->method, "initialize") == 0 && x->status >= 200 && x->status < 300) {
        bool visible = vlen > 0;
        for (size_t i = 0; i < vlen && visible; i++)
            visible = v[i] >= 0x21 && v[i] <= 0x7E;
        if (visible) {
            free(t->session_id);
            t->session_id = xmalloc(vlen + 1);
            memcpy(t->session_id, v, vlen);
            t->session_id[vlen] = '\0';
        }
    }
    return true;
}

static bool on_data(const char *bytes, size_t len, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    if (x->dead || t->stopping)
        return false;
    if (x->status < 200 || x->status >= 300 || x->kind == BODY_OTHER || x->kind == BODY_NONE) {
        /* An error's body: its head is quoted, the rest dropped. */
        if (x->body.len < ERROR_BODY_HEAD)
            strbuf_append(&x->body, bytes, len < ERROR_BODY_HEAD ? len : ERROR_BODY_HEAD);
        return true;
    }
    char reason[REASON_LEN];
    /* Held busy to the end: what ends the transport from here must not
     * free x while it is still read. */
    t->busy++;
    bool alive = true;
    if (x->kind == BODY_JSON) {
        if (x->body.len + len > t->max_message_bytes) {
            snprintf(reason, REASON_LEN, "an answer from %s passed upstream.max_message_bytes (%zu bytes)", t->url,
                     t->max_message_bytes);
            end_with(t, reason, true);
            alive = false;
        } else {
            strbuf_append(&x->body, bytes, len);
        }
    } else {
        bool ok = sse_parser_feed(&x->sse, bytes, len, on_event, x);
        alive = !x->dead && !t->stopping;
        if (!ok && alive) {
            snprintf(reason, REASON_LEN, "an event from %s passed upstream.max_message_bytes (%zu bytes)", t->url,
                     t->max_message_bytes);
            end_with(t, reason, true);
            alive = false;
        }
        if (x->is_get && x->sse.retry_ms >= 0)
            t->retry_ms = x->sse.retry_ms;
    }
    t->busy--;
    settle(t);
    return alive;
}

/* ---- sending ---------------------------------------------------------- */

static CURL *new_easy(http_transport *t, const char *url)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_SHARE, t->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mcpproxy");
    if (t->tls_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return e;
}

/* The configured headers and the session's. */
static struct curl_slist *base_headers(http_transport *t, bool session)
{
    struct curl_slist *h = NULL;
    strbuf sb = {0};
    for (size_t i = 0; i < t->n_headers; i++) {
        sb.len = 0;
        /* "Name;" sends a header with an empty value ("Name:" would remove it). */
        if (t->headers[i].value && *t->headers[i].value)
            strbuf_appendf(&sb, "%s: %s", t->headers[i].name, t->headers[i].value);
        else
            strbuf_appendf(&sb, "%s;", t->headers[i].name);
        h = curl_slist_append(h, sb.data);
    }
    /* An Authorization header of the config wins: the token is sent only
     * where the user has not set credentials of their own. */
    const char *token = t->bearer && !t->own_authorization ? t->bearer(t->bearer_ctx) : NULL;
    if (token && *token) {
        sb.len = 0;
        strbuf_appendf(&sb, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, sb.data);
        memset(sb.data, 0, sb.len);
    }
    if (session && t->session_id) {
        sb.len = 0;
        strbuf_appendf(&sb, "Mcp-Session-Id: %s", t->session_id);
        h = curl_slist_append(h, sb.data);
    }
    if (session && t->protocol_version) {
        sb.len = 0;
        strbuf_appendf(&sb, "MCP-Protocol-Version: %s", t->protocol_version);
        h = curl_slist_append(h, sb.data);
    }
    strbuf_free(&sb);
    return h;
}

static exchange *exchange_new(http_transport *t)
{
    exchange *x = xcalloc(1, sizeof(*x));
    x->t = t;
    sse_parser_init(&x->sse, t->max_message_bytes);
    dlist_push_front(&t->exchanges, &x->node);
    return x;
}

static void post_done(const curl_xfer_end *end, void *ctx);

static const curl_xfer_callbacks post_cbs = {.on_header = on_header, .on_data = on_data, .on_done = post_done};

/* POSTs one message (text stolen) to the endpoint. */
static void start_post(http_transport *t, char *text, size_t len, const json_t *msg)
{
    exchange *x = exchange_new(t);
    x->text = text;
    x->text_len = len;
    t->queued_bytes += len;
    const char *method = json_string_value(json_object_get(msg, "method"));
    x->method = method ? xstrdup(method) : NULL;
    json_t *id = json_object_get(msg, "id");
    if (method && id)
        x->id = json_incref(id);
    if (method && id && strcmp(method, "initialize") == 0) {
        json_decref(t->init_id);
        t->init_id = json_incref(id);
    }
    CURL *e = new_easy(t, t->endpoint);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->text);
    struct curl_slist *h = base_headers(t, t->mode == MODE_STREAMABLE);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, t->mode == MODE_STREAMABLE ? "Accept: application/json, text/event-stream"
                                                        : "Accept: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip for large bodies */
    x->xfer = curl_loop_start(t->curl, e, h, &post_cbs, x);
}

/* An HTTP error answered a request: it fails with a JSON-RPC error that
 * names the status, and only it. */
static void fail_request(http_transport *t, exchange *x, const char *reason)
{
    json_t *err = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", x->id, "error", "code", -32603,
                            "message", reason);
    x->answered = true;
    t->cbs.on_message(err, 0, t->ctx);
    json_decref(err);
}

/* auto mode: the first POST got a 4xx: an HTTP+SSE server, probably. */
static void fall_back_to_sse(http_transport *t, exchange *x);

static void post_done(const curl_xfer_end *end, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    x->xfer = NULL; /* freed by the curl_loop after this returns */
    t->busy++;
    char reason[REASON_LEN];
    bool first = t->auto_mode;
    t->auto_mode = false; /* one answer settles what the server speaks */
    const char *what = x->method ? x->method : "a POST";
    if (x->dead || t->stopping) {
        /* Cancelled meanwhile; nothing to say. */
    } else if (end->result != CURLE_OK) {
        char label[96];
        snprintf(label, sizeof label, "POST of %.60s", what);
        curl_words(t, label, end, reason);
        end_with(t, reason, false);
    } else if (x->status == 401 || x->status == 403) {
        status_words(t, x, t->endpoint, reason);
        take_challenge(t, x);
        end_with(t, reason, false);
    } else if (first && x->status >= 400 && x->status < 500 && t->mode == MODE_STREAMABLE) {
        fall_back_to_sse(t, x);
    } else if (x->status == 404 && t->session_id && t->mode == MODE_STREAMABLE) {
        snprintf(reason, REASON_LEN, "the server at %s no longer knows the session (HTTP 404); a new session starts",
                 t->url);
        t->session_lost = !t->stopping;
        end_with(t, reason, false); /* nothing to DELETE */
    } else if (x->status >= 300 || x->status < 200) {
        status_words(t, x, t->endpoint, reason);
        if (x->id && !x->answered)
            fail_request(t, x, reason);
        else
            note(t, "%s: %s", what, reason);
    } else if (x->kind == BODY_JSON && x->body.len > 0 && t->mode == MODE_STREAMABLE) {
        deliver(t, x, x->body.data, x->body.len);
    }
    if (!t->stopping && !x->dead && x->id && !x->answered && t->mode == MODE_STREAMABLE && x->status >= 200 &&
        x->status < 300) {
        /* 2xx and the stream (or body) ended without the answer. */
        snprintf(reason, REASON_LEN, "the answer to %s from %s ended before the response came", what, t->url);
        end_with(t, reason, false);
    }
    bool opens_get = x->method && strcmp(x->method, "notifications/initialized") == 0 && x->status >= 200 &&
                     x->status < 300 && !t->stopping && t->mode == MODE_STREAMABLE;
    exchange_kill(x);
    t->busy--;
    if (opens_get)
        open_get(t);
    settle(t);
}

/* ---- the GET stream ---------------------------------------------------- */

static void get_done(const curl_xfer_end *end, void *ctx);
static const curl_xfer_callbacks get_cbs = {.on_header = on_header, .on_data = on_data, .on_done = get_done};

static void open_get(http_transport *t)
{
    if (t->stopping || t->get || t->get_unoffered)
        return;
    exchange *x = exchange_new(t);
    x->is_get = true;
    t->get = x;
    CURL *e = new_easy(t, t->url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    struct curl_slist *h = base_headers(t, t->mode == MODE_STREAMABLE);
    h = curl_slist_append(h, "Accept: text/event-stream");
    if (t->last_event_id) {
        strbuf sb = {0};
        strbuf_appendf(&sb, "Last-Event-ID: %s", t->last_event_id);
        h = curl_slist_append(h, sb.data);
        strbuf_free(&sb);
    }
    x->xfer = curl_loop_start(t->curl, e, h, &get_cbs, x);
}

static void reopen_get(uv_timer_t *timer)
{
    open_get(timer->data);
}

static void get_done(const curl_xfer_end *end, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    x->xfer = NULL;
    t->busy++;
    char reason[REASON_LEN];
    bool was_sse_stream = x->kind == BODY_SSE && x->status == 200;
    if (x->dead || t->stopping) {
    } else if (t->mode == MODE_SSE) {
        /* HTTP+SSE: the stream is the connection. */
        if (end->result != CURLE_OK)
            curl_words(t, "the SSE stream", end, reason);
        else if (!was_sse_stream)
            status_words(t, x, t->url, reason);
        else
            snprintf(reason, REASON_LEN, "the server at %s closed its SSE stream", t->url);
        end_with(t, reason, false);
    } else if (x->status == 405) {
        t->get_unoffered = true;
        note(t, "the server offers no GET stream (HTTP 405): no server-initiated messages outside answers");
    } else if (x->status == 404 && t->session_id) {
        snprintf(reason, REASON_LEN, "the server at %s no longer knows the session (HTTP 404); a new session starts",
                 t->url);
        t->session_lost = !t->stopping;
        end_with(t, reason, false); /* nothing to DELETE */
    } else if (x->status == 401 || x->status == 403) {
        status_words(t, x, t->url, reason);
        take_challenge(t, x);
        end_with(t, reason, false);
    } else if (end->result != CURLE_OK && !was_sse_stream) {
        /* Could not reach the server at all: the POSTs will not either. */
        curl_words(t, "the GET stream", end, reason);
        if (t->get_failed) {
            end_with(t, reason, false);
        } else {
            t->get_failed = true;
            note(t, "%s; trying again", reason);
        }
    } else if (!was_sse_stream) {
        status_words(t, x, t->url, reason);
        t->get_unoffered = true;
        note(t, "GET stream not usable: %s", reason);
    } else {
        t->get_failed = false;
        note(t, "the GET stream ended; resuming%s", t->last_event_id ? " from the last event id" : "");
    }
    bool again = !t->stopping && !x->dead && !t->get_unoffered && t->mode == MODE_STREAMABLE;
    exchange_kill(x);
    t->busy--;
    if (again)
        uv_timer_start(&t->timer, reopen_get, t->retry_ms >= 0 ? (uint64_t)t->retry_ms : GET_RETRY_MS, 0);
    settle(t);
}

static void fall_back_to_sse(http_transport *t, exchange *x)
{
    note(t, "HTTP %ld to the initialize POST: trying the HTTP+SSE transport (2024-11-05)", x->status);
    log_kv(LOG_INFO, "upstream falls back to HTTP+SSE",
           LOG_FIELDS(LOG_STR("server", t->name), LOG_INT("status", x->status)));
    t->mode = MODE_SSE;
    free(t->endpoint);
    t->endpoint = NULL;
    /* The initialize waits for the endpoint, as any message would. */
    json_array_append_new(t->waiting, json_stringn(x->text, x->text_len));
    t->queued_bytes += x->text_len;
    open_get(t);
}

/* ---- the transport ------------------------------------------------------ */

static int http_send(transport *base, const json_t *msg)
{
    http_transport *t = (http_transport *)base;
    if (t->stopping)
        return UV_EPIPE;
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return UV_ENOMEM;
    size_t len = strlen(text);
    if (t->queued_bytes > 0 && t->queued_bytes + len > t->max_queued_bytes) {
        free(text);
        return UV_ENOBUFS;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method && strcmp(method, "notifications/cancelled") == 0) {
        /* The request is given up: so is its POST (and its connection). */
        json_t *rid = json_object_get(json_object_get(msg, "params"), "requestId");
        for (dlist_node *n = t->exchanges.head; n && rid; n = n->next) {
            exchange *x = DLIST_ENTRY(n, exchange, node);
            if (!x->dead && x->id && json_equal(x->id, rid))
                exchange_kill(x);
        }
    }
    if (t->mode == MODE_SSE && !t->endpoint) {
        json_array_append_new(t->waiting, json_stringn(text, len));
        t->queued_bytes += len;
        free(text);
    } else {
        start_post(t, text, len, msg);
    }
    settle(t);
    return 0;
}

static void delete_done(const curl_xfer_end *end, void *ctx)
{
    exchange *x = ctx;
    http_transport *t = x->t;
    x->xfer = NULL;
    if (end->result != CURLE_OK)
        log_kv(LOG_DEBUG, "upstream session DELETE failed",
               LOG_FIELDS(LOG_STR("server", t->name), LOG_STR("reason", curl_easy_strerror(end->result))));
    exchange_kill(x);
    settle(t);
}

static const curl_xfer_callbacks delete_cbs = {.on_done = delete_done};

/* Every exchange stops; a live session is DELETEd first when `polite`. */
static void stop_all(http_transport *t, uint32_t grace_ms, bool polite)
{
    if (t->stopping)
        return;
    t->stopping = true;
    uv_timer_stop(&t->timer);
    for (dlist_node *n = t->exchanges.head; n; n = n->next)
        exchange_kill(DLIST_ENTRY(n, exchange, node));
    if (polite && t->session_id && t->mode == MODE_STREAMABLE) {
        exchange *x = exchange_new(t);
        t->del = x;
        CURL *e = new_easy(t, t->url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        uint32_t timeout = grace_ms < DELETE_TIMEOUT_MS ? grace_ms : DELETE_TIMEOUT_MS;
        t->del_timeout_ms = timeout ? timeout : 1;
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->del_timeout_ms);
        x->xfer = curl_loop_start(t->curl, e, base_headers(t, true), &delete_cbs, x);
    }
    settle(t);
}

static void end_with(http_transport *t, const char *reason, bool polite)
{
    if (t->stopping)
        return;
    t->end_reason = xstrdup(reason);
    stop_all(t, DELETE_TIMEOUT_MS, polite);
}

static void http_stop(transport *base, uint32_t grace_ms)
{
    http_transport *t = (http_transport *)base;
    if (t->stopping) {
        /* A shorter grace (a process stop during a disable) cuts a DELETE
         * still under way. */
        if (t->del && grace_ms < t->del_timeout_ms)
            exchange_kill(t->del);
        settle(t);
        return;
    }
    stop_all(t, grace_ms, true);
}

static void closed(uv_handle_t *h)
{
    http_transport *t = h->data;
    /* No transfer uses the share any more: its cached connections close. */
    curl_share_cleanup(t->share);
    t->share = NULL;
    transport_end end = {.exit_status = -1,
                         .term_signal = 0,
                         .reason = t->end_reason,
                         .session_lost = t->session_lost,
                         .auth_challenge = t->challenge};
    t->cbs.on_closed(&end, t->ctx);
}

static void http_destroy(transport *base)
{
    http_transport *t = (http_transport *)base;
    while (t->exchanges.head)
        exchange_free(DLIST_ENTRY(t->exchanges.head, exchange, node));
    if (t->share)
        curl_share_cleanup(t->share);
    free(t->name);
    free(t->url);
    free(t->endpoint);
    free(t->where);
    for (size_t i = 0; i < t->n_headers; i++) {
        free(t->headers[i].name);
        free(t->headers[i].value);
    }
    free(t->headers);
    free(t->session_id);
    free(t->protocol_version);
    json_decref(t->init_id);
    free(t->last_event_id);
    json_decref(t->waiting);
    free(t->end_reason);
    free(t->challenge);
    free(t);
}

static int http_pid(const transport *base)
{
    (void)base;
    return 0;
}

/* host:port of the url, for messages; NULL when it does not parse. */
static char *where_of(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        strbuf sb = {0};
        strbuf_appendf(&sb, "%s:%s", host, port);
        out = sb.data;
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

transport *http_transport_start(uv_loop_t *loop, const server_config *srv, const http_transport_options *opts,
                                const transport_callbacks *cbs, void *ctx, char err[CONFIG_ERR_LEN])
{
    char *where = where_of(srv->url);
    if (!where) {
        strbuf why = {0};
        strbuf_appendf(&why, "url is not a valid http(s) URL: %s", srv->url);
        utf8_copy(err, CONFIG_ERR_LEN, why.data);
        strbuf_free(&why);
        return NULL;
    }
    http_transport *t = xcalloc(1, sizeof(*t));
    t->base.vt = &http_vtable;
    t->loop = loop;
    t->curl = opts->curl;
    t->cbs = *cbs;
    t->ctx = ctx;
    t->name = xstrdup(opts->server_name ? opts->server_name : srv->name);
    t->url = xstrdup(srv->url);
    t->where = where;
    t->n_headers = srv->n_headers;
    t->headers = xcalloc(srv->n_headers ? srv->n_headers : 1, sizeof(env_var));
    for (size_t i = 0; i < srv->n_headers; i++) {
        t->headers[i].name = xstrdup(srv->headers[i].name);
        t->headers[i].value = xstrdup(srv->headers[i].value ? srv->headers[i].value : "");
        t->own_authorization = t->own_authorization || strcasecmp(srv->headers[i].name, "Authorization") == 0;
    }
    t->tls_skip_verify = srv->tls_skip_verify;
    t->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 30000;
    t->max_queued_bytes = opts->max_queued_bytes;
    t->max_message_bytes = opts->max_message_bytes;
    t->bearer = opts->bearer;
    t->bearer_ctx = opts->bearer_ctx;
    t->retry_ms = -1;
    t->waiting = json_array();
    const char *protocol = srv->protocol ? srv->protocol : "auto";
    t->mode = strcmp(protocol, "sse") == 0 ? MODE_SSE : MODE_STREAMABLE;
    t->auto_mode = strcmp(protocol, "auto") == 0;
    if (t->mode == MODE_STREAMABLE)
        t->endpoint = xstrdup(t->url);
    t->share = curl_share_init();
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    uv_timer_init(loop, &t->timer);
    t->timer.data = t;
    if (t->tls_skip_verify)
        log_kv(LOG_WARN, "TLS certificates of this server are NOT verified (tls_skip_verify)",
               LOG_FIELDS(LOG_STR("server", t->name), LOG_STR("url", t->url)));
    if (t->mode == MODE_SSE)
        open_get(t);
    return &t->base;
}
