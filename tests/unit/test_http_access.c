/* test_http_access.c - who may talk to mcpproxy (src/http/access.h): the API
 * key in each of its three places and its near misses, the Origin rule
 * (allowed_origins, the server itself, loopback origins), the Host rule on
 * and off loopback, the order the rules are applied in, and the two
 * loopback predicates. Against the real mcp_http library; the config is a
 * real one from config_init_defaults(). */
#include "core/util.h"
#include "http/access.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define KEY "k3y-a1b2c3d4e5f60718293a4b5c6d7e8f90"

/* A config with `key` ("" for none) and the given allowed_origins. */
static void make_config(config *cfg, const char *key, const char *const *origins, size_t n_origins)
{
    config_init_defaults(cfg);
    free(cfg->api_key);
    cfg->api_key = xstrdup(key);
    cfg->allowed_origins = xcalloc(n_origins + 1, sizeof(char *));
    for (size_t i = 0; i < n_origins; i++)
        cfg->allowed_origins[i] = xstrdup(origins[i]);
    cfg->n_allowed_origins = n_origins;
}

/* A protected GET from a non-browser client on loopback. */
static access_request protected_get(void)
{
    return (access_request){.host = "127.0.0.1:8080", .needs_key = true};
}

/* Runs access_check and checks that a refusal always says why. */
static int check(const config *cfg, bool on_loopback, const access_request *req)
{
    const char *why = NULL;
    int status = access_check(cfg, on_loopback, req, &why);
    if (status) {
        assert_non_null(why);
        assert_true(strlen(why) > 0);
    }
    return status;
}

/* ---- API key ------------------------------------------------------------ */

static void test_no_key_configured_lets_everything_through(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, "", NULL, 0);
    access_request r = protected_get();
    assert_int_equal(check(&cfg, true, &r), 0);
    r.api_key = "anything";
    assert_int_equal(check(&cfg, true, &r), 0);
    config_free(&cfg);
}

static void test_key_required_on_protected_paths_only(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    access_request r = protected_get();
    const char *why = NULL;
    assert_int_equal(access_check(&cfg, true, &r, &why), 401);
    assert_non_null(strstr(why, "API key"));
    /* /healthz and the dashboard: no key needed. */
    r.needs_key = false;
    assert_int_equal(check(&cfg, true, &r), 0);
    config_free(&cfg);
}

static void test_key_accepted_in_each_place(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    access_request r = protected_get();
    r.api_key = KEY;
    assert_int_equal(check(&cfg, true, &r), 0);

    r = protected_get();
    r.authorization = "Bearer " KEY;
    assert_int_equal(check(&cfg, true, &r), 0);
    r.authorization = "bearer " KEY; /* the scheme is case-insensitive */
    assert_int_equal(check(&cfg, true, &r), 0);
    r.authorization = "BEARER " KEY;
    assert_int_equal(check(&cfg, true, &r), 0);

    r = protected_get();
    r.query_key = KEY;
    assert_int_equal(check(&cfg, true, &r), 0);

    /* One right key is enough, whatever the other places hold. */
    r = protected_get();
    r.api_key = "wrong";
    r.authorization = "Bearer wrong";
    r.query_key = KEY;
    assert_int_equal(check(&cfg, true, &r), 0);
    config_free(&cfg);
}

static void test_key_near_misses_refused(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    static const char *const wrong_values[] = {
        "",                                     /* empty */
        "wrong",                                /* another key */
        "k3y-a1b2c3d4e5f60718293a4b5c6d7e8f9",  /* a prefix (one short) */
        KEY "0",                                /* one longer */
        "K3Y-A1B2C3D4E5F60718293A4B5C6D7E8F90", /* other case */
        " " KEY,                                /* padded */
        KEY " ",
    };
    for (size_t i = 0; i < sizeof wrong_values / sizeof wrong_values[0]; i++) {
        access_request r = protected_get();
        r.api_key = wrong_values[i];
        assert_int_equal(check(&cfg, true, &r), 401);
        r = protected_get();
        r.query_key = wrong_values[i];
        assert_int_equal(check(&cfg, true, &r), 401);
    }
    static const char *const wrong_authorization[] = {
        KEY,            /* no scheme */
        "Bearer",       /* scheme only */
        "Bearer ",      /* scheme, empty key */
        "Bearer  " KEY, /* two spaces: the key would start with one */
        "Bearer" KEY,   /* no space */
        "Basic " KEY,   /* another scheme */
        "Token " KEY,
        "Bearer " KEY "x",
        "Bearer wrong",
    };
    for (size_t i = 0; i < sizeof wrong_authorization / sizeof wrong_authorization[0]; i++) {
        access_request r = protected_get();
        r.authorization = wrong_authorization[i];
        assert_int_equal(check(&cfg, true, &r), 401);
    }
    config_free(&cfg);
}

/* ---- Origin -------------------------------------------------------------- */

static void test_foreign_origin_refused_on_state_changing_requests(void **state)
{
    (void)state;
    static const char *const allowed[] = {"https://dash.example"};
    config cfg;
    make_config(&cfg, "", allowed, 1);
    static const char *const foreign[] = {
        "https://evil.example",
        "null",                          /* sandboxed frames, file:// */
        "file://",                       /* no authority */
        "http://127.0.0.1.evil.example", /* loopback-looking prefix */
        "http://localhost.evil.example",
        "https://dash.example.evil", /* allowed origin as a prefix */
        "https://dash.example:8443", /* allowed origin, other port */
        "http://dash.example",       /* allowed origin, other scheme */
        "garbage",
    };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        access_request r = protected_get();
        r.origin = foreign[i];
        r.state_changing = true;
        const char *why = NULL;
        assert_int_equal(access_check(&cfg, true, &r, &why), 403);
        assert_non_null(strstr(why, "allowed_origins"));
        /* A GET that changes nothing is not subject to the Origin rule. */
        r.state_changing = false;
        assert_int_equal(check(&cfg, true, &r), 0);
    }
    config_free(&cfg);
}

static void test_allowed_self_and_loopback_origins_pass(void **state)
{
    (void)state;
    static const char *const allowed[] = {"https://dash.example", "http://other.example:3000"};
    config cfg;
    make_config(&cfg, "", allowed, 2);
    static const char *const ok[] = {
        "https://dash.example",      "HTTPS://DASH.EXAMPLE",  /* compared without case */
        "http://other.example:3000", "http://127.0.0.1:8080", /* the server itself */
        "http://localhost:5173",                              /* any loopback origin */
        "http://LOCALHOST:1",        "http://[::1]:3000",     "http://127.0.0.2",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        access_request r = protected_get();
        r.origin = ok[i];
        r.state_changing = true;
        assert_int_equal(check(&cfg, true, &r), 0);
    }
    /* No Origin at all: a non-browser client. */
    access_request r = protected_get();
    r.state_changing = true;
    assert_int_equal(check(&cfg, true, &r), 0);
    config_free(&cfg);
}

static void test_same_origin_beyond_loopback(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    /* Listening on 0.0.0.0: the dashboard at http://mybox.lan:8080 posts to
     * its own server. */
    access_request r = {.host = "mybox.lan:8080",
                        .origin = "http://mybox.lan:8080",
                        .api_key = KEY,
                        .state_changing = true,
                        .needs_key = true};
    assert_int_equal(check(&cfg, false, &r), 0);
    r.origin = "http://MyBox.LAN:8080";
    assert_int_equal(check(&cfg, false, &r), 0);
    /* Another port of the same host is another origin. */
    r.origin = "http://mybox.lan:9090";
    assert_int_equal(check(&cfg, false, &r), 403);
    r.origin = "http://evil.example";
    assert_int_equal(check(&cfg, false, &r), 403);
    config_free(&cfg);
}

/* ---- Host ---------------------------------------------------------------- */

static void test_host_rule_on_loopback(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, "", NULL, 0);
    static const char *const refused[] = {
        "evil.example:8080",
        "evil.example",
        "127.0.0.1.evil.example:8080",
        "localhost.evil.example",
        "192.168.1.10:8080",
        "0.0.0.0:8080",
        "128.0.0.1",
        "",
        "[::2]:8080",
        "127.0.0.256",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        access_request r = {.host = refused[i]};
        const char *why = NULL;
        assert_int_equal(access_check(&cfg, true, &r, &why), 421);
        assert_non_null(strstr(why, "Host"));
    }
    /* No Host header at all (HTTP/1.0): refused too. */
    access_request none = {0};
    assert_int_equal(check(&cfg, true, &none), 421);

    static const char *const accepted[] = {
        "127.0.0.1:8080", "127.0.0.1", "localhost:8080", "LOCALHOST", "[::1]:8080", "[::1]", "127.1.2.3:80",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        access_request r = {.host = accepted[i]};
        assert_int_equal(check(&cfg, true, &r), 0);
    }
    config_free(&cfg);
}

static void test_host_rule_off_loopback(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    /* Beyond loopback other names are expected; the key guards the API. */
    access_request r = {.host = "mybox.lan:8080", .needs_key = true, .api_key = KEY};
    assert_int_equal(check(&cfg, false, &r), 0);
    r.host = NULL;
    assert_int_equal(check(&cfg, false, &r), 0);
    r.api_key = NULL;
    assert_int_equal(check(&cfg, false, &r), 401);
    config_free(&cfg);
}

static void test_rules_apply_host_then_origin_then_key(void **state)
{
    (void)state;
    config cfg;
    make_config(&cfg, KEY, NULL, 0);
    /* Everything wrong: the Host rule speaks first. */
    access_request r = {
        .host = "evil.example", .origin = "https://evil.example", .state_changing = true, .needs_key = true};
    assert_int_equal(check(&cfg, true, &r), 421);
    /* Host fixed: the Origin rule, and a valid key does not excuse it. */
    r.host = "127.0.0.1:8080";
    assert_int_equal(check(&cfg, true, &r), 403);
    r.api_key = KEY;
    assert_int_equal(check(&cfg, true, &r), 403);
    /* Origin fixed: the key. */
    r.origin = "http://127.0.0.1:8080";
    r.api_key = NULL;
    assert_int_equal(check(&cfg, true, &r), 401);
    r.api_key = KEY;
    assert_int_equal(check(&cfg, true, &r), 0);
    config_free(&cfg);
}

/* ---- the loopback predicates --------------------------------------------- */

static void test_is_loopback_host(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "localhost",       "LocalHost",    "localhost:8080", "127.0.0.1",  "127.0.0.1:0",
        "127.255.255.255", "127.0.0.2:80", "[::1]",          "[::1]:8080",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!access_is_loopback_host(yes[i]))
            fail_msg("%s should be loopback", yes[i]);
    }
    static const char *const no[] = {
        "",
        "example.com",
        "localhost.example",
        "localhostx",
        "127.0.0.1.example",
        "127.0.0.1x",
        "127.0.0",
        "127.0.0.256",
        "126.0.0.1",
        "128.0.0.1",
        "0.0.0.0",
        "10.0.0.1",
        "[::2]",
        "[::]",
        "::1x",
        /* What a lenient parser (sscanf %u, a cut at the first ':') let
         * through: signs, wrap-around, spaces, a missing ']', junk after
         * the host, ports that are not ports, leading zeros. */
        "127.0.0.-4294967295",
        "4294967423.0.0.1",
        " 127.0.0.1",
        "+127.0.0.1",
        "127.0.0.+1",
        "[::1",
        "[::1]x",
        "localhost:evil",
        "127.0.0.1:99999",
        "127.0.0.1:",
        "localhost:80:80",
        "127.00.0.1",
        "0127.0.0.1",
        "127.0.0.1 ",
        "127..0.1",
        "[::1]:",
        "localhost\t",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (access_is_loopback_host(no[i]))
            fail_msg("%s should not be loopback", no[i]);
    }
}

static void test_listen_is_loopback(void **state)
{
    (void)state;
    static const char *const yes[] = {"127.0.0.1:8080", "127.0.0.1:0", "localhost:0",
                                      "LOCALHOST:80",   "[::1]:8080",  "127.9.9.9:1"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!access_listen_is_loopback(yes[i]))
            fail_msg("listen %s should be loopback", yes[i]);
    }
    static const char *const no[] = {"0.0.0.0:8080", "[::]:8080", "192.168.1.2:80", "mybox.lan:80", "127.0.0.1",
                                     "localhost",    ":8080",     "garbage",        "[::1]",        ""};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (access_listen_is_loopback(no[i]))
            fail_msg("listen %s should not be loopback", no[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_key_configured_lets_everything_through),
        cmocka_unit_test(test_key_required_on_protected_paths_only),
        cmocka_unit_test(test_key_accepted_in_each_place),
        cmocka_unit_test(test_key_near_misses_refused),
        cmocka_unit_test(test_foreign_origin_refused_on_state_changing_requests),
        cmocka_unit_test(test_allowed_self_and_loopback_origins_pass),
        cmocka_unit_test(test_same_origin_beyond_loopback),
        cmocka_unit_test(test_host_rule_on_loopback),
        cmocka_unit_test(test_host_rule_off_loopback),
        cmocka_unit_test(test_rules_apply_host_then_origin_then_key),
        cmocka_unit_test(test_is_loopback_host),
        cmocka_unit_test(test_listen_is_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
