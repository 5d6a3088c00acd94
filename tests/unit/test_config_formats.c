/* test_config_formats.c - the server lists other tools write: an object
 * keyed by name (Claude Desktop, Cursor), VS Code's "servers", "type" read
 * as "protocol", the keys of those files mcpproxy refuses (with what to do),
 * and saves that keep the form the file was read in. */
#include "config/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool parse(const char *text, config *cfg, char err[CONFIG_ERR_LEN])
{
    err[0] = '\0';
    return config_parse(text, strlen(text), "test.json", cfg, err);
}

static void expect_error(const char *text, const char *needle)
{
    config cfg;
    char err[CONFIG_ERR_LEN];
    bool ok = parse(text, &cfg, err);
    config_free(&cfg);
    if (ok)
        fail_msg("bad config accepted: %s", text);
    if (!strstr(err, needle))
        fail_msg("error does not mention `%s`: %s", needle, err);
}

static const char claude_doc[] = "{\n"
                                 "  \"mcpServers\": {\n"
                                 "    \"filesystem\": {\n"
                                 "      \"command\": \"npx\",\n"
                                 "      \"args\": [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/tmp\"]\n"
                                 "    },\n"
                                 "    \"github\": {\"command\": \"gh-mcp\", \"env\": {\"TOKEN\": \"t\"}}\n"
                                 "  }\n"
                                 "}\n";

static void test_object_keyed_by_name(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    if (!parse(claude_doc, &cfg, err))
        fail_msg("%s", err);
    assert_int_equal(cfg.n_servers, 2);
    /* In the file's order, named by their keys, with our defaults. */
    assert_string_equal(cfg.servers[0].name, "filesystem");
    assert_string_equal(cfg.servers[0].command, "npx");
    assert_int_equal(cfg.servers[0].n_args, 3);
    assert_string_equal(cfg.servers[0].protocol, "stdio");
    assert_true(cfg.servers[0].enabled);
    assert_string_equal(cfg.servers[1].name, "github");
    assert_string_equal(cfg.servers[1].env[0].value, "t");
    assert_true(cfg.servers_form.by_name);
    assert_false(cfg.servers_form.vscode_key);
    config_free(&cfg);
}

static void test_vscode_servers_and_type(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    const char *doc = "{\"servers\": {\"mem\": {\"type\": \"stdio\", \"command\": \"mem-server\"}}}";
    if (!parse(doc, &cfg, err))
        fail_msg("%s", err);
    assert_int_equal(cfg.n_servers, 1);
    assert_string_equal(cfg.servers[0].name, "mem");
    assert_string_equal(cfg.servers[0].protocol, "stdio");
    assert_true(cfg.servers_form.by_name);
    assert_true(cfg.servers_form.vscode_key);
    config_free(&cfg);
    /* "type" is "protocol": VS Code's remote server parses as one, and
     * what mcpproxy does not speak is refused, naming it. */
    const char *remote = "{\"servers\": {\"r\": {\"type\": \"http\", \"url\": \"https://h/mcp\"}}}";
    if (!parse(remote, &cfg, err))
        fail_msg("%s", err);
    assert_string_equal(cfg.servers[0].protocol, "http");
    assert_string_equal(cfg.servers[0].url, "https://h/mcp");
    config_free(&cfg);
    expect_error("{\"servers\": {\"r\": {\"type\": \"websocket\", \"url\": \"https://h\"}}}",
                 "protocol \"websocket\" is not supported");
    expect_error("{\"servers\": {\"r\": {\"type\": \"http\", \"command\": \"x\"}}}", "needs a \"url\"");
    expect_error(
        "{\"mcpServers\": [{\"name\": \"a\", \"type\": \"stdio\", \"protocol\": \"stdio\", \"command\": \"c\"}]}",
        "not both");
}

static void test_foreign_keys_refused_with_a_way_forward(void **state)
{
    (void)state;
    expect_error("{\"inputs\": [], \"servers\": {}}", "put the values in each server's \"env\"");
    expect_error("{\"servers\": {\"a\": {\"command\": \"c\", \"envFile\": \".env\"}}}",
                 "copy its variables into \"env\"");
    expect_error("{\"servers\": {\"a\": {\"command\": \"c\", \"dev\": {}}}}", "\"dev\"");
    expect_error("{\"mcpServers\": {\"a\": {\"command\": \"c\", \"cwd\": \"/\"}}}", "working_dir");
    expect_error("{\"mcpServers\": [], \"servers\": []}", "not both");
    /* Claude Desktop's own settings: the way to its servers is import. */
    expect_error("{\"globalShortcut\": \"Ctrl+Space\", \"mcpServers\": {}}", "mcpproxy import FILE");
    /* A "name" inside an object keyed by name may only repeat the key. */
    expect_error("{\"mcpServers\": {\"a\": {\"name\": \"b\", \"command\": \"c\"}}}", "differs from its key");
    /* Keys are names: the name rule holds, and the message says where. */
    expect_error("{\"mcpServers\": {\"a b\": {\"command\": \"c\"}}}", "\"mcpServers\".\"a b\"");
    expect_error("{\"mcpServers\": {\"a\": {}}}", "give exactly one of \"command\"");
}

static void test_error_position_in_object_form(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    const char *doc =
        "{\n  \"mcpServers\": {\n    \"ok\": {\"command\": \"c\"},\n    \"bad\": {\"args\": []}\n  }\n}\n";
    assert_false(parse(doc, &cfg, err));
    config_free(&cfg);
    if (!strstr(err, "test.json:4:5"))
        fail_msg("error not at the server's key: %s", err);
}

/* Saved as read: the same form, the same key; and what is saved parses to
 * the same servers. */
static void expect_roundtrip(const char *doc, bool by_name, const char *list_key)
{
    config a, b;
    char err[CONFIG_ERR_LEN];
    if (!parse(doc, &a, err))
        fail_msg("%s", err);
    json_t *saved = config_to_json(&a);
    json_t *list = json_object_get(saved, list_key);
    assert_non_null(list);
    assert_null(json_object_get(saved, strcmp(list_key, "servers") == 0 ? "mcpServers" : "servers"));
    assert_true(by_name ? json_is_object(list) : json_is_array(list));
    if (by_name) /* the key names it; no "name" repeated inside */
        assert_null(json_object_get(json_object_iter_value(json_object_iter(list)), "name"));
    char *text = json_dumps(saved, JSON_INDENT(2));
    if (!parse(text, &b, err))
        fail_msg("saved text does not parse: %s\n%s", err, text);
    json_t *sa = config_servers_to_json(&a), *sb = config_servers_to_json(&b);
    assert_true(json_equal(sa, sb));
    assert_int_equal(a.servers_form.by_name, b.servers_form.by_name);
    assert_int_equal(a.servers_form.vscode_key, b.servers_form.vscode_key);
    json_decref(sa);
    json_decref(sb);
    json_decref(saved);
    free(text);
    config_free(&a);
    config_free(&b);
}

static void test_saved_in_the_form_read(void **state)
{
    (void)state;
    expect_roundtrip(claude_doc, true, "mcpServers");
    expect_roundtrip("{\"servers\": {\"mem\": {\"type\": \"stdio\", \"command\": \"m\"}}}", true, "servers");
    expect_roundtrip("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\"}]}", false, "mcpServers");
    expect_roundtrip("{}", false, "mcpServers");
    /* A server added to an object-form config (as the API does) is saved
     * under its name too. */
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse(claude_doc, &cfg, err));
    cfg.servers = realloc(cfg.servers, (cfg.n_servers + 1) * sizeof *cfg.servers);
    server_config added = {.name = "new", .protocol = "stdio", .command = "n", .working_dir = "", .group = ""};
    server_config_copy(&cfg.servers[cfg.n_servers++], &added);
    json_t *saved = config_to_json(&cfg);
    json_t *entry = json_object_get(json_object_get(saved, "mcpServers"), "new");
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(entry, "command")), "n");
    json_decref(saved);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_keyed_by_name),
        cmocka_unit_test(test_vscode_servers_and_type),
        cmocka_unit_test(test_foreign_keys_refused_with_a_way_forward),
        cmocka_unit_test(test_error_position_in_object_form),
        cmocka_unit_test(test_saved_in_the_form_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
