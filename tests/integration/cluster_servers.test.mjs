// cluster_servers.test.mjs - two mcpproxy nodes on one real nats-server, each
// with a real stdio MCP server (mcp-demo-server): every node lists every
// node's servers, live (docs/PROTOCOL.md, "Clusters").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { api } from './harness.mjs';
import { recordEvents, demo } from './upstream_helpers.mjs';
import { check } from './openapi_helpers.mjs';
import { mcpConnect, mcpPost, rawInitialize, jsonHeaders, callSignals, signalServer } from './mcp_helpers.mjs';
import { startNats, startNode, stopNode, stopCluster } from './cluster_helpers.mjs';

const HEARTBEAT_MS = 200;
let nats;
let signals;
let watcher; // an MCP client of node b, counting tools/list_changed
let listChanged = 0;
const nodes = {};
const recs = {};

before(async () => {
  nats = await startNats();
  signals = await callSignals();
  for (const name of ['a', 'b', 'c']) {
    // Node a also runs a server that reports each call as it gets it.
    const servers = [demo(`srv-${name}`), ...(name === 'a' ? [signalServer('sig-a', signals)] : [])];
    nodes[name] = await startNode(nats.url, name, { config: { mcpServers: servers }, cluster: { heartbeat_ms: HEARTBEAT_MS } });
    recs[name] = await recordEvents(nodes[name]);
  }
  // Each node's own status (its first events may precede its link to the stream).
  for (const name of ['a', 'b', 'c']) await statusUntil(nodes[name], `srv-${name}`, (s) => s.state === 'Ready');
  await statusUntil(nodes.a, 'sig-a', (s) => s.state === 'Ready');
  watcher = await mcpConnect(nodes.b, { onListChanged: () => { listChanged++; } });
});

after(async () => {
  await watcher?.client.close();
  await signals?.close();
  for (const r of Object.values(recs)) await r.client.close();
  await stopCluster(nodes, nats);
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
  assert.deepEqual(all.json.servers.map((s) => [s.name, s.node]).sort(), [['sig-a', 'a'], ['srv-a', 'a'], ['srv-b', 'b'], ['srv-c', 'c']]);
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
  // Two nodes adding one new name at once: the names bucket lets one win.
  const [onB, onC] = await Promise.all([api(nodes.b, 'POST', '/api/servers', demo('twin')),
    api(nodes.c, 'POST', '/api/servers', demo('twin'))]);
  assert.deepEqual([onB.status, onC.status].sort(), [201, 409], `${onB.text} / ${onC.text}`);
  const [winner, loser] = onB.status === 201 ? ['b', onC] : ['c', onB];
  assert.equal(loser.json.error, `server name twin is already used by node ${winner} (names are unique in the cluster)`);
  check('POST', '/api/servers', loser);
  assert.equal((await api(nodes[winner], 'DELETE', '/api/servers/twin')).status, 200);
  // Released with its server: the other node may have it now.
  const other = winner === 'b' ? 'c' : 'b';
  await until(async () => (await api(nodes[other], 'POST', '/api/servers', demo('twin'))).status === 201, 'twin free again');
  assert.equal((await api(nodes[other], 'DELETE', '/api/servers/twin')).status, 200);
});

test('a configured server whose name another node serves is not started: Error, naming the node', async () => {
  const cfg = JSON.parse(readFileSync(nodes.b.configPath, 'utf8'));
  const original = JSON.stringify(cfg, null, 2);
  cfg.mcpServers.push(demo('srv-a'));
  writeFileSync(nodes.b.configPath, JSON.stringify(cfg, null, 2));
  nodes.b.proc.kill('SIGHUP');
  const isOurs = (e) => e.server_name === 'srv-a' && e.node === 'b';
  const ev = await recs.b.until((e) => e.type === 'server_state_changed' && isOurs(e) && e.new_state === 'Error');
  assert.equal(ev.data.last_error, 'server name srv-a is already used by node a (names are unique in the cluster)');
  // It waited for its name (Connecting, no process) and never got further.
  assert.ok(!recs.b.events.some((e) => isOurs(e) && ['Discovering', 'Ready'].includes(e.new_state)), 'never started');
  // The configured one is b's own, in Error; a's is still listed, Ready.
  const list = (await status(nodes.b)).servers.filter((s) => s.name === 'srv-a');
  assert.deepEqual(list.map((s) => [s.node, s.state]).sort(), [['a', 'Ready'], ['b', 'Error']]);
  assert.equal(list.find((s) => s.node === 'b').pid, null);
  writeFileSync(nodes.b.configPath, original);
  nodes.b.proc.kill('SIGHUP');
  await recs.b.until((e) => e.type === 'server_config_changed' && isOurs(e) && e.data?.action === 'deleted');
});

/** Polls until pred holds. */
async function until(pred, what, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The tool names tools/list on a node offers. */
async function toolNames(proxy, session) {
  const res = await mcpPost(proxy, { jsonrpc: '2.0', id: 'list', method: 'tools/list' }, jsonHeaders(session));
  assert.equal(res.status, 200, res.text);
  return res.json.result.tools.map((t) => t.name);
}

test('tools/list on a node offers every node\'s tools; a call of another node\'s tool runs on its node', async () => {
  const session = await rawInitialize(nodes.b);
  await until(async () => (await toolNames(nodes.b, session)).includes('sig-a__echo'), 'sig-a__echo on b');
  const names = await toolNames(nodes.b, session);
  for (const t of ['srv-a__add', 'srv-b__add', 'srv-c__add', 'sig-a__sleep']) assert.ok(names.includes(t), `${t} in ${names}`);

  const body = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'srv-a__add', arguments: { a: 2, b: 3 } } };
  const call = await mcpPost(nodes.b, body, jsonHeaders(session));
  assert.equal(call.status, 200, call.text);
  assert.equal(call.json.id, 2, 'the client\'s own id');
  // What node a's own /mcp answers for the same call.
  const direct = await mcpPost(nodes.a, body, jsonHeaders(await rawInitialize(nodes.a)));
  assert.deepEqual(call.json.result, direct.json.result, 'the upstream\'s result, unchanged');
  assert.equal(call.json.result.isError, undefined);
  const ev = await recs.b.until((e) => e.type === 'tool_called' && e.server_name === 'srv-a' && e.data.tool === 'add');
  assert.equal(ev.node, 'a', 'the owner publishes tool_called');
  assert.equal(ev.data.ok, true);
  // The owner keeps the activity row; the caller none.
  await until(async () => (await api(nodes.a, 'GET', '/api/activity?server=srv-a')).json.rows.length === 2, 'both calls\' rows on a');
  const rowsB = await api(nodes.b, 'GET', '/api/activity?server=srv-a');
  assert.equal(rowsB.json.rows.length, 0, `no row on b: ${rowsB.text}`);
});

test('a client\'s notifications/cancelled reaches the node that runs the call', async () => {
  const session = await rawInitialize(nodes.b);
  await until(async () => (await toolNames(nodes.b, session)).includes('sig-a__sleep'), 'sig-a__sleep on b');
  const pending = mcpPost(nodes.b, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sig-a__sleep', arguments: { ms: 60000 } } }, jsonHeaders(session));
  await signals.next((c) => c.tool === 'sleep');
  const cancel = await mcpPost(nodes.b, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } }, jsonHeaders(session));
  assert.equal(cancel.status, 202);
  const ev = await recs.b.until((e) => e.type === 'tool_called' && e.server_name === 'sig-a' && e.data.tool === 'sleep');
  assert.equal(ev.node, 'a');
  assert.equal(ev.data.ok, false);
  assert.equal(ev.data.error, 'cancelled by the client');
  assert.equal((await pending).status, 202, 'a cancelled request gets no answer');
});

test('a state change on a node shows in another node\'s events, status and tools/list', async () => {
  const before = listChanged;
  const res = await api(nodes.a, 'POST', '/api/servers/srv-a/disable');
  assert.equal(res.status, 200, res.text);
  const ev = await recs.b.until((e) => e.type === 'server_state_changed' && e.server_name === 'srv-a' && e.node === 'a' && e.new_state === 'Disconnected');
  assert.equal(ev.node, 'a');
  await statusUntil(nodes.b, 'srv-a', (s) => s.status === 'Disabled' && s.state === 'Disconnected');
  await until(() => listChanged > before, 'tools/list_changed on b');
  const session = await rawInitialize(nodes.b);
  assert.ok(!(await toolNames(nodes.b, session)).includes('srv-a__add'), 'a disabled server\'s tools leave the list');
  assert.equal((await api(nodes.a, 'POST', '/api/servers/srv-a/enable')).status, 200);
  await recs.b.until((e) => e.type === 'server_state_changed' && e.server_name === 'srv-a' && e.node === 'a' && e.new_state === 'Ready' && e.seq > ev.seq);
  await statusUntil(nodes.b, 'srv-a', (s) => s.status === 'Ready');
});

/** Publishes a marker on `proxy` and resolves with the events `rec` got up to it. */
async function eventsUpTo(proxy, rec, tag) {
  const res = await api(proxy, 'POST', '/api/events', { type: 'tool_called', server_name: 'marker', data: { tag } });
  assert.equal(res.status, 202, res.text);
  const marker = await rec.until((e) => e.type === 'tool_called' && e.data?.tag === tag);
  return rec.events.filter((e) => e.seq <= marker.seq);
}

test('a node that stops cleanly takes its servers out of every list', async () => {
  await recs.c.client.close();
  delete recs.c;
  const result = await stopNode(nodes.c);
  delete nodes.c;
  assert.deepEqual(result, { code: 0, signal: null });
  const ev = await recs.b.until((e) => e.type === 'server_config_changed' && e.server_name === 'srv-c' && e.data?.action === 'deleted');
  assert.equal(ev.node, 'c');
  const deadline = Date.now() + 10000;
  while ((await status(nodes.b)).servers.some((s) => s.name === 'srv-c')) {
    assert.ok(Date.now() < deadline, 'srv-c left the list');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('a node cut off for 3 heartbeats: its servers show Unreachable, and their state again once it is back', async () => {
  const isOurs = (e) => e.type === 'server_state_changed' && e.server_name === 'sig-a' && e.node === 'a';
  nodes.a.proc.kill('SIGSTOP');
  try {
    await recs.b.until((e) => isOurs(e) && e.new_state === 'Unreachable');
    await statusUntil(nodes.b, 'sig-a', (s) => s.state === 'Unreachable');
  } finally {
    nodes.a.proc.kill('SIGCONT');
  }
  const back = await recs.b.until((e) => isOurs(e) && e.old_state === 'Unreachable' && e.new_state === 'Ready');
  // The stopped node did not take the others' silence for theirs.
  assert.ok(!recs.b.events.some((e) => e.new_state === 'Unreachable' && e.node === 'b'), 'b was never announced unreachable');
  assert.equal(back.data.tool_count, 2);
  await statusUntil(nodes.b, 'sig-a', (s) => s.state === 'Ready' && s.last_error === null);
  await statusUntil(nodes.b, 'srv-a', (s) => s.state === 'Ready');
});

test('kill -9 of a node: the others see its servers Unreachable, announced once', async () => {
  // A third node: two survivors announce, the stream keeps one.
  nodes.c = await startNode(nats.url, 'c2', { cluster: { heartbeat_ms: HEARTBEAT_MS } });
  recs.c = await recordEvents(nodes.c);
  // A node that reads the stream from its start (old events of srv-a
  // included) still shows srv-a as the registry has it now.
  await statusUntil(nodes.c, 'srv-a', (s) => s.state === 'Ready');
  // A call in flight when its node dies ends with an error naming the node.
  const session = await rawInitialize(nodes.b);
  const inFlight = mcpPost(nodes.b, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'sig-a__sleep', arguments: { ms: 60000 } } }, jsonHeaders(session));
  await signals.next((c) => c.tool === 'sleep');
  const mark = recs.b.events.at(-1).seq; // earlier Unreachable events (the test above) are before it
  const killed = nodes.a;
  delete nodes.a;
  await recs.a.client.close();
  delete recs.a;
  assert.deepEqual(await killed.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
  rmSync(killed.dir, { recursive: true, force: true });
  const isUnreachable = (e) => e.type === 'server_state_changed' && e.server_name === 'srv-a' && e.new_state === 'Unreachable';
  const ev = await recs.b.until((e) => e.seq > mark && isUnreachable(e));
  const lost = await inFlight;
  assert.equal(lost.status, 200, lost.text);
  assert.equal(lost.json.error.code, -32003);
  assert.match(lost.json.error.message, /node a is unreachable/);
  assert.equal(ev.node, 'a');
  assert.equal(ev.data.last_error, 'node unreachable');
  const { entry } = await statusUntil(nodes.b, 'srv-a', (s) => s.state === 'Unreachable');
  assert.equal(entry.status, 'Unreachable');
  assert.equal(entry.last_error, 'node unreachable');
  // Give the second survivor time to have announced too, then count.
  await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 2));
  for (const [name, rec] of [['b', recs.b], ['c', recs.c]]) {
    const seen = (await eventsUpTo(nodes[name], rec, `after-kill-${name}`)).filter((e) => e.seq > mark && isUnreachable(e));
    assert.equal(seen.length, 1, `node ${name} saw one Unreachable event: ${JSON.stringify(seen)}`);
    assert.equal(seen[0].seq, ev.seq, 'the same event on every node');
  }
  await until(async () => !(await toolNames(nodes.b, session)).some((t) => t.startsWith('srv-a__')), 'srv-a tools leave b');
  // A dead node holds no name: it may be added elsewhere.
  assert.equal((await api(nodes.b, 'POST', '/api/servers', demo('srv-x'))).status, 201);
});
