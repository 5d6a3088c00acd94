/* save.c - the config back to JSON and to a file, deep copies.
 *
 * config_to_json emits exactly the keys config_parse accepts, so a saved file
 * always loads again (tests/unit/test_config.c round-trips it and saves and
 * loads a file). The settings sections come from the table in schema.h; a
 * top-level or server key added to the parser must be added here too. */
#include "config/config.h"

#include "config/fileio.h"
#include "config/schema.h"
#include "core/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

void server_config_copy(server_config *dst, const server_config *src)
{
    *dst = (server_config){0};
    dst->name = dup_or_empty(src->name);
    dst->protocol = dup_or_empty(src->protocol);
    dst->command = dup_or_empty(src->command);
    dst->n_args = src->n_args;
    dst->args = xcalloc(src->n_args ? src->n_args : 1, sizeof(char *));
    for (size_t i = 0; i < src->n_args; i++)
        dst->args[i] = dup_or_empty(src->args[i]);
    dst->n_env = src->n_env;
    dst->env = xcalloc(src->n_env ? src->n_env : 1, sizeof(env_var));
    for (size_t i = 0; i < src->n_env; i++) {
        dst->env[i].name = dup_or_empty(src->env[i].name);
        dst->env[i].value = dup_or_empty(src->env[i].value);
    }
    dst->url = src->url ? xstrdup(src->url) : NULL;
    dst->n_headers = src->n_headers;
    dst->headers = xcalloc(src->n_headers ? src->n_headers : 1, sizeof(env_var));
    for (size_t i = 0; i < src->n_headers; i++) {
        dst->headers[i].name = dup_or_empty(src->headers[i].name);
        dst->headers[i].value = dup_or_empty(src->headers[i].value);
    }
    dst->tls_skip_verify = src->tls_skip_verify;
    dst->oauth.present = src->oauth.present;
    dst->oauth.client_id = src->oauth.client_id ? xstrdup(src->oauth.client_id) : NULL;
    dst->oauth.client_secret = src->oauth.client_secret ? xstrdup(src->oauth.client_secret) : NULL;
    dst->oauth.scopes = src->oauth.scopes ? xstrdup(src->oauth.scopes) : NULL;
    dst->oauth.redirect_uri = src->oauth.redirect_uri ? xstrdup(src->oauth.redirect_uri) : NULL;
    dst->working_dir = dup_or_empty(src->working_dir);
    dst->enabled = src->enabled;
    dst->group = dup_or_empty(src->group);
}

static char **copy_strings(char *const *v, size_t n)
{
    char **out = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = dup_or_empty(v[i]);
    return out;
}

void config_copy_settings(config *dst, const config *src)
{
    *dst = *src; /* the numbers and the settings sections */
    dst->listen = dup_or_empty(src->listen);
    dst->api_key = dup_or_empty(src->api_key);
    dst->database = dup_or_empty(src->database);
    dst->routing = dup_or_empty(src->routing);
    dst->allowed_origins = copy_strings(src->allowed_origins, src->n_allowed_origins);
    if (src->cluster.enabled) {
        dst->cluster.nats_url = dup_or_empty(src->cluster.nats_url);
        dst->cluster.stream = dup_or_empty(src->cluster.stream);
        dst->cluster.node = dup_or_empty(src->cluster.node);
        dst->cluster.credentials = dup_or_empty(src->cluster.credentials);
    }
    dst->servers = NULL;
    dst->n_servers = 0;
}

static json_t *strings_json(char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i] ? v[i] : ""));
    return arr;
}

static json_t *pairs_json(const env_var *v, size_t n, bool mask_secrets)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *value = mask_secrets ? CONFIG_SECRET_MASK : v[i].value ? v[i].value : "";
        json_object_set_new(obj, v[i].name, json_string(value));
    }
    return obj;
}

/* Only the keys that are set; the secret masked like env values. */
static json_t *oauth_json(const oauth_settings *o, bool mask_secrets)
{
    json_t *obj = json_object();
    if (o->client_id)
        json_object_set_new(obj, "client_id", json_string(o->client_id));
    if (o->client_secret)
        json_object_set_new(obj, "client_secret", json_string(mask_secrets ? CONFIG_SECRET_MASK : o->client_secret));
    if (o->scopes) {
        json_t *arr = json_array();
        char *copy = xstrdup(o->scopes), *save = NULL;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
            json_array_append_new(arr, json_string(t));
        free(copy);
        json_object_set_new(obj, "scopes", arr);
    }
    if (o->redirect_uri)
        json_object_set_new(obj, "redirect_uri", json_string(o->redirect_uri));
    return obj;
}

json_t *server_config_to_json(const server_config *s, bool mask_secrets)
{
    if (s->url && *s->url) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:s}", "name", s->name ? s->name : "", "protocol",
                              s->protocol ? s->protocol : "auto", "url", s->url, "headers",
                              pairs_json(s->headers, s->n_headers, mask_secrets), "tls_skip_verify", s->tls_skip_verify,
                              "enabled", s->enabled, "group", s->group ? s->group : "");
        if (s->oauth.present)
            json_object_set_new(o, "oauth", oauth_json(&s->oauth, mask_secrets));
        return o;
    }
    json_t *env = pairs_json(s->env, s->n_env, mask_secrets);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:s}", "name", s->name ? s->name : "", "protocol",
                     s->protocol ? s->protocol : "stdio", "command", s->command ? s->command : "", "args",
                     strings_json(s->args, s->n_args), "env", env, "working_dir", s->working_dir ? s->working_dir : "",
                     "enabled", s->enabled, "group", s->group ? s->group : "");
}

json_t *config_servers_to_json(const config *cfg)
{
    json_t *servers = json_array();
    for (size_t i = 0; i < cfg->n_servers; i++)
        json_array_append_new(servers, server_config_to_json(&cfg->servers[i], false));
    return servers;
}

/* The servers in the file's form: an array, or an object keyed by name
 * whose values carry no "name" (the parser refuses none: a "name" equal to
 * its key is allowed, but the key already says it). */
static json_t *servers_in_form(const config *cfg)
{
    if (!cfg->servers_form.by_name)
        return config_servers_to_json(cfg);
    json_t *servers = json_object();
    for (size_t i = 0; i < cfg->n_servers; i++) {
        json_t *one = server_config_to_json(&cfg->servers[i], false);
        json_object_del(one, "name");
        json_object_set_new(servers, cfg->servers[i].name ? cfg->servers[i].name : "", one);
    }
    return servers;
}

json_t *config_to_json(const config *cfg)
{
    json_t *servers = servers_in_form(cfg);
    json_t *root = json_pack("{s:s, s:s, s:o, s:I}", "listen", cfg->listen ? cfg->listen : "127.0.0.1:8080", "api_key",
                             cfg->api_key ? cfg->api_key : "", "allowed_origins",
                             strings_json(cfg->allowed_origins, cfg->n_allowed_origins), "auto_disable_threshold",
                             (json_int_t)cfg->auto_disable_threshold);
    if (cfg->database && *cfg->database) /* written only when set: the default follows the file */
        json_object_set_new(root, "database", json_string(cfg->database));
    if (cfg->routing && strcmp(cfg->routing, "search") == 0) /* written only when not the default */
        json_object_set_new(root, "routing", json_string(cfg->routing));
    /* The settings sections, from the same table the parser reads. */
    for (size_t i = 0; i < config_section_count; i++) {
        const config_section *sec = &config_sections[i];
        json_t *obj = json_object();
        for (size_t k = 0; k < sec->n_fields; k++) {
            const config_field *f = &sec->fields[k];
            const char *slot = (const char *)cfg + f->offset;
            json_object_set_new(obj, f->key,
                                f->kind == CONFIG_BOOL ? json_boolean(*(const bool *)slot)
                                                       : json_integer((json_int_t) * (const uint32_t *)slot));
        }
        json_object_set_new(root, sec->name, obj);
    }
    if (cfg->cluster.enabled) /* absent stays absent: a single node */
        json_object_set_new(
            root, "cluster",
            json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "nats_url", cfg->cluster.nats_url, "stream",
                      cfg->cluster.stream, "node", cfg->cluster.node, "history", (json_int_t)cfg->cluster.history,
                      "credentials", cfg->cluster.credentials, "buffer", (json_int_t)cfg->cluster.buffer, "replicas",
                      (json_int_t)cfg->cluster.replicas, "heartbeat_ms", (json_int_t)cfg->cluster.heartbeat_ms));
    json_object_set_new(root, cfg->servers_form.vscode_key ? "servers" : "mcpServers", servers);
    return root;
}

/* The text written: jansson's, plus a final newline. New string. */
char *config_file_text(const config *cfg, size_t *len)
{
    json_t *root = config_to_json(cfg);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    /* Only a value jansson cannot encode fails, and config_to_json makes
     * none: an invariant, not a runtime error. */
    assert(text);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    *len = n + 1;
    return text;
}

bool config_save_file(const config *cfg, const char *path, char err[CONFIG_ERR_LEN])
{
    size_t len;
    char *text = config_file_text(cfg, &len);
    config_write w;
    bool ok = config_write_begin(&w, path, text, len, err) && config_write_commit(&w, err);
    free(text);
    return ok;
}
