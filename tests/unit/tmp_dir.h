/* tmp_dir.h - a cmocka fixture for tests that write files: a fresh
 * directory under /tmp for each test, removed with everything in it after
 * the test. `path` names a file in it, chosen by the test file (it may lie
 * in a subdirectory not yet made). */
#ifndef MCPPROXY_TESTS_TMP_DIR_H
#define MCPPROXY_TESTS_TMP_DIR_H

#include <stdio.h>
#include <stdlib.h>

typedef struct tmp_dir {
    char dir[64];
    char path[128];
} tmp_dir;

static inline int tmp_dir_setup(void **state, const char *leaf)
{
    tmp_dir *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/mcpproxy-unit-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, leaf);
    *state = fx;
    return 0;
}

static inline int tmp_dir_teardown(void **state)
{
    tmp_dir *fx = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

#endif
