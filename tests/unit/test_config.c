/* test_config.c - defaults, strict parsing with positions, listen splitting,
 * server validation, JSON round trip and atomic save. */
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

static void check_ws_defaults(const ws_settings *ws)
{
    assert_int_equal(ws->ping_interval_ms, 54000);
    assert_int_equal(ws->pong_timeout_ms, 60000);
    assert_int_equal(ws->write_timeout_ms, 10000);
    assert_int_equal(ws->max_message_bytes, 524288);
    assert_int_equal(ws->send_queue, 256);
    assert_int_equal(ws->max_clients, 10000);
    assert_int_equal(ws->history, 4096);
}

static bool parse(const char *text, config *cfg, char err[CONFIG_ERR_LEN])
{
    err[0] = '\0';
    return config_parse(text, strlen(text), "test.json", cfg, err);
}

/* The error names `key` and its position, written either as "L:C" or as
 * "line L" ... "column C". The column may point at the opening quote or at
 * the key's first letter; both are honest. */
static void expect_error_at(const char *text, const char *key, int line, int col)
{
    config cfg;
    char err[CONFIG_ERR_LEN];
    bool ok = parse(text, &cfg, err);
    config_free(&cfg);
    if (ok)
        fail_msg("config with bad `%s` was accepted", key);
    if (!strstr(err, key))
        fail_msg("error does not name `%s`: %s", key, err);
    bool pos = false;
    for (int c = col; c <= col + 1 && !pos; c++) {
        char a[32], l[32], k[32];
        snprintf(a, sizeof a, "%d:%d", line, c);
        snprintf(l, sizeof l, "line %d", line);
        snprintf(k, sizeof k, "column %d", c);
        pos = strstr(err, a) || (strstr(err, l) && strstr(err, k));
    }
    if (!pos)
        fail_msg("error for `%s` lacks line %d column %d: %s", key, line, col, err);
}

static void expect_error(const char *text, const char *needle)
{
    config cfg;
    char err[CONFIG_ERR_LEN];
    bool ok = parse(text, &cfg, err);
    config_free(&cfg);
    if (ok)
        fail_msg("bad config accepted: %s", text);
    if (needle && !strstr(err, needle))
        fail_msg("error does not mention `%s`: %s", needle, err);
}

static void test_defaults(void **state)
{
    (void)state;
    config cfg;
    config_init_defaults(&cfg);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.api_key, "");
    assert_int_equal(cfg.n_allowed_origins, 0);
    assert_int_equal(cfg.auto_disable_threshold, 3);
    check_ws_defaults(&cfg.websocket);
    assert_int_equal(cfg.n_servers, 0);
    config_free(&cfg);
}

static void test_parse_empty_object_is_defaults(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{}", &cfg, err));
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    check_ws_defaults(&cfg.websocket);
    config_free(&cfg);
}

static const char *const full_doc =
    "{\n"
    "  \"listen\": \"127.0.0.1:9999\",\n"
    "  \"api_key\": \"k3y\",\n"
    "  \"allowed_origins\": [\"http://a.example\", \"http://b.example\"],\n"
    "  \"auto_disable_threshold\": 5,\n"
    "  \"websocket\": {\"ping_interval_ms\": 200, \"pong_timeout_ms\": 600,\n"
    "                \"write_timeout_ms\": 700, \"max_message_bytes\": 1024,\n"
    "                \"send_queue\": 16, \"max_clients\": 3, \"history\": 64},\n"
    "  \"mcpServers\": [\n"
    "    {\"name\": \"demo\", \"protocol\": \"stdio\", \"command\": \"build/mcp-demo-server\",\n"
    "     \"args\": [\"--x\", \"1\"], \"env\": {\"A\": \"1\", \"B\": \"two\"}, \"working_dir\": \"/tmp\",\n"
    "     \"enabled\": false, \"group\": \"g\"},\n"
    "    {\"name\": \"other.one_2-x\", \"command\": \"cat\"}\n"
    "  ]\n"
    "}\n";

static void test_parse_full(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    if (!parse(full_doc, &cfg, err))
        fail_msg("full config rejected: %s", err);
    assert_string_equal(cfg.listen, "127.0.0.1:9999");
    assert_string_equal(cfg.api_key, "k3y");
    assert_int_equal(cfg.n_allowed_origins, 2);
    assert_string_equal(cfg.allowed_origins[1], "http://b.example");
    assert_int_equal(cfg.auto_disable_threshold, 5);
    assert_int_equal(cfg.websocket.ping_interval_ms, 200);
    assert_int_equal(cfg.websocket.pong_timeout_ms, 600);
    assert_int_equal(cfg.websocket.write_timeout_ms, 700);
    assert_int_equal(cfg.websocket.max_message_bytes, 1024);
    assert_int_equal(cfg.websocket.send_queue, 16);
    assert_int_equal(cfg.websocket.max_clients, 3);
    assert_int_equal(cfg.websocket.history, 64);
    assert_int_equal(cfg.n_servers, 2);
    server_config *d = &cfg.servers[0];
    assert_string_equal(d->name, "demo");
    assert_string_equal(d->protocol, "stdio");
    assert_string_equal(d->command, "build/mcp-demo-server");
    assert_int_equal(d->n_args, 2);
    assert_string_equal(d->args[0], "--x");
    assert_string_equal(d->args[1], "1");
    assert_int_equal(d->n_env, 2);
    /* env order is not promised; find B */
    bool found_b = false;
    for (size_t i = 0; i < d->n_env; i++)
        if (!strcmp(d->env[i].name, "B"))
            found_b = !strcmp(d->env[i].value, "two");
    assert_true(found_b);
    assert_string_equal(d->working_dir, "/tmp");
    assert_false(d->enabled);
    assert_string_equal(d->group, "g");
    /* Defaults for a minimal server entry. */
    server_config *o = &cfg.servers[1];
    assert_string_equal(o->protocol, "stdio");
    assert_true(o->enabled);
    assert_string_equal(o->working_dir, "");
    assert_string_equal(o->group, "");
    assert_int_equal(o->n_args, 0);
    assert_ptr_equal(config_find_server(&cfg, "other.one_2-x"), o);
    assert_null(config_find_server(&cfg, "nope"));
    config_free(&cfg);
}

static void test_partial_websocket_keeps_defaults(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{\"websocket\": {\"ping_interval_ms\": 100}}", &cfg, err));
    assert_int_equal(cfg.websocket.ping_interval_ms, 100);
    assert_int_equal(cfg.websocket.pong_timeout_ms, 60000);
    assert_int_equal(cfg.websocket.history, 4096);
    config_free(&cfg);
}

static void test_unknown_key_top(void **state)
{
    (void)state;
    expect_error_at("{\n  \"listen\": \"127.0.0.1:1\",\n  \"bogus_key\": 1\n}\n", "bogus_key", 3, 3);
}

/* The store's settings: database (a path), routing (direct or search),
 * activity (retention and cut), with their defaults, range and errors. */
static void test_store_settings(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{}", &cfg, err));
    assert_string_equal(cfg.database, "");
    assert_string_equal(cfg.routing, "direct");
    assert_int_equal(cfg.activity.retention_days, 30);
    assert_int_equal(cfg.activity.max_rows, 100000);
    assert_int_equal(cfg.activity.max_argument_bytes, 4096);
    assert_true(cfg.quarantine.new_servers);
    assert_true(cfg.quarantine.changed_tools);
    config_free(&cfg);
    assert_true(parse("{\"quarantine\": {\"new_servers\": false}}", &cfg, err));
    assert_false(cfg.quarantine.new_servers);
    assert_true(cfg.quarantine.changed_tools);
    config_free(&cfg);
    assert_false(parse("{\"quarantine\": {\"new_servers\": 1}}", &cfg, err));
    assert_non_null(strstr(err, "quarantine.new_servers"));
    assert_true(parse("{\"database\": \"/var/lib/m.db\", \"routing\": \"search\", "
                      "\"activity\": {\"retention_days\": 7, \"max_rows\": 500, \"max_argument_bytes\": 0}}",
                      &cfg, err));
    assert_string_equal(cfg.database, "/var/lib/m.db");
    assert_string_equal(cfg.routing, "search");
    assert_int_equal(cfg.activity.retention_days, 7);
    assert_int_equal(cfg.activity.max_rows, 500);
    assert_int_equal(cfg.activity.max_argument_bytes, 0);
    config_free(&cfg);
    expect_error_at("{\n  \"routing\": \"fast\"\n}\n", "routing", 2, 3);
    assert_false(parse("{\"routing\": \"fast\"}", &cfg, err));
    assert_non_null(strstr(err, "\"direct\" or \"search\""));
    assert_false(parse("{\"activity\": {\"max_rows\": 5}}", &cfg, err));
    assert_non_null(strstr(err, "max_rows"));
    assert_false(parse("{\"activity\": {\"keep\": 5}}", &cfg, err));
    assert_non_null(strstr(err, "retention_days"));
}

static void test_unknown_key_websocket(void **state)
{
    (void)state;
    expect_error_at("{\n  \"websocket\": {\n    \"ping_interval_ms\": 50,\n    \"pingg\": 1\n  }\n}\n", "pingg", 4, 5);
}

static void test_unknown_key_server(void **state)
{
    (void)state;
    expect_error_at("{\"mcpServers\": [\n"
                    "  {\"name\": \"a\", \"command\": \"cat\"},\n"
                    "  {\"name\": \"b\", \"command\": \"cat\", \"comand\": \"x\"}\n"
                    "]}\n",
                    "comand", 3, 35);
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_error("{\"listen\": 8080}", "listen");
    expect_error("{\"websocket\": {\"send_queue\": \"256\"}}", "send_queue");
    expect_error("{\"websocket\": {\"send_queue\": -1}}", "send_queue");
    expect_error("{\"websocket\": {\"history\": 1.5}}", "history");
    expect_error("{\"websocket\": []}", "websocket");
    expect_error("{\"mcpServers\": 5}", "mcpServers");
    expect_error("{\"mcpServers\": {\"a\": 5}}", "mcpServers");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"enabled\": \"yes\"}]}", "enabled");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"args\": \"x\"}]}", "args");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"env\": {\"A\": 1}}]}", NULL);
    expect_error("{\"allowed_origins\": \"x\"}", "allowed_origins");
    expect_error("[]", NULL);
    expect_error("\"x\"", NULL);
}

static void test_history_at_least_send_queue(void **state)
{
    (void)state;
    expect_error("{\"websocket\": {\"send_queue\": 100, \"history\": 50}}", "history");
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{\"websocket\": {\"send_queue\": 50, \"history\": 50}}", &cfg, err));
    config_free(&cfg);
}

static void test_syntax_error_position(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_false(parse("{\n  \"listen\": \"x\",\n  oops\n}\n", &cfg, err));
    config_free(&cfg);
    /* jansson reports line 3; the message carries it and the origin. */
    assert_non_null(strstr(err, "3"));
    assert_non_null(strstr(err, "test.json"));
}

static void test_server_errors(void **state)
{
    (void)state;
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\"}, {\"name\": \"a\", \"command\": \"d\"}]}",
                 "a");
    expect_error("{\"mcpServers\": [{\"name\": \"bad name\", \"command\": \"c\"}]}", "bad name");
    expect_error("{\"mcpServers\": [{\"command\": \"c\"}]}", "name");
    expect_error("{\"mcpServers\": [{\"name\": \"a\"}]}", "command");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"protocol\": \"carrier-pigeon\"}]}",
                 "protocol");
}

static void test_server_validate(void **state)
{
    (void)state;
    char err[CONFIG_ERR_LEN];
    char *args[] = {"x"};
    server_config ok = {.name = "a-b_c.9",
                        .protocol = "stdio",
                        .command = "cat",
                        .args = args,
                        .n_args = 1,
                        .working_dir = "",
                        .enabled = true,
                        .group = ""};
    assert_true(config_server_validate(&ok, err));

    char name64[65], name65[66];
    memset(name64, 'n', 64);
    name64[64] = '\0';
    memset(name65, 'n', 65);
    name65[65] = '\0';
    server_config s = ok;
    s.name = name64;
    assert_true(config_server_validate(&s, err));
    s.name = name65;
    assert_false(config_server_validate(&s, err));
    s.name = "";
    assert_false(config_server_validate(&s, err));
    s.name = "sl/ash";
    assert_false(config_server_validate(&s, err));
    s.name = ".";
    assert_false(config_server_validate(&s, err));
    s.name = "..";
    assert_false(config_server_validate(&s, err));
    s.name = "a";
    s.group = "..";
    assert_false(config_server_validate(&s, err));
    s.group = "";
    s.name = "a";
    s.command = "";
    assert_false(config_server_validate(&s, err));
    s.command = "cat";
    s.protocol = "nope";
    assert_false(config_server_validate(&s, err));
}

/* Line and column (1-based) of the first `needle` in `text`. */
static void position_of(const char *text, const char *needle, int *line, int *col)
{
    const char *at = strstr(text, needle);
    assert_non_null(at);
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void test_name_rule(void **state)
{
    (void)state;
    char err[CONFIG_ERR_LEN];
    char name64[65], name65[66];
    memset(name64, 'n', 64);
    name64[64] = '\0';
    memset(name65, 'n', 65);
    name65[65] = '\0';
    const char *good[] = {"a", "my.server", "A-b_9", "x..y", ".hidden", "trailing.", "...", "-", name64};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!config_name_valid(good[i], "server name", err))
            fail_msg("good name \"%s\" refused: %s", good[i], err);
    const char *bad[] = {"", ".", "..", "a/b", "/", "a b", "%41", "a+b", "a?b", "a#b", "caf\xc3\xa9", "a\\b", name65};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (config_name_valid(bad[i], "group", err))
            fail_msg("bad name \"%s\" accepted", bad[i]);
        if (!strstr(err, CONFIG_NAME_RULE) || strncmp(err, "group ", 6) != 0)
            fail_msg("error for \"%s\" does not state the rule: %s", bad[i], err);
    }
}

/* A bad name in the file stops the load with the rule, the file, and the
 * line and column of the offending "name" or "group". */
static void test_bad_names_in_file(void **state)
{
    (void)state;
    const char *bad_names[] = {".", "..", "a/b", "a b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char text[256], pair[64];
        snprintf(pair, sizeof pair, "\"name\": \"%s\"", bad_names[i]);
        snprintf(
            text, sizeof text,
            "{\n  \"mcpServers\": [\n    {\"name\": \"ok\", \"command\": \"c\"},\n    {%s, \"command\": \"c\"}\n  ]\n}\n",
            pair);
        int line, col;
        position_of(text, pair, &line, &col);
        expect_error_at(text, CONFIG_NAME_RULE, line, col);
        expect_error(text, "test.json");
    }
    const char *bad_groups[] = {".", "..", "a/b", "%2e"};
    for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++) {
        char text[256], pair[64];
        snprintf(pair, sizeof pair, "\"group\": \"%s\"", bad_groups[i]);
        snprintf(text, sizeof text,
                 "{\n  \"mcpServers\": [\n    {\"name\": \"a\", \"command\": \"c\", \"group\": \"g.1\"},\n"
                 "    {\"name\": \"b\", \"command\": \"c\", %s}\n  ]\n}\n",
                 pair);
        int line, col;
        position_of(text, pair, &line, &col);
        expect_error_at(text, CONFIG_NAME_RULE, line, col);
        expect_error(text, "group");
    }
    /* The second of two equal names is the one named. */
    const char *dup =
        "{\"mcpServers\": [\n  {\"name\": \"a\", \"command\": \"c\"},\n  {\"name\": \"a\", \"command\": \"d\"}\n]}";
    expect_error_at(dup, "duplicate", 3, 4);
    /* An empty group is none: accepted. */
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"group\": \"\"}]}", &cfg, err));
    config_free(&cfg);
}

static void test_split_listen(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_true(config_split_listen("127.0.0.1:8080", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_true(config_split_listen("127.0.0.1:0", host, sizeof host, &port));
    assert_int_equal(port, 0);
    assert_true(config_split_listen("[::1]:8080", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_true(config_split_listen("localhost:65535", host, sizeof host, &port));
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 65535);

    assert_false(config_split_listen("127.0.0.1", host, sizeof host, &port));
    assert_false(config_split_listen("127.0.0.1:", host, sizeof host, &port));
    assert_false(config_split_listen("127.0.0.1:65536", host, sizeof host, &port));
    assert_false(config_split_listen("127.0.0.1:-1", host, sizeof host, &port));
    assert_false(config_split_listen("127.0.0.1:80x", host, sizeof host, &port));
    assert_false(config_split_listen("[::1:80", host, sizeof host, &port));
    assert_false(config_split_listen("", host, sizeof host, &port));
    /* A host that does not fit is refused, not truncated. */
    char small[4];
    assert_false(config_split_listen("localhost:80", small, sizeof small, &port));
}

static void test_listen_validated_on_parse(void **state)
{
    (void)state;
    expect_error("{\"listen\": \"nonsense\"}", "listen");
}

static void test_to_json_roundtrip(void **state)
{
    (void)state;
    config a, b;
    char err[CONFIG_ERR_LEN];
    assert_true(parse(full_doc, &a, err));
    json_t *ja = config_to_json(&a);
    assert_non_null(ja);
    /* The file shape: the same keys the parser accepts. */
    assert_non_null(json_object_get(ja, "websocket"));
    assert_true(json_is_array(json_object_get(ja, "mcpServers")));
    char *text = json_dumps(ja, JSON_INDENT(2));
    assert_true(parse(text, &b, err));
    json_t *jb = config_to_json(&b);
    assert_true(json_equal(ja, jb));
    assert_int_equal(b.websocket.send_queue, 16);
    assert_string_equal(b.servers[0].env[0].name, a.servers[0].env[0].name);
    json_decref(ja);
    json_decref(jb);
    free(text);
    config_free(&a);
    config_free(&b);
}

/* "cluster": absent = a single node (and not written back); present = the
 * defaults filled in, node required, names checked, written back whole. */
static void test_cluster_section(void **state)
{
    (void)state;
    config a, b;
    char err[CONFIG_ERR_LEN];
    assert_true(parse("{}", &a, err));
    assert_false(a.cluster.enabled);
    json_t *ja = config_to_json(&a);
    assert_null(json_object_get(ja, "cluster"));
    json_decref(ja);
    config_free(&a);

    assert_true(parse("{\"cluster\": {\"node\": \"n-1\", \"history\": 50}}", &a, err));
    assert_true(a.cluster.enabled);
    assert_string_equal(a.cluster.node, "n-1");
    assert_string_equal(a.cluster.nats_url, "nats://127.0.0.1:4222");
    assert_string_equal(a.cluster.stream, "MCPPROXY_EVENTS");
    assert_string_equal(a.cluster.credentials, "");
    assert_int_equal(a.cluster.history, 50);
    assert_int_equal(a.cluster.buffer, 10000);
    assert_int_equal(a.cluster.replicas, 1);
    assert_int_equal(a.cluster.heartbeat_ms, 1000);
    ja = config_to_json(&a);
    char *text = json_dumps(ja, JSON_INDENT(2));
    assert_true(parse(text, &b, err));
    json_t *jb = config_to_json(&b);
    assert_true(json_equal(ja, jb));
    assert_string_equal(b.cluster.node, "n-1");
    assert_int_equal(b.cluster.buffer, 10000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(jb, "cluster"), "heartbeat_ms")), 1000);
    json_decref(ja);
    json_decref(jb);
    free(text);
    config_free(&a);
    config_free(&b);

    expect_error("{\"cluster\": {}}", "cluster.node");
    expect_error("{\"cluster\": {\"node\": \"a.b\"}}", "cluster.node");
    expect_error("{\"cluster\": {\"node\": \"a\", \"stream\": \"x y\"}}", "cluster.stream");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"\"}}", "cluster.nats_url");
    expect_error("{\"cluster\": {\"node\": \"a\", \"history\": 0}}", "history");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nodes\": 1}}", "cluster.nodes");
    expect_error("{\"cluster\": {\"node\": \"a\", \"heartbeat_ms\": 49}}", "heartbeat_ms");
    expect_error("{\"cluster\": {\"node\": \"a\", \"heartbeat_ms\": 60001}}", "cluster.heartbeat_ms");
    config c;
    assert_true(parse("{\"cluster\": {\"node\": \"a\", \"heartbeat_ms\": 250}}", &c, err));
    assert_int_equal(c.cluster.heartbeat_ms, 250);
    config_free(&c);
    expect_error("{\"cluster\": []}", "cluster");
    expect_error("{\"cluster\": {\"node\": \"a\", \"buffer\": 0}}", "buffer");
    expect_error("{\"cluster\": {\"node\": \"a\", \"replicas\": 0}}", "replicas");
    expect_error("{\"cluster\": {\"node\": \"a\", \"replicas\": 6}}", "cluster.replicas");
    /* nats_url: refused at load, not retried for ever. */
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"http://h:4222\"}}", "cluster.nats_url");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"nats://h:99999\"}}", "cluster.nats_url");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"nats://h:42,\"}}", "cluster.nats_url");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"nats://:42\"}}", "cluster.nats_url");
    expect_error("{\"cluster\": {\"node\": \"a\", \"nats_url\": \"nats://h:x1\"}}", "cluster.nats_url");
    const char *good = "{\"cluster\": {\"node\": \"a\", \"buffer\": 3, \"replicas\": 3, \"nats_url\": "
                       "\"nats://u:p@127.0.0.1:4222, tls://h2:4223,h3\"}}";
    assert_true(parse(good, &a, err));
    assert_int_equal(a.cluster.buffer, 3);
    assert_int_equal(a.cluster.replicas, 3);
    config_free(&a);
}

static void test_server_copy(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_true(parse(full_doc, &cfg, err));
    server_config copy;
    server_config_copy(&copy, &cfg.servers[0]);
    assert_ptr_not_equal(copy.name, cfg.servers[0].name);
    assert_ptr_not_equal(copy.args, cfg.servers[0].args);
    config_free(&cfg); /* the copy must not depend on the original */
    assert_string_equal(copy.name, "demo");
    assert_string_equal(copy.args[1], "1");
    assert_int_equal(copy.n_env, 2);
    assert_string_equal(copy.group, "g");
    assert_false(copy.enabled);
    server_config_free(&copy);
}

static void test_save_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/mcpproxy-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/mcp_config.json", dir);

    config a, b;
    char err[CONFIG_ERR_LEN];
    assert_false(config_load_file(path, &b, err)); /* missing file is an error */
    config_free(&b);
    assert_true(parse(full_doc, &a, err));
    if (!config_save_file(&a, path, err))
        fail_msg("save failed: %s", err);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    if (!config_load_file(path, &b, err))
        fail_msg("reload failed: %s", err);
    json_t *ja = config_to_json(&a), *jb = config_to_json(&b);
    assert_true(json_equal(ja, jb));
    json_decref(ja);
    json_decref(jb);
    config_free(&b);

    /* Overwrite with a change; no temp file is left beside it. */
    a.websocket.max_clients = 7;
    assert_true(config_save_file(&a, path, err));
    assert_true(config_load_file(path, &b, err));
    assert_int_equal(b.websocket.max_clients, 7);
    config_free(&b);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);

    /* Saving into a missing directory fails and says why. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/dir/cfg.json", dir);
    err[0] = '\0';
    assert_false(config_save_file(&a, bad, err));
    assert_true(err[0] != '\0');

    config_free(&a);
    unlink(path);
    rmdir(dir);
}

static void test_load_file_error_names_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/mcpproxy-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\n  \"nope\": true\n}\n", f);
    fclose(f);
    config cfg;
    char err[CONFIG_ERR_LEN];
    assert_false(config_load_file(path, &cfg, err));
    config_free(&cfg);
    assert_non_null(strstr(err, "nope"));
    assert_non_null(strstr(err, path));
    unlink(path);
    rmdir(dir);
}

/* The bounds on what one upstream server can make mcpproxy hold: their
 * defaults, and values outside their ranges refused with the key's name. */
/* A remote server: exactly one of command and url, a protocol that fits,
 * an http(s) url, valid headers; its keys round-trip, and secrets (header
 * values) are masked like env values. */
static void test_remote_servers(void **state)
{
    (void)state;
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"url\": \"http://h/mcp\"}]}",
                 "exactly one of");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"ftp://h/mcp\"}]}", "http:// or https://");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"protocol\": \"stdio\"}]}", "url");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"protocol\": \"sse\"}]}", "needs a");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"headers\": {\"X\": 1}}]}", "headers");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"headers\": {\"Bad: name\": \"v\"}}]}",
                 "header");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"tls_skip_verify\": \"yes\"}]}",
                 "tls_skip_verify");

    const char *doc = "{\"mcpServers\": [{\"name\": \"r\", \"url\": \"https://example.org/mcp\", "
                      "\"headers\": {\"Authorization\": \"Bearer s3cret\"}, \"tls_skip_verify\": true},"
                      "{\"name\": \"h\", \"url\": \"http://127.0.0.1:1/mcp\", \"protocol\": \"http\"}]}";
    config a, b;
    char err[CONFIG_ERR_LEN];
    if (!parse(doc, &a, err))
        fail_msg("%s", err);
    assert_string_equal(a.servers[0].protocol, "auto"); /* the default with a url */
    assert_string_equal(a.servers[1].protocol, "http");
    assert_true(a.servers[0].tls_skip_verify);
    assert_int_equal(a.servers[0].n_headers, 1);
    json_t *masked = server_config_to_json(&a.servers[0], true);
    assert_string_equal(json_string_value(json_object_get(json_object_get(masked, "headers"), "Authorization")),
                        CONFIG_SECRET_MASK);
    assert_null(json_object_get(masked, "command"));
    json_decref(masked);
    json_t *ja = config_to_json(&a);
    char *text = json_dumps(ja, 0);
    if (!parse(text, &b, err))
        fail_msg("%s", err);
    json_t *jb = config_to_json(&b);
    assert_true(json_equal(ja, jb));
    assert_string_equal(b.servers[0].headers[0].value, "Bearer s3cret");
    server_config copy;
    server_config_copy(&copy, &b.servers[0]);
    assert_string_equal(copy.url, "https://example.org/mcp");
    assert_string_equal(copy.headers[0].name, "Authorization");
    assert_true(copy.tls_skip_verify);
    server_config_free(&copy);
    json_decref(ja);
    json_decref(jb);
    free(text);
    config_free(&a);
    config_free(&b);
}

/* A remote server's oauth object: every key optional, scopes an array of
 * scope names, the client secret masked like env values and kept through a
 * save; refused on a command server, with an unknown key or a bad scope. */
static void test_oauth_settings(void **state)
{
    (void)state;
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"command\": \"c\", \"oauth\": {}}]}", "\"oauth\" is for a");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"oauth\": []}]}", "\"oauth\" must be");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"oauth\": {\"client\": \"x\"}}]}",
                 "oauth.client");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"oauth\": {\"scopes\": [\"a b\"]}}]}",
                 "oauth.scopes");
    expect_error("{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"oauth\": {\"scopes\": \"a\"}}]}",
                 "scopes");
    expect_error(
        "{\"mcpServers\": [{\"name\": \"a\", \"url\": \"http://h\", \"oauth\": {\"redirect_uri\": \"myapp:/cb\"}}]}",
        "redirect_uri");

    const char *doc = "{\"mcpServers\": [{\"name\": \"r\", \"url\": \"https://example.org/mcp\", \"oauth\": "
                      "{\"client_id\": \"cid\", \"client_secret\": \"s3cret\", \"scopes\": [\"read\", \"write\"], "
                      "\"redirect_uri\": \"http://127.0.0.1:9/oauth/callback\"}},"
                      "{\"name\": \"e\", \"url\": \"https://example.org/mcp\", \"oauth\": {}},"
                      "{\"name\": \"n\", \"url\": \"https://example.org/mcp\"}]}";
    config a, b;
    char err[CONFIG_ERR_LEN];
    if (!parse(doc, &a, err))
        fail_msg("%s", err);
    const oauth_settings *o = &a.servers[0].oauth;
    assert_true(o->present);
    assert_string_equal(o->client_id, "cid");
    assert_string_equal(o->scopes, "read write");
    assert_true(a.servers[1].oauth.present);
    assert_null(a.servers[1].oauth.client_id);
    assert_false(a.servers[2].oauth.present);
    json_t *masked = server_config_to_json(&a.servers[0], true);
    json_t *mo = json_object_get(masked, "oauth");
    assert_string_equal(json_string_value(json_object_get(mo, "client_secret")), CONFIG_SECRET_MASK);
    assert_string_equal(json_string_value(json_object_get(mo, "client_id")), "cid");
    assert_string_equal(json_string_value(json_array_get(json_object_get(mo, "scopes"), 1)), "write");
    json_decref(masked);
    masked = server_config_to_json(&a.servers[2], true);
    assert_null(json_object_get(masked, "oauth"));
    json_decref(masked);
    json_t *ja = config_to_json(&a);
    char *text = json_dumps(ja, 0);
    if (!parse(text, &b, err))
        fail_msg("%s", err);
    json_t *jb = config_to_json(&b);
    assert_true(json_equal(ja, jb));
    assert_string_equal(b.servers[0].oauth.client_secret, "s3cret");
    server_config copy;
    server_config_copy(&copy, &b.servers[0]);
    assert_string_equal(copy.oauth.redirect_uri, "http://127.0.0.1:9/oauth/callback");
    assert_string_equal(copy.oauth.client_secret, "s3cret");
    server_config_free(&copy);
    json_decref(ja);
    json_decref(jb);
    free(text);
    config_free(&a);
    config_free(&b);
}

static void test_upstream_bounds(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_LEN];
    config_init_defaults(&cfg);
    assert_int_equal(cfg.upstream.max_queued_bytes, 8 * 1024 * 1024);
    assert_int_equal(cfg.upstream.max_tool_pages, 1000);
    assert_int_equal(cfg.upstream.max_tool_list_bytes, 32 * 1024 * 1024);
    assert_int_equal(cfg.upstream.max_tools, 10000);
    config_free(&cfg);
    assert_true(parse("{\"upstream\": {\"max_queued_bytes\": 65536, \"max_tool_pages\": 1,"
                      " \"max_tool_list_bytes\": 65536, \"max_tools\": 40000}}",
                      &cfg, err));
    assert_int_equal(cfg.upstream.max_queued_bytes, 65536);
    assert_int_equal(cfg.upstream.max_tool_pages, 1);
    assert_int_equal(cfg.upstream.max_tool_list_bytes, 65536);
    assert_int_equal(cfg.upstream.max_tools, 40000);
    config_free(&cfg);
    expect_error("{\"upstream\": {\"max_queued_bytes\": 65535}}", "upstream.max_queued_bytes");
    expect_error("{\"upstream\": {\"max_queued_bytes\": 1073741825}}", "upstream.max_queued_bytes");
    expect_error("{\"upstream\": {\"max_tool_pages\": 0}}", "upstream.max_tool_pages");
    expect_error("{\"upstream\": {\"max_tool_list_bytes\": 1000}}", "upstream.max_tool_list_bytes");
    expect_error("{\"upstream\": {\"max_tools\": 0}}", "upstream.max_tools");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_empty_object_is_defaults),
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_partial_websocket_keeps_defaults),
        cmocka_unit_test(test_unknown_key_top),
        cmocka_unit_test(test_unknown_key_websocket),
        cmocka_unit_test(test_unknown_key_server),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_history_at_least_send_queue),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_server_validate),
        cmocka_unit_test(test_name_rule),
        cmocka_unit_test(test_bad_names_in_file),
        cmocka_unit_test(test_split_listen),
        cmocka_unit_test(test_listen_validated_on_parse),
        cmocka_unit_test(test_to_json_roundtrip),
        cmocka_unit_test(test_cluster_section),
        cmocka_unit_test(test_server_copy),
        cmocka_unit_test(test_save_and_load),
        cmocka_unit_test(test_load_file_error_names_path),
        cmocka_unit_test(test_upstream_bounds),
        cmocka_unit_test(test_remote_servers),
        cmocka_unit_test(test_oauth_settings),
        cmocka_unit_test(test_store_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
