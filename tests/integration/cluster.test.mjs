// cluster.test.mjs - three mcpproxy nodes on one real nats-server (JetStream):
// one event history for all of them (docs/PROTOCOL.md, "Clusters").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, connectReady } from './harness.mjs';
import { EPOCH_RE, readUntil, eventsOnly } from './realtime_helpers.mjs';
import { startNats, startNode, stopCluster, postEvents, waitClusterEvent } from './cluster_helpers.mjs';

let nats;
const nodes = {};

before(async () => {
  nats = await startNats();
  for (const name of ['a', 'b', 'c']) nodes[name] = await startNode(nats.url, name);
});

after(() => stopCluster(nodes, nats));

async function health(proxy) {
  const res = await api(proxy, 'GET', '/healthz');
  assert.equal(res.status, 200);
  return res.json;
}

/** Reads tool_called events from a client until the one tagged `last`. */
async function toolEventsUntil(client, last) {
  return eventsOnly(await readUntil(client, (m) => m.type === 'tool_called' && m.data?.tag === last))
    .filter((e) => e.type === 'tool_called');
}

test('every node reports the same stream epoch and is connected', async () => {
  const h = await Promise.all(Object.values(nodes).map(health));
  assert.match(h[0].epoch, EPOCH_RE);
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    assert.equal(h[i].status, 'ok');
    assert.deepEqual(h[i].cluster, { node: name, state: 'connected', buffered: 0, events_lost: 0 });
    assert.equal(h[i].epoch, h[0].epoch, 'one epoch: the stream');
  }
});

test('events published on two nodes reach every node once, in one order, with the same seq', async () => {
  const clients = {};
  for (const name of ['a', 'b', 'c']) [clients[name]] = await connectReady(nodes[name], '/ws/events?types=tool_called');
  const ev = (node, i) => ({ type: 'tool_called', server_name: `srv-${node}`, data: { tag: `${node}${i}` } });
  await postEvents(nodes.a, [ev('a', 0), ev('a', 1), ev('a', 2)]);
  await postEvents(nodes.b, ev('b', 0));
  await postEvents(nodes.a, ev('a', 3));
  await postEvents(nodes.b, [ev('b', 1), ev('b', 2)]);
  // A marker after everything: what came before it came exactly once.
  const got = {};
  await postEvents(nodes.b, ev('end', 0));
  for (const name of ['a', 'b', 'c']) got[name] = await toolEventsUntil(clients[name], 'end0');

  const tags = (list) => list.map((e) => e.data.tag);
  assert.equal(got.a.length, 8, `8 events on a: ${tags(got.a)}`);
  for (const name of ['b', 'c']) assert.deepEqual(got[name], got.a, `node ${name} saw what node a saw`);
  // Each node's own order is kept, every event once, seqs strictly rising.
  const all = tags(got.a);
  assert.deepEqual(all.filter((t) => t.startsWith('a')), ['a0', 'a1', 'a2', 'a3']);
  assert.deepEqual(all.filter((t) => t.startsWith('b')), ['b0', 'b1', 'b2']);
  for (let i = 1; i < got.a.length; i++) assert.ok(got.a[i].seq > got.a[i - 1].seq, 'seqs rise');
  for (const e of got.a) assert.equal(e.node, e.data.tag.startsWith('a') ? 'a' : 'b', 'node names the publisher');
  // The newest seq any node reports is the stream's.
  const last = got.a[got.a.length - 1].seq;
  for (const p of Object.values(nodes)) assert.ok((await health(p)).seq >= last);
  for (const c of Object.values(clients)) await c.close();
});

test('a client resumes on node c from a seq it got on node a: no gap, no duplicate', async () => {
  const [onA, helloA] = await connectReady(nodes.a, '/ws/events?types=tool_called');
  await postEvents(nodes.a, [0, 1, 2, 3, 4].map((i) => ({ type: 'tool_called', server_name: 'r', data: { tag: `r${i}` } })));
  const fromA = await toolEventsUntil(onA, 'r4');
  await onA.close();
  const seen = fromA.slice(0, 2); // the client "disconnects" after r1
  // More events while it is away, published on b.
  await postEvents(nodes.b, [5, 6].map((i) => ({ type: 'tool_called', server_name: 'r', data: { tag: `r${i}` } })));
  const since = seen[seen.length - 1].seq;
  const [onC, helloC] = await connectReady(nodes.c, `/ws/events?types=tool_called&since=${since}&epoch=${helloA.epoch}`);
  assert.equal(helloC.epoch, helloA.epoch);
  const resumed = await toolEventsUntil(onC, 'r6');
  assert.ok(!onC.messages.some((m) => m.type === 'resync_required' || m.type === 'events_dropped'),
    `no resync or drop: ${JSON.stringify(onC.messages.slice(0, 3))}`);
  assert.deepEqual(resumed.map((e) => e.data.tag), ['r2', 'r3', 'r4', 'r5', 'r6']);
  assert.deepEqual(resumed.slice(0, 3), fromA.slice(2), 'the same events, with the same seqs, as on node a');
  await onC.close();
});

test('history survives a node restart: same epoch, same seqs, resume works', async () => {
  await postEvents(nodes.a, { type: 'tool_called', server_name: 'h', data: { tag: 'before-restart' } });
  const [onA] = await connectReady(nodes.a, '/ws/events?types=tool_called&since=0');
  const historyA = await toolEventsUntil(onA, 'before-restart');
  await onA.close();
  const before = await health(nodes.b);

  const old = nodes.b;
  assert.deepEqual(await old.stop(), { code: 0, signal: null }, 'a clean stop');
  nodes.b = await startNode(nats.url, 'b', { configPath: old.configPath, after: before.seq });
  nodes.b.dir = old.dir; // its config: removed when it stops

  const now = await health(nodes.b);
  assert.equal(now.epoch, before.epoch, 'the stream\'s epoch, not the process\'s');
  const [onB] = await connectReady(nodes.b, '/ws/events?types=tool_called&since=0');
  assert.deepEqual(await toolEventsUntil(onB, 'before-restart'), historyA, 'the whole history, as node a has it');
  await onB.close();
  // A client of the old process resumes on the new one.
  const mid = historyA[historyA.length - 3];
  const [again] = await connectReady(nodes.b, `/ws/events?types=tool_called&since=${mid.seq}&epoch=${before.epoch}`);
  assert.deepEqual(await toolEventsUntil(again, 'before-restart'), historyA.slice(-2));
  assert.ok(!again.messages.some((m) => m.type === 'resync_required'));
  await again.close();
});

test('NATS down: degraded, cluster_state_changed, local clients still served; back: connected', async () => {
  const [onA] = await connectReady(nodes.a, '/ws/events?types=cluster_state_changed,tool_called');
  const headBefore = (await health(nodes.a)).seq;
  await nats.stop();
  const down = await readUntil(onA, (m) => m.type === 'cluster_state_changed' && m.new_state === 'disconnected');
  const ev = down[down.length - 1];
  assert.equal(ev.node, 'a');
  assert.equal(ev.old_state, 'connected');
  const h = await health(nodes.a);
  assert.equal(h.status, 'degraded');
  assert.equal(h.cluster.state, 'disconnected');

  // The node's own events still reach its own clients, live, as previews:
  // pending, carrying the newest stream seq (no place in its order yet).
  await postEvents(nodes.a, { type: 'tool_called', server_name: 'x', data: { tag: 'while-down' } });
  const [local] = eventsOnly(await readUntil(onA, (m) => m.data?.tag === 'while-down')).slice(-1);
  assert.equal(local.node, 'a');
  assert.equal(local.pending, true);
  assert.equal(local.seq, headBefore);
  assert.equal((await health(nodes.a)).seq, headBefore, 'not kept in the history');

  // NATS back on the same port with the same store: connected again, and
  // the stream goes on where it was.
  nats = await startNats({ port: nats.port, storeDir: nats.storeDir });
  const up = await readUntil(onA, (m) => m.type === 'cluster_state_changed' && m.node === 'a' && m.new_state === 'connected');
  assert.ok(up[up.length - 1].seq > headBefore);
  // Node c's ordered consumer is recreated by nats.c once it notices the
  // restart (missed heartbeats): that can take tens of seconds.
  await waitClusterEvent(nodes.c, (e) => e.node === 'a' && e.new_state === 'connected' && e.seq > headBefore, 90000);
  assert.equal((await health(nodes.a)).status, 'ok');
  await onA.close();
});
