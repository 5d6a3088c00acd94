/* json_scan.h - one JSON text checked, and its top-level object's members
 * found as byte spans, without building a tree.
 *
 * Why: on the /mcp tool call path the upstream's answer is passed on to the
 * client unchanged, so parsing it into a jansson tree only to write the
 * same value out again was the largest part of the proxy's own cost
 * (callgrind; see docs/BENCHMARKS.md). The scanner checks the text and
 * says where each member's value lies, so the value's bytes can be spliced
 * into the client's answer as they are.
 *
 * What the scanner accepts, json_loadb(text, len, JSON_DECODE_ANY) accepts
 * too (the fuzzer fuzz_json_scan checks this). It is stricter where jansson
 * refuses on grounds beyond the grammar or where the bytes would be costly
 * to prove, so a caller falls back to jansson for whatever is refused here:
 * - strings must be valid UTF-8 (no overlong forms, surrogates or code
 *   points past U+10FFFF), without control characters, and a \u escape may
 *   not be \u0000 or a surrogate that is not part of a pair;
 * - an integer has at most 18 digits, and a number with a fraction or an
 *   exponent must stay well inside a double's range (digits before the
 *   point plus the exponent at most 300; an exponent has at most 4 digits);
 * - nesting is at most JSON_SCAN_MAX_DEPTH deep. */
#ifndef MCPPROXY_CORE_JSON_SCAN_H
#define MCPPROXY_CORE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_SCAN_MAX_DEPTH 512

/* One member of the top-level object. `key` points at the key's bytes
 * between its quotes, escapes not decoded (`key_escaped` says a backslash
 * is among them, so the bytes are not the key's text); `value` and
 * `value_len` give the value's bytes, without surrounding whitespace. */
typedef struct json_member {
    const char *key;
    size_t key_len;
    bool key_escaped;
    const char *value;
    size_t value_len;
} json_member;

/* Whether text[0..len) is one JSON value, with optional whitespace around
 * it, by the rules above. */
bool json_scan_valid(const char *text, size_t len);

/* Whether text[0..len) is one JSON object by the same rules. When it is,
 * the first `max` of its members are stored into out[] in order and *n
 * gets the number of members (which may be more than max). */
bool json_scan_object(const char *text, size_t len, json_member *out, size_t max, size_t *n);

/* The member of members[0..n) (all of them stored: n no more than the
 * scan's max) whose key is exactly `key` (a key with
 * escapes never matches). NULL when there is none, or when `key` appears
 * more than once or an escaped key might spell it (*ambiguous is set then,
 * when ambiguous is not NULL: a tree parse must decide). */
const json_member *json_member_find(const json_member *members, size_t n, const char *key, bool *ambiguous);

/* Whether the value bytes v[0..len) (as json_scan_object found them) are
 * the integer literal of an int64 (no fraction or exponent); *out gets it. */
bool json_span_int64(const char *v, size_t len, int64_t *out);

#endif
