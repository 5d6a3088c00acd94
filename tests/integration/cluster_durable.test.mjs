// cluster_durable.test.mjs - nothing a node publishes is lost while its NATS
// is away (the outbox, docs/PROTOCOL.md "Clusters"), what overflows is told,
// and a node starts while NATS is unreachable. Real nats-server processes,
// stopped and started again; nothing is mocked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { api, connectReady, startProxy, proxyBin } from './harness.mjs';
import { readUntil, eventsOnly } from './realtime_helpers.mjs';
import { startNats, startNode, stopNode, stopCluster, postEvents, waitClusterEvent, freePort, natsEnv, pollUntil } from './cluster_helpers.mjs';

// After a NATS restart a node's ordered consumer is recreated once nats.c
// notices the missed heartbeats: that can take tens of seconds.
const RESTART_MS = 90000;

let nats;
const nodes = {};

before(async () => {
  nats = await startNats();
  for (const name of ['a', 'b', 'c']) nodes[name] = await startNode(nats.url, name);
  // d overflows: it holds at most 3 events while NATS is away.
  nodes.d = await startNode(nats.url, 'd', { cluster: { buffer: 3 } });
});

after(() => stopCluster(nodes, nats));

async function health(proxy) {
  const res = await api(proxy, 'GET', '/healthz');
  assert.equal(res.status, 200);
  return res.json;
}

const tagged = (prefix, n) => Array.from({ length: n }, (_, i) =>
  ({ type: 'tool_called', server_name: 'durable', data: { tag: `${prefix}${i}` } }));

/** The numbered (not pending) tool_called events read until the one tagged `last`. */
async function numberedUntil(client, last, ms = RESTART_MS) {
  const msgs = await readUntil(client, (m) => m.type === 'tool_called' && m.data?.tag === last && !m.pending, ms);
  return eventsOnly(msgs).filter((e) => e.type === 'tool_called' && !e.pending);
}

/** Stops NATS and waits until `proxy`'s own client hears its node is cut off. */
async function natsDown(client, node) {
  await nats.stop();
  await readUntil(client, (m) => m.type === 'cluster_state_changed' && m.node === node && m.new_state === 'disconnected');
}

async function natsBack() {
  nats = await startNats({ port: nats.port, storeDir: nats.storeDir });
}

test('events published on a node while NATS is down reach every node once, in order, after it is back', async () => {
  const before = await health(nodes.a);
  const [onA] = await connectReady(nodes.a, '/ws/events?types=tool_called,cluster_state_changed');
  const [onB] = await connectReady(nodes.b, '/ws/events?types=tool_called');
  const [onC] = await connectReady(nodes.c, '/ws/events?types=tool_called');
  await natsDown(onA, 'a');

  // Meanwhile a's clients get each event at once, as a preview: pending,
  // at the seq they already have (their resume point does not move).
  await postEvents(nodes.a, tagged('w', 5));
  const previews = eventsOnly(await readUntil(onA, (m) => m.data?.tag === 'w4')).filter((e) => e.type === 'tool_called');
  assert.deepEqual(previews.map((e) => e.data.tag), ['w0', 'w1', 'w2', 'w3', 'w4']);
  for (const e of previews) {
    assert.equal(e.pending, true);
    assert.equal(e.seq, before.seq);
    assert.equal(e.node, 'a');
  }
  const down = await health(nodes.a);
  assert.equal(down.status, 'degraded');
  assert.equal(down.seq, before.seq, 'previews are not in the history');
  assert.ok(down.cluster.buffered >= 5, `the outbox holds them: ${JSON.stringify(down.cluster)}`);

  await natsBack();
  const onB2 = await numberedUntil(onB, 'w4');
  const onC2 = await numberedUntil(onC, 'w4');
  const onA2 = await numberedUntil(onA, 'w4');
  const w = (list) => list.filter((e) => e.data.tag.startsWith('w'));
  assert.deepEqual(w(onB2).map((e) => e.data.tag), ['w0', 'w1', 'w2', 'w3', 'w4'], 'once each, in order');
  for (let i = 1; i < 5; i++) assert.ok(w(onB2)[i].seq > w(onB2)[i - 1].seq);
  assert.ok(w(onB2)[0].seq > before.seq);
  assert.deepEqual(w(onC2), w(onB2), 'c got what b got, with the same seqs');
  assert.deepEqual(w(onA2), w(onB2), 'a\'s own clients get the numbered copies once');
  assert.ok(!onA.messages.some((m) => m.type === 'resync_required' || m.type === 'events_dropped'));

  // A client of a that saw `before.seq` resumes: no gap, no duplicate.
  const [resumed] = await connectReady(nodes.a, `/ws/events?types=tool_called&since=${before.seq}&epoch=${before.epoch}`);
  const got = await numberedUntil(resumed, 'w4', 15000);
  assert.deepEqual(got, w(onB2));
  assert.ok(!resumed.messages.some((m) => m.type === 'resync_required' || m.type === 'events_dropped' || m.pending));

  // a said it is connected again and lost nothing.
  const up = await waitClusterEvent(nodes.a, (e) => e.node === 'a' && e.new_state === 'connected' && e.seq > before.seq);
  assert.equal(up.data.events_lost, 0);
  for (const c of [onA, onB, onC, resumed]) await c.close();
});

test('overflow: the oldest unsent events are dropped, counted and told; a resume across the hole gets resync_required', async () => {
  // d back from the last test's outage first (a loaded machine may
  // reconnect it late), or it would have no "disconnected" to tell.
  await pollUntil(async () => (await health(nodes.d)).cluster.state === 'connected', 'node d connected', RESTART_MS);
  const before = await health(nodes.d);
  const [onD] = await connectReady(nodes.d, '/ws/events?types=cluster_state_changed');
  const [onB] = await connectReady(nodes.b, '/ws/events?types=tool_called,cluster_state_changed');
  await natsDown(onD, 'd');
  // d's outbox (3) gets its "disconnected" event and six more: the four
  // oldest (disconnected, o0, o1, o2) never reach the stream.
  await postEvents(nodes.d, tagged('o', 6));
  const h = await health(nodes.d);
  assert.equal(h.cluster.buffered, 3);
  assert.equal(h.cluster.events_lost, 4);
  const metrics = await api(nodes.d, 'GET', '/metrics');
  assert.match(metrics.text, /^mcpproxy_cluster_events_lost_total 4$/m);

  await natsBack();
  const msgs = await readUntil(onB, (m) => m.type === 'cluster_state_changed' && m.node === 'd' && m.new_state === 'connected',
    RESTART_MS);
  const fromD = eventsOnly(msgs).filter((e) => e.node === 'd');
  assert.deepEqual(fromD.map((e) => e.data.tag ?? e.new_state), ['o3', 'o4', 'o5', 'connected'],
    'what survived, in order, then the news of the loss');
  const up = fromD[fromD.length - 1];
  assert.equal(up.data.events_lost, 4);

  // Resuming from before the hole cannot be complete, on any node.
  for (const node of [nodes.b, nodes.d]) {
    const [client, hello] = await connectReady(node, `/ws/events?since=${before.seq}&epoch=${before.epoch}`);
    const resync = await client.next();
    assert.equal(resync.type, 'resync_required', JSON.stringify(resync));
    assert.match(resync.reason, /cluster\.buffer/);
    assert.equal(resync.seq, hello.seq);
    await client.close();
  }
  // From the news on, it can.
  const [after] = await connectReady(nodes.b, `/ws/events?types=tool_called&since=${up.seq}&epoch=${before.epoch}`);
  await postEvents(nodes.b, tagged('p', 1));
  const [p0] = (await numberedUntil(after, 'p0', 15000));
  assert.equal(p0.data.tag, 'p0');
  assert.ok(!after.messages.some((m) => m.type === 'resync_required'));
  for (const c of [onD, onB, after]) await c.close();
});

test('a node starts while its NATS is unreachable: degraded, then connected, its early events in the stream', async () => {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const e = await startProxy({ config: { cluster: { nats_url: url, node: 'e', stream: 'LATE' } }, env: natsEnv });
  let late;
  try {
    const h = await health(e);
    assert.equal(h.status, 'degraded');
    assert.equal(h.cluster.state, 'connecting');
    const line = await e.waitForLog((l) => /NATS not reachable/.test(l.msg ?? ''));
    assert.equal(line.nats_url, url, 'the log names the URL');

    const [onE] = await connectReady(e, '/ws/events?types=tool_called');
    await postEvents(e, tagged('early', 1));
    const [preview] = eventsOnly(await readUntil(onE, (m) => m.data?.tag === 'early0'));
    assert.equal(preview.pending, true);

    late = await startNats({ port });
    await waitClusterEvent(e, (ev) => ev.node === 'e' && ev.new_state === 'connected', 30000);
    const [numbered] = await numberedUntil(onE, 'early0', 30000);
    assert.ok(numbered.seq >= 1);
    assert.equal(numbered.node, 'e');
    assert.equal((await health(e)).status, 'ok');
    await onE.close();
  } finally {
    const result = await stopNode(e);
    if (late) await late.destroy();
    assert.deepEqual(result, { code: 0, signal: null }, e.logs.slice(-20).map((l) => JSON.stringify(l)).join('\n'));
  }
});

test('an event larger than the NATS server takes is left out (logged), not holding up the ones behind it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-nats-conf-'));
  const conf = path.join(dir, 'nats.conf');
  writeFileSync(conf, 'max_payload: 4096\n');
  const small = await startNats({ extra: ['-c', conf] });
  const f = await startNode(small.url, 'f', { cluster: { stream: 'SMALL' } });
  try {
    const [onF] = await connectReady(f, '/ws/events?types=tool_called');
    await postEvents(f, [
      { type: 'tool_called', server_name: 'big', data: { tag: 'big', pad: 'x'.repeat(8000) } },
      ...tagged('after', 1),
    ]);
    const got = await numberedUntil(onF, 'after0', 15000);
    assert.deepEqual(got.map((e) => e.data.tag), ['after0'], 'the big one never reached the stream');
    const line = await f.waitForLog((l) => /max_payload/.test(l.msg ?? ''));
    assert.ok(line.bytes > 4096);
    // Nothing stays held: the outbox empties once the stream acked the rest.
    const deadline = Date.now() + 10000;
    let buffered;
    while ((buffered = (await health(f)).cluster.buffered) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(buffered, 0);
    await onF.close();
  } finally {
    const result = await stopNode(f);
    await small.destroy();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(result, { code: 0, signal: null });
  }
});

/** Runs the proxy on a config to its exit: {code, stderr}. */
function runToExit(config) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-cluster-start-'));
  const cfg = path.join(dir, 'mcp_config.json');
  writeFileSync(cfg, JSON.stringify(config));
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, ['--config', cfg, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...natsEnv } });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const guard = setTimeout(() => proc.kill('SIGKILL'), 10000); // ran on instead of failing
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(guard);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stderr });
    });
  });
}

test('what waiting cannot mend still fails the start: a malformed nats_url, an unreadable credentials file', async () => {
  const bad = await runToExit({ cluster: { node: 'x', nats_url: 'nats://127.0.0.1:99999' } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cluster\.nats_url/);
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-creds-'));
  chmodSync(dir, 0o755);
  const creds = await runToExit({ cluster: { node: 'x', credentials: path.join(dir, 'missing.creds') } });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(creds.code, 1);
  assert.match(creds.stderr, /cannot read cluster\.credentials .*missing\.creds/);
});

test('a client accepted while NATS was away is still read once NATS is back (its close is answered)', async () => {
  const [onA] = await connectReady(nodes.a, '/ws/events?types=cluster_state_changed');
  const before = await health(nodes.a);
  await natsDown(onA, 'a');
  // Accepted now, it likely gets the number of the socket nats.c just
  // closed, which the NATS adapter stops polling later, on the reconnect.
  const [late] = await connectReady(nodes.a, '/ws/events?types=tool_called');
  await natsBack();
  await waitClusterEvent(nodes.a, (e) => e.node === 'a' && e.new_state === 'connected' && e.seq > before.seq, RESTART_MS);
  await postEvents(nodes.b, tagged('r', 1));
  await readUntil(late, (m) => m.data?.tag === 'r0' && !m.pending, RESTART_MS);
  // A client whose socket left epoll gets no close frame back (1006 after
  // the ws library's 30 s); one still read gets its 1005 echoed at once.
  const { code } = await late.close();
  assert.equal(code, 1005);
  await onA.close();
});

test('NATS back without its store: the stream is made anew, clients are told to resync, events flow under the new epoch', async () => {
  const before = await health(nodes.b);
  const [onB] = await connectReady(nodes.b, '/ws/events?types=tool_called,cluster_state_changed');
  const sse = await fetch(`${nodes.c.url}/events?types=tool_called`);
  const sseText = sse.body.pipeThrough(new TextDecoderStream()).getReader();
  const old = nats;
  await natsDown(onB, 'b');
  rmSync(old.storeDir, { recursive: true, force: true });
  nats = await startNats({ port: old.port }); // the same address, an empty store

  const resync = (await readUntil(onB, (m) => m.type === 'resync_required', RESTART_MS)).pop();
  assert.match(resync.reason, /stream was made anew/);
  assert.notEqual(resync.epoch, before.epoch);
  assert.equal(resync.seq, 0);

  // Every node is on the new stream: connected, its epoch the new one.
  for (const [name, p] of Object.entries(nodes)) {
    await waitClusterEvent(p, (e) => e.node === name && e.new_state === 'connected', RESTART_MS);
    assert.equal((await health(p)).epoch, resync.epoch, `node ${name} on the new epoch`);
  }
  await postEvents(nodes.a, tagged('n', 2));
  const n = (await numberedUntil(onB, 'n1')).filter((e) => e.data.tag.startsWith('n'));
  assert.deepEqual(n.map((e) => e.data.tag), ['n0', 'n1']);
  assert.ok(n[0].seq < before.seq, `seqs started over: ${n[0].seq} after ${before.seq}`);

  // An SSE client of node c was told too, then got the new events.
  let text = '';
  while (!/"tag":"n1"/.test(text)) {
    const { value, done } = await sseText.read();
    assert.ok(!done, `the SSE stream ended early:\n${text}`);
    text += value;
  }
  assert.match(text, /"type":"resync_required","reason":"the cluster's stream was made anew/);
  assert.ok(text.indexOf('resync_required') < text.indexOf('"tag":"n0"'));
  await sseText.cancel();
  await onB.close();
});
