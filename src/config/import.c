/* import.c - another tool's servers added to a config (import.h). */
#include "config/import.h"

#include "core/strmap.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool config_import_tool_parse(const char *name, config_import_tool *out)
{
    static const struct {
        const char *name;
        config_import_tool tool;
    } tools[] = {
        {"claude", CONFIG_IMPORT_CLAUDE},
        {"cursor", CONFIG_IMPORT_CURSOR},
        {"vscode", CONFIG_IMPORT_VSCODE},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        if (strcmp(name, tools[i].name) == 0) {
            *out = tools[i].tool;
            return true;
        }
    }
    return false;
}

char *config_import_known_path(config_import_tool tool, bool macos, const char *home, const char *xdg_config_home)
{
    strbuf sb = {0};
    strbuf app_dir = {0}; /* where desktop applications keep their settings */
    if (macos)
        strbuf_appendf(&app_dir, "%s/Library/Application Support", home);
    else if (xdg_config_home && xdg_config_home[0] == '/') /* the XDG spec ignores a relative one */
        strbuf_appendf(&app_dir, "%s", xdg_config_home);
    else
        strbuf_appendf(&app_dir, "%s/.config", home);
    switch (tool) {
    case CONFIG_IMPORT_CLAUDE:
        strbuf_appendf(&sb, "%s/Claude/claude_desktop_config.json", app_dir.data);
        break;
    case CONFIG_IMPORT_CURSOR:
        strbuf_appendf(&sb, "%s/.cursor/mcp.json", home);
        break;
    case CONFIG_IMPORT_VSCODE:
        strbuf_appendf(&sb, "%s/Code/User/mcp.json", app_dir.data);
        break;
    }
    strbuf_free(&app_dir);
    return sb.data;
}

/* VS Code's files are JSONC: // and block comments, and trailing commas.
 * Returns a copy of the text that jansson reads - comments become spaces
 * (newlines kept, so line and column still point into the file) and a
 * comma before a closing bracket becomes a space. New string of len bytes. */
static char *jsonc_to_json(const char *text, size_t len)
{
    char *out = xmalloc(len + 1);
    memcpy(out, text, len);
    out[len] = '\0';
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = out[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '/' && i + 1 < len && out[i + 1] == '/') {
            while (i < len && out[i] != '\n')
                out[i++] = ' ';
        } else if (c == '/' && i + 1 < len && out[i + 1] == '*') {
            out[i] = out[i + 1] = ' ';
            for (i += 2; i < len && !(out[i] == '*' && i + 1 < len && out[i + 1] == '/'); i++)
                if (out[i] != '\n')
                    out[i] = ' ';
            if (i < len) { /* the closing star and slash */
                out[i] = out[i + 1] = ' ';
                i++;
            }
        }
    }
    in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = out[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ',') {
            size_t j = i + 1;
            while (j < len && strchr(" \t\r\n", out[j]))
                j++;
            if (j < len && (out[j] == '}' || out[j] == ']'))
                out[i] = ' ';
        }
    }
    return out;
}

/* Whether any string in v (keys of objects included) holds "${": VS Code's
 * ${input:...}, ${workspaceFolder}, ${env:...}, which its tool expands. */
static bool has_variables(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_string(v))
        return strstr(json_string_value(v), "${") != NULL;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (strstr(key, "${") || has_variables(item))
                return true;
        }
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (has_variables(item))
                return true;
        }
    }
    return false;
}

static void report(config_import_report *rep, const char *name, bool added, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(config_import_report *rep, const char *name, bool added, const char *fmt, ...)
{
    rep->entries = xrealloc(rep->entries, (rep->n_entries + 1) * sizeof *rep->entries);
    config_import_entry *e = &rep->entries[rep->n_entries++];
    e->name = xstrdup(name);
    e->added = added;
    e->why = NULL;
    if (fmt) {
        char why[CONFIG_ERR_LEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        e->why = xstrdup(why);
    }
    if (added)
        rep->n_added++;
}

/* Checks one entry with the config file's own parser and, if it passes,
 * appends it to cfg. `entry` is borrowed. */
static void import_entry(config *cfg, const char *name, json_t *entry, const char *source_dir, strmap *seen,
                         config_import_report *rep)
{
    if (!json_is_object(entry)) {
        report(rep, name, false, "not an object");
        return;
    }
    if (config_find_server(cfg, name)) {
        report(rep, name, false, "a server of that name is in the config already");
        return;
    }
    if (strmap_get(seen, name)) {
        report(rep, name, false, "listed twice in the file");
        return;
    }
    strmap_put(seen, name, entry);
    if (has_variables(entry)) {
        report(rep, name, false,
               "uses ${...} variables, which only its own tool expands: put the values in, then import again");
        return;
    }
    json_t *copy = json_deep_copy(entry);
    json_object_del(copy, "name"); /* the key names it below */
    /* VS Code's watch-and-debug settings mean nothing to a proxy. */
    bool had_dev = json_object_del(copy, "dev") == 0;
    json_t *doc = json_pack("{s:{s:o}}", "mcpServers", name, copy);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    config parsed;
    char err[CONFIG_ERR_LEN];
    /* No origin: a position in this one-entry text would mislead. The
     * message then reads ": <what>", or ":L:C: <what>". */
    if (!config_parse(text, strlen(text), "", &parsed, err)) {
        const char *why = strstr(err, ": ");
        report(rep, name, false, "%s", why ? why + 2 : err);
        free(text);
        return;
    }
    free(text);
    cfg->servers = xrealloc(cfg->servers, (cfg->n_servers + 1) * sizeof *cfg->servers);
    if (source_dir)
        config_server_resolve_paths(&cfg->servers[cfg->n_servers], &parsed.servers[0], source_dir);
    else
        server_config_copy(&cfg->servers[cfg->n_servers], &parsed.servers[0]);
    cfg->n_servers++;
    config_free(&parsed);
    report(rep, name, true, had_dev ? "without \"dev\" (VS Code's debug settings)" : NULL);
}

bool config_import(config *cfg, const char *text, size_t len, const char *origin, const char *source_dir,
                   config_import_report *rep, char err[CONFIG_ERR_LEN])
{
    *rep = (config_import_report){0};
    json_error_t jerr;
    char *json_text = jsonc_to_json(text, len);
    json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(json_text);
    if (!root) {
        snprintf(err, CONFIG_ERR_LEN, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
        return false;
    }
    /* Claude Desktop and Cursor say "mcpServers", VS Code "servers". Other
     * keys of the file are that tool's own settings: not ours to read. */
    json_t *lists[2] = {json_object_get(root, "mcpServers"), json_object_get(root, "servers")};
    const char *list_names[2] = {"mcpServers", "servers"};
    bool found = false;
    for (size_t l = 0; l < 2; l++) {
        if (!lists[l])
            continue;
        found = true;
        if (!json_is_object(lists[l]) && !json_is_array(lists[l])) {
            snprintf(err, CONFIG_ERR_LEN, "%s: \"%s\" must be an object of servers keyed by name, or an array", origin,
                     list_names[l]);
            json_decref(root);
            return false;
        }
    }
    if (!json_is_object(root) || !found) {
        snprintf(err, CONFIG_ERR_LEN, "%s holds no \"mcpServers\" or \"servers\": no MCP servers to import", origin);
        json_decref(root);
        return false;
    }
    strmap seen = {0};
    for (size_t l = 0; l < 2; l++) {
        const char *key;
        json_t *entry;
        size_t i;
        if (json_is_object(lists[l])) {
            json_object_foreach(lists[l], key, entry) {
                import_entry(cfg, key, entry, source_dir, &seen, rep);
            }
        } else if (json_is_array(lists[l])) {
            json_array_foreach(lists[l], i, entry) {
                const char *name = json_string_value(json_object_get(entry, "name"));
                if (!name) {
                    char label[32];
                    snprintf(label, sizeof label, "#%zu", i + 1);
                    report(rep, label, false, "no \"name\"");
                    continue;
                }
                import_entry(cfg, name, entry, source_dir, &seen, rep);
            }
        }
    }
    strmap_free(&seen);
    json_decref(root);
    return true;
}

void config_import_report_free(config_import_report *rep)
{
    for (size_t i = 0; i < rep->n_entries; i++) {
        free(rep->entries[i].name);
        free(rep->entries[i].why);
    }
    free(rep->entries);
    *rep = (config_import_report){0};
}
