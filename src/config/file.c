/* file.c - the record of the config file we loaded or wrote last, and the
 * save that refuses to overwrite a hand edit (see file.h). */
#include "config/file.h"

#include "config/fileio.h"
#include "core/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What identifies a version of the file. A content hash rather than
 * mtime, size and inode: an in-place save of the same length within one
 * mtime tick would pass for unchanged, and a touch would not. FNV-1a is
 * no defence against a crafted collision, but the file's author is
 * trusted (docs/SECURITY.md): it only has to tell edits apart. */
typedef struct fingerprint {
    bool present; /* false: there is no file */
    size_t len;
    uint64_t hash;
} fingerprint;

struct config_file {
    char *path;
    fingerprint recorded;
    config settings; /* the file's own settings; never any servers */
};

static fingerprint fingerprint_of(const char *bytes, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)bytes[i];
        h *= 0x100000001b3ULL;
    }
    return (fingerprint){.present = true, .len = len, .hash = h};
}

static bool fingerprint_eq(fingerprint a, fingerprint b)
{
    return a.present == b.present && (!a.present || (a.len == b.len && a.hash == b.hash));
}

config_file *config_file_create(const char *path)
{
    config_file *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    config_init_defaults(&f->settings);
    return f;
}

void config_file_destroy(config_file *f)
{
    if (!f)
        return;
    config_free(&f->settings);
    free(f->path);
    free(f);
}

const char *config_file_path(const config_file *f)
{
    return f->path;
}

const config *config_file_settings(const config_file *f)
{
    return &f->settings;
}

static void record(config_file *f, fingerprint fp, const config *cfg)
{
    f->recorded = fp;
    config_free(&f->settings);
    config_copy_settings(&f->settings, cfg);
}

/* A plain read and parse, recorded nowhere (gen-key, events). */
bool config_load_file(const char *path, config *cfg, char err[CONFIG_ERR_LEN])
{
    strbuf sb = {0};
    int rc = config_read_bytes(path, &sb);
    bool ok;
    if (rc < 0) {
        snprintf(err, CONFIG_ERR_LEN, "%s: cannot read: %s", path, strerror(-rc));
        config_init_defaults(cfg);
        config_free(cfg);
        ok = false;
    } else {
        ok = config_parse(sb.data, sb.len, path, cfg, err);
    }
    strbuf_free(&sb);
    return ok;
}

/* The file's bytes and fingerprint now. Returns 0 (including when there
 * is no file: fp->present is false) or a negative errno. */
static int read_now(const char *path, strbuf *bytes, fingerprint *fp)
{
    int rc = config_read_bytes(path, bytes);
    if (rc == -ENOENT) {
        *fp = (fingerprint){.present = false};
        return 0;
    }
    if (rc == 0)
        *fp = fingerprint_of(bytes->data, bytes->len);
    return rc;
}

static config_file_result load(config_file *f, config *cfg, bool may_be_same, char err[CONFIG_ERR_LEN])
{
    *cfg = (config){0}; /* empty unless loaded: safe to config_free */
    strbuf bytes = {0};
    fingerprint fp;
    int rc = read_now(f->path, &bytes, &fp);
    config_file_result result;
    if (rc == 0 && may_be_same && fingerprint_eq(fp, f->recorded)) {
        result = CONFIG_FILE_SAME;
    } else if (rc < 0 || !fp.present) {
        snprintf(err, CONFIG_ERR_LEN, "%s: cannot read: %s", f->path, strerror(rc < 0 ? -rc : ENOENT));
        result = CONFIG_FILE_FAILED;
    } else if (!config_parse(bytes.data, bytes.len, f->path, cfg, err)) {
        result = CONFIG_FILE_FAILED;
    } else {
        record(f, fp, cfg);
        result = CONFIG_FILE_OK;
    }
    strbuf_free(&bytes);
    return result;
}

bool config_file_load(config_file *f, config *cfg, char err[CONFIG_ERR_LEN])
{
    return load(f, cfg, false, err) == CONFIG_FILE_OK;
}

config_file_result config_file_reload(config_file *f, config *cfg, char err[CONFIG_ERR_LEN])
{
    return load(f, cfg, true, err);
}

/* Whether the file at `target` is still the recorded one; if not, err says
 * what became of it. */
static config_file_result check(const config_file *f, const char *target, char err[CONFIG_ERR_LEN])
{
    strbuf bytes = {0};
    fingerprint fp;
    int rc = read_now(target, &bytes, &fp);
    config_file_result result = CONFIG_FILE_CONFLICT;
    char parse_err[CONFIG_ERR_LEN];
    config parsed;
    if (rc < 0) {
        /* Not a file we can read (a directory, no permission): it could not
         * be compared, and would not be replaced either. */
        snprintf(err, CONFIG_ERR_LEN, "cannot read %s to compare it with what was loaded: %s", target, strerror(-rc));
        result = CONFIG_FILE_FAILED;
    } else if (fingerprint_eq(fp, f->recorded)) {
        result = CONFIG_FILE_OK;
    } else if (!fp.present) {
        snprintf(err, CONFIG_ERR_LEN,
                 "%s was removed after mcpproxy loaded it; nothing was written. Restore it, or restart "
                 "mcpproxy to start from no file",
                 target);
    } else if (!config_parse(bytes.data, bytes.len, target, &parsed, parse_err)) {
        /* The parse error comes first: it names the file, line and column,
         * and survives a cut at CONFIG_ERR_LEN. */
        strbuf msg = {0};
        strbuf_appendf(&msg,
                       "%s. The config file has been edited and does not parse, so it was not overwritten: "
                       "fix it (it is reloaded when saved), then retry",
                       parse_err);
        snprintf(err, CONFIG_ERR_LEN, "%s", msg.data);
        strbuf_free(&msg);
    } else {
        config_free(&parsed);
        snprintf(err, CONFIG_ERR_LEN,
                 "%s has been %s and not reloaded yet, so it was not overwritten. Retry once it is (moments "
                 "after the last save; after a restart if its directory cannot be watched)",
                 target,
                 f->recorded.present ? "edited since mcpproxy last loaded or wrote it"
                                     : "created since mcpproxy started");
    }
    strbuf_free(&bytes);
    return result;
}

config_file_result config_file_save(config_file *f, const config *cfg, char err[CONFIG_ERR_LEN])
{
    size_t len;
    char *text = config_file_text(cfg, &len);
    config_write w;
    if (!config_write_begin(&w, f->path, text, len, err)) {
        free(text);
        return CONFIG_FILE_FAILED;
    }
    /* Compared as late as can be: after the slow part (the temp file's
     * fsync), right before the rename. */
    config_file_result result = check(f, w.target, err);
    if (result != CONFIG_FILE_OK)
        config_write_abort(&w);
    else if (!config_write_commit(&w, err))
        result = CONFIG_FILE_FAILED;
    else
        record(f, fingerprint_of(text, len), cfg);
    free(text);
    return result;
}
