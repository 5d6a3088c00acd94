/* test_ws_deflate.c - one compressed copy per event (src/stream/deflate.c):
 * the payload inflates back to the JSON with zlib once the RFC 7692 tail is
 * appended, carries no tail of its own, refers to nothing before it (so one
 * copy serves every client), is made once and kept on the event, and is not
 * made for small or incompressible events. */
#include "stream/deflate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

static event_msg *make(const char *blob)
{
    json_t *data = json_pack("{s:s}", "blob", blob);
    event_fields f = {.type = EVENT_TOOL_CALLED, .server_name = "s", .data = data};
    event_msg *m = event_msg_create(7, &f, "2026-11-28T01:02:03.456789Z");
    json_decref(data);
    return m;
}

/* Inflates one message as a client does (RFC 7692 7.2.2): on the stream
 * `z` (kept across messages when `z` already holds earlier ones). */
static size_t inflate_message(z_stream *z, const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
    unsigned char *buf = malloc(len + 4);
    memcpy(buf, in, len);
    memcpy(buf + len, "\x00\x00\xff\xff", 4);
    z->next_in = buf;
    z->avail_in = (uInt)(len + 4);
    z->next_out = out;
    z->avail_out = (uInt)cap;
    int rc = inflate(z, Z_SYNC_FLUSH);
    assert_true(rc == Z_OK || rc == Z_BUF_ERROR);
    assert_int_equal(z->avail_in, 0);
    free(buf);
    return cap - z->avail_out;
}

static void test_round_trip_on_one_client_stream(void **state)
{
    (void)state;
    ws_deflater *d = ws_deflater_create();
    char blob[3000];
    memset(blob, 'x', sizeof blob - 1);
    blob[sizeof blob - 1] = '\0';
    event_msg *a = make(blob);
    event_msg *b = make("a different event, long enough to be compressed: 0123456789 0123456789 0123456789 "
                        "0123456789 0123456789 0123456789 0123456789");
    size_t alen, blen;
    const unsigned char *az = ws_deflate_event(d, a, &alen);
    const unsigned char *bz = ws_deflate_event(d, b, &blen);
    assert_non_null(az);
    assert_non_null(bz);
    assert_true(alen < a->json_len / 10);
    assert_true(blen < b->json_len);
    assert_false(alen >= 4 && memcmp(az + alen - 4, "\x00\x00\xff\xff", 4) == 0);

    /* One client keeps its inflater across messages (context takeover
     * agreed), another starts fresh for each: both read the same bytes. */
    z_stream kept = {0};
    assert_int_equal(inflateInit2(&kept, -MAX_WBITS), Z_OK);
    unsigned char out[8192];
    size_t n = inflate_message(&kept, az, alen, out, sizeof out);
    assert_int_equal(n, a->json_len);
    assert_memory_equal(out, a->json, n);
    n = inflate_message(&kept, bz, blen, out, sizeof out);
    assert_int_equal(n, b->json_len);
    assert_memory_equal(out, b->json, n);
    inflateEnd(&kept);

    z_stream fresh = {0};
    assert_int_equal(inflateInit2(&fresh, -MAX_WBITS), Z_OK);
    n = inflate_message(&fresh, bz, blen, out, sizeof out);
    assert_int_equal(n, b->json_len);
    assert_memory_equal(out, b->json, n);
    inflateEnd(&fresh);

    event_msg_unref(a); /* the copy is freed with the event (the leak checker says so) */
    event_msg_unref(b);
    ws_deflater_destroy(d);
}

static void test_made_once_and_kept(void **state)
{
    (void)state;
    ws_deflater *d = ws_deflater_create();
    char blob[600];
    memset(blob, 'y', sizeof blob - 1);
    blob[sizeof blob - 1] = '\0';
    event_msg *m = make(blob);
    size_t len1, len2;
    const unsigned char *z1 = ws_deflate_event(d, m, &len1);
    const unsigned char *z2 = ws_deflate_event(d, m, &len2);
    assert_non_null(z1);
    assert_ptr_equal(z1, z2);
    assert_int_equal(len1, len2);
    assert_ptr_equal(m->encoded, z1);
    event_msg_unref(m);
    ws_deflater_destroy(d);
}

static void test_small_and_incompressible_go_plain(void **state)
{
    (void)state;
    ws_deflater *d = ws_deflater_create();
    event_msg *small = make("tiny");
    assert_true(small->json_len < WS_DEFLATE_MIN_BYTES);
    size_t len = 99;
    assert_null(ws_deflate_event(d, small, &len));
    assert_int_equal(len, 0);
    assert_true(small->encoded_tried);

    /* Random bytes do not shrink. */
    unsigned char noise[512];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 24);
    }
    size_t out_len = 0;
    assert_null(ws_deflate_bytes(d, noise, sizeof noise, &out_len));
    event_msg_unref(small);
    ws_deflater_destroy(d);
    ws_deflater_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_on_one_client_stream),
        cmocka_unit_test(test_made_once_and_kept),
        cmocka_unit_test(test_small_and_incompressible_go_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
