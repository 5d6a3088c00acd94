// realtime_deflate.test.mjs - permessage-deflate (RFC 7692): negotiated with
// clients that offer it, each event compressed once and the same bytes sent
// to every such client, compressed client messages read (and bounded).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { startProxy, connectReady } from './harness.mjs';
import { publish, makeEvents } from './realtime_helpers.mjs';

let proxy;
before(async () => { proxy = await startProxy({ config: { websocket: { max_message_bytes: 8192 } } }); });
after(async () => { if (proxy) await proxy.stop(); });

/**
 * A WebSocket client on a bare TCP socket, so the test sees the frames as
 * they are on the wire (RSV1 and payload bytes). `offer` is the
 * Sec-WebSocket-Extensions header sent, if any.
 */
function rawClient(urlPath, offer) {
  const { hostname, port } = new URL(proxy.url);
  const sock = net.connect(Number(port), hostname);
  let buf = Buffer.alloc(0);
  let response = null;
  const frames = [];
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!response) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      response = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
    }
    for (;;) { // server frames: unmasked
      if (buf.length < 2) break;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) break;
      frames.push({ fin: !!(buf[0] & 0x80), rsv1: !!(buf[0] & 0x40), opcode: buf[0] & 0x0f, payload: Buffer.from(buf.subarray(off, off + len)) });
      buf = buf.subarray(off + len);
    }
    wake();
  });
  sock.on('close', wake);
  const headers = [
    `GET ${urlPath} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...(offer ? [`Sec-WebSocket-Extensions: ${offer}`] : []),
  ];
  sock.write(headers.join('\r\n') + '\r\n\r\n');
  const until = async (pred, what, ms = 10000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline || sock.destroyed) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 200); });
    }
  };
  return {
    frames,
    get response() { return response; },
    /** The next frame (in order), waiting for it. */
    async next(ms) {
      await until(() => frames.length > 0, 'a frame', ms);
      return frames.shift();
    },
    close() { sock.destroy(); },
  };
}

/** A frame's text: inflated when RSV1 says it is compressed (RFC 7692 7.2.2). */
function text(frame) {
  if (!frame.rsv1) return frame.payload.toString('utf8');
  // The message is a sync-flushed raw deflate stream, not a finished one.
  const tail = Buffer.from([0, 0, 0xff, 0xff]);
  return zlib.inflateRawSync(Buffer.concat([frame.payload, tail]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
}

const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits'; // what Chrome and Firefox send

test('a browser-like offer gets permessage-deflate; large events arrive compressed, the same bytes for every client', async () => {
  const a = rawClient('/ws/events', BROWSER_OFFER);
  const b = rawClient('/ws/events', BROWSER_OFFER);
  try {
    for (const c of [a, b]) {
      const hello = await c.next();
      assert.match(c.response, /^HTTP\/1\.1 101/);
      assert.match(c.response, /\r\nSec-WebSocket-Extensions: permessage-deflate/i);
      assert.equal(hello.rsv1, false, 'control messages go uncompressed');
      assert.equal(JSON.parse(text(hello)).type, 'hello');
    }
    const [small, big, huge] = await publish(proxy, [
      { type: 'tool_called', server_name: 'd' },
      ...makeEvents(1, { server: 'd', pad: 3000, tag: 'big' }),
      ...makeEvents(1, { server: 'd', pad: 200000, tag: 'huge' }), // > 64 KiB: written a chunk at a time
    ]);
    const got = [];
    for (const c of [a, b]) {
      const frames = [await c.next(), await c.next(), await c.next(20000)];
      assert.deepEqual(frames.map((f) => JSON.parse(text(f)).seq), [small, big, huge]);
      assert.equal(frames[0].rsv1, false, 'an event under 128 bytes is not worth compressing');
      assert.equal(frames[1].rsv1, true, 'a 3 KB event goes compressed');
      assert.equal(frames[2].rsv1, true, 'a 200 KB event goes compressed');
      assert.ok(frames[1].payload.length < 3000 / 4, `3 KB of padding compresses well (${frames[1].payload.length} bytes)`);
      assert.equal(JSON.parse(text(frames[1])).data.blob, 'x'.repeat(3000));
      assert.equal(JSON.parse(text(frames[2])).data.blob, 'x'.repeat(200000));
      got.push(frames);
    }
    assert.ok(got[0][1].payload.equals(got[1][1].payload), 'both clients get the same compressed bytes');
    assert.ok(got[0][2].payload.equals(got[1][2].payload));
  } finally {
    a.close();
    b.close();
  }
});

test('without an offer, or with one that limits the server window, frames go uncompressed', async () => {
  const plain = rawClient('/ws/events');
  const limited = rawClient('/ws/events', 'permessage-deflate; server_max_window_bits=10');
  try {
    for (const c of [plain, limited]) {
      await c.next();
      assert.doesNotMatch(c.response, /Sec-WebSocket-Extensions/i);
    }
    const seq = await publish(proxy, makeEvents(1, { server: 'd', pad: 3000 })[0]);
    for (const c of [plain, limited]) {
      const f = await c.next();
      assert.equal(f.rsv1, false);
      assert.equal(JSON.parse(text(f)).seq, seq);
    }
  } finally {
    plain.close();
    limited.close();
  }
});

test('a ws client with perMessageDeflate gets every event intact, plain and batch=1', async () => {
  const [c] = await connectReady(proxy, '/ws/events?server=w', { perMessageDeflate: true });
  const [batch] = await connectReady(proxy, '/ws/events?server=w&batch=1', { perMessageDeflate: true });
  try {
    assert.match(c.ws.extensions, /permessage-deflate/);
    assert.match(batch.ws.extensions, /permessage-deflate/);
    const events = [
      ...makeEvents(20, { server: 'w', pad: 500, tag: 'a' }),
      ...makeEvents(5, { server: 'w' }),
      ...makeEvents(3, { server: 'w', pad: 70000, tag: 'b' }),
    ];
    const seqs = await publish(proxy, events);
    const msgs = await c.take(seqs.length);
    assert.deepEqual(msgs.map((m) => m.seq), seqs);
    msgs.forEach((m, i) => assert.deepEqual(m.data, events[i].data));
    const arrived = [];
    while (arrived.length < seqs.length) {
      const m = await batch.next();
      assert.ok(Array.isArray(m), 'batch=1 sends arrays');
      arrived.push(...m);
    }
    assert.deepEqual(arrived.map((m) => m.seq), seqs);
    arrived.forEach((m, i) => assert.deepEqual(m.data, events[i].data));
  } finally {
    await c.close();
    await batch.close();
  }
});

test('compressed client messages are read, and counted inflated against max_message_bytes', async () => {
  const [ok] = await connectReady(proxy, '/ws/events?server=m', { perMessageDeflate: { threshold: 0 } });
  const [bomb] = await connectReady(proxy, '/ws/events?server=m', { perMessageDeflate: { threshold: 0 } });
  try {
    ok.ws.send('z'.repeat(6000)); // compressed by ws, 6000 bytes inflated: under 8192
    const seq = await publish(proxy, { type: 'tool_called', server_name: 'm' });
    assert.equal((await ok.next()).seq, seq, 'the client is still served after a compressed message');
    // A few hundred bytes on the wire, a megabyte inflated: closed at the limit.
    bomb.ws.send('q'.repeat(1 << 20));
    assert.equal((await bomb.closed).code, 1009);
    // Just over the limit once inflated: lws hands a compressed message over
    // a receive buffer at a time and, left alone on a libuv loop, would wait
    // for the client's next frame (the next pong, 54 s away) to go on.
    const [over] = await connectReady(proxy, '/ws/events?server=m', { perMessageDeflate: { threshold: 0 } });
    over.ws.send('b'.repeat(12000));
    const closed = await Promise.race([over.closed, new Promise((resolve) => setTimeout(resolve, 10000, null))]);
    assert.ok(closed, 'closed well before the next ping');
    assert.equal(closed.code, 1009);
    const seq2 = await publish(proxy, { type: 'tool_called', server_name: 'm' });
    assert.equal((await ok.next()).seq, seq2);
  } finally {
    await ok.close();
  }
});
