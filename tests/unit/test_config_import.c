/* test_config_import.c - another tool's servers added to a config
 * (config_import): the forms of Claude Desktop, Cursor and VS Code files,
 * what is skipped and why, paths made absolute, the well-known paths. */
#include "config/import.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool import(config *cfg, const char *text, config_import_report *rep, char err[CONFIG_ERR_LEN])
{
    err[0] = '\0';
    return config_import(cfg, text, strlen(text), "src.json", "/src/dir", rep, err);
}

static const config_import_entry *entry(const config_import_report *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_entries; i++)
        if (strcmp(rep->entries[i].name, name) == 0)
            return &rep->entries[i];
    fail_msg("no report entry for %s", name);
    return NULL;
}

static void expect_skipped(const config_import_report *rep, const char *name, const char *why)
{
    const config_import_entry *e = entry(rep, name);
    assert_false(e->added);
    if (!e->why || !strstr(e->why, why))
        fail_msg("%s skipped for \"%s\", not for \"%s\"", name, e->why ? e->why : "(no reason)", why);
}

static void test_claude_and_duplicates(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    const char *ours = "{\"mcpServers\": [{\"name\": \"mine\", \"command\": \"m\"}]}";
    if (!config_parse(ours, strlen(ours), "our.json", &cfg, err))
        fail_msg("%s", err);
    config_import_report rep;
    const char *claude = "{\"mcpServers\": {\"fs\": {\"command\": \"npx\", \"args\": [\"-y\", \"fs\"]},"
                         " \"mine\": {\"command\": \"other\"}, \"bad name\": {\"command\": \"x\"}},"
                         " \"globalShortcut\": \"Ctrl+Space\"}";
    if (!import(&cfg, claude, &rep, err))
        fail_msg("%s", err);
    assert_int_equal(rep.n_entries, 3);
    assert_int_equal(rep.n_added, 1);
    assert_true(entry(&rep, "fs")->added);
    expect_skipped(&rep, "mine", "in the config already");
    expect_skipped(&rep, "bad name", "server name");
    /* Added after ours, with our defaults; ours untouched. */
    assert_int_equal(cfg.n_servers, 2);
    assert_string_equal(cfg.servers[0].command, "m");
    assert_string_equal(cfg.servers[1].name, "fs");
    assert_string_equal(cfg.servers[1].command, "npx");
    assert_string_equal(cfg.servers[1].args[1], "fs"); /* not a file in /src/dir: left as is */
    assert_true(cfg.servers[1].enabled);
    config_import_report_free(&rep);

    /* Importing the same file again adds nothing. */
    if (!import(&cfg, claude, &rep, err))
        fail_msg("%s", err);
    assert_int_equal(rep.n_added, 0);
    expect_skipped(&rep, "fs", "in the config already");
    assert_int_equal(cfg.n_servers, 2);
    config_import_report_free(&rep);
    config_free(&cfg);
}

static void test_vscode_entries(void **state)
{
    (void)state;
    config cfg;
    config_init_defaults(&cfg);
    char err[CONFIG_ERR_LEN];
    config_import_report rep;
    const char *vscode = "{\"inputs\": [{\"id\": \"tok\", \"type\": \"promptString\"}], \"servers\": {"
                         "\"a\": {\"type\": \"stdio\", \"command\": \"./bin/a\", \"dev\": {\"watch\": \"x\"}},"
                         "\"b\": {\"type\": \"stdio\", \"command\": \"b\", \"env\": {\"T\": \"${input:tok}\"}},"
                         "\"c\": {\"type\": \"sse\", \"command\": \"c\"},"
                         "\"d\": {\"command\": \"d\", \"envFile\": \".env\"},"
                         "\"e\": 5}}";
    if (!import(&cfg, vscode, &rep, err))
        fail_msg("%s", err);
    assert_int_equal(rep.n_added, 1);
    assert_true(entry(&rep, "a")->added);
    assert_non_null(strstr(entry(&rep, "a")->why, "dev"));
    expect_skipped(&rep, "b", "${...}");
    expect_skipped(&rep, "c", "needs a \"url\"");
    expect_skipped(&rep, "d", "envFile");
    expect_skipped(&rep, "e", "not an object");
    /* A relative command meant the directory of the file read. */
    assert_string_equal(cfg.servers[0].command, "/src/dir/bin/a");
    assert_string_equal(cfg.servers[0].protocol, "stdio");
    config_import_report_free(&rep);
    config_free(&cfg);
}

static void test_array_form_and_errors(void **state)
{
    (void)state;
    config cfg;
    config_init_defaults(&cfg);
    char err[CONFIG_ERR_LEN];
    config_import_report rep;
    /* Another mcpproxy's file: its array, its own keys (group, enabled). */
    assert_true(import(&cfg,
                       "{\"mcpServers\": [{\"name\": \"x\", \"command\": \"/x\", \"group\": \"g\", \"enabled\": "
                       "false}, {\"command\": \"noname\"}, {\"name\": \"x\", \"command\": \"/y\"}]}",
                       &rep, err));
    assert_int_equal(rep.n_added, 1);
    assert_string_equal(cfg.servers[0].group, "g");
    assert_false(cfg.servers[0].enabled);
    expect_skipped(&rep, "#2", "no \"name\"");
    assert_false(rep.entries[2].added); /* the second "x" */
    config_import_report_free(&rep);

    /* Nothing to import is an error, and changes nothing. */
    assert_false(import(&cfg, "{\"other\": 1}", &rep, err));
    assert_non_null(strstr(err, "no \"mcpServers\" or \"servers\""));
    assert_false(import(&cfg, "{\"mcpServers\": 5}", &rep, err));
    assert_false(import(&cfg, "{nope", &rep, err));
    assert_non_null(strstr(err, "src.json:1:"));
    assert_int_equal(rep.n_entries, 0);
    assert_int_equal(cfg.n_servers, 1);
    config_free(&cfg);
}

static void test_jsonc(void **state)
{
    (void)state;
    config cfg;
    config_init_defaults(&cfg);
    char err[CONFIG_ERR_LEN];
    config_import_report rep;
    /* VS Code's files may hold comments and trailing commas; a // or a
     * comma inside a string is data. */
    const char *vscode = "{\n"
                         "  // my servers\n"
                         "  \"servers\": {\n"
                         "    /* the one */ \"a\": {\"command\": \"/x\", \"args\": [\"http://h/p\", \"a,]\",],},\n"
                         "  },\n"
                         "}\n";
    if (!import(&cfg, vscode, &rep, err))
        fail_msg("%s", err);
    assert_int_equal(rep.n_added, 1);
    assert_string_equal(cfg.servers[0].args[0], "http://h/p");
    assert_string_equal(cfg.servers[0].args[1], "a,]");
    config_import_report_free(&rep);
    /* A syntax error still has its line and column in the file. */
    assert_false(import(&cfg, "{\n  // c\n  \"servers\": {\n    \"b\" 1\n  }\n}\n", &rep, err));
    if (!strstr(err, "src.json:4:"))
        fail_msg("position lost: %s", err);
    config_free(&cfg);
}

static void test_known_paths(void **state)
{
    (void)state;
    config_import_tool t;
    assert_false(config_import_tool_parse("emacs", &t));
    struct {
        const char *tool;
        bool macos;
        const char *xdg;
        const char *want;
    } cases[] = {
        {"claude", false, NULL, "/h/.config/Claude/claude_desktop_config.json"},
        {"claude", false, "/x", "/x/Claude/claude_desktop_config.json"},
        {"claude", false, "rel", "/h/.config/Claude/claude_desktop_config.json"},
        {"claude", true, "/x", "/h/Library/Application Support/Claude/claude_desktop_config.json"},
        {"cursor", false, "/x", "/h/.cursor/mcp.json"},
        {"cursor", true, NULL, "/h/.cursor/mcp.json"},
        {"vscode", false, NULL, "/h/.config/Code/User/mcp.json"},
        {"vscode", true, NULL, "/h/Library/Application Support/Code/User/mcp.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(config_import_tool_parse(cases[i].tool, &t));
        char *p = config_import_known_path(t, cases[i].macos, "/h", cases[i].xdg);
        assert_string_equal(p, cases[i].want);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claude_and_duplicates), cmocka_unit_test(test_vscode_entries),
        cmocka_unit_test(test_array_form_and_errors), cmocka_unit_test(test_jsonc),
        cmocka_unit_test(test_known_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
