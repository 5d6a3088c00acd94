/* save.c - the config back to JSON, atomic file writes, deep copies.
 *
 * config_to_json emits exactly the keys config_parse accepts, so a saved file
 * always loads again (tests/unit/test_config.c round-trips it and saves and
 * loads a file). The settings sections come from the table in schema.h; a
 * top-level or server key added to the parser must be added here too. */
#include "config/config.h"

#include "config/schema.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    dst->working_dir = dup_or_empty(src->working_dir);
    dst->enabled = src->enabled;
    dst->group = dup_or_empty(src->group);
}

static json_t *strings_json(char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i] ? v[i] : ""));
    return arr;
}

json_t *server_config_to_json(const server_config *s, bool mask_secrets)
{
    json_t *env = json_object();
    for (size_t i = 0; i < s->n_env; i++) {
        const char *value = mask_secrets ? CONFIG_SECRET_MASK : s->env[i].value ? s->env[i].value : "";
        json_object_set_new(env, s->env[i].name, json_string(value));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:s}", "name", s->name ? s->name : "", "protocol",
                     s->protocol ? s->protocol : "stdio", "command", s->command ? s->command : "", "args",
                     strings_json(s->args, s->n_args), "env", env, "working_dir",
                     s->working_dir ? s->working_dir : "", "enabled", s->enabled, "group",
                     s->group ? s->group : "");
}

json_t *config_to_json(const config *cfg)
{
    json_t *servers = json_array();
    for (size_t i = 0; i < cfg->n_servers; i++)
        json_array_append_new(servers, server_config_to_json(&cfg->servers[i], false));
    json_t *root = json_pack("{s:s, s:s, s:o, s:I}", "listen", cfg->listen ? cfg->listen : "127.0.0.1:8080",
                             "api_key", cfg->api_key ? cfg->api_key : "", "allowed_origins",
                             strings_json(cfg->allowed_origins, cfg->n_allowed_origins), "auto_disable_threshold",
                             (json_int_t)cfg->auto_disable_threshold);
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
    json_object_set_new(root, "mcpServers", servers);
    return root;
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* A blocking write on the loop thread: a config file is a few KiB on a local
 * disk, written only when a user changes something. uv_fs_* on the thread
 * pool would make every API change asynchronous for no practical gain. */
/* The default location (~/.mcpproxy/) may not exist on a first run: its
 * directory is created, private to the user like the file. */
static void ensure_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        /* Failure (it exists, or cannot be made) is reported by the temp
         * file's creation below, with the real reason. */
        (void)mkdir(dir, 0700);
    }
    free(dir);
}

bool config_save_file(const config *cfg, const char *path, char err[CONFIG_ERR_LEN])
{
    ensure_parent_dir(path);
    json_t *root = config_to_json(cfg);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) {
        snprintf(err, CONFIG_ERR_LEN, "cannot serialize the config");
        return false;
    }
    strbuf tmp = {0};
    strbuf_appendf(&tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp.data);
    if (fd < 0) {
        snprintf(err, CONFIG_ERR_LEN, "cannot create a temp file next to %s: %s", path, strerror(errno));
        free(text);
        strbuf_free(&tmp);
        return false;
    }
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, text, strlen(text)) && write_all(fd, "\n", 1) &&
              fsync(fd) == 0;
    int saved = errno;
    ok = (close(fd) == 0) && ok;
    free(text);
    if (!ok || rename(tmp.data, path) != 0) {
        if (ok)
            saved = errno;
        snprintf(err, CONFIG_ERR_LEN, "cannot write %s: %s", path, strerror(saved));
        unlink(tmp.data);
        strbuf_free(&tmp);
        return false;
    }
    strbuf_free(&tmp);
    /* The rename is durable only once the directory entry is. */
    strbuf dir = {0};
    const char *slash = strrchr(path, '/');
    if (slash == path)
        strbuf_appendf(&dir, "/");
    else if (slash)
        strbuf_appendf(&dir, "%.*s", (int)(slash - path), path);
    else
        strbuf_appendf(&dir, ".");
    int dfd = open(dir.data, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    strbuf_free(&dir);
    return true;
}
