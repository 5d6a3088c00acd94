// cluster_nats3.test.mjs - three mcpproxy nodes, each on a different server
// of a three-server NATS JetStream cluster, the stream kept in three copies
// (cluster.replicas). One NATS server killed: the nodes keep working, the one
// attached to it moves to another server. Real nats-server processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, connectReady } from './harness.mjs';
import { readUntil, eventsOnly } from './realtime_helpers.mjs';
import { startNatsCluster, startNode, stopCluster, postEvents, waitClusterEvent, natsMonitor } from './cluster_helpers.mjs';

// A node whose server died reconnects in 0.5 s, but an ordered consumer that
// lived there is recreated only once nats.c notices the missed heartbeats.
const FAILOVER_MS = 90000;

let nats;
const nodes = {};
const names = ['a', 'b', 'c'];

before(async () => {
  nats = await startNatsCluster(3);
  // Node i lists every server, its own first (tried in the order given).
  for (const [i, name] of names.entries()) {
    nodes[name] = await startNode(null, name, { cluster: { nats_url: nats.urlsFor(i), replicas: 3 } });
  }
});

after(() => stopCluster(nodes, nats));

const tagged = (prefix, n) => Array.from({ length: n }, (_, i) =>
  ({ type: 'tool_called', server_name: 'r3', data: { tag: `${prefix}${i}` } }));

async function toolEventsUntil(client, last, ms = 15000) {
  return eventsOnly(await readUntil(client, (m) => m.type === 'tool_called' && m.data?.tag === last, ms))
    .filter((e) => e.type === 'tool_called');
}

test('each node is on its own NATS server and the stream is kept in three copies', async () => {
  for (const [i, name] of names.entries()) assert.equal(await nats.serverOf(name), i, `node ${name} on server n${i}`);
  const jsz = await natsMonitor(nats.servers[0], '/jsz?streams=true&config=true');
  const stream = jsz.account_details?.[0]?.stream_detail?.find((s) => s.name === 'MCPPROXY_EVENTS');
  assert.ok(stream, `the stream is there: ${JSON.stringify(jsz.account_details)}`);
  assert.equal(stream.config.num_replicas, 3);
});

test('an event published on a reaches b and c once, in the same order', async () => {
  const clients = {};
  for (const name of names) [clients[name]] = await connectReady(nodes[name], '/ws/events?types=tool_called');
  await postEvents(nodes.a, tagged('x', 4));
  await postEvents(nodes.b, tagged('y', 2));
  await postEvents(nodes.a, tagged('z', 1));
  const got = {};
  // z0 was posted last, after y's answer: every node's list ends with it.
  for (const name of names) got[name] = await toolEventsUntil(clients[name], 'z0');
  const tags = got.a.map((e) => e.data.tag);
  assert.equal(tags.length, 7, `7 events once each: ${tags}`);
  assert.deepEqual(tags.filter((t) => t.startsWith('x')), ['x0', 'x1', 'x2', 'x3']);
  assert.deepEqual(got.b, got.a);
  assert.deepEqual(got.c, got.a);
  for (const c of Object.values(clients)) await c.close();
});

test('the NATS server of node a killed: a moves to another server, the cluster keeps working', async () => {
  const [onB] = await connectReady(nodes.b, '/ws/events?types=tool_called,cluster_state_changed');
  const [onC] = await connectReady(nodes.c, '/ws/events?types=tool_called');
  const [onA] = await connectReady(nodes.a, '/ws/events?types=cluster_state_changed');
  const headBefore = (await api(nodes.a, 'GET', '/healthz')).json.seq;
  nats.servers[0].proc.kill('SIGKILL');
  await nats.servers[0].stop();
  await readUntil(onA, (m) => m.node === 'a' && m.new_state === 'disconnected');
  // While a is away from NATS or moving, what it publishes is held, then sent.
  await postEvents(nodes.a, tagged('k', 3));
  await readUntil(onA, (m) => m.node === 'a' && m.new_state === 'connected', FAILOVER_MS);
  const where = await nats.serverOf('a');
  assert.ok(where === 1 || where === 2, `a is on a live server now (${where})`);

  await postEvents(nodes.b, tagged('m', 1));
  const onBk = await toolEventsUntil(onB, 'm0', FAILOVER_MS);
  const onCk = await toolEventsUntil(onC, 'm0', FAILOVER_MS);
  const k = (list) => list.filter((e) => /^[km]/.test(e.data.tag));
  assert.deepEqual(k(onBk).map((e) => e.data.tag), ['k0', 'k1', 'k2', 'm0'], 'once each, in order');
  assert.deepEqual(k(onCk), k(onBk), 'c saw what b saw, with the same seqs');
  assert.ok(k(onBk)[0].seq > headBefore);
  // And a reads the stream again too: its own events come back to it.
  await waitClusterEvent(nodes.a, (e) => e.node === 'a' && e.new_state === 'connected' && e.seq > headBefore, FAILOVER_MS);
  for (const c of [onA, onB, onC]) await c.close();
});
