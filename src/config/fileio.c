/* fileio.c - reading the config file, atomic writes through symlinks
 * (see fileio.h).
 *
 * Blocking calls on the loop thread: a config file is read and written only
 * at start, on a hand edit and on an API change, and is small (about 90
 * bytes a server: under a megabyte at 10,000 servers). uv_fs_* on the
 * thread pool would make every API change asynchronous for no practical
 * gain. */
#include "config/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Linux's own limit on the links one lookup follows (ELOOP past it). */
#define MAX_LINKS 40

int config_read_bytes(const char *path, strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        strbuf_reserve(out, (size_t)st.st_size);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        strbuf_append(out, chunk, (size_t)n);
    }
    close(fd);
    strbuf_append(out, "", 0); /* NUL-terminated even when empty */
    return 0;
}

char *config_write_target(const char *path)
{
    char *p = xstrdup(path);
    for (int hops = 0; hops <= MAX_LINKS; hops++) {
        struct stat st;
        /* Not a link, or nothing there (a link may dangle: its target is
         * where the file is to be created). Other errors are left for the
         * write itself to report with their reason. */
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            return p;
        if (hops == MAX_LINKS)
            break;
        char link[PATH_MAX];
        ssize_t n = readlink(p, link, sizeof link);
        if (n < 0 || (size_t)n >= sizeof link) {
            int saved = n < 0 ? errno : ENAMETOOLONG;
            free(p);
            errno = saved;
            return NULL;
        }
        strbuf next = {0};
        const char *slash = strrchr(p, '/');
        if (link[0] != '/' && slash) /* relative to the link's own directory */
            strbuf_append(&next, p, (size_t)(slash - p) + 1);
        strbuf_append(&next, link, (size_t)n);
        free(p);
        p = next.data;
    }
    free(p);
    errno = ELOOP;
    return NULL;
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

/* The default location (~/.mcpproxy/) may not exist on a first run: its
 * directory is created, private to the user like the file. */
static void ensure_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        /* Failure (it exists, or cannot be made) is reported by the temp
         * file's creation, with the real reason. */
        (void)mkdir(dir, 0700);
    }
    free(dir);
}

static void write_free(config_write *w)
{
    free(w->target);
    free(w->tmp);
    *w = (config_write){0};
}

bool config_write_begin(config_write *w, const char *path, const char *bytes, size_t len, char err[CONFIG_ERR_LEN])
{
    *w = (config_write){0};
    w->target = config_write_target(path);
    if (!w->target) {
        snprintf(err, CONFIG_ERR_LEN, "cannot follow the symlink %s: %s", path, strerror(errno));
        return false;
    }
    ensure_parent_dir(w->target);
    strbuf tmp = {0};
    strbuf_appendf(&tmp, "%s.tmp.XXXXXX", w->target);
    w->tmp = tmp.data;
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        snprintf(err, CONFIG_ERR_LEN, "cannot create a temp file next to %s: %s", w->target, strerror(errno));
        write_free(w);
        return false;
    }
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, bytes, len) && fsync(fd) == 0;
    int saved = errno;
    ok = (close(fd) == 0) && ok;
    if (!ok) {
        snprintf(err, CONFIG_ERR_LEN, "cannot write %s: %s", w->target, strerror(saved));
        config_write_abort(w);
        return false;
    }
    return true;
}

bool config_write_commit(config_write *w, char err[CONFIG_ERR_LEN])
{
    if (rename(w->tmp, w->target) != 0) {
        snprintf(err, CONFIG_ERR_LEN, "cannot write %s: %s", w->target, strerror(errno));
        config_write_abort(w);
        return false;
    }
    /* The rename is durable only once the directory entry is. */
    strbuf dir = {0};
    const char *slash = strrchr(w->target, '/');
    if (slash == w->target)
        strbuf_appendf(&dir, "/");
    else if (slash)
        strbuf_appendf(&dir, "%.*s", (int)(slash - w->target), w->target);
    else
        strbuf_appendf(&dir, ".");
    int dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    strbuf_free(&dir);
    write_free(w);
    return true;
}

void config_write_abort(config_write *w)
{
    if (w->tmp)
        unlink(w->tmp);
    write_free(w);
}
