// mcp_batches.test.mjs - JSON-RPC batches on /mcp whose messages act on each
// other: a cancel in the same batch as the call it cancels (once a
// use-after-free that crashed the proxy), random batches of calls, cancels
// and pings, and calls still in flight when the proxy stops. Run against the
// ASan build in `make test`, so any memory error fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';
import { mcpPost, jsonHeaders, rawInitialize, sseMessages } from './mcp_helpers.mjs';

const call = (id, name, args) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const cancel = (requestId) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'test' } });
const ping = (id) => ({ jsonrpc: '2.0', id, method: 'ping' });

/** The answers of a POST in either form (SSE events or a JSON array/object). */
function answersOf(res) {
  if (res.status === 202) return [];
  assert.equal(res.status, 200, res.text);
  if (res.headers.get('content-type') === 'text/event-stream') return sseMessages(res.text);
  return Array.isArray(res.json) ? res.json : [res.json];
}

async function healthy(proxy) {
  const res = await api(proxy, 'GET', '/healthz');
  assert.equal(res.status, 200);
}

test('a cancel in the same batch as its call: the call is dropped, the rest answered, the proxy lives', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    for (const version of ['2025-03-26', '2024-11-05']) {
      const sid = await rawInitialize(proxy, version);
      for (const accept of ['application/json, text/event-stream', 'application/json']) {
        const headers = jsonHeaders(sid, { accept });
        // The attack as reported: call 7, cancel 7, then a third call.
        let res = await mcpPost(proxy, [call(7, 'demo__sleep', { ms: 60000 }), cancel(7),
          call(8, 'demo__echo', { text: 'after the cancel' })], headers);
        let answers = answersOf(res);
        assert.deepEqual(answers.map((m) => m.id), [8]);
        assert.equal(answers[0].result.content[0].text, 'after the cancel');
        // A batch whose only call is cancelled in it answers nothing: 202.
        res = await mcpPost(proxy, [call(9, 'demo__sleep', { ms: 60000 }), cancel(9)], headers);
        assert.equal(res.status, 202);
        assert.equal(res.text, '');
        // Cancelled twice, and a cancel of an unknown id: still one answer.
        res = await mcpPost(proxy, [call(10, 'demo__sleep', { ms: 60000 }), cancel(10), cancel(10), cancel(999),
          ping(11)], headers);
        answers = answersOf(res);
        assert.deepEqual(answers.map((m) => m.id), [11]);
        await healthy(proxy);
      }
    }
    // Each cancelled call is reported as such on the event stream.
    await rec.until(() => rec.events.filter((e) => e.type === 'tool_called' && e.data.error === 'cancelled by the client').length >= 12);
  } finally {
    await proxy.stop();
  }
});

// A small seeded generator, so a failure names a batch that can be replayed.
function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

test('random batches of calls, cancels and pings: exactly the uncancelled requests are answered', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const sid = await rawInitialize(proxy, '2025-03-26');
    const rand = rng(20261201);
    for (let round = 0; round < 150; round++) {
      const batch = [];
      const expected = new Set();
      let nextId = round * 100;
      const n = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) {
        const r = rand();
        if (r < 0.35) {
          const id = nextId++;
          batch.push(call(id, 'demo__echo', { text: `r${round}` }));
          expected.add(id);
        } else if (r < 0.6) {
          const id = nextId++;
          batch.push(call(id, 'demo__sleep', { ms: 60000 }));
          // Long sleeps must be cancelled in the same batch, or nothing answers.
          batch.push(cancel(id));
        } else if (r < 0.75) {
          const id = nextId++;
          batch.push(ping(id));
          expected.add(id);
        } else if (r < 0.9 && batch.length) {
          // A cancel of something earlier in the batch (an echo may already be answered).
          const target = batch[Math.floor(rand() * batch.length)];
          if (target.id !== undefined && target.method === 'tools/call') {
            batch.push(cancel(target.id));
            expected.delete(target.id);
          }
        } else {
          batch.push(cancel(nextId + 1000)); // unknown id: ignored
        }
      }
      const accept = rand() < 0.5 ? 'application/json' : 'application/json, text/event-stream';
      const res = await mcpPost(proxy, batch, jsonHeaders(sid, { accept }));
      const got = answersOf(res).map((m) => m.id).sort((a, b) => a - b);
      assert.deepEqual(got, [...expected].sort((a, b) => a - b), `round ${round}: ${JSON.stringify(batch)}`);
    }
    await healthy(proxy);
  } finally {
    await proxy.stop();
  }
});

test('calls in flight when the proxy stops are answered with a JSON-RPC error', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  const rec = await recordEvents(proxy);
  await rec.until(isState('demo', 'Ready'));
  const sid = await rawInitialize(proxy, '2025-03-26');
  // Both calls must be with the upstream before the stop: the demo server
  // answers sleeps only when they run out, so nothing else can answer them.
  // The log is the only witness for the JSON one (its answer waits for the
  // call to end; no header or event marks the forward).
  let forwardedCount = 0;
  const bothForwarded = proxy.nextLog((e) => e.msg === 'tool call forwarded' && e.tool === 'sleep' && ++forwardedCount === 2);
  const inFlight = [
    mcpPost(proxy, call(1, 'demo__sleep', { ms: 60000 }), jsonHeaders(sid)),
    mcpPost(proxy, call(2, 'demo__sleep', { ms: 60000 }), jsonHeaders(sid, { accept: 'application/json' })),
  ];
  await bothForwarded;
  const stopped = proxy.stop();
  const answers = (await Promise.all(inFlight)).flatMap(answersOf);
  await stopped;
  assert.deepEqual(answers.map((m) => m.id).sort(), [1, 2]);
  for (const a of answers) {
    assert.equal(a.error.code, -32003);
    assert.match(a.error.message, /shutting down/);
  }
});
