/* import_cmd.c - `mcpproxy import`: reads another tool's MCP config, adds
 * its servers to ours (config/import.h decides what goes in) and saves
 * atomically through the file's record, so an edit made meanwhile is not
 * written over. A running mcpproxy sees the new file through its watch. */
#include "cli/import_cmd.h"

#include "config/file.h"
#include "config/import.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The file to read: FILE, or the tool's well-known one (`from`, already
 * checked). New string. */
static char *source_path(const char *file, const char *from)
{
    if (file)
        return xstrdup(file);
    config_import_tool tool = CONFIG_IMPORT_CLAUDE;
    config_import_tool_parse(from, &tool);
    const char *home = getenv("HOME");
#ifdef __APPLE__
    bool macos = true;
#else
    bool macos = false;
#endif
    return config_import_known_path(tool, macos, home && *home ? home : ".", getenv("XDG_CONFIG_HOME"));
}

/* Loads our config through its record (so the save can tell an edit made
 * meanwhile), or starts from defaults when there is no file yet. */
static bool load_target(config_file *f, config *cfg, bool *created)
{
    char err[CONFIG_ERR_LEN];
    struct stat st;
    *created = stat(config_file_path(f), &st) != 0 && errno == ENOENT;
    if (*created) {
        config_init_defaults(cfg);
        return true;
    }
    if (!config_file_load(f, cfg, err)) {
        fprintf(stderr, "mcpproxy import: cannot use the config: %s\n", err);
        return false;
    }
    return true;
}

static void print_report(const config_import_report *rep, const char *from, const char *into, bool dry_run)
{
    printf("%s the servers of %s into %s\n", dry_run ? "would import" : "importing", from, into);
    for (size_t i = 0; i < rep->n_entries; i++) {
        const config_import_entry *e = &rep->entries[i];
        printf("  %-8s %s%s%s\n", e->added ? "added" : "skipped", e->name, e->why ? ": " : "", e->why ? e->why : "");
    }
    printf("%zu added, %zu skipped%s\n", rep->n_added, rep->n_entries - rep->n_added,
           dry_run        ? " (dry run: nothing written)"
           : rep->n_added ? "; a running mcpproxy starts the new servers on its own"
                          : "; nothing written");
}

/* Reads `file`, or the file of the tool named `tool`, and adds its servers
 * to the config at `config_path`. Returns the exit code. */
static int import_into(const char *file, const char *tool, const char *config_path, bool dry_run)
{
    char *from = source_path(file, tool);
    int rc = CLI_ERROR;
    strbuf text = {0};
    char *from_abs = realpath(from, NULL);
    FILE *in = fopen(from, "rb");
    if (!in) {
        fprintf(stderr, "mcpproxy import: cannot read %s: %s\n", from, strerror(errno));
        goto out;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        strbuf_append(&text, chunk, n);
    int read_errno = ferror(in) ? errno : 0; /* EISDIR: a directory opens, but does not read */
    fclose(in);
    if (read_errno) {
        fprintf(stderr, "mcpproxy import: cannot read %s: %s\n", from, strerror(read_errno));
        goto out;
    }

    config_file *target = config_file_create(config_path);
    config cfg;
    bool created;
    if (load_target(target, &cfg, &created)) {
        config_import_report rep;
        char err[CONFIG_ERR_LEN];
        char *source_dir = config_dir_of(from_abs ? from_abs : from);
        if (!config_import(&cfg, text.data ? text.data : "", text.len, from, source_dir, &rep, err)) {
            fprintf(stderr, "mcpproxy import: %s\n", err);
        } else {
            print_report(&rep, from, config_file_path(target), dry_run);
            rc = CLI_OK;
            if (!dry_run && rep.n_added) {
                config_file_result saved = config_file_save(target, &cfg, err);
                if (saved != CONFIG_FILE_OK) {
                    fprintf(stderr, "mcpproxy import: nothing written: %s\n", err);
                    rc = CLI_ERROR;
                } else if (created) {
                    printf("created %s\n", config_file_path(target));
                }
            }
            config_import_report_free(&rep);
        }
        free(source_dir);
        config_free(&cfg);
    }
    config_file_destroy(target);
out:
    strbuf_free(&text);
    free(from_abs);
    free(from);
    return rc;
}

static int import_run(const cli_command *cmd, int argc, char **argv)
{
    const char *from = NULL, *config_path = NULL;
    bool dry_run = false;
    const cli_opt opts[] = {
        {"--from", &from, NULL, NULL, false},
        {"--config", &config_path, NULL, NULL, false},
        {"--dry-run", NULL, &dry_run, NULL, false},
    };
    cli_args args;
    int rc;
    if (!cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args, &rc))
        return rc;
    size_t n_args = args.n;
    const char *file = n_args ? args.v[0] : NULL;
    free(args.v);
    if (n_args > 1)
        return cli_usage_error(cmd, "one FILE at a time");
    if (!file == !from)
        return cli_usage_error(cmd, "name a FILE or --from claude|cursor|vscode, one of them");
    config_import_tool tool;
    if (from && !config_import_tool_parse(from, &tool))
        return cli_usage_error(cmd, "--from must be claude, cursor or vscode (got \"%s\")", from);
    char *path = config_path ? xstrdup(config_path) : cli_default_config_path();
    rc = import_into(file, from, path, dry_run);
    free(path);
    return rc;
}

const cli_command import_command = {
    "import",
    "add the servers of a Claude Desktop, Cursor or VS Code config to ours",
    "Usage: mcpproxy import FILE [--config FILE] [--dry-run]\n"
    "       mcpproxy import --from claude|cursor|vscode [--config FILE] [--dry-run]\n"
    "\n"
    "Adds the MCP servers of another tool's config file to mcpproxy's config file\n"
    "(--config, default ~/.mcpproxy/mcp_config.json; created if missing), and says\n"
    "which were added and which were skipped, and why. A server whose name is in\n"
    "the config already is skipped, as is one that uses ${...} variables or that\n"
    "the config would refuse. The config is written atomically in the form it has;\n"
    "a running mcpproxy applies the new servers at once (it watches the file).\n"
    "Relative paths in the file read are made absolute (they meant its directory).\n"
    "\n"
    "FILE is any file with \"mcpServers\" or \"servers\" (an object keyed by server\n"
    "name, or mcpproxy's array; JSONC comments and trailing commas are read).\n"
    "--from reads a tool's own file:\n"
    "  claude   Linux: $XDG_CONFIG_HOME/Claude/claude_desktop_config.json (~/.config/...)\n"
    "           macOS: ~/Library/Application Support/Claude/claude_desktop_config.json\n"
    "  cursor   ~/.cursor/mcp.json\n"
    "  vscode   Linux: $XDG_CONFIG_HOME/Code/User/mcp.json (~/.config/...)\n"
    "           macOS: ~/Library/Application Support/Code/User/mcp.json\n"
    "\n"
    "Options:\n"
    "  --from TOOL     claude, cursor or vscode: read that tool's file\n"
    "  --config FILE   the mcpproxy config to add to\n"
    "  --dry-run       report what would be added, write nothing\n"
    "  -h, --help      show this help\n"
    "\n"
    "Examples:\n"
    "  mcpproxy import --from claude\n"
    "  mcpproxy import --from vscode --dry-run\n"
    "  mcpproxy import ./project/.cursor/mcp.json --config ~/work/mcpproxy.json\n"
    "\n"
    "Exit codes: 0 done (skipped servers included), 1 a file could not be read,\n"
    "parsed or written, 2 bad command line.\n",
    import_run,
};
