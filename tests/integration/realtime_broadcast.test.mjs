// realtime_broadcast.test.mjs - every event type reaches every client, in
// order, in the documented shape; server and type filters; batch mode; the
// app lifecycle events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady } from './harness.mjs';
import {
  EVENT_TYPES, TIMESTAMP_RE, EPOCH_RE, publish, head, stats, readUntil, assertRange,
} from './realtime_helpers.mjs';

let proxy;
before(async () => { proxy = await startProxy(); });
after(async () => { await proxy?.stop(); });

/** One event of each of the 17 types, each with its documented data. */
function oneOfEach() {
  const data = {
    server_state_changed: { tool_count: 17, retry_count: 0 },
    server_config_changed: { action: 'updated', command: 'x' },
    server_auto_disabled: { reason: 'failed 3 times', failure_count: 3 },
    server_group_updated: { group: 'g', servers: ['a', 'b'], enabled: true },
    state_change: { tool_count: 1 },
    config_change: { servers_added: ['a'], servers_removed: [], servers_changed: [] },
    app_state_changed: {},
    tools_updated: { tool_count: 2, added: ['t1'], removed: [] },
    tool_called: { tool: 'echo', duration_ms: 3, ok: true, session_id: 's1' },
    connection_established: { protocol_version: '2025-06-18', server_info: { name: 'demo' } },
    connection_lost: { exit_code: 1, stderr_tail: 'boom\n' },
    server_log: { lines: ['listening on stdio'] },
    server_login_failed: { reason: 'login failed: the authorization code exchange refused', state: 'Login required' },
    server_quarantined: { severity: 'warning', reason: 'a new server' },
    tool_changed: { severity: 'warning', tool: 'greet', pinned_hash: '0123456789abcdef', current_hash: 'fedcba9876543210' },
    server_approved: { severity: 'info', tool_count: 4 },
    cluster_state_changed: { nats_url: 'nats://127.0.0.1:4222', stream: 'MCPPROXY_EVENTS' },
  };
  return EVENT_TYPES.map((type) => {
    const ev = { type, data: data[type] };
    if (!type.endsWith('app_state_changed') && type !== 'cluster_state_changed') ev.server_name = 'github';
    if (/state/.test(type)) Object.assign(ev, { old_state: 'Connecting', new_state: 'Ready' });
    return ev;
  });
}

test('each of the 17 types reaches several concurrent clients, in order and in shape', async () => {
  const clients = await Promise.all([1, 2, 3].map(() => connectReady(proxy, '/ws/events')));
  const sent = oneOfEach();
  const seqs = await publish(proxy, sent);
  assert.equal(seqs.length, EVENT_TYPES.length);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'consecutive seqs');

  for (const [client, hello] of clients) {
    assert.equal(hello.seq, seqs[0] - 1, 'hello.seq was the head when the client registered');
    const got = await client.take(sent.length);
    got.forEach((ev, i) => {
      const want = sent[i];
      assert.equal(ev.seq, seqs[i]);
      assert.equal(ev.type, want.type);
      assert.match(ev.timestamp, TIMESTAMP_RE);
      assert.deepEqual(ev.data, want.data);
      assert.equal(ev.server_name, want.server_name);
      assert.equal(ev.old_state, want.old_state);
      assert.equal(ev.new_state, want.new_state);
      const allowed = new Set(['seq', 'type', 'timestamp', 'data', 'server_name', 'old_state', 'new_state']);
      for (const k of Object.keys(ev)) assert.ok(allowed.has(k), `unexpected field ${k}`);
    });
    // Timestamps never go backwards.
    for (let i = 1; i < got.length; i++) assert.ok(got[i].timestamp >= got[i - 1].timestamp);
  }
  await Promise.all(clients.map(([c]) => c.close()));
});

test('an event without data carries data: {}', async () => {
  const [c] = await connectReady(proxy, '/ws/events');
  const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
  const ev = await c.next();
  assert.equal(ev.seq, seq);
  assert.deepEqual(ev.data, {});
  assert.equal('old_state' in ev, false);
  await c.close();
});

test('server filter: /ws/servers?server=NAME and /ws/events?server=NAME see only that server', async () => {
  const [byPath] = await connectReady(proxy, '/ws/servers?server=alpha');
  const [byQuery] = await connectReady(proxy, '/ws/events?server=alpha');
  const [all] = await connectReady(proxy, '/ws/events');
  const seqs = await publish(proxy, [
    { type: 'server_state_changed', server_name: 'beta', old_state: 'Ready', new_state: 'Error' },
    { type: 'tool_called', server_name: 'alpha', data: { n: 1 } },
    { type: 'app_state_changed', new_state: 'Running' }, // no server: not for filtered clients
    { type: 'tool_called', server_name: 'alphabet' },    // prefix is not a match
    { type: 'tools_updated', server_name: 'alpha', data: { n: 2 } },
  ]);
  for (const c of [byPath, byQuery]) {
    // The last published event matches, so anything wrongly delivered would
    // arrive before it: reading exactly two proves nothing else came.
    const got = await c.take(2);
    assert.deepEqual(got.map((e) => e.seq), [seqs[1], seqs[4]]);
    assert.ok(got.every((e) => e.server_name === 'alpha'));
  }
  assert.deepEqual((await all.take(5)).map((e) => e.seq), seqs);
  await Promise.all([byPath.close(), byQuery.close(), all.close()]);
});

test('type filter, including canonical names matching their legacy aliases', async () => {
  const [calls] = await connectReady(proxy, '/ws/events?types=tool_called');
  const [canon] = await connectReady(proxy, '/ws/events?types=server_state_changed,server_config_changed');
  const [legacy] = await connectReady(proxy, '/ws/events?types=state_change');
  const seqs = await publish(proxy, [
    { type: 'server_state_changed', server_name: 'a' }, // 0
    { type: 'state_change', server_name: 'a' },         // 1
    { type: 'config_change' },                          // 2
    { type: 'server_config_changed', server_name: 'a' }, // 3
    { type: 'tools_updated', server_name: 'a' },        // 4
    { type: 'tool_called', server_name: 'a' },          // 5
    { type: 'state_change', server_name: 'b' },         // 6: marker for canon and legacy
  ]);
  assert.deepEqual((await calls.take(1)).map((e) => e.seq), [seqs[5]]);
  assert.deepEqual((await canon.take(5)).map((e) => e.seq), [seqs[0], seqs[1], seqs[2], seqs[3], seqs[6]]);
  assert.deepEqual((await legacy.take(2)).map((e) => e.seq), [seqs[1], seqs[6]]);
  // calls must have nothing else: a later tool_called is the very next message.
  const marker = await publish(proxy, { type: 'tool_called', server_name: 'z' });
  assert.equal((await calls.next()).seq, marker);
  await Promise.all([calls.close(), canon.close(), legacy.close()]);
});

test('types and server filters combine', async () => {
  const [c] = await connectReady(proxy, '/ws/servers?server=a&types=tool_called');
  const seqs = await publish(proxy, [
    { type: 'tool_called', server_name: 'b' },
    { type: 'tools_updated', server_name: 'a' },
    { type: 'tool_called', server_name: 'a' },
  ]);
  assert.equal((await c.next()).seq, seqs[2]);
  await c.close();
});

test('batch=1 sends arrays of events; the hello stays an object', async () => {
  const [c, hello] = await connectReady(proxy, '/ws/events?batch=1');
  assert.equal(hello.type, 'hello');
  const seqs = await publish(proxy, Array.from({ length: 50 }, (_, i) => ({ type: 'tool_called', server_name: 'b', data: { i } })));
  const got = [];
  while (got.length < 50) {
    const m = await c.next();
    assert.ok(Array.isArray(m), `batch message is an array, got ${JSON.stringify(m).slice(0, 80)}`);
    assert.ok(m.length >= 1);
    got.push(...m);
  }
  assertRange(got.map((e) => e.seq), seqs[0], seqs[49]);
  got.forEach((e, i) => assert.equal(e.data.i, i));
  await c.close();
});

test('a burst within the send budget reaches every client completely', async () => {
  const clients = await Promise.all(Array.from({ length: 5 }, () => connectReady(proxy, '/ws/events')));
  const seqs = [];
  for (let round = 0; round < 10; round++) {
    seqs.push(...await publish(proxy, Array.from({ length: 200 }, (_, i) => ({ type: 'tool_called', server_name: 'x', data: { round, i } }))));
    // Keep every client within its 256-message budget: wait until all have this round.
    await Promise.all(clients.map(([c]) => readUntil(c, (m) => m.seq === seqs[seqs.length - 1])));
  }
  for (const [c] of clients) {
    assertRange(c.messages.filter((m) => m.type === 'tool_called').map((m) => m.seq), seqs[0], seqs[seqs.length - 1]);
    assert.equal(c.messages.some((m) => m.type === 'events_dropped'), false);
  }
  const s = await stats(proxy);
  assert.ok(s.delivered >= 5 * 2000, `delivered counter ${s.delivered}`);
  assert.equal(s.dropped, 0);
  await Promise.all(clients.map(([c]) => c.close()));
});

test('app lifecycle: Starting then Running were published at startup', async () => {
  const h = await head(proxy);
  assert.match(h.epoch, EPOCH_RE);
  const [c] = await connectReady(proxy, `/ws/events?since=0&epoch=${h.epoch}&types=app_state_changed`);
  const first = await c.next();
  const second = await c.next();
  assert.equal(first.type, 'app_state_changed');
  assert.equal(first.new_state, 'Starting');
  assert.equal(second.type, 'app_state_changed');
  assert.equal(second.old_state, 'Starting');
  assert.equal(second.new_state, 'Running');
  assert.ok(first.seq < second.seq);
  await c.close();
});
