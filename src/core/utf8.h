/* utf8.h - bytes from outside (an upstream's stderr, its error messages, a
 * child's exit text) made into valid UTF-8, so JSON can carry them.
 *
 * jansson refuses invalid UTF-8 (json_string() returns NULL), and a refused
 * string would vanish from events, the API and the log. Every byte string
 * from outside goes through json_string_lossy() instead. Bytes that do not
 * form a valid character become U+FFFD the way browsers' decoder (WHATWG)
 * does it: one U+FFFD for each byte that cannot start a character, and one
 * for the longest start of a character that is cut short. */
#ifndef MCPPROXY_CORE_UTF8_H
#define MCPPROXY_CORE_UTF8_H

#include "core/util.h"

#include <jansson.h>
#include <stddef.h>

/* Appends bytes[0..len) to out, invalid bytes replaced by U+FFFD. */
void utf8_append_lossy(strbuf *out, const char *bytes, size_t len);

/* A JSON string of bytes[0..len), invalid bytes replaced. New reference;
 * never NULL. */
json_t *json_string_lossy(const char *bytes, size_t len);

/* The longest prefix of s[0..len) of at most `max` bytes that does not end
 * inside a multi-byte character. Meant for valid UTF-8; on invalid input it
 * shortens the cut by at most three bytes, and only for a lead byte whose
 * character would reach past `max`. */
size_t utf8_prefix_len(const char *s, size_t len, size_t max);

/* Copies at most out_len-1 bytes of s into out, cut on a character boundary
 * and NUL-terminated, as snprintf("%s") would but never mid-character.
 * Returns out. */
char *utf8_copy(char *out, size_t out_len, const char *s);

#endif
