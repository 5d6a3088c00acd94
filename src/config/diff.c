/* diff.c - comparing two configs (see diff.h). */
#include "config/diff.h"

#include "config/schema.h"
#include "core/strmap.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_names[SERVER_FIELD_COUNT] = {
    "protocol", "command",         "args",  "env",     "working_dir", "url",
    "headers",  "tls_skip_verify", "oauth", "enabled", "group",
};

const char *server_field_name(server_field f)
{
    return field_names[f];
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool strings_eq(char *const *a, size_t n_a, char *const *b, size_t n_b)
{
    if (n_a != n_b)
        return false;
    for (size_t i = 0; i < n_a; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

/* Compared in order: entries merely reordered count as a change (and so a
 * restart), though the child would see the same environment. */
static bool pairs_eq(const env_var *a, size_t n_a, const env_var *b, size_t n_b)
{
    if (n_a != n_b)
        return false;
    for (size_t i = 0; i < n_a; i++)
        if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].value, b[i].value))
            return false;
    return true;
}

unsigned server_config_diff(const server_config *a, const server_config *b)
{
    unsigned fields = 0;
    if (!str_eq(a->protocol, b->protocol))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_PROTOCOL);
    if (!str_eq(a->command, b->command))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_COMMAND);
    if (!strings_eq(a->args, a->n_args, b->args, b->n_args))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_ARGS);
    if (!pairs_eq(a->env, a->n_env, b->env, b->n_env))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_ENV);
    if (!str_eq(a->url, b->url))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_URL);
    if (!pairs_eq(a->headers, a->n_headers, b->headers, b->n_headers))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_HEADERS);
    if (a->tls_skip_verify != b->tls_skip_verify)
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_TLS_SKIP_VERIFY);
    if (!str_eq(a->working_dir, b->working_dir))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_WORKING_DIR);
    if (a->oauth.present != b->oauth.present || !str_eq(a->oauth.client_id, b->oauth.client_id) ||
        !str_eq(a->oauth.client_secret, b->oauth.client_secret) || !str_eq(a->oauth.scopes, b->oauth.scopes) ||
        !str_eq(a->oauth.redirect_uri, b->oauth.redirect_uri))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_OAUTH);
    if (a->enabled != b->enabled)
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_ENABLED);
    if (!str_eq(a->group, b->group))
        fields |= SERVER_FIELD_BIT(SERVER_FIELD_GROUP);
    return fields;
}

/* The room is allocated for every group that can be met (see config_diff);
 * `seen` holds the groups added so far. */
static void add_group(config_changes *c, strmap *seen, const char *group)
{
    if (!group || !*group || strmap_get(seen, group))
        return;
    strmap_put(seen, group, (void *)group);
    c->groups[c->n_groups++] = group;
}

/* Servers by name: config_find_server once per server would make a diff of
 * thousands of servers quadratic. */
static void index_servers(strmap *ix, const config *cfg)
{
    for (size_t i = 0; i < cfg->n_servers; i++)
        strmap_put(ix, cfg->servers[i].name, (void *)&cfg->servers[i]);
}

static void diff_servers(config_changes *c, const config *before, const config *after)
{
    strmap old_ix = {0}, new_ix = {0}, groups = {0};
    index_servers(&old_ix, before);
    index_servers(&new_ix, after);
    for (size_t i = 0; i < before->n_servers; i++) {
        const server_config *o = &before->servers[i];
        if (!strmap_get(&new_ix, o->name)) {
            c->removed[c->n_removed++] = o;
            add_group(c, &groups, o->group);
        }
    }
    for (size_t i = 0; i < after->n_servers; i++) {
        const server_config *s = &after->servers[i];
        const server_config *o = strmap_get(&old_ix, s->name);
        server_change *ch = &c->servers[c->n_servers++];
        *ch = (server_change){.kind = SERVER_ADDED, .before = o, .after = s};
        if (!o) {
            c->n_added++;
            add_group(c, &groups, s->group);
            continue;
        }
        ch->fields = server_config_diff(o, s);
        ch->kind = ch->fields ? SERVER_CHANGED : SERVER_UNCHANGED;
        if (ch->fields)
            c->n_changed++;
        if (ch->fields & (SERVER_FIELD_BIT(SERVER_FIELD_ENABLED) | SERVER_FIELD_BIT(SERVER_FIELD_GROUP))) {
            add_group(c, &groups, o->group);
            add_group(c, &groups, s->group);
        }
    }
    strmap_free(&old_ix);
    strmap_free(&new_ix);
    strmap_free(&groups);
}

static bool section_eq(const config *a, const config *b, const config_section *sec)
{
    for (size_t k = 0; k < sec->n_fields; k++) {
        const config_field *f = &sec->fields[k];
        const char *x = (const char *)a + f->offset;
        const char *y = (const char *)b + f->offset;
        bool same = f->kind == CONFIG_BOOL ? *(const bool *)x == *(const bool *)y
                                           : *(const uint32_t *)x == *(const uint32_t *)y;
        if (!same)
            return false;
    }
    return true;
}

/* The keys in the order config_to_json writes them. */
static void diff_settings(config_changes *c, const config *a, const config *b)
{
    if (!str_eq(a->listen, b->listen))
        c->settings[c->n_settings++] = "listen";
    if (!str_eq(a->api_key, b->api_key))
        c->settings[c->n_settings++] = "api_key";
    if (!str_eq(a->database, b->database))
        c->settings[c->n_settings++] = "database";
    if (!str_eq(a->routing, b->routing))
        c->settings[c->n_settings++] = "routing";
    if (!strings_eq(a->allowed_origins, a->n_allowed_origins, b->allowed_origins, b->n_allowed_origins))
        c->settings[c->n_settings++] = "allowed_origins";
    if (a->auto_disable_threshold != b->auto_disable_threshold)
        c->settings[c->n_settings++] = "auto_disable_threshold";
    for (size_t i = 0; i < config_section_count; i++)
        if (!section_eq(a, b, &config_sections[i]))
            c->settings[c->n_settings++] = config_sections[i].name;
    const cluster_settings *x = &a->cluster, *y = &b->cluster;
    if (x->enabled != y->enabled || x->history != y->history || x->buffer != y->buffer || x->replicas != y->replicas ||
        x->heartbeat_ms != y->heartbeat_ms || !str_eq(x->nats_url, y->nats_url) || !str_eq(x->stream, y->stream) ||
        !str_eq(x->node, y->node) || !str_eq(x->credentials, y->credentials))
        c->settings[c->n_settings++] = "cluster";
}

config_changes *config_diff(const config *before, const config *after)
{
    config_changes *c = xcalloc(1, sizeof(*c));
    c->removed = xcalloc(before->n_servers, sizeof(*c->removed));
    c->servers = xcalloc(after->n_servers, sizeof(*c->servers));
    /* A removed server meets one group, a server of the new config two. */
    c->groups = xcalloc(before->n_servers + 2 * after->n_servers, sizeof(*c->groups));
    /* listen, api_key, database, routing, allowed_origins, auto_disable_threshold, sections, cluster */
    c->settings = xcalloc(7 + config_section_count, sizeof(*c->settings));
    diff_servers(c, before, after);
    diff_settings(c, before, after);
    return c;
}

void config_changes_free(config_changes *c)
{
    if (!c)
        return;
    free(c->removed);
    free(c->servers);
    free(c->groups);
    free(c->settings);
    free(c);
}
