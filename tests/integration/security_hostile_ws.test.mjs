// security_hostile_ws.test.mjs - hostile clients against one running proxy
//: protocol violations on raw sockets, half-open handshakes,
// slowloris headers, a client that never reads, and 1,000 connections
// opened and dropped at once. Throughout, a normal `ws` client keeps
// receiving every event, and afterwards the proxy's fd count and memory are
// back near where they started.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api, connectReady } from './harness.mjs';
import {
  rawWebSocket, clientFrame, tcpConnect, untilClosed, fdCount, rssKiB, eventually,
} from './security_helpers.mjs';
import { stats, waitForStats } from './realtime_helpers.mjs';

let proxy, normal, baselineFds;

// The normal client must see every event published while the hostile ones
// do their worst: publish one and await it.
async function normalStillServed(what) {
  const res = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'probe', data: { what } });
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  for (;;) {
    const m = await normal.next(15000);
    if (m.seq === res.json.seq) { assert.equal(m.data.what, what); return; }
    assert.ok(m.seq === undefined || m.seq < res.json.seq, `unexpected ${JSON.stringify(m)}`);
  }
}

before(async () => {
  proxy = await startProxy({ config: { websocket: { write_timeout_ms: 2000, send_queue: 16 } } });
  [normal] = await connectReady(proxy, '/ws/events?types=tools_updated');
  await normalStillServed('warm-up');
  baselineFds = fdCount(proxy.proc.pid);
});

after(async () => {
  normal.ws.terminate();
  const { code } = await proxy.stop();
  assert.equal(code, 0, 'the proxy must exit cleanly after all this');
});

const violations = [
  ['reserved opcode 0x3', () => clientFrame(3, 'x'), 1002],
  ['reserved opcode 0xB', () => clientFrame(0xb, 'x'), 1002],
  ['fragmented ping (control frame without FIN)', () => clientFrame(9, 'x', { fin: false }), 1002],
  ['RSV1 set without an extension', () => clientFrame(1, 'x', { rsv: 4 }), 1002],
  ['continuation without a first frame', () => clientFrame(0, 'x'), 1002],
  ['a new message inside a fragmented one', () => Buffer.concat([clientFrame(1, 'a', { fin: false }), clientFrame(1, 'b')]), 1002],
  ['close with an invalid code', () => clientFrame(8, Buffer.from([0x03, 0xe7])), 1002],
  ['invalid UTF-8 in a text frame', () => clientFrame(1, Buffer.from([0x68, 0xc3, 0x28])), 1007],
  ['invalid UTF-8 split across fragments', () => Buffer.concat([
    clientFrame(1, Buffer.from([0xe2, 0x82]), { fin: false }), clientFrame(0, Buffer.from([0x28]))]), 1007],
  ['overlong UTF-8 encoding of "/"', () => clientFrame(1, Buffer.from([0xc0, 0xaf])), 1007],
  ['UTF-16 surrogate in UTF-8', () => clientFrame(1, Buffer.from([0xed, 0xa0, 0x80])), 1007],
];

for (const [name, bytes, code] of violations) {
  test(`protocol violation: ${name} closes that client with ${code}`, async () => {
    const c = await rawWebSocket(proxy);
    c.socket.write(bytes());
    await Promise.race([c.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('not closed within 10 s')), 10000))]);
    assert.equal(c.closeCode(), code);
    await normalStillServed(name);
  });
}

test('an unmasked client frame, an oversized ping and a 2^63-byte length header do not hurt anyone', async () => {
  // RFC 6455 wants a server to close on the first two; libwebsockets 4.1.6
  // accepts them (see docs/SECURITY.md, known limits). What must hold: no
  // crash, no allocation of the announced length, other clients served.
  const clients = await Promise.all([rawWebSocket(proxy), rawWebSocket(proxy), rawWebSocket(proxy)]);
  clients[0].socket.write(clientFrame(1, 'hello', { mask: false }));
  clients[1].socket.write(clientFrame(9, Buffer.alloc(200)));
  clients[2].socket.write(Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6]));
  const rss = rssKiB(proxy.proc.pid);
  await normalStillServed('unmasked');
  assert.ok(rssKiB(proxy.proc.pid) < rss + 64 * 1024, 'no allocation of the announced length');
  for (const c of clients) {
    const code = c.closeCode();
    assert.ok(code === null || code === 1002 || code === 1009, `unexpected close code ${code}`);
    c.socket.destroy();
  }
});

test('half-open handshakes and slowloris headers do not block other clients', async () => {
  const url = new URL(proxy.url);
  const sockets = [];
  for (let i = 0; i < 50; i++) {
    const s = await tcpConnect(proxy);
    s.on('error', () => {});
    // half of them stop mid request line, half mid headers
    s.write(i % 2 ? 'GET /ws/events HT' : `GET /ws/events HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nX-Slow: a`);
    sockets.push(s);
  }
  // slowloris: a few more header bytes, and the normal client is still served
  for (let round = 0; round < 3; round++) {
    for (const s of sockets) s.write('a');
    await normalStillServed(`slowloris round ${round}`);
    const health = await api(proxy, 'GET', '/healthz');
    assert.equal(health.status, 200);
  }
  for (const s of sockets) s.destroy();
});

test('a client that never reads is cut off; the normal client gets every event', async () => {
  const before = await stats(proxy);
  const slow = await rawWebSocket(proxy, '/ws/events?types=tools_updated');
  slow.socket.pause(); // stop reading: its kernel buffers fill up
  const blob = 'x'.repeat(48 * 1024);
  let last = 0;
  for (let i = 0; i < 20; i++) {
    const batch = Array.from({ length: 10 }, (_, j) => ({ type: 'tools_updated', server_name: 'flood', data: { i, j, blob } }));
    const res = await api(proxy, 'POST', '/api/events', batch);
    assert.equal(res.status, 200, res.text);
    last = res.json.seqs.at(-1);
  }
  // the normal client reads all 200 of them, in order
  let seen = 0;
  for (;;) {
    const m = await normal.next(20000);
    if (m.server_name === 'flood') seen++;
    if (m.seq === last) break;
  }
  assert.equal(seen, 200);
  // The slow client lost events and was cut off (write timeout): the stats
  // count both, and only the normal client is left.
  await waitForStats(proxy, (s) => s.dropped > before.dropped && s.connections.total === 1,
    60000, 'the slow client to lose events and be dropped');
  slow.socket.destroy();
  await normalStillServed('after the slow reader');
});

test('1,000 connections opened and dropped at once: the proxy keeps serving, fds and memory come back', async () => {
  const url = new URL(proxy.url);
  const rssBefore = rssKiB(proxy.proc.pid);
  const peakRss = [];
  for (let round = 0; round < 3; round++) {
    const opened = await Promise.allSettled(Array.from({ length: 1000 }, async (_, i) => {
      const s = await tcpConnect(proxy);
      s.on('error', () => {});
      if (i % 3 === 0)
        s.write(`GET /ws/events HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      else if (i % 3 === 1) s.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n`);
      return s;
    }));
    const sockets = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    assert.ok(sockets.length > 0);
    await normalStillServed(`storm ${round}, ${sockets.length} open`);
    peakRss.push(rssKiB(proxy.proc.pid));
    for (const s of sockets) s.destroy();
    await eventually(() => fdCount(proxy.proc.pid) <= baselineFds + 2, 30000,
      `fds back to ${baselineFds} (now ${fdCount(proxy.proc.pid)})`);
    await normalStillServed(`after storm ${round}`);
  }
  assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
  // Memory: the later storms must not cost more than the first did.
  const rssAfter = rssKiB(proxy.proc.pid);
  assert.ok(peakRss[2] < peakRss[0] + 16 * 1024, `RSS keeps growing per storm: ${peakRss.join(', ')} KiB`);
  assert.ok(rssAfter < rssBefore + 64 * 1024, `RSS ${rssBefore} -> ${rssAfter} KiB`);
  const stats = await api(proxy, 'GET', '/api/realtime/stats');
  assert.equal(stats.json.connections.total, 1, `only the normal client is left: ${stats.text}`);
});
