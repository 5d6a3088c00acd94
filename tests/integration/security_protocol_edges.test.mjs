// security_protocol_edges.test.mjs - where the HTTP and WebSocket rules
// must hold exactly: HEAD on every GET endpoint, a query parameter too long
// to read whole (414, not a silently dropped apikey), a WebSocket key that
// is not 16 bytes of base64 (400 before any upgrade), and close frames with
// a code a client may not send or a 1-byte payload (answered with 1002).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { rawRequest, rawWebSocket, clientFrame } from './security_helpers.mjs';
import { demo, recordEvents, isState } from './upstream_helpers.mjs';

test('HEAD is answered like GET, without a body, on every GET endpoint', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    for (const path of ['/healthz', '/api/servers', '/api/servers/status', '/api/servers/demo', '/api/servers/demo/tools',
      '/api/servers/demo/logs', '/api/groups', '/api/realtime/stats', '/metrics', '/', '/events']) {
      const get = await rawRequest(proxy, 'GET', path === '/events' ? '/healthz' : path);
      const head = await rawRequest(proxy, 'HEAD', path);
      assert.equal(head.status, 200, `HEAD ${path}`);
      assert.equal(head.text, '', `HEAD ${path} has no body`);
      if (path !== '/events') assert.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${path}`);
    }
    assert.equal((await rawRequest(proxy, 'HEAD', '/api/servers/nosuch')).status, 404);
  } finally {
    await proxy.stop();
  }
});

test('a query parameter longer than 4096 bytes is refused with 414, not dropped with the ones after it', async () => {
  const key = 'k'.repeat(32);
  const proxy = await startProxy({ config: { api_key: key } });
  try {
    const long = 'x'.repeat(5000);
    let res = await api(proxy, 'GET', `/api/realtime/stats?pad=${long}&apikey=${key}`);
    assert.equal(res.status, 414);
    res = await api(proxy, 'GET', `/api/realtime/stats?pad=${'x'.repeat(4000)}&apikey=${key}`);
    assert.equal(res.status, 200, 'a long parameter that fits is read, and the key after it');
    const ws = await rawRequest(proxy, 'GET', `/ws/events?pad=${long}&apikey=${key}`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(ws.status, 414);
  } finally {
    await proxy.stop();
  }
});

test('a Sec-WebSocket-Key that is missing or not 16 bytes of base64 gets 400, never an upgrade', async () => {
  const proxy = await startProxy();
  try {
    for (const key of [undefined, 'abc', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZR==', 'dGhlIHNhbXBsZSBub25j!Q==',
      'dGhlIHNhbXBsZSBub25jZQ==dGhl']) {
      const headers = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' };
      if (key !== undefined) headers['Sec-WebSocket-Key'] = key;
      const res = await rawRequest(proxy, 'GET', '/ws/events', { headers });
      assert.equal(res.status, 400, `key ${key}`);
      assert.match(res.json.error, /Sec-WebSocket-Key/);
    }
    const ok = await rawWebSocket(proxy, '/ws/events', {});
    ok.socket.destroy();
  } finally {
    await proxy.stop();
  }
});

test('a close frame with a code a client may not send, or a 1-byte payload, is answered with 1002', async () => {
  const proxy = await startProxy();
  try {
    const code = (n) => Buffer.from([n >> 8, n & 0xff]);
    for (const [why, payload, expected] of [
      ['code 5000', code(5000), 1002],
      ['code 1005 (report only)', code(1005), 1002],
      ['code 2000 (reserved)', code(2000), 1002],
      ['a 1-byte payload', Buffer.from([3]), 1002],
      ['a normal close', Buffer.concat([code(1000), Buffer.from('bye')]), 1000],
      ['an application code', code(4001), 4001],
    ]) {
      const c = await rawWebSocket(proxy, '/ws/events');
      c.socket.write(clientFrame(8, payload));
      // The server's close frame is the answer (after its own close lws
      // waits for the client's, so the socket itself may stay open a while).
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${why}: no close frame`)), 10000);
        const check = () => { if (c.closeCode() !== null) { clearTimeout(t); resolve(); } };
        c.socket.on('data', check);
        c.closed.then(check);
        check();
      });
      assert.equal(c.closeCode(), expected, why);
      c.socket.destroy();
    }
  } finally {
    await proxy.stop();
  }
});
