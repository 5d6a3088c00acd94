/* oauth_parse.c - challenge parsing, metadata URLs, PKCE (oauth_parse.h). */
#include "oauth/oauth_parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

static bool is_token_char(char c)
{
    return c && !isspace((unsigned char)c) && c != ',' && c != '=' && c != '"';
}

/* Finds the Bearer challenge and returns where its parameters start. */
static const char *bearer_params(const char *header)
{
    const char *p = header;
    while (p && *p) {
        p = skip_space(p);
        const char *start = p;
        while (is_token_char(*p))
            p++;
        size_t len = (size_t)(p - start);
        if (len == 6 && strncasecmp(start, "Bearer", 6) == 0 && (*p == ' ' || *p == '\t' || *p == '\0'))
            return p;
        if (len == 0 && *p)
            p++;
    }
    return NULL;
}

bool oauth_challenge_is_bearer(const char *header)
{
    return header && bearer_params(header) != NULL;
}

char *oauth_challenge_param(const char *header, const char *name)
{
    if (!header)
        return NULL;
    const char *p = bearer_params(header);
    while (p && *p) {
        p = skip_space(p);
        const char *key = p;
        while (is_token_char(*p))
            p++;
        size_t key_len = (size_t)(p - key);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            return NULL; /* the next challenge's scheme: this one is over */
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        strbuf value = {0};
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                strbuf_append(&value, p, 1);
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            const char *v = p;
            while (is_token_char(*p))
                p++;
            strbuf_append(&value, v, (size_t)(p - v));
        }
        if (key_len == strlen(name) && strncasecmp(key, name, key_len) == 0) {
            if (!value.data)
                return xstrdup("");
            return value.data;
        }
        strbuf_free(&value);
    }
    return NULL;
}

/* scheme://host[:port] and the path (without a trailing '/', "" for the
 * root) of a URL; false when it does not parse. */
static bool split_url(const char *url, strbuf *origin, strbuf *path)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        strbuf_appendf(origin, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == '/')
            n--;
        strbuf_append(path, p, n);
        strbuf_append(path, "", 0);
    }
    curl_free(scheme), curl_free(host), curl_free(port), curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

static char *joined(const strbuf *origin, const char *middle, const char *path, const char *tail)
{
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s%s%s%s", origin->data, middle, path, tail);
    return sb.data;
}

size_t oauth_resource_metadata_urls(const char *server_url, char *out[2])
{
    strbuf origin = {0}, path = {0};
    size_t n = 0;
    if (split_url(server_url, &origin, &path)) {
        const char *p = path.data ? path.data : "";
        out[n++] = joined(&origin, "/.well-known/oauth-protected-resource", p, "");
        if (*p)
            out[n++] = joined(&origin, "/.well-known/oauth-protected-resource", "", "");
    }
    strbuf_free(&origin);
    strbuf_free(&path);
    return n;
}

size_t oauth_server_metadata_urls(const char *issuer, char *out[3])
{
    strbuf origin = {0}, path = {0};
    size_t n = 0;
    if (split_url(issuer, &origin, &path)) {
        const char *p = path.data ? path.data : "";
        out[n++] = joined(&origin, "/.well-known/oauth-authorization-server", p, "");
        out[n++] = joined(&origin, "/.well-known/openid-configuration", p, "");
        if (*p)
            out[n++] = joined(&origin, p, "/.well-known/openid-configuration", "");
    }
    strbuf_free(&origin);
    strbuf_free(&path);
    return n;
}

static void base64url(const unsigned char *bytes, size_t len, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)bytes[i + 1] << 8;
        if (i + 2 < len)
            v |= bytes[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}

void oauth_pkce_challenge(const char *verifier, char challenge[44])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    base64url(digest, sizeof digest, challenge); /* 32 bytes: 43 characters */
}

void oauth_pkce(char verifier[44], char challenge[44])
{
    unsigned char raw[32];
    random_bytes(raw, sizeof raw);
    base64url(raw, sizeof raw, verifier);
    oauth_pkce_challenge(verifier, challenge);
}

void oauth_form_add(strbuf *sb, const char *name, const char *value)
{
    char *enc = curl_easy_escape(NULL, value ? value : "", 0);
    strbuf_appendf(sb, "%s%s=%s", sb->len ? "&" : "", name, enc ? enc : "");
    curl_free(enc);
}

bool oauth_resource_matches(const char *resource, const char *server_url)
{
    strbuf ro = {0}, rp = {0}, so = {0}, sp = {0};
    bool ok = split_url(resource, &ro, &rp) && split_url(server_url, &so, &sp) && strcasecmp(ro.data, so.data) == 0;
    if (ok) {
        const char *r = rp.data ? rp.data : "", *s = sp.data ? sp.data : "";
        size_t n = strlen(r);
        ok = strncmp(r, s, n) == 0 && (s[n] == '\0' || s[n] == '/');
    }
    strbuf_free(&ro), strbuf_free(&rp), strbuf_free(&so), strbuf_free(&sp);
    return ok;
}
