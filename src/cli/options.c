/* options.c - the one argument parser every command uses. */
#include "cli/options.h"

#include "core/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mcpproxy %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see mcpproxy help %s)\n", cmd->name);
    va_end(ap);
    return CLI_USAGE;
}

/* The option argv[*i] names ("--name" or "--name=value"), or NULL. */
static const cli_opt *find_opt(const cli_opt *opts, size_t n, const char *arg, const char **inline_value)
{
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(opts[k].name);
        if (strncmp(arg, opts[k].name, len) != 0)
            continue;
        if (arg[len] == '\0') {
            *inline_value = NULL;
            return &opts[k];
        }
        if (arg[len] == '=') {
            *inline_value = arg + len + 1;
            return &opts[k];
        }
    }
    return NULL;
}

static bool parse(const cli_command *cmd, int argc, char **argv, const cli_opt *opts, size_t n_opts, size_t raw_after,
                  cli_args *args, int *exit_code)
{
    args->v = xcalloc((size_t)argc + 1, sizeof(char *));
    args->n = 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || (raw_after && args->n >= raw_after) || arg[0] != '-' || strcmp(arg, "-") == 0) {
            args->v[args->n++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(cmd->help, stdout);
            *exit_code = CLI_OK;
            return false;
        }
        const char *value;
        const cli_opt *o = find_opt(opts, n_opts, arg, &value);
        if (!o) {
            *exit_code = cli_usage_error(cmd, "unknown option \"%s\"", arg);
            return false;
        }
        if (o->flag) {
            if (value) {
                *exit_code = cli_usage_error(cmd, "%s takes no value", o->name);
                return false;
            }
            *o->flag = true;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                *exit_code = cli_usage_error(cmd, "%s needs a value", o->name);
                return false;
            }
            value = argv[++i];
        }
        if (!*value && !o->empty_ok) {
            *exit_code = cli_usage_error(cmd, "%s needs a value", o->name);
            return false;
        }
        if (o->value) {
            *o->value = value;
        } else if (o->list->n < sizeof o->list->v / sizeof o->list->v[0]) {
            o->list->v[o->list->n++] = value;
        } else {
            *exit_code = cli_usage_error(cmd, "too many %s", o->name);
            return false;
        }
    }
    return true;
}

bool cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts, size_t n_opts, size_t raw_after,
                    cli_args *args, int *exit_code)
{
    if (parse(cmd, argc, argv, opts, n_opts, raw_after, args, exit_code))
        return true;
    free(args->v);
    args->v = NULL;
    args->n = 0;
    return false;
}

char *cli_default_config_path(void)
{
    const char *home = getenv("HOME");
    strbuf sb = {0};
    strbuf_appendf(&sb, "%s/.mcpproxy/mcp_config.json", home && *home ? home : ".");
    return sb.data;
}
