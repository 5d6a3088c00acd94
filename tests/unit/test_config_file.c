/* test_config_file.c - the record of the config file as loaded or written
 * last (config/file.h): a save refuses while the file on disk is another
 * one (edited, invalid, removed, created), a reload tells our own write
 * from an edit, and writes go through symlinks. Real files in a temp
 * directory. */
#include "config/file.h"

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

#include "tmp_dir.h"

typedef tmp_dir fixture;

static int setup(void **state)
{
    return tmp_dir_setup(state, "mcp_config.json");
}

static int teardown(void **state)
{
    return tmp_dir_teardown(state);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static const char *one_server = "{\"limits\": {\"max_body_bytes\": 65536},\n"
                                " \"mcpServers\": [{\"name\": \"a\", \"command\": \"c\"}]}\n";

/* The file loaded into a record; *cfg is the running config. */
static config_file *loaded(const fixture *fx, config *cfg)
{
    write_text(fx->path, one_server);
    config_file *f = config_file_create(fx->path);
    char err[CONFIG_ERR_LEN];
    if (!config_file_load(f, cfg, err))
        fail_msg("load failed: %s", err);
    return f;
}

static void test_save_then_reload_is_same(void **state)
{
    fixture *fx = *state;
    config cfg, again;
    char err[CONFIG_ERR_LEN];
    config_file *f = loaded(fx, &cfg);
    assert_int_equal(config_file_settings(f)->limits.max_body_bytes, 65536);
    assert_int_equal(config_file_settings(f)->n_servers, 0);
    /* Unchanged file: a reload does nothing. */
    assert_int_equal(config_file_reload(f, &again, err), CONFIG_FILE_SAME);
    config_free(&again);
    cfg.servers[0].enabled = false;
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_OK);
    assert_non_null(strstr(read_text(fx->path), "\"enabled\": false"));
    /* Our own write, coming back through the watch. */
    assert_int_equal(config_file_reload(f, &again, err), CONFIG_FILE_SAME);
    config_free(&again);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_OK);
    config_free(&cfg);
    config_file_destroy(f);
}

static void test_edit_not_reloaded_refuses(void **state)
{
    fixture *fx = *state;
    config cfg, edit;
    char err[CONFIG_ERR_LEN];
    config_file *f = loaded(fx, &cfg);
    const char *edited =
        "{\"limits\": {\"max_body_bytes\": 4096},\n"
        " \"mcpServers\": [{\"name\": \"a\", \"command\": \"c\"}, {\"name\": \"b\", \"command\": \"c\"}]}\n";
    write_text(fx->path, edited);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_CONFLICT);
    assert_non_null(strstr(err, fx->path));
    assert_non_null(strstr(err, "edited"));
    assert_string_equal(read_text(fx->path), edited);
    /* The reload records it; the save then writes over the edit's settings. */
    assert_int_equal(config_file_reload(f, &edit, err), CONFIG_FILE_OK);
    assert_int_equal(edit.n_servers, 2);
    assert_int_equal(config_file_settings(f)->limits.max_body_bytes, 4096);
    config_free(&edit);
    config saving;
    config_copy_settings(&saving, config_file_settings(f));
    assert_int_equal(config_file_save(f, &saving, err), CONFIG_FILE_OK);
    assert_non_null(strstr(read_text(fx->path), "4096"));
    config_free(&saving);
    config_free(&cfg);
    config_file_destroy(f);
}

static void test_invalid_file_refuses_with_position(void **state)
{
    fixture *fx = *state;
    config cfg, bad;
    char err[CONFIG_ERR_LEN];
    config_file *f = loaded(fx, &cfg);
    const char *broken = "{\n  \"mcpServers\": [\n    {\"name\": \"a\",, }\n  ]\n}\n";
    write_text(fx->path, broken);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_CONFLICT);
    char where[192];
    snprintf(where, sizeof where, "%s:3:", fx->path);
    if (!strstr(err, where))
        fail_msg("no line in: %s", err);
    assert_string_equal(read_text(fx->path), broken);
    /* A reload rejects it and keeps the record: still refused. */
    assert_int_equal(config_file_reload(f, &bad, err), CONFIG_FILE_FAILED);
    config_free(&bad);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_CONFLICT);
    config_free(&cfg);
    config_file_destroy(f);
}

static void test_removed_and_created(void **state)
{
    fixture *fx = *state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    config_file *f = loaded(fx, &cfg);
    assert_int_equal(unlink(fx->path), 0);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_CONFLICT);
    assert_non_null(strstr(err, "removed"));
    assert_int_equal(access(fx->path, F_OK), -1);
    config_file_destroy(f);

    /* A first run: no file, and none yet at the save. */
    f = config_file_create(fx->path);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_OK);
    assert_int_equal(access(fx->path, F_OK), 0);
    config_file_destroy(f);
    /* A first run, and a file made by hand before the watch loaded it. */
    f = config_file_create(fx->path);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_CONFLICT);
    assert_non_null(strstr(err, "created"));
    config_free(&cfg);
    config_file_destroy(f);
}

static void test_not_a_file_fails(void **state)
{
    fixture *fx = *state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    config_file *f = loaded(fx, &cfg);
    assert_int_equal(unlink(fx->path), 0);
    assert_int_equal(mkdir(fx->path, 0700), 0);
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_FAILED);
    assert_non_null(strstr(err, fx->path));
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    config_free(&cfg);
    config_file_destroy(f);
}

/* Both writers follow links: the plain save (gen-key) and the record's. */
static void test_writes_follow_symlinks(void **state)
{
    fixture *fx = *state;
    char real_dir[128], target[192], link2[192];
    snprintf(real_dir, sizeof real_dir, "%s/real", fx->dir);
    assert_int_equal(mkdir(real_dir, 0700), 0);
    snprintf(target, sizeof target, "%s/target.json", real_dir);
    write_text(target, one_server);
    assert_int_equal(symlink("real/target.json", fx->path), 0);
    /* A chain: link2 -> mcp_config.json -> real/target.json */
    snprintf(link2, sizeof link2, "%s/second-link.json", fx->dir);
    assert_int_equal(symlink(fx->path, link2), 0);

    config cfg;
    char err[CONFIG_ERR_LEN];
    config_file *f = config_file_create(link2);
    assert_true(config_file_load(f, &cfg, err));
    cfg.servers[0].enabled = false;
    assert_int_equal(config_file_save(f, &cfg, err), CONFIG_FILE_OK);
    struct stat st;
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(link2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_non_null(strstr(read_text(target), "\"enabled\": false"));

    free(cfg.api_key);
    cfg.api_key = strdup("k");
    assert_true(config_save_file(&cfg, fx->path, err));
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_non_null(strstr(read_text(target), "\"api_key\": \"k\""));
    /* No temp file left in either directory. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s %s | grep -c '[.]tmp[.]') -eq 0", fx->dir, real_dir);
    assert_int_equal(system(cmd), 0);

    char *where = config_write_target(link2);
    assert_string_equal(where, target);
    free(where);
    config_free(&cfg);
    config_file_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_then_reload_is_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_not_reloaded_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_file_refuses_with_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_and_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_file_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_follow_symlinks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
