/* main.c - mcpproxy's entry: parse the command line, set up the process
 * (signals, logging, allocation), and run the command asked for. The proxy
 * itself is app_run (src/app/wiring.h). */
#include "app/wiring.h"
#include "cli/events_cmd.h"
#include "cli/gen_key.h"
#include "cli/import_cmd.h"
#include "cli/options.h"
#include "core/log.h"
#include "core/util.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *default_config_path(void)
{
    const char *home = getenv("HOME");
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s/.mcpproxy/mcp_config.json", home && *home ? home : ".");
    return sb.data;
}

int main(int argc, char **argv)
{
    /* Out of memory aborts everywhere, jansson's allocations included, so no
     * caller handles a NULL from an allocation. */
    json_set_alloc_funcs(xmalloc, free);
    /* import has its own arguments (a file, --from, --dry-run). */
    if (argc > 1 && strcmp(argv[1], "import") == 0) {
        char *path = default_config_path();
        int rc = import_cmd_main(argc - 1, argv + 1, path);
        free(path);
        return rc;
    }
    cli_options opts;
    char err[256];
    if (!cli_parse(argc, argv, &opts, err, sizeof err)) {
        fprintf(stderr, "mcpproxy: %s\n", err);
        return 2;
    }
    if (opts.help) {
        cli_print_help(stdout);
        return 0;
    }
    if (opts.version) {
        puts("mcpproxy " MCPPROXY_VERSION);
        return 0;
    }
    if (opts.command != CLI_EVENTS && (opts.url || opts.server || opts.types || opts.api_key || opts.json)) {
        fprintf(stderr, "mcpproxy: --url, --server, --types, --api-key and --json belong to `mcpproxy events`\n");
        return 2;
    }
    if (opts.command == CLI_GEN_KEY || opts.command == CLI_EVENTS) {
        char *path = opts.config_path ? xstrdup(opts.config_path) : default_config_path();
        int rc = opts.command == CLI_GEN_KEY ? gen_key_run(path) : events_cmd_run(&opts, path);
        free(path);
        return rc;
    }
    /* A client or a child vanishing mid-write must be an error on that
     * socket or pipe, not the death of the process. */
    signal(SIGPIPE, SIG_IGN);
    log_setup(opts.level, opts.format);
    char *path = opts.config_path ? xstrdup(opts.config_path) : default_config_path();
    app_options app_opts = {.config_path = path, .config_is_default = !opts.config_path, .listen = opts.listen};
    int rc = app_run(&app_opts);
    free(path);
    return rc;
}
