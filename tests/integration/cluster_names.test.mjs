// cluster_names.test.mjs - a configured server starts only once its node
// holds its name in the cluster (the KV bucket <stream>_names): of two nodes
// started at the same moment with one server name exactly one runs it, and a
// node that cannot reach NATS at its start holds its servers until it can
// (docs/PROTOCOL.md, "Clusters", "Names are unique in the cluster"). Real
// nats-servers, real nodes, real stdio servers (mcp-demo-server).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, startProxy } from './harness.mjs';
import { recordEvents, demo } from './upstream_helpers.mjs';
import { rawInitialize, mcpPost, jsonHeaders } from './mcp_helpers.mjs';
import { startNats, startNode, stopNode, freePort, natsEnv, pollUntil } from './cluster_helpers.mjs';

const HEARTBEAT_MS = 200;
const cleanups = [];

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function statusOf(proxy) {
  const res = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(res.status, 200, res.text);
  return res.json.servers;
}

const until = (pred, what, ms = 20000) => pollUntil(pred, what, ms);

async function toolNames(proxy) {
  const session = await rawInitialize(proxy);
  const res = await mcpPost(proxy, { jsonrpc: '2.0', id: 'list', method: 'tools/list' }, jsonHeaders(session));
  assert.equal(res.status, 200, res.text);
  return res.json.result.tools.map((t) => t.name);
}

test('two nodes started at once with one server name: exactly one runs it, the other shows Error naming it', async () => {
  const nats = await startNats();
  cleanups.push(() => nats.destroy());
  const cluster = { heartbeat_ms: HEARTBEAT_MS };
  // A third node, already up, that runs no such server: it must list only the winner's.
  const z = await startNode(nats.url, 'z', { config: { mcpServers: [demo('srv-z')] }, cluster });
  cleanups.push(() => stopNode(z));
  const [x, y] = await Promise.all(['x', 'y'].map((n) =>
    startNode(nats.url, n, { config: { mcpServers: [demo('twin'), demo(`srv-${n}`)] }, cluster })));
  cleanups.push(() => stopNode(x), () => stopNode(y));
  const nodes = { x, y };

  // Each node's own twin settles: one Ready, the other Error.
  const own = {};
  for (const n of ['x', 'y']) {
    own[n] = await until(async () => {
      const e = (await statusOf(nodes[n])).find((s) => s.name === 'twin' && s.node === n);
      return e && (e.state === 'Ready' || e.state === 'Error') ? e : null;
    }, `node ${n}'s twin settles`);
  }
  const states = [own.x.state, own.y.state].sort();
  assert.deepEqual(states, ['Error', 'Ready'], JSON.stringify(own));
  const winner = own.x.state === 'Ready' ? 'x' : 'y';
  const loser = winner === 'x' ? 'y' : 'x';
  assert.equal(own[loser].last_error,
    `server name twin is already used by node ${winner} (names are unique in the cluster)`);
  assert.equal(own[loser].pid, null, 'the loser never ran it');

  // The loser's twin never got past waiting for its name: no Discovering, no Ready.
  const rec = await recordEvents(nodes[loser]);
  try {
    await rec.until((e) => e.server_name === 'twin' && e.node === loser && e.new_state === 'Error');
    assert.ok(!rec.events.some((e) => e.server_name === 'twin' && e.node === loser &&
      ['Discovering', 'Ready'].includes(e.new_state)), 'never started');
  } finally {
    await rec.close();
  }

  // Every node lists the winner's twin, Ready; only the loser also its own, in Error.
  for (const [n, proxy] of Object.entries({ x, y, z })) {
    const twins = await until(async () => {
      const list = (await statusOf(proxy)).filter((s) => s.name === 'twin');
      return list.some((s) => s.node === winner && s.state === 'Ready') ? list : null;
    }, `node ${n} lists ${winner}'s twin`);
    const expected = (n === loser ? [[loser, 'Error'], [winner, 'Ready']] : [[winner, 'Ready']]).sort();
    assert.deepEqual(twins.map((s) => [s.node, s.state]).sort(), expected, `node ${n}`);
  }
  // Its tools are offered once everywhere (the winner's; a second server's
  // would show as hashed twin__* names): z and the loser see them.
  for (const proxy of [z, nodes[loser], nodes[winner]]) {
    const names = await until(async () => {
      const t = await toolNames(proxy);
      return t.includes('twin__add') && t.includes('srv-z__add') ? t : null;
    }, 'twin__add offered');
    assert.equal(names.filter((t) => t.startsWith('twin__')).length, own[winner].tool_count, names.join(' '));
  }

  // The winner stops cleanly (its name is released): a restart of the loser's twin claims it and runs it.
  assert.deepEqual(await stopNode(nodes[winner]), { code: 0, signal: null });
  const restart = await api(nodes[loser], 'POST', '/api/servers/twin/restart');
  assert.equal(restart.status, 200, restart.text);
  await until(async () => (await statusOf(z)).some((s) => s.name === 'twin' && s.node === loser &&
    s.state === 'Ready'), `z lists ${loser}'s twin Ready`);
});

test('a node that cannot reach NATS at its start holds its servers until it can claim their names', async () => {
  const port = await freePort();
  const proxy = await startProxy({
    config: { mcpServers: [demo('held')], cluster: { nats_url: `nats://127.0.0.1:${port}`, node: 'lone',
      heartbeat_ms: HEARTBEAT_MS } },
    keepConfig: true, env: natsEnv,
  });
  cleanups.push(() => stopNode(proxy));
  // Up and serving, but its server waits: Connecting, no process.
  const health = await api(proxy, 'GET', '/healthz');
  assert.equal(health.json.status, 'degraded', health.text);
  const [held] = await statusOf(proxy);
  assert.equal(held.state, 'Connecting', JSON.stringify(held));
  assert.equal(held.pid, null, 'not started before its name is claimed');

  const nats = await startNats({ port });
  cleanups.push(() => nats.destroy());
  await until(async () => (await statusOf(proxy)).some((s) => s.name === 'held' && s.state === 'Ready'),
    'held Ready once NATS is up');
});
