/* import.h - the servers of another tool's MCP config file (Claude Desktop,
 * Cursor, VS Code, or another mcpproxy's), added to a config.
 *
 * The file may be JSONC, as VS Code's are (comments, trailing commas).
 *
 * Pure: text in, servers added to a config struct and a report out; the
 * caller reads and writes the files (cli/import_cmd.c). Each entry of the
 * file's "mcpServers" or "servers" (an object keyed by name, or our array)
 * is checked by the same parser as the config file itself, so what is
 * added always loads; what cannot be is skipped with the reason. */
#ifndef MCPPROXY_CONFIG_IMPORT_H
#define MCPPROXY_CONFIG_IMPORT_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

/* The tools whose files have a well-known place. */
typedef enum config_import_tool {
    CONFIG_IMPORT_CLAUDE, /* Claude Desktop's claude_desktop_config.json */
    CONFIG_IMPORT_CURSOR, /* Cursor's user-wide ~/.cursor/mcp.json */
    CONFIG_IMPORT_VSCODE, /* VS Code's user-profile mcp.json */
} config_import_tool;

/* "claude", "cursor" or "vscode" to a tool. False for any other name. */
bool config_import_tool_parse(const char *name, config_import_tool *out);

/* Where the tool keeps its file for a user whose home is `home`, on macOS
 * or else Linux (XDG_CONFIG_HOME is `xdg_config_home` when set and
 * absolute, else ~/.config):
 *   claude  macOS ~/Library/Application Support/Claude/claude_desktop_config.json
 *           Linux $XDG_CONFIG_HOME/Claude/claude_desktop_config.json
 *   cursor  ~/.cursor/mcp.json
 *   vscode  macOS ~/Library/Application Support/Code/User/mcp.json
 *           Linux $XDG_CONFIG_HOME/Code/User/mcp.json
 * New string. */
char *config_import_known_path(config_import_tool tool, bool macos, const char *home, const char *xdg_config_home);

typedef struct config_import_entry {
    char *name;
    bool added;
    char *why; /* skipped: why; added: a note, or NULL */
} config_import_entry;

typedef struct config_import_report {
    config_import_entry *entries; /* in the file's order */
    size_t n_entries;
    size_t n_added;
} config_import_report;

/* Adds to `cfg` the servers in `text` (len bytes; `origin` names it in
 * messages). Relative paths in an entry are made absolute against
 * `source_dir`, the directory of the file read (they meant that
 * directory; the config they move to may be elsewhere). An entry is
 * skipped, with why, when a server of that name is in cfg already (or
 * earlier in the file), when it uses ${...} variables (its tool would
 * expand them, mcpproxy does not), or when the parser refuses it. The
 * servers are added in the file's order, with their keys as the config
 * file names them. False with err only when the text is not JSON or holds
 * no server list; cfg is then unchanged. `rep` is new
 * (config_import_report_free), and empty on failure. */
bool config_import(config *cfg, const char *text, size_t len, const char *origin, const char *source_dir,
                   config_import_report *rep, char err[CONFIG_ERR_LEN]);

void config_import_report_free(config_import_report *rep);

#endif
