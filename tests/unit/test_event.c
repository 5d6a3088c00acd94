/* test_event.c - event types, filter masks and the one-time JSON form.
 *
 * The JSON shape tests parse what event_msg_create() wrote back with jansson
 * and check every field against docs/PROTOCOL.md, for every one of the 17
 * types. Running under ASan proves the last unref frees the one allocation. */
#include "core/event.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const wire_names[EVENT_TYPE_COUNT] = {
    "server_state_changed",  "server_config_changed",  "server_auto_disabled", "server_group_updated",
    "state_change",          "config_change",          "app_state_changed",    "tools_updated",
    "tool_called",           "connection_established", "connection_lost",      "server_log",
    "server_login_failed",   "server_quarantined",     "tool_changed",         "server_approved",
    "cluster_state_changed",
};

static const char *const ts = "2026-11-28T01:02:03.456789Z";

static void test_type_names(void **state)
{
    (void)state;
    assert_int_equal(EVENT_TYPE_COUNT, 17);
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        assert_non_null(event_type_name((event_type)t));
        assert_string_equal(event_type_name((event_type)t), wire_names[t]);
    }
}

static void test_type_parse_roundtrip(void **state)
{
    (void)state;
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        event_type out = EVENT_TYPE_COUNT;
        assert_true(event_type_parse(wire_names[t], strlen(wire_names[t]), &out));
        assert_int_equal(out, t);
    }
}

static void test_type_parse_respects_len(void **state)
{
    (void)state;
    event_type out;
    /* A name inside a longer buffer: only `len` bytes count. */
    const char *csv = "tool_called,tools_updated";
    assert_true(event_type_parse(csv, strlen("tool_called"), &out));
    assert_int_equal(out, EVENT_TOOL_CALLED);
    /* A prefix of a valid name is not that name. */
    assert_false(event_type_parse("tool_call", strlen("tool_call"), &out));
    assert_false(event_type_parse("tool_calledx", strlen("tool_calledx"), &out));
}

static void test_type_parse_unknown(void **state)
{
    (void)state;
    event_type out;
    assert_false(event_type_parse("", 0, &out));
    assert_false(event_type_parse("nope", 4, &out));
    assert_false(event_type_parse("ServerStateChanged", strlen("ServerStateChanged"), &out));
    assert_false(event_type_parse("SERVER_STATE_CHANGED", strlen("SERVER_STATE_CHANGED"), &out));
    assert_false(event_type_parse("hello", 5, &out));
}

static void test_filter_mask_aliases(void **state)
{
    (void)state;
    const event_type_mask bit_ssc = 1u << EVENT_SERVER_STATE_CHANGED;
    const event_type_mask bit_sc = 1u << EVENT_STATE_CHANGE;
    const event_type_mask bit_scc = 1u << EVENT_SERVER_CONFIG_CHANGED;
    const event_type_mask bit_cc = 1u << EVENT_CONFIG_CHANGE;

    /* Canonical selects itself and its legacy alias. */
    assert_int_equal(event_type_filter_mask(EVENT_SERVER_STATE_CHANGED), bit_ssc | bit_sc);
    assert_int_equal(event_type_filter_mask(EVENT_SERVER_CONFIG_CHANGED), bit_scc | bit_cc);
    /* A legacy name selects only itself. */
    assert_int_equal(event_type_filter_mask(EVENT_STATE_CHANGE), bit_sc);
    assert_int_equal(event_type_filter_mask(EVENT_CONFIG_CHANGE), bit_cc);
    /* Every other type is alone. */
    const event_type lone[] = {EVENT_SERVER_AUTO_DISABLED, EVENT_SERVER_GROUP_UPDATED, EVENT_APP_STATE_CHANGED,
                               EVENT_TOOLS_UPDATED,        EVENT_TOOL_CALLED,          EVENT_CONNECTION_ESTABLISHED,
                               EVENT_CONNECTION_LOST,      EVENT_SERVER_LOG,           EVENT_SERVER_LOGIN_FAILED,
                               EVENT_SERVER_QUARANTINED,   EVENT_TOOL_CHANGED,         EVENT_SERVER_APPROVED,
                               EVENT_CLUSTER_STATE_CHANGED};
    for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++)
        assert_int_equal(event_type_filter_mask(lone[i]), 1u << lone[i]);
    assert_int_equal(EVENT_MASK_ALL, 0x1ffffu);
}

static void test_mask_parse(void **state)
{
    (void)state;
    char err[128];
    event_type_mask m = 0;

    assert_true(event_type_mask_parse("tool_called", &m, err, sizeof err));
    assert_int_equal(m, 1u << EVENT_TOOL_CALLED);

    assert_true(event_type_mask_parse("tool_called,connection_lost", &m, err, sizeof err));
    assert_int_equal(m, (1u << EVENT_TOOL_CALLED) | (1u << EVENT_CONNECTION_LOST));

    /* Aliases expand like event_type_filter_mask. */
    assert_true(event_type_mask_parse("server_state_changed", &m, err, sizeof err));
    assert_int_equal(m, (1u << EVENT_SERVER_STATE_CHANGED) | (1u << EVENT_STATE_CHANGE));
    assert_true(event_type_mask_parse("state_change", &m, err, sizeof err));
    assert_int_equal(m, 1u << EVENT_STATE_CHANGE);

    /* All 13 at once. */
    char all[512] = "";
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        if (t)
            strcat(all, ",");
        strcat(all, wire_names[t]);
    }
    assert_true(event_type_mask_parse(all, &m, err, sizeof err));
    assert_int_equal(m, EVENT_MASK_ALL);
}

static void test_mask_parse_errors_name_entry(void **state)
{
    (void)state;
    char err[128];
    event_type_mask m = 0;

    err[0] = '\0';
    assert_false(event_type_mask_parse("tool_called,bogus_type", &m, err, sizeof err));
    assert_non_null(strstr(err, "bogus_type"));

    err[0] = '\0';
    assert_false(event_type_mask_parse("nonsense", &m, err, sizeof err));
    assert_non_null(strstr(err, "nonsense"));

    /* A tiny error buffer must not overflow (ASan would catch it). */
    char tiny[4];
    assert_false(event_type_mask_parse("a_very_long_unknown_type_name", &m, tiny, sizeof tiny));
    assert_true(memchr(tiny, '\0', sizeof tiny) != NULL);
}

/* --- JSON shape ---------------------------------------------------------- */

static json_t *parse_msg(const event_msg *msg)
{
    assert_non_null(msg);
    assert_non_null(msg->json);
    /* The text is NUL-terminated and json_len long. */
    assert_int_equal(strlen((const char *)msg->json), msg->json_len);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)msg->json, msg->json_len, 0, &jerr);
    if (!root)
        fail_msg("event JSON does not parse: %s: %s", jerr.text, (const char *)msg->json);
    assert_true(json_is_object(root));
    return root;
}

static void check_common(json_t *root, uint64_t seq, event_type type)
{
    json_t *jseq = json_object_get(root, "seq");
    assert_true(json_is_integer(jseq));
    assert_int_equal(json_integer_value(jseq), seq);
    assert_string_equal(json_string_value(json_object_get(root, "type")), wire_names[type]);
    assert_string_equal(json_string_value(json_object_get(root, "timestamp")), ts);
    assert_true(json_is_object(json_object_get(root, "data")));
}

static void test_json_shape_every_type(void **state)
{
    (void)state;
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        json_t *data = json_pack("{s:i, s:s}", "n", t, "what", "x");
        event_fields f = {.type = (event_type)t,
                          .server_name = "github",
                          .old_state = "Connecting",
                          .new_state = "Ready",
                          .data = data};
        event_msg *msg = event_msg_create((uint64_t)t + 1, &f, ts);
        assert_non_null(msg);
        assert_int_equal(msg->refs, 1);
        assert_int_equal(msg->type, t);
        assert_int_equal(msg->seq, (uint64_t)t + 1);
        assert_non_null(msg->server_name);
        assert_string_equal(msg->server_name, "github");
        /* The name is copied into the message, not borrowed. */
        assert_ptr_not_equal(msg->server_name, f.server_name);
        /* Headroom for the WebSocket frame header sits in front of the text. */
        assert_ptr_equal(msg->json, msg->storage + EVENT_HEADROOM);

        json_t *root = parse_msg(msg);
        check_common(root, (uint64_t)t + 1, (event_type)t);
        assert_string_equal(json_string_value(json_object_get(root, "server_name")), "github");
        assert_string_equal(json_string_value(json_object_get(root, "old_state")), "Connecting");
        assert_string_equal(json_string_value(json_object_get(root, "new_state")), "Ready");
        assert_true(json_equal(json_object_get(root, "data"), data));
        /* Nothing beyond the documented fields. */
        assert_int_equal(json_object_size(root), 7);
        json_decref(root);
        event_msg_unref(msg);
        /* data was borrowed: still ours to free (ASan flags a double free
         * if event_msg_create stole it). */
        assert_int_equal(data->refcount, 1);
        json_decref(data);
    }
}

static void test_json_minimal_fields(void **state)
{
    (void)state;
    event_fields f = {.type = EVENT_APP_STATE_CHANGED};
    event_msg *msg = event_msg_create(7, &f, ts);
    assert_null(msg->server_name);
    json_t *root = parse_msg(msg);
    check_common(root, 7, EVENT_APP_STATE_CHANGED);
    /* NULL data is {}; absent optional fields are absent, not null. */
    assert_int_equal(json_object_size(json_object_get(root, "data")), 0);
    assert_null(json_object_get(root, "server_name"));
    assert_null(json_object_get(root, "old_state"));
    assert_null(json_object_get(root, "new_state"));
    assert_int_equal(json_object_size(root), 4);
    json_decref(root);
    event_msg_unref(msg);
}

static void test_json_escaping(void **state)
{
    (void)state;
    /* Names and data with characters that need escaping survive a round trip. */
    const char *weird = "we\"ird\\name\n\t\x01 \xc3\xa9";
    json_t *data = json_pack("{s:s}", "last_error", "quote\" backslash\\ nl\n");
    event_fields f = {.type = EVENT_SERVER_STATE_CHANGED,
                      .server_name = weird,
                      .old_state = "Ready",
                      .new_state = "Error",
                      .data = data};
    event_msg *msg = event_msg_create(1, &f, ts);
    json_t *root = parse_msg(msg);
    assert_string_equal(json_string_value(json_object_get(root, "server_name")), weird);
    assert_string_equal(msg->server_name, weird);
    assert_true(json_equal(json_object_get(root, "data"), data));
    json_decref(root);
    event_msg_unref(msg);
    json_decref(data);
}

static void test_json_large_seq(void **state)
{
    (void)state;
    /* seq is a 64-bit counter; the wire must carry it exactly. jansson's
     * json_int_t is long long, so stay at INT64_MAX. */
    event_fields f = {.type = EVENT_TOOL_CALLED};
    uint64_t big = (uint64_t)INT64_MAX;
    event_msg *msg = event_msg_create(big, &f, ts);
    assert_non_null(strstr((const char *)msg->json, "9223372036854775807"));
    json_t *root = parse_msg(msg);
    assert_int_equal(json_integer_value(json_object_get(root, "seq")), INT64_MAX);
    json_decref(root);
    event_msg_unref(msg);
}

static void test_json_large_data(void **state)
{
    (void)state;
    /* A big payload (bigger than any fixed scratch buffer) serializes whole. */
    size_t n = 200000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    json_t *data = json_pack("{s:s}", "blob", big);
    event_fields f = {.type = EVENT_TOOLS_UPDATED, .server_name = "s", .data = data};
    event_msg *msg = event_msg_create(3, &f, ts);
    assert_true(msg->json_len > n);
    json_t *root = parse_msg(msg);
    assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(root, "data"), "blob"))), n);
    json_decref(root);
    event_msg_unref(msg);
    json_decref(data);
    free(big);
}

static void test_refcount(void **state)
{
    (void)state;
    event_fields f = {.type = EVENT_TOOL_CALLED, .server_name = "a"};
    event_msg *msg = event_msg_create(1, &f, ts);
    assert_int_equal(msg->refs, 1);
    assert_ptr_equal(event_msg_ref(msg), msg);
    assert_ptr_equal(event_msg_ref(msg), msg);
    assert_int_equal(msg->refs, 3);
    event_msg_unref(msg);
    event_msg_unref(msg);
    assert_int_equal(msg->refs, 1);
    /* The text is still readable while one reference remains. */
    assert_true(msg->json_len > 0);
    event_msg_unref(msg); /* frees; ASan reports a leak otherwise */
    event_msg_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_type_parse_roundtrip),
        cmocka_unit_test(test_type_parse_respects_len),
        cmocka_unit_test(test_type_parse_unknown),
        cmocka_unit_test(test_filter_mask_aliases),
        cmocka_unit_test(test_mask_parse),
        cmocka_unit_test(test_mask_parse_errors_name_entry),
        cmocka_unit_test(test_json_shape_every_type),
        cmocka_unit_test(test_json_minimal_fields),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_large_seq),
        cmocka_unit_test(test_json_large_data),
        cmocka_unit_test(test_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
