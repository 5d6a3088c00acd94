/* json_write.h - the compact JSON text of a jansson value, appended to a
 * strbuf: the same bytes as json_dumps(v, JSON_COMPACT), without what every
 * jansson dump costs besides the text.
 *
 * Why: jansson 2.14 checks each dump for reference cycles by printing every
 * object's and array's address with snprintf into a hash table made for
 * that dump (an allocation per table and per container, freed at the end).
 * On the /mcp tool call path, which dumps four small trees per call, that
 * was a third of the proxy's own instructions (callgrind; see
 * docs/BENCHMARKS.md). Values handed to json_write are trees (parsed, or
 * built here), so there is no cycle to look for.
 *
 * Strings must be valid UTF-8, as jansson's constructors make them (bytes
 * from outside arrive through json_string_lossy); object keys are written
 * with their length, so a key holding NUL is kept. Reals are formatted by
 * jansson itself (rare on these paths). */
#ifndef MCPPROXY_CORE_JSON_WRITE_H
#define MCPPROXY_CORE_JSON_WRITE_H

#include "core/util.h"

#include <jansson.h>

/* Appends the text of `v` (borrowed) to `sb`. */
void json_write(strbuf *sb, const json_t *v);

/* A JSON string of `len` bytes of valid UTF-8 `s`, quoted and escaped as
 * json_write writes strings; an integer as it writes integers. For text
 * built without a tree (events). */
void json_write_str(strbuf *sb, const char *s, size_t len);
void json_write_int(strbuf *sb, json_int_t v);

/* The text of `v` as a new NUL-terminated string (free() it); *len gets
 * its length when len is not NULL. */
char *json_write_string(const json_t *v, size_t *len);

#endif
