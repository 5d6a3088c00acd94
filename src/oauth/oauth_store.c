/* oauth_store.c - the OAuth token file (oauth_store.h). */
#include "oauth/oauth_store.h"

#include "config/fileio.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oauth_store {
    char *path;
    json_t *root;  /* {"servers": {...}} */
    bool readonly; /* the file did not parse: never written over */
};

oauth_store *oauth_store_open(const char *path)
{
    oauth_store *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    strbuf bytes = {0};
    int rc = config_read_bytes(path, &bytes);
    if (rc == 0) {
        json_error_t jerr;
        s->root = json_loadb(bytes.data, bytes.len, 0, &jerr);
        if (!s->root || !json_is_object(json_object_get(s->root, "servers"))) {
            char where[64];
            snprintf(where, sizeof where, "%d:%d", jerr.line, jerr.column);
            log_kv(LOG_ERROR,
                   "the OAuth token file does not parse: logins are kept in memory only until it is fixed or removed",
                   LOG_FIELDS(LOG_STR("file", path), LOG_STR("at", s->root ? "servers" : where)));
            json_decref(s->root);
            s->root = NULL;
            s->readonly = true;
        }
    } else if (rc != -ENOENT) {
        log_kv(LOG_ERROR, "the OAuth token file cannot be read: logins are kept in memory only",
               LOG_FIELDS(LOG_STR("file", path), LOG_STR("reason", strerror(-rc))));
        s->readonly = true;
    }
    if (bytes.data) {
        memset(bytes.data, 0, bytes.len);
        strbuf_free(&bytes);
    }
    if (!s->root)
        s->root = json_pack("{s:{}}", "servers");
    return s;
}

void oauth_store_destroy(oauth_store *s)
{
    if (!s)
        return;
    json_decref(s->root);
    free(s->path);
    free(s);
}

const char *oauth_store_path(const oauth_store *s)
{
    return s->path;
}

json_t *oauth_store_get(oauth_store *s, const char *name, const char *url)
{
    json_t *e = json_object_get(json_object_get(s->root, "servers"), name);
    const char *stored = json_string_value(json_object_get(e, "url"));
    return (e && stored && url && strcmp(stored, url) == 0) ? e : NULL;
}

static bool save(oauth_store *s, char *err, size_t err_len)
{
    if (s->readonly) {
        snprintf(err, err_len, "the token file %s did not parse at start; fix or remove it (kept in memory only)",
                 s->path);
        return false;
    }
    char *text = json_dumps(s->root, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    config_write w;
    char why[CONFIG_ERR_LEN];
    bool ok = config_write_begin(&w, s->path, text, len, why) && config_write_commit(&w, why);
    memset(text, 0, len);
    free(text);
    if (!ok)
        snprintf(err, err_len, "cannot write the token file: %s", why);
    return ok;
}

bool oauth_store_put(oauth_store *s, const char *name, const char *url, json_t *entry, char *err, size_t err_len)
{
    json_object_set_new(entry, "url", json_string(url));
    json_object_set_new(json_object_get(s->root, "servers"), name, entry);
    return save(s, err, err_len);
}

bool oauth_store_remove(oauth_store *s, const char *name, char *err, size_t err_len)
{
    json_t *servers = json_object_get(s->root, "servers");
    if (!json_object_get(servers, name))
        return true;
    json_object_del(servers, name);
    return save(s, err, err_len);
}

char *oauth_store_default_path(const char *config_path)
{
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    strbuf sb = {0};
    if (slash)
        strbuf_appendf(&sb, "%.*s/oauth_tokens.json", (int)(slash - config_path), config_path);
    else
        strbuf_appendf(&sb, "oauth_tokens.json");
    return sb.data;
}
