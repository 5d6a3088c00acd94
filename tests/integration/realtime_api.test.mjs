// realtime_api.test.mjs - POST /api/events validation, /api/servers/status,
// /api/realtime/stats and /healthz.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady, api } from './harness.mjs';
import { EPOCH_RE, EVENT_TYPES, head, stats, publish, waitForStats } from './realtime_helpers.mjs';

let proxy;
before(async () => { proxy = await startProxy(); });
after(async () => { await proxy?.stop(); });

test('GET /healthz', async () => {
  const res = await api(proxy, 'GET', '/healthz');
  assert.equal(res.status, 200);
  assert.equal(res.json.status, 'ok');
  assert.match(res.json.epoch, EPOCH_RE);
  assert.equal(typeof res.json.seq, 'number');
  assert.ok(res.json.seq >= 2, 'Starting and Running were published');
});

test('POST /api/events: one event → {seq}, an array → {seqs}', async () => {
  const h = await head(proxy);
  const one = await api(proxy, 'POST', '/api/events', { type: 'tool_called', server_name: 'a', data: { tool: 't' } });
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, { seq: h.seq + 1 });
  const many = await api(proxy, 'POST', '/api/events', EVENT_TYPES.map((type) => ({ type })));
  assert.equal(many.status, 200);
  assert.deepEqual(many.json.seqs, EVENT_TYPES.map((_, i) => h.seq + 2 + i));
  assert.equal((await head(proxy)).seq, h.seq + 1 + EVENT_TYPES.length);
});

test('POST /api/events: bad input is 400 with a message naming the problem, nothing published', async () => {
  const cases = [
    [{ type: 'no_such_type' }, /no_such_type/],
    [{ server_name: 'a' }, /type/],
    [{ type: 42 }, /type/],
    [{ type: 'tool_called', server_name: 5 }, /server_name/],
    [{ type: 'tool_called', old_state: true }, /old_state/],
    [{ type: 'tool_called', new_state: [] }, /new_state/],
    [{ type: 'tool_called', data: 'not an object' }, /data/],
    [{ type: 'tool_called', data: [1, 2] }, /data/],
    ['{"type": "tool_called",', /line|column|JSON|parse/i],
    ['not json at all', /line|column|JSON|parse/i],
    ['42', /object|array|expected/i],
    [[{ type: 'tool_called' }, { type: 'tool_called' }, { type: 'bogus' }], /2/],
    [[{ type: 'tool_called' }, 'x'], /1/],
  ];
  for (const [body, re] of cases) {
    const before = (await head(proxy)).seq;
    const res = await api(proxy, 'POST', '/api/events', body);
    assert.equal(res.status, 400, `${JSON.stringify(body)} answered ${res.status} ${res.text}`);
    assert.equal(typeof res.json?.error, 'string', `error body for ${JSON.stringify(body)}: ${res.text}`);
    assert.match(res.json.error, re, `message for ${JSON.stringify(body)}`);
    assert.equal((await head(proxy)).seq, before, `nothing published for ${JSON.stringify(body)}`);
  }
});

test('POST /api/events: legacy types are accepted and delivered under their own name', async () => {
  const [c] = await connectReady(proxy, '/ws/events');
  const seqs = await publish(proxy, [{ type: 'state_change', server_name: 's' }, { type: 'config_change' }]);
  const got = await c.take(2);
  assert.deepEqual(got.map((m) => [m.seq, m.type]), [[seqs[0], 'state_change'], [seqs[1], 'config_change']]);
  await c.close();
});

test('POST /api/events: seq and timestamp are the proxy\'s', async () => {
  const [c] = await connectReady(proxy, '/ws/events');
  const res = await api(proxy, 'POST', '/api/events', { type: 'tool_called', seq: 999999, timestamp: '1999-01-01T00:00:00.000000Z' });
  if (res.status === 200) {
    const ev = await c.next();
    assert.equal(ev.seq, res.json.seq);
    assert.notEqual(ev.seq, 999999);
    assert.notEqual(ev.timestamp, '1999-01-01T00:00:00.000000Z');
  } else {
    assert.equal(res.status, 400); // refusing them outright is fine too
  }
  await c.close();
});

test('GET /api/servers/status', async () => {
  const res = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(res.status, 200);
  const h = await head(proxy);
  assert.equal(res.json.seq, h.seq);
  assert.equal(res.json.epoch, h.epoch);
  assert.deepEqual(res.json.servers, []);
});

test('GET /api/realtime/stats counts connections, published, delivered and dropped', async () => {
  // Earlier tests closed their clients; the proxy may still be unregistering them.
  const s0 = await waitForStats(proxy, (s) => s.connections.total === 0, 10000, 'no WebSocket client');
  assert.match(s0.epoch, EPOCH_RE);
  for (const k of ['seq', 'published', 'delivered', 'dropped', 'clients_dropping']) {
    assert.equal(typeof s0[k], 'number', `stats.${k}`);
  }
  for (const k of ['total', 'ws_events', 'ws_servers']) assert.equal(typeof s0.connections[k], 'number', `connections.${k}`);
  assert.equal(s0.connections.total, 0);

  const [a] = await connectReady(proxy, '/ws/events');
  const [b] = await connectReady(proxy, '/ws/servers?server=s');
  const seqs = await publish(proxy, [
    { type: 'tool_called', server_name: 's' },
    { type: 'tool_called', server_name: 'other' },
    { type: 'tool_called', server_name: 's' },
  ]);
  await a.take(3);
  await b.take(2);
  const s1 = await stats(proxy);
  assert.equal(s1.connections.total, 2);
  assert.equal(s1.connections.ws_events, 1);
  assert.equal(s1.connections.ws_servers, 1);
  assert.equal(s1.published - s0.published, 3);
  assert.equal(s1.seq, seqs[2]);
  // 3 to a + 2 to b; hellos are control messages and may or may not count.
  const d = s1.delivered - s0.delivered;
  assert.ok(d === 5 || d === 7, `delivered grew by ${d}`);
  assert.equal(s1.dropped, s0.dropped);
  await Promise.all([a.close(), b.close()]);
});

test('unknown API paths are 404 with a JSON error', async () => {
  const res = await api(proxy, 'GET', '/api/definitely-not-here');
  assert.equal(res.status, 404);
  assert.equal(typeof res.json?.error, 'string');
});
