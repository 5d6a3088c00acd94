/* proc_scan.c - reading /proc/PID/stat for every process. */
#include "upstream/proc_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so
 * the fields are read after the last ')'. COMM is at most 16 bytes: the
 * fields needed are well within the buffer. */
static bool read_stat(int pid, proc_entry *e)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false; /* gone since the directory was read */
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return false;
    buf[len] = '\0';
    const char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
        return false;
    *e = (proc_entry){.pid = pid, .ppid = ppid, .state = state};
    return true;
}

proc_entry *proc_scan(size_t *n_out)
{
    *n_out = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return NULL;
    proc_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        proc_entry e;
        if (*end || pid <= 0 || !read_stat((int)pid, &e))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = realloc(v, cap * sizeof *v);
            if (!v)
                abort();
        }
        v[n++] = e;
    }
    closedir(d);
    *n_out = n;
    return v;
}

size_t proc_descendants(proc_entry *v, size_t n, int root)
{
    /* v[0..found) are known descendants; each pass moves in those whose
     * parent is the root or one of them, until a pass finds none. */
    size_t found = 0;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = found; i < n; i++) {
            bool below = v[i].ppid == root;
            for (size_t k = 0; k < found && !below; k++)
                below = v[i].ppid == v[k].pid;
            if (below) {
                proc_entry t = v[found];
                v[found++] = v[i];
                v[i] = t;
                grew = true;
            }
        }
    }
    return found;
}
