/* deflate.h - permessage-deflate (RFC 7692) without a per-client cost.
 *
 * A server message compressed on its own (a fresh raw deflate stream, sync
 * flushed, its 00 00 ff ff tail cut) refers to nothing sent before it, so
 * every client that negotiated the extension can inflate the same bytes,
 * whether or not it agreed to context takeover. An event is therefore
 * compressed once, on the first such client that needs it, and the bytes are
 * kept on the event (event_msg.encoded) for all the others. One compressor,
 * reset between events, serves the whole process. */
#ifndef MCPPROXY_STREAM_DEFLATE_H
#define MCPPROXY_STREAM_DEFLATE_H

#include "core/event.h"

#include <stdbool.h>
#include <stddef.h>

/* Events shorter than this go uncompressed: the frame would barely shrink. */
#define WS_DEFLATE_MIN_BYTES 128

typedef struct ws_deflater ws_deflater;

ws_deflater *ws_deflater_create(void);
void ws_deflater_destroy(ws_deflater *d);

/* The event's JSON as one compressed message payload (borrowed from msg,
 * valid while the caller holds its reference): made on the first call and
 * kept on msg. NULL when the event is below WS_DEFLATE_MIN_BYTES or would
 * not shrink; send it uncompressed then. */
const unsigned char *ws_deflate_event(ws_deflater *d, event_msg *msg, size_t *len);

/* Compresses `len` bytes into a new message payload (xmalloc'd, *out_len
 * bytes), or returns NULL when it would not shrink. For tests and events. */
unsigned char *ws_deflate_bytes(ws_deflater *d, const void *data, size_t len, size_t *out_len);

#endif
