/* test_oauth_parse.c - the pure parts of OAuth (src/oauth/oauth_parse.c,
 * compiled in directly): Bearer challenges as servers write them, the
 * well-known metadata URLs of RFC 9728 / RFC 8414 / OpenID Connect, PKCE
 * S256 (expected values from Python's hashlib), form encoding and the
 * resource check. */
#include "oauth/oauth_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expect_param(const char *header, const char *name, const char *want)
{
    char *got = oauth_challenge_param(header, name);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_challenge(void **state)
{
    (void)state;
    /* As the MCP TypeScript SDK's requireBearerAuth writes it. */
    const char *sdk = "Bearer error=\"invalid_token\", error_description=\"Missing Authorization header\", "
                      "resource_metadata=\"http://localhost:3000/.well-known/oauth-protected-resource/mcp\"";
    assert_true(oauth_challenge_is_bearer(sdk));
    expect_param(sdk, "resource_metadata", "http://localhost:3000/.well-known/oauth-protected-resource/mcp");
    expect_param(sdk, "error", "invalid_token");
    expect_param(sdk, "scope", NULL);
    /* Case-insensitive names, tokens unquoted, escapes in quoted strings. */
    expect_param("bearer Scope=\"a b\", realm=x", "scope", "a b");
    expect_param("Bearer realm=x", "REALM", "x");
    expect_param("Bearer error_description=\"say \\\"no\\\"\"", "error_description", "say \"no\"");
    /* Another scheme first, then Bearer; a Basic challenge alone is not one. */
    expect_param("Basic realm=\"r\", Bearer resource_metadata=\"https://a/m\"", "resource_metadata", "https://a/m");
    assert_false(oauth_challenge_is_bearer("Basic realm=\"r\""));
    expect_param("Basic realm=\"r\"", "realm", NULL);
    /* The parameters of a later challenge are not Bearer's. */
    expect_param("Bearer realm=a, Basic scope=b", "scope", NULL);
    assert_true(oauth_challenge_is_bearer("Bearer"));
    expect_param(NULL, "scope", NULL);
}

static void test_metadata_urls(void **state)
{
    (void)state;
    char *u[3] = {0};
    assert_int_equal(oauth_resource_metadata_urls("https://mcp.example.com/public/mcp/", u), 2);
    assert_string_equal(u[0], "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp");
    assert_string_equal(u[1], "https://mcp.example.com/.well-known/oauth-protected-resource");
    free(u[0]), free(u[1]);
    assert_int_equal(oauth_resource_metadata_urls("http://127.0.0.1:9/", u), 1);
    assert_string_equal(u[0], "http://127.0.0.1:9/.well-known/oauth-protected-resource");
    free(u[0]);
    assert_int_equal(oauth_resource_metadata_urls("not a url", u), 0);

    assert_int_equal(oauth_server_metadata_urls("https://auth.example.com/tenant1", u), 3);
    assert_string_equal(u[0], "https://auth.example.com/.well-known/oauth-authorization-server/tenant1");
    assert_string_equal(u[1], "https://auth.example.com/.well-known/openid-configuration/tenant1");
    assert_string_equal(u[2], "https://auth.example.com/tenant1/.well-known/openid-configuration");
    free(u[0]), free(u[1]), free(u[2]);
    assert_int_equal(oauth_server_metadata_urls("http://localhost:3001/", u), 2);
    assert_string_equal(u[0], "http://localhost:3001/.well-known/oauth-authorization-server");
    assert_string_equal(u[1], "http://localhost:3001/.well-known/openid-configuration");
    free(u[0]), free(u[1]);
}

static void test_pkce(void **state)
{
    (void)state;
    char challenge[44];
    /* base64url(sha256(v)) without padding, from Python's hashlib. */
    oauth_pkce_challenge("dBjftJeZ4CVP-mJ92K9qO6jsZ8-MWD4tDKJJa5dDr8c", challenge);
    assert_string_equal(challenge, "X7krVzK5udoHf4eaMhTaTdcZFk_0rgKpx4M-dQKWfDI");
    char v1[44], c1[44], v2[44], c2[44];
    oauth_pkce(v1, c1);
    oauth_pkce(v2, c2);
    assert_int_equal(strlen(v1), 43);
    assert_int_equal(strlen(c1), 43);
    assert_string_not_equal(v1, v2);
    for (const char *p = v1; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    char again[44];
    oauth_pkce_challenge(v1, again);
    assert_string_equal(again, c1);
}

static void test_form_and_resource(void **state)
{
    (void)state;
    strbuf sb = {0};
    oauth_form_add(&sb, "redirect_uri", "http://127.0.0.1:8080/oauth/callback");
    oauth_form_add(&sb, "scope", "a b&c");
    assert_string_equal(sb.data, "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fcallback&scope=a%20b%26c");
    strbuf_free(&sb);

    assert_true(oauth_resource_matches("http://localhost:3000/mcp", "http://localhost:3000/mcp"));
    assert_true(oauth_resource_matches("http://localhost:3000/", "http://localhost:3000/mcp"));
    assert_true(oauth_resource_matches("https://a.example/api", "https://a.example/api/mcp"));
    assert_false(oauth_resource_matches("https://a.example/ap", "https://a.example/api/mcp"));
    assert_false(oauth_resource_matches("https://evil.example/mcp", "https://a.example/mcp"));
    assert_false(oauth_resource_matches("http://localhost:3001/mcp", "http://localhost:3000/mcp"));
    assert_false(oauth_resource_matches("http://a.example/mcp", "https://a.example/mcp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_metadata_urls),
        cmocka_unit_test(test_pkce),
        cmocka_unit_test(test_form_and_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
