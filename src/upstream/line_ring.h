/* line_ring.h - the last N lines of a server's stderr.
 *
 * Kept per server (not per process) so the lines that explain a crash are
 * still there after the restart. Fixed capacity; the oldest line is
 * overwritten. A server may print any bytes: lines are stored as valid
 * UTF-8 (invalid bytes replaced by U+FFFD), so everything made from them
 * (the logs API, stderr_tail, last_error) can be carried in JSON. Pure code,
 * unit-tested. */
#ifndef MCPPROXY_UPSTREAM_LINE_RING_H
#define MCPPROXY_UPSTREAM_LINE_RING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_RING_DEFAULT_CAPACITY 1000
/* Longer stderr lines are cut to at most this many bytes (of the stored
 * UTF-8, on a character boundary): a log ring, not an archive. */
#define LINE_RING_MAX_LINE 4096

typedef struct line_ring {
    char **lines; /* capacity slots, owned, valid UTF-8; NULL when unused */
    size_t capacity;
    size_t start; /* index of the oldest line */
    size_t count;
    uint64_t total;     /* lines ever pushed: the newest is line number `total` */
    size_t partial_len; /* bytes of an unterminated line waiting in `partial` */
    /* owned, LINE_RING_MAX_LINE + 1 bytes: one byte past the cut, so the
     * cut can tell a character that straddles it from one that ends there */
    char *partial;
} line_ring;

void line_ring_init(line_ring *r, size_t capacity);
void line_ring_free(line_ring *r);

/* Adds one complete line of any bytes: copied with invalid bytes replaced,
 * then cut to LINE_RING_MAX_LINE. */
void line_ring_push(line_ring *r, const char *line, size_t len);

/* Feeds raw bytes: complete lines are pushed, the rest waits for more. */
void line_ring_feed(line_ring *r, const char *bytes, size_t len);

/* Pushes a waiting partial line, if any (at process exit). */
void line_ring_flush(line_ring *r);

/* The newest `n` lines (all when n is 0 or larger than count), oldest first,
 * as a new JSON array of strings. */
json_t *line_ring_tail_json(const line_ring *r, size_t n);

/* The newest `n` lines joined with '\n' into a new malloc'd string ("" when
 * empty). Caller frees. */
char *line_ring_tail_text(const line_ring *r, size_t n);

/* The newest line, or NULL. Borrowed. */
const char *line_ring_last(const line_ring *r);

/* The line that best explains a crash among the newest `n`: the newest
 * one that reads like an error ("Error", "error:", "Exception", "panic",
 * "fatal", "Traceback"), else the newest line; NULL when empty. A runtime's
 * own last words ("Node.js v20.1.0", a stack frame) say less than the error
 * above them. Borrowed. */
const char *line_ring_telling_line(const line_ring *r, size_t n);

/* The line `back` places before the newest (0 = the newest), or NULL when
 * the ring holds fewer. Borrowed. */
const char *line_ring_nth_newest(const line_ring *r, size_t back);

#endif
