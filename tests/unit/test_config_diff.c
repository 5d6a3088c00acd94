/* test_config_diff.c - config_diff: servers added, removed, renamed,
 * changed field by field, unchanged, reordered; the groups a change
 * touches; the other settings that differ. Configs come from JSON text
 * through the real parser. */
#include "config/diff.h"

#include "core/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct two_configs {
    config before, after;
    config_changes *c;
} two_configs;

static void parse_or_fail(const char *text, config *cfg)
{
    char err[CONFIG_ERR_LEN];
    if (!config_parse(text, strlen(text), "test.json", cfg, err))
        fail_msg("test config does not parse: %s\n%s", err, text);
}

/* Parses both texts and diffs them; free with done(). */
static config_changes *diff_of(two_configs *t, const char *before, const char *after)
{
    parse_or_fail(before, &t->before);
    parse_or_fail(after, &t->after);
    t->c = config_diff(&t->before, &t->after);
    return t->c;
}

static void done(two_configs *t)
{
    config_changes_free(t->c);
    config_free(&t->before);
    config_free(&t->after);
}

/* A config with these servers: SRVs (or JSON objects) joined with AND. */
#define SERVERS(list) "{\"mcpServers\": [" list "]}"
#define AND ", "
/* A server with a name, a command and `more` (text starting with a comma). */
#define SRV(name, more) "{\"name\": \"" name "\", \"command\": \"run\"" more "}"

static void assert_groups(const config_changes *c, const char *const *want, size_t n)
{
    assert_int_equal(c->n_groups, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->groups[i], want[i]);
}

static void test_unchanged(void **state)
{
    (void)state;
    two_configs t = {0};
    const char *text =
        SERVERS(SRV("a", ", \"group\": \"g\", \"args\": [\"x\"], \"env\": {\"K\": \"v\"}") AND SRV("b", ""));
    config_changes *c = diff_of(&t, text, text);
    assert_int_equal(c->n_servers, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(c->servers[i].kind, SERVER_UNCHANGED);
        assert_int_equal(c->servers[i].fields, 0);
        assert_ptr_equal(c->servers[i].before, &t.before.servers[i]);
        assert_ptr_equal(c->servers[i].after, &t.after.servers[i]);
    }
    assert_int_equal(c->n_removed, 0);
    assert_int_equal(c->n_added, 0);
    assert_int_equal(c->n_changed, 0);
    assert_int_equal(c->n_groups, 0);
    assert_int_equal(c->n_settings, 0);
    done(&t);
}

static void test_added(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c = diff_of(&t, SERVERS(SRV("a", "")), SERVERS(SRV("a", "") AND SRV("b", ", \"group\": \"g\"")));
    assert_int_equal(c->n_servers, 2);
    assert_int_equal(c->servers[0].kind, SERVER_UNCHANGED);
    assert_int_equal(c->servers[1].kind, SERVER_ADDED);
    assert_null(c->servers[1].before);
    assert_ptr_equal(c->servers[1].after, &t.after.servers[1]);
    assert_int_equal(c->servers[1].fields, 0);
    assert_int_equal(c->n_added, 1);
    assert_int_equal(c->n_changed, 0);
    assert_int_equal(c->n_removed, 0);
    assert_groups(c, (const char *[]){"g"}, 1);
    done(&t);
}

static void test_removed(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c =
        diff_of(&t, SERVERS(SRV("a", ", \"group\": \"g1\"") AND SRV("b", "") AND SRV("c", ", \"group\": \"g2\"")),
                SERVERS(SRV("b", "")));
    assert_int_equal(c->n_removed, 2);
    assert_ptr_equal(c->removed[0], &t.before.servers[0]); /* the old order */
    assert_ptr_equal(c->removed[1], &t.before.servers[2]);
    assert_int_equal(c->n_servers, 1);
    assert_int_equal(c->servers[0].kind, SERVER_UNCHANGED);
    assert_int_equal(c->n_added, 0);
    assert_groups(c, (const char *[]){"g1", "g2"}, 2);
    done(&t);
}

static void test_renamed_is_removed_and_added(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c =
        diff_of(&t, SERVERS(SRV("old", ", \"group\": \"g\"")), SERVERS(SRV("new", ", \"group\": \"g\"")));
    assert_int_equal(c->n_removed, 1);
    assert_string_equal(c->removed[0]->name, "old");
    assert_int_equal(c->n_servers, 1);
    assert_int_equal(c->servers[0].kind, SERVER_ADDED);
    assert_string_equal(c->servers[0].after->name, "new");
    assert_int_equal(c->n_added, 1);
    assert_int_equal(c->n_changed, 0);
    assert_groups(c, (const char *[]){"g"}, 1); /* met twice, listed once */
    done(&t);
}

/* Each field on its own: one server whose settings differ only there. */
static void check_one_field(const char *before, const char *after, server_field field)
{
    two_configs t = {0};
    config_changes *c = diff_of(&t, before, after);
    assert_int_equal(c->n_servers, 1);
    assert_int_equal(c->servers[0].kind, SERVER_CHANGED);
    assert_int_equal(c->servers[0].fields, SERVER_FIELD_BIT(field));
    assert_ptr_equal(c->servers[0].before, &t.before.servers[0]);
    assert_int_equal(c->n_changed, 1);
    assert_int_equal(c->n_added, 0);
    assert_int_equal(c->n_removed, 0);
    done(&t);
}

static void test_each_field_changed(void **state)
{
    (void)state;
    check_one_field(SERVERS(SRV("a", "")), SERVERS("{\"name\": \"a\", \"command\": \"other\"}"), SERVER_FIELD_COMMAND);
    check_one_field(SERVERS(SRV("a", ", \"args\": [\"x\"]")), SERVERS(SRV("a", ", \"args\": [\"y\"]")),
                    SERVER_FIELD_ARGS);
    check_one_field(SERVERS(SRV("a", ", \"args\": [\"x\"]")), SERVERS(SRV("a", ", \"args\": [\"x\", \"y\"]")),
                    SERVER_FIELD_ARGS);
    check_one_field(SERVERS(SRV("a", ", \"args\": [\"x\"]")), SERVERS(SRV("a", "")), SERVER_FIELD_ARGS);
    check_one_field(SERVERS(SRV("a", ", \"env\": {\"K\": \"v\"}")), SERVERS(SRV("a", ", \"env\": {\"K\": \"w\"}")),
                    SERVER_FIELD_ENV);
    check_one_field(SERVERS(SRV("a", ", \"env\": {\"K\": \"v\"}")), SERVERS(SRV("a", ", \"env\": {\"L\": \"v\"}")),
                    SERVER_FIELD_ENV);
    check_one_field(SERVERS(SRV("a", ", \"env\": {\"K\": \"v\"}")), SERVERS(SRV("a", "")), SERVER_FIELD_ENV);
    /* entries merely reordered count too (diff.h) */
    check_one_field(SERVERS(SRV("a", ", \"env\": {\"K\": \"v\", \"L\": \"w\"}")),
                    SERVERS(SRV("a", ", \"env\": {\"L\": \"w\", \"K\": \"v\"}")), SERVER_FIELD_ENV);
    check_one_field(SERVERS(SRV("a", "")), SERVERS(SRV("a", ", \"working_dir\": \"/tmp\"")), SERVER_FIELD_WORKING_DIR);
    check_one_field(SERVERS(SRV("a", "")), SERVERS(SRV("a", ", \"enabled\": false")), SERVER_FIELD_ENABLED);
    check_one_field(SERVERS(SRV("a", ", \"group\": \"g\"")), SERVERS(SRV("a", ", \"group\": \"h\"")),
                    SERVER_FIELD_GROUP);
}

#define REMOTE(name, more) "{\"name\": \"" name "\", \"url\": \"http://127.0.0.1:1/mcp\"" more "}"

/* A remote server's own settings, each on its own; each restarts it. */
static void test_each_remote_field_changed(void **state)
{
    (void)state;
    check_one_field(SERVERS(REMOTE("a", "")), SERVERS("{\"name\": \"a\", \"url\": \"https://example.org/mcp\"}"),
                    SERVER_FIELD_URL);
    check_one_field(SERVERS(REMOTE("a", ", \"headers\": {\"Authorization\": \"Bearer 1\"}")),
                    SERVERS(REMOTE("a", ", \"headers\": {\"Authorization\": \"Bearer 2\"}")), SERVER_FIELD_HEADERS);
    check_one_field(SERVERS(REMOTE("a", "")), SERVERS(REMOTE("a", ", \"tls_skip_verify\": true")),
                    SERVER_FIELD_TLS_SKIP_VERIFY);
    check_one_field(SERVERS(REMOTE("a", "")), SERVERS(REMOTE("a", ", \"protocol\": \"sse\"")), SERVER_FIELD_PROTOCOL);
    unsigned of_process = SERVER_FIELDS_OF_PROCESS;
    assert_true(of_process & SERVER_FIELD_BIT(SERVER_FIELD_URL));
    assert_true(of_process & SERVER_FIELD_BIT(SERVER_FIELD_HEADERS));
    assert_true(of_process & SERVER_FIELD_BIT(SERVER_FIELD_TLS_SKIP_VERIFY));
}

/* protocol has one valid value in a file ("stdio"), so it is changed on a
 * copy, as is a missing string, which equals "". */
static void test_protocol_and_missing_strings(void **state)
{
    (void)state;
    config cfg;
    parse_or_fail(SERVERS(SRV("a", "")), &cfg);
    server_config copy;
    server_config_copy(&copy, &cfg.servers[0]);
    assert_int_equal(server_config_diff(&cfg.servers[0], &copy), 0);
    free(copy.protocol);
    copy.protocol = xstrdup("sse");
    assert_int_equal(server_config_diff(&cfg.servers[0], &copy), SERVER_FIELD_BIT(SERVER_FIELD_PROTOCOL));
    free(copy.protocol);
    copy.protocol = xstrdup("stdio");
    free(copy.working_dir); /* "" in the file */
    copy.working_dir = NULL;
    free(copy.group);
    copy.group = NULL;
    assert_int_equal(server_config_diff(&cfg.servers[0], &copy), 0);
    server_config_free(&copy);
    config_free(&cfg);
}

static void test_field_names_and_restart_set(void **state)
{
    (void)state;
    const char *names[] = {"protocol", "command",         "args",  "env",     "working_dir", "url",
                           "headers",  "tls_skip_verify", "oauth", "enabled", "group"};
    for (int f = 0; f < SERVER_FIELD_COUNT; f++) {
        assert_string_equal(server_field_name((server_field)f), names[f]);
        /* what reaches the process restarts it; enabled and group do not */
        bool restarts = (SERVER_FIELDS_OF_PROCESS & SERVER_FIELD_BIT(f)) != 0;
        assert_int_equal(restarts, f != SERVER_FIELD_ENABLED && f != SERVER_FIELD_GROUP);
    }
}

/* An oauth object added, or one of its values changed, is a change of
 * the server's connection. */
static void test_oauth_changes(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c = diff_of(&t, SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\"}"),
                                SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\", \"oauth\": {}}"));
    assert_int_equal(c->servers[0].fields, SERVER_FIELD_BIT(SERVER_FIELD_OAUTH));
    done(&t);
    c = diff_of(&t, SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\", \"oauth\": {\"scopes\": [\"x\"]}}"),
                SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\", \"oauth\": {\"scopes\": [\"y\"]}}"));
    assert_int_equal(c->servers[0].fields, SERVER_FIELD_BIT(SERVER_FIELD_OAUTH));
    done(&t);
    c = diff_of(&t, SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\", \"oauth\": {\"client_id\": \"x\"}}"),
                SERVERS("{\"name\": \"a\", \"url\": \"http://h/mcp\", \"oauth\": {\"client_id\": \"x\"}}"));
    assert_int_equal(c->n_changed, 0);
    done(&t);
}

static void test_several_fields(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c = diff_of(&t, SERVERS(SRV("a", ", \"group\": \"g\"")),
                                SERVERS("{\"name\": \"a\", \"command\": \"other\", \"group\": \"h\"}"));
    assert_int_equal(c->servers[0].fields,
                     SERVER_FIELD_BIT(SERVER_FIELD_COMMAND) | SERVER_FIELD_BIT(SERVER_FIELD_GROUP));
    done(&t);
}

static void test_order_changes_only(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c = diff_of(&t, SERVERS(SRV("a", ", \"group\": \"g\"") AND SRV("b", "") AND SRV("c", "")),
                                SERVERS(SRV("c", "") AND SRV("a", ", \"group\": \"g\"") AND SRV("b", "")));
    const char *order[] = {"c", "a", "b"};
    const size_t was[] = {2, 0, 1};
    assert_int_equal(c->n_servers, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c->servers[i].kind, SERVER_UNCHANGED); /* the new order */
        assert_string_equal(c->servers[i].after->name, order[i]);
        assert_ptr_equal(c->servers[i].before, &t.before.servers[was[i]]);
    }
    assert_int_equal(c->n_removed, 0);
    assert_int_equal(c->n_added, 0);
    assert_int_equal(c->n_changed, 0);
    assert_int_equal(c->n_groups, 0);
    done(&t);
}

static void test_group_changes(void **state)
{
    (void)state;
    two_configs t = {0};
    /* a moves from g1 to g2; b is disabled in g3; c (g2) is removed; d joins
     * g4; e's command changes in g5 (no group change); f leaves "" for g6. */
    config_changes *c = diff_of(
        &t,
        SERVERS(SRV("a", ", \"group\": \"g1\"") AND SRV("b", ", \"group\": \"g3\"") AND SRV("c", ", \"group\": \"g2\"")
                    AND SRV("e", ", \"group\": \"g5\"") AND SRV("f", "")),
        SERVERS(SRV("a", ", \"group\": \"g2\"") AND SRV("b", ", \"group\": \"g3\", \"enabled\": false")
                    AND SRV("d", ", \"group\": \"g4\"") AND
                "{\"name\": \"e\", \"command\": \"other\", \"group\": \"g5\"}" AND SRV("f", ", \"group\": \"g6\"")));
    /* removed first, then in the new order; each once; never "" */
    assert_groups(c, (const char *[]){"g2", "g1", "g3", "g4", "g6"}, 5);
    assert_int_equal(c->servers[0].fields, SERVER_FIELD_BIT(SERVER_FIELD_GROUP));
    assert_int_equal(c->servers[1].fields, SERVER_FIELD_BIT(SERVER_FIELD_ENABLED));
    assert_int_equal(c->servers[2].kind, SERVER_ADDED);
    assert_int_equal(c->servers[3].fields, SERVER_FIELD_BIT(SERVER_FIELD_COMMAND));
    assert_int_equal(c->servers[4].fields, SERVER_FIELD_BIT(SERVER_FIELD_GROUP));
    assert_int_equal(c->n_changed, 4);
    assert_int_equal(c->n_added, 1);
    assert_int_equal(c->n_removed, 1);
    done(&t);
}

static void test_settings(void **state)
{
    (void)state;
    two_configs t = {0};
    config_changes *c = diff_of(&t, "{}",
                                "{\"listen\": \"127.0.0.1:9\", \"api_key\": \"k\", \"allowed_origins\": [\"http://x\"],"
                                " \"auto_disable_threshold\": 7, \"websocket\": {\"ping_interval_ms\": 1000},"
                                " \"mcp\": {\"log_tool_arguments\": true}}");
    const char *want[] = {"listen", "api_key", "allowed_origins", "auto_disable_threshold", "websocket", "mcp"};
    assert_int_equal(c->n_settings, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(c->settings[i], want[i]);
    assert_int_equal(c->n_servers, 0);
    done(&t);

    c = diff_of(&t, "{\"upstream\": {\"stop_grace_ms\": 500}}", "{\"upstream\": {\"stop_grace_ms\": 500}}");
    assert_int_equal(c->n_settings, 0);
    done(&t);
    c = diff_of(&t, "{\"upstream\": {\"stop_grace_ms\": 500}}", "{}");
    assert_int_equal(c->n_settings, 1);
    assert_string_equal(c->settings[0], "upstream");
    done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged),
        cmocka_unit_test(test_added),
        cmocka_unit_test(test_removed),
        cmocka_unit_test(test_renamed_is_removed_and_added),
        cmocka_unit_test(test_each_field_changed),
        cmocka_unit_test(test_each_remote_field_changed),
        cmocka_unit_test(test_protocol_and_missing_strings),
        cmocka_unit_test(test_field_names_and_restart_set),
        cmocka_unit_test(test_several_fields),
        cmocka_unit_test(test_oauth_changes),
        cmocka_unit_test(test_order_changes_only),
        cmocka_unit_test(test_group_changes),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
