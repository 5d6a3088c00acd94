/* paths.c - a server's relative paths, made absolute against the config
 * file's directory (config.h, config_server_resolve_paths).
 *
 * A config file names its servers' programs and files the way its author
 * sees them from where the file is; the proxy may be started from any
 * directory (a service manager, `make run` from elsewhere). Only what is
 * run is resolved: the file keeps its relative paths, so the file saved
 * back is the file the user wrote. */
#include "config/config.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *join(const char *dir, const char *rel)
{
    strbuf sb = {0};
    /* "./x" reads better without its "./" once joined. */
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    size_t n = strlen(dir);
    strbuf_appendf(&sb, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", rel);
    return sb.data;
}

char *config_dir_of(const char *config_path)
{
    const char *slash = strrchr(config_path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == config_path)
        return xstrdup("/");
    strbuf sb = {0};
    strbuf_appendf(&sb, "%.*s", (int)(slash - config_path), config_path);
    return sb.data;
}

void config_server_resolve_paths(server_config *dst, const server_config *src, const char *base_dir)
{
    server_config_copy(dst, src);
    if (*dst->working_dir && dst->working_dir[0] != '/') {
        char *abs = join(base_dir, dst->working_dir);
        free(dst->working_dir);
        dst->working_dir = abs;
    }
    /* The server runs in its working_dir when it has one: its paths are
     * seen from there, as they would be by a shell started in it. */
    const char *from = *dst->working_dir ? dst->working_dir : base_dir;
    /* A bare name ("npx") is looked up on PATH, as a shell would. */
    if (dst->command && dst->command[0] != '/' && strchr(dst->command, '/')) {
        char *abs = join(from, dst->command);
        free(dst->command);
        dst->command = abs;
    }
    /* An argument is only known to be a path if it names something that
     * is there; options ("-y", "--port=1") and everything else stay. */
    for (size_t i = 0; i < dst->n_args; i++) {
        const char *arg = dst->args[i];
        if (!*arg || arg[0] == '/' || arg[0] == '-')
            continue;
        char *abs = join(from, arg);
        struct stat st;
        if (stat(abs, &st) == 0) {
            free(dst->args[i]);
            dst->args[i] = abs;
        } else {
            free(abs);
        }
    }
}
