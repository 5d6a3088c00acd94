/* api_client.c - finding the proxy, one request, and the words for what
 * went wrong (api_client.h). */
#include "cli/api_client.h"

#include "config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* "http://host:port" (a path, if any, is ignored) → host and port. */
static bool parse_url(const char *url, char *host, size_t host_len, int *port)
{
    const char *p = strstr(url, "://");
    if (p && strncmp(url, "http://", 7) != 0)
        return false; /* https or ws: not what mcpproxy serves */
    p = p ? p + 3 : url;
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%.*s", (int)strcspn(p, "/?"), p);
    return config_split_listen(hostport, host, host_len, port) && *port > 0;
}

bool api_client_init(api_client *c, const char *cmd, const client_opts *o, int *exit_code)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->timeout_ms = 30000;
    const char *env_key = getenv("MCPPROXY_API_KEY");
    const char *key = o->api_key ? o->api_key : env_key && *env_key ? env_key : NULL;
    config cfg;
    bool have_cfg = false;
    if (!o->url || !key) {
        char *path = o->config ? xstrdup(o->config) : cli_default_config_path();
        char err[CONFIG_ERR_LEN];
        struct stat st;
        if (!o->config && stat(path, &st) != 0 && errno == ENOENT) {
            config_init_defaults(&cfg);
        } else if (!config_load_file(path, &cfg, err)) {
            fprintf(stderr, "mcpproxy %s: cannot read the proxy's address and key from the config: %s\n", cmd, err);
            free(path);
            *exit_code = CLI_USAGE;
            return false;
        }
        free(path);
        have_cfg = true;
    }
    const char *url = o->url ? o->url : cfg.listen;
    char host[256];
    int port;
    if (!parse_url(url, host, sizeof host, &port)) {
        if (o->url)
            fprintf(stderr, "mcpproxy %s: --url must look like http://127.0.0.1:8080 (got \"%s\")\n", cmd, url);
        else
            fprintf(stderr, "mcpproxy %s: the config's listen (\"%s\") names no address to reach: pass --url\n", cmd,
                    url);
        if (have_cfg)
            config_free(&cfg);
        *exit_code = CLI_USAGE;
        return false;
    }
    /* A proxy listening on every address is reached on loopback. */
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, sizeof host, "::1");
    bool v6 = strchr(host, ':') != NULL;
    snprintf(c->where, sizeof c->where, v6 ? "[%s]:%d" : "%s:%d", host, port);
    snprintf(c->url, sizeof c->url, "http://%s", c->where);
    if (!key && have_cfg && cfg.api_key && *cfg.api_key)
        key = cfg.api_key;
    c->key = key ? xstrdup(key) : NULL;
    if (have_cfg)
        config_free(&cfg);
    c->curl = curl_easy_init();
    if (!c->curl) {
        fprintf(stderr, "mcpproxy %s: libcurl could not start\n", cmd);
        free(c->key);
        *exit_code = CLI_ERROR;
        return false;
    }
    return true;
}

void api_client_free(api_client *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->key);
    c->curl = NULL;
    c->key = NULL;
}

void api_client_setup(const api_client *c, CURL *curl, struct curl_slist **headers)
{
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    if (c->key) {
        strbuf h = {0};
        strbuf_appendf(&h, "X-API-Key: %s", c->key);
        *headers = curl_slist_append(*headers, h.data);
        strbuf_free(&h);
    }
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    strbuf_append(ctx, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    api_response *res = ctx;
    size_t len = size * n;
    static const char name[] = "mcp-session-id:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        snprintf(res->session_id, sizeof res->session_id, "%.*s", (int)vlen, v);
    }
    return len;
}

int api_report_unreachable(const api_client *c, const char *why)
{
    fprintf(stderr, "mcpproxy %s: no answer from %s (%s): is mcpproxy running on %s? start it with `mcpproxy`\n",
            c->cmd, c->url, why, c->where);
    return CLI_UNREACHABLE;
}

int api_send(api_client *c, const char *method, const char *path, const char *body, const char *const *extra_headers,
             api_response *res)
{
    memset(res, 0, sizeof *res);
    CURL *curl = c->curl;
    curl_easy_reset(curl);
    struct curl_slist *headers = NULL;
    api_client_setup(c, curl, &headers);
    for (size_t i = 0; extra_headers && extra_headers[i]; i++)
        headers = curl_slist_append(headers, extra_headers[i]);
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    strbuf url = {0};
    strbuf_appendf(&url, "%s%s", c->url, path);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res->body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, res);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    strbuf_free(&url);
    if (rc != CURLE_OK) {
        strbuf_free(&res->body);
        return api_report_unreachable(c, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
    strbuf_append(&res->body, "", 0); /* NUL-terminated even when empty */
    return CLI_OK;
}

int api_report_status(api_client *c, const api_response *res)
{
    json_t *j = json_loads(res->body.data ? res->body.data : "", 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "error"));
    int code = CLI_ERROR;
    if (res->status == 401) {
        if (c->key)
            fprintf(stderr,
                    "mcpproxy %s: the proxy at %s refused this API key: pass the one in its config's api_key "
                    "(--api-key or MCPPROXY_API_KEY)\n",
                    c->cmd, c->where);
        else
            fprintf(stderr, "mcpproxy %s: this proxy needs a key: pass --api-key or set MCPPROXY_API_KEY\n", c->cmd);
        code = CLI_REFUSED;
    } else if (res->status == 403) {
        fprintf(stderr, "mcpproxy %s: the proxy at %s refused the request: %s\n", c->cmd, c->where,
                msg ? msg : "forbidden");
        code = CLI_REFUSED;
    } else {
        fprintf(stderr, "mcpproxy %s: %s (HTTP %ld)\n", c->cmd, msg ? msg : "unexpected answer", res->status);
    }
    json_decref(j);
    return code;
}

int api_json(api_client *c, const char *method, const char *path, json_t *body, json_t **out)
{
    *out = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    api_response res;
    int rc = api_send(c, method, path, text, NULL, &res);
    free(text);
    if (rc != CLI_OK)
        return rc;
    if (res.status < 200 || res.status > 299) {
        rc = api_report_status(c, &res);
    } else {
        json_error_t err;
        *out = json_loads(res.body.data, 0, &err);
        if (!*out) {
            fprintf(stderr, "mcpproxy %s: the answer of %s %s is not JSON: %s\n", c->cmd, method, path, err.text);
            rc = CLI_ERROR;
        }
    }
    strbuf_free(&res.body);
    return rc;
}

void api_append_segment(strbuf *sb, const char *segment)
{
    for (const unsigned char *p = (const unsigned char *)segment; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            strbuf_append(sb, p, 1);
        else
            strbuf_appendf(sb, "%%%02X", *p);
    }
}
