/* deflate.c - one compressed copy of an event for every permessage-deflate
 * client (see deflate.h). */
#include "stream/deflate.h"

#include "core/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Level 6 (zlib's default): the work is done once per event, not once per
 * client, so the better ratio is worth it. memLevel 5 keeps the hash table
 * that deflateReset() clears before every event at 8 KiB (the default, 8,
 * would clear 64 KiB each time); events are small, so the ratio barely
 * moves. The window is the largest (15 bits): clients that asked for a
 * smaller one are refused the extension (ws.c). */
#define DEFLATE_LEVEL 6
#define DEFLATE_MEM_LEVEL 5

struct ws_deflater {
    z_stream z;
    unsigned char *out;
    size_t out_cap;
};

ws_deflater *ws_deflater_create(void)
{
    ws_deflater *d = xcalloc(1, sizeof *d);
    int rc = deflateInit2(&d->z, DEFLATE_LEVEL, Z_DEFLATED, -MAX_WBITS, DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        abort(); /* only Z_MEM_ERROR is possible with these constants: out of memory aborts */
    return d;
}

void ws_deflater_destroy(ws_deflater *d)
{
    if (!d)
        return;
    deflateEnd(&d->z);
    free(d->out);
    free(d);
}

unsigned char *ws_deflate_bytes(ws_deflater *d, const void *data, size_t len, size_t *out_len)
{
    /* Room for the worst case plus the sync flush's empty stored block. */
    size_t bound = deflateBound(&d->z, len) + 16;
    if (bound > d->out_cap) {
        free(d->out);
        d->out = xmalloc(bound);
        d->out_cap = bound;
    }
    deflateReset(&d->z);
    d->z.next_in = (unsigned char *)data;
    d->z.avail_in = (uInt)len;
    d->z.next_out = d->out;
    d->z.avail_out = (uInt)bound;
    int rc = deflate(&d->z, Z_SYNC_FLUSH);
    assert(rc == Z_OK && d->z.avail_in == 0 && d->z.avail_out > 0);
    (void)rc;
    size_t n = bound - d->z.avail_out;
    /* RFC 7692 7.2.1: a sync flush ends with 00 00 ff ff, which the sender
     * removes and the receiver appends again. */
    assert(n >= 4 && memcmp(d->out + n - 4, "\x00\x00\xff\xff", 4) == 0);
    n -= 4;
    if (n >= len)
        return NULL;
    unsigned char *copy = xmalloc(n);
    memcpy(copy, d->out, n);
    *out_len = n;
    return copy;
}

const unsigned char *ws_deflate_event(ws_deflater *d, event_msg *msg, size_t *len)
{
    if (!msg->encoded_tried) {
        msg->encoded_tried = true;
        if (msg->json_len >= WS_DEFLATE_MIN_BYTES)
            msg->encoded = ws_deflate_bytes(d, msg->json, msg->json_len, &msg->encoded_len);
    }
    *len = msg->encoded_len;
    return msg->encoded;
}
