// cluster_servers.test.mjs - two mcpproxy nodes on one real nats-server, each
// with a real stdio MCP server (mcp-demo-server): every node lists every
// node's servers, live (docs/PROTOCOL.md, "Clusters").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';
import { check } from './openapi_helpers.mjs';
import { startNats, startNode, stopNode } from './cluster_helpers.mjs';

const HEARTBEAT_MS = 200;
let nats;
const nodes = {};
const recs = {};

before(async () => {
  nats = await startNats();
  for (const name of ['a', 'b']) {
    nodes[name] = await startNode(nats.url, name, { config: { mcpServers: [demo(`srv-${name}`)] }, cluster: { heartbeat_ms: HEARTBEAT_MS } });
    recs[name] = await recordEvents(nodes[name]);
  }
  for (const name of ['a', 'b']) await recs[name].until(isState(`srv-${name}`, 'Ready'));
});

after(async () => {
  const results = [];
  for (const r of Object.values(recs)) await r.client.close();
  for (const p of Object.values(nodes)) results.push([p, await stopNode(p)]);
  await nats.destroy();
  for (const [p, result] of results) {
    assert.deepEqual(result, { code: 0, signal: null },
      `a clean stop; its last log lines:\n${p.logs.slice(-25).map((e) => JSON.stringify(e)).join('\n')}`);
  }
});

/** GET /api/servers/status on a node, checked against docs/openapi.json. */
async function status(proxy) {
  const res = await api(proxy, 'GET', '/api/servers/status');
  check('GET', '/api/servers/status', res);
  return res.json;
}

/** Polls a node's status until pred(entry of `server`) holds: the registry is written every 100 ms. */
async function statusUntil(proxy, server, pred, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const list = await status(proxy);
    const entry = list.servers.find((s) => s.name === server);
    if (entry && pred(entry)) return { list, entry };
    if (Date.now() > deadline) throw new Error(`${server} never matched: ${JSON.stringify(list.servers)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('every node lists every node\'s servers, each with its node', async () => {
  const { list, entry } = await statusUntil(nodes.b, 'srv-a', (s) => s.state === 'Ready');
  assert.equal(entry.node, 'a');
  assert.equal(entry.status, 'Ready');
  assert.ok(entry.tool_count > 0);
  assert.equal(list.servers.find((s) => s.name === 'srv-b').node, 'b', 'a local server names this node');
  assert.ok(!('tools' in entry), 'the tool definitions stay in the registry');
  // The same entry as its owner gives it, but for what only the owner knows.
  const own = (await status(nodes.a)).servers.find((s) => s.name === 'srv-a');
  assert.equal(own.node, 'a');
  for (const k of ['state', 'status', 'tool_count', 'command', 'group', 'enabled']) assert.deepEqual(entry[k], own[k], k);

  const one = await api(nodes.b, 'GET', '/api/servers/srv-a');
  assert.equal(one.status, 200);
  check('GET', '/api/servers/{name}', one);
  assert.equal(one.json.node, 'a');
  const st = await api(nodes.b, 'GET', '/api/servers/srv-a/status');
  assert.equal(st.status, 200);
  check('GET', '/api/servers/{name}/status', st);
  const tools = await api(nodes.b, 'GET', '/api/servers/srv-a/tools');
  assert.equal(tools.status, 200);
  check('GET', '/api/servers/{name}/tools', tools);
  assert.ok(tools.json.tools.some((t) => t.name === 'add'), JSON.stringify(tools.json));
  const all = await api(nodes.b, 'GET', '/api/servers');
  check('GET', '/api/servers', all);
  assert.deepEqual(all.json.servers.map((s) => [s.name, s.node]).sort(), [['srv-a', 'a'], ['srv-b', 'b']]);
});

test('actions on another node\'s server answer 409 naming its node; its name is taken', async () => {
  for (const [method, path] of [['POST', '/api/servers/srv-a/restart'], ['POST', '/api/servers/srv-a/disable'],
    ['PATCH', '/api/servers/srv-a'], ['DELETE', '/api/servers/srv-a']]) {
    const res = await api(nodes.b, method, path, method === 'PATCH' ? { enabled: false } : undefined);
    assert.equal(res.status, 409, `${method} ${path}: ${res.text}`);
    assert.match(res.json.error, /runs on node a/);
  }
  const add = await api(nodes.b, 'POST', '/api/servers', demo('srv-a'));
  assert.equal(add.status, 409, add.text);
  assert.equal(add.json.error, 'server name srv-a is already used by node a (names are unique in the cluster)');
  check('POST', '/api/servers', add);
});

test('a state change on a node shows in another node\'s events and status', async () => {
  const res = await api(nodes.a, 'POST', '/api/servers/srv-a/disable');
  assert.equal(res.status, 200, res.text);
  const ev = await recs.b.until((e) => e.type === 'server_state_changed' && e.server_name === 'srv-a' && e.new_state === 'Disconnected');
  assert.equal(ev.node, 'a');
  await statusUntil(nodes.b, 'srv-a', (s) => s.status === 'Disabled' && s.state === 'Disconnected');
  assert.equal((await api(nodes.a, 'POST', '/api/servers/srv-a/enable')).status, 200);
  await recs.b.until((e) => e.type === 'server_state_changed' && e.server_name === 'srv-a' && e.new_state === 'Ready' && e.seq > ev.seq);
  await statusUntil(nodes.b, 'srv-a', (s) => s.status === 'Ready');
});
