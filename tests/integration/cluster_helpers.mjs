// cluster_helpers.mjs - real nats-server processes (JetStream on, a store in
// a temporary directory, free ports) and mcpproxy nodes configured to share
// its stream. Used by the cluster*.test.mjs files; nothing is mocked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, connectReady, repoRoot, api } from './harness.mjs';
import { readUntil } from './realtime_helpers.mjs';

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `nats-server -js` on a free port (or `port`), its store in `storeDir`
 * (a new temporary directory when not given). Resolves once its monitoring
 * endpoint says JetStream is up (GET /healthz?js-enabled-only=true).
 * `extra`: more arguments (a cluster's, startNatsCluster).
 */
export async function startNats({ port, storeDir, monitor, extra = [] } = {}) {
  port = port ?? await freePort();
  monitor = monitor ?? await freePort();
  const ownStore = !storeDir;
  storeDir = storeDir ?? mkdtempSync(path.join(tmpdir(), 'mcpproxy-nats-'));
  const proc = spawn('nats-server',
    ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', storeDir, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}):\n${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`nats-server did not come up:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`, port, monitor, storeDir, proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
    async destroy() {
      await this.stop();
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** GET on a nats-server's monitoring endpoint: the JSON, or null if it does not answer. */
export async function natsMonitor(server, what) {
  try {
    const res = await fetch(`http://127.0.0.1:${server.monitor}${what}`);
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

/**
 * Starts `n` nats-servers forming one JetStream cluster (one cluster name,
 * each its own server_name, store and ports, each routing to all the
 * others) and resolves once every one of them names the same meta leader
 * (GET /jsz: meta_cluster.leader), so streams can be created.
 * `urlsFor(i)`: the client URLs with server i first.
 */
export async function startNatsCluster(n = 3, name = 'mcpproxy-test') {
  const routes = [];
  for (let i = 0; i < n; i++) routes.push(await freePort());
  const routeUrls = routes.map((p) => `nats://127.0.0.1:${p}`);
  const servers = await Promise.all(routes.map((routePort, i) => startNats({
    extra: ['--server_name', `n${i}`, '--cluster_name', name, '--cluster', `nats://127.0.0.1:${routePort}`,
      '--routes', routeUrls.filter((_, k) => k !== i).join(',')],
  })));
  const deadline = Date.now() + 30000;
  for (;;) {
    const jsz = await Promise.all(servers.filter((s) => s.proc.exitCode === null).map((s) => natsMonitor(s, '/jsz')));
    const leaders = jsz.map((j) => j?.meta_cluster?.leader);
    if (leaders.length === n && leaders[0] && leaders.every((l) => l === leaders[0])) break;
    if (Date.now() > deadline) {
      await Promise.all(servers.map((s) => s.destroy()));
      throw new Error(`no JetStream meta leader within 30 s: ${JSON.stringify(jsz.map((j) => j?.meta_cluster))}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    servers,
    urlsFor: (i) => [...servers.slice(i), ...servers.slice(0, i)].map((s) => s.url).join(','),
    /** The index of the server holding the client connection named `name` (-1: none). */
    async serverOf(clientName) {
      for (const [i, s] of servers.entries()) {
        const connz = await natsMonitor(s, '/connz');
        if (connz?.connections?.some((c) => c.name === clientName)) return i;
      }
      return -1;
    },
    async destroy() { await Promise.all(servers.map((s) => s.destroy())); },
  };
}

/** The environment of a node: nats.c's own leak after a NATS restart
 * (lsan_nats.supp says which) is not ours. */
export const natsEnv = { LSAN_OPTIONS: `suppressions=${path.join(repoRoot, 'tests/integration/lsan_nats.supp')}` };

/**
 * Starts an mcpproxy node of the cluster on `natsUrl` and waits until its
 * own cluster_state_changed "connected" comes back through the stream.
 * `configPath` restarts a node with the config it had (keepConfig); `after`:
 * the event must have a seq above it (a restarted node's earlier
 * "connected" is still in the stream). `config`: more of the node's config
 * (its mcpServers); `cluster`: more cluster settings (buffer, stream,
 * heartbeat_ms, ...).
 */
export async function startNode(natsUrl, node, { configPath, history, after = 0, config = {}, cluster = {} } = {}) {
  const proxy = configPath
    ? await startProxy({ configPath, env: natsEnv })
    : await startProxy({
      config: { ...config, cluster: { nats_url: natsUrl, node, ...(history ? { history } : {}), ...cluster } },
      keepConfig: true, env: natsEnv,
    });
  await waitClusterEvent(proxy, (e) => e.node === node && e.new_state === 'connected' && e.seq > after);
  return proxy;
}

/**
 * Reads /ws/events from the start of the history until a
 * cluster_state_changed matching pred arrives; resolves with it.
 */
export async function waitClusterEvent(proxy, pred, ms = 20000) {
  const [client] = await connectReady(proxy, '/ws/events?types=cluster_state_changed&since=0');
  try {
    const msgs = await readUntil(client, (m) => m.type === 'cluster_state_changed' && pred(m), ms);
    return msgs[msgs.length - 1];
  } finally {
    await client.close();
  }
}

/** Stops a node and removes its config directory. */
export async function stopNode(proxy) {
  const result = await proxy.stop();
  if (proxy.dir) rmSync(proxy.dir, { recursive: true, force: true });
  return result;
}

/**
 * Stops every node ({name: proxy}), then NATS (anything with destroy()),
 * and asserts each node exited cleanly, quoting its last log lines if not.
 */
export async function stopCluster(nodes, nats) {
  const results = [];
  for (const p of Object.values(nodes)) results.push([p, await stopNode(p)]);
  await nats?.destroy();
  for (const [p, result] of results) {
    assert.deepEqual(result, { code: 0, signal: null },
      `a clean stop; its last log lines:\n${p.logs.slice(-25).map((e) => JSON.stringify(e)).join('\n')}`);
  }
}

/** POSTs events to a node of the cluster: accepted, numbered later (202). */
export async function postEvents(proxy, events) {
  const res = await api(proxy, 'POST', '/api/events', events);
  assert.equal(res.status, 202, `POST /api/events: ${res.status} ${res.text}`);
  assert.deepEqual(res.json, { accepted: Array.isArray(events) ? events.length : 1 });
}

/** Polls pred() every 50 ms until it resolves truthy; resolves with its value. */
export async function pollUntil(pred, what, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
