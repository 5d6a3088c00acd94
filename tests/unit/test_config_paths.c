/* test_config_paths.c - a server's relative paths made absolute against the
 * config file's directory (config_server_resolve_paths), on real files. */
#include "config/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/mcpproxy-paths-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    char p[256];
    snprintf(p, sizeof p, "%s/server.js", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fclose(f);
    snprintf(p, sizeof p, "%s/work", dir);
    return mkdir(p, 0700);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static char *in_dir(const char *rel)
{
    char *out = malloc(strlen(dir) + strlen(rel) + 2);
    sprintf(out, "%s/%s", dir, rel);
    return out;
}

static void test_dir_of(void **state)
{
    (void)state;
    char *d = config_dir_of("/a/b/c.json");
    assert_string_equal(d, "/a/b");
    free(d);
    d = config_dir_of("/c.json");
    assert_string_equal(d, "/");
    free(d);
    d = config_dir_of("c.json");
    assert_string_equal(d, ".");
    free(d);
}

static void test_resolved_against_the_config_dir(void **state)
{
    (void)state;
    char *args[] = {"server.js", "-y", "--flag=server.js", "missing.js", "/abs/path", "stdio", ""};
    server_config src = {.name = "s",
                         .protocol = "stdio",
                         .command = "./bin/run",
                         .args = args,
                         .n_args = sizeof args / sizeof args[0],
                         .working_dir = "",
                         .group = ""};
    server_config run;
    config_server_resolve_paths(&run, &src, dir);
    char *cmd = in_dir("bin/run"), *js = in_dir("server.js");
    assert_string_equal(run.command, cmd); /* a path, even one not there yet: the start says it is missing */
    assert_string_equal(run.args[0], js);  /* a file that is there */
    assert_string_equal(run.args[1], "-y");
    assert_string_equal(run.args[2], "--flag=server.js");
    assert_string_equal(run.args[3], "missing.js"); /* not there: not known to be a path */
    assert_string_equal(run.args[4], "/abs/path");
    assert_string_equal(run.args[5], "stdio");
    assert_string_equal(run.args[6], "");
    assert_string_equal(run.working_dir, "");
    /* The source is not touched: the file keeps its relative paths. */
    assert_string_equal(src.command, "./bin/run");
    assert_string_equal(src.args[0], "server.js");
    free(cmd);
    free(js);
    server_config_free(&run);

    /* A bare name is found on PATH by the start, not here. */
    src.command = "npx";
    config_server_resolve_paths(&run, &src, dir);
    assert_string_equal(run.command, "npx");
    server_config_free(&run);
}

static void test_working_dir_first(void **state)
{
    (void)state;
    char *args[] = {"../server.js"};
    server_config src = {.name = "s",
                         .protocol = "stdio",
                         .command = "../bin/run",
                         .args = args,
                         .n_args = 1,
                         .working_dir = "work",
                         .group = ""};
    server_config run;
    config_server_resolve_paths(&run, &src, dir);
    char *wd = in_dir("work"), *cmd = in_dir("work/../bin/run"), *js = in_dir("work/../server.js");
    assert_string_equal(run.working_dir, wd);
    assert_string_equal(run.command, cmd);
    assert_string_equal(run.args[0], js);
    free(wd);
    free(cmd);
    free(js);
    server_config_free(&run);

    /* An absolute working_dir stays as written. */
    src.working_dir = "/";
    config_server_resolve_paths(&run, &src, dir);
    assert_string_equal(run.working_dir, "/");
    assert_string_equal(run.command, "/../bin/run");
    server_config_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_of),
        cmocka_unit_test(test_resolved_against_the_config_dir),
        cmocka_unit_test(test_working_dir_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
