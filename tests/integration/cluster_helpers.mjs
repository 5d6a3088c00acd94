// cluster_helpers.mjs - real nats-server processes (JetStream on, a store in
// a temporary directory, free ports) and mcpproxy nodes configured to share
// its stream. Used by cluster.test.mjs; nothing is mocked.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, connectReady, repoRoot } from './harness.mjs';
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
 */
export async function startNats({ port, storeDir } = {}) {
  port = port ?? await freePort();
  const monitor = await freePort();
  const ownStore = !storeDir;
  storeDir = storeDir ?? mkdtempSync(path.join(tmpdir(), 'mcpproxy-nats-'));
  const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', storeDir],
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
    url: `nats://127.0.0.1:${port}`, port, storeDir, proc,
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

/**
 * Starts an mcpproxy node of the cluster on `natsUrl` and waits until its
 * own cluster_state_changed "connected" comes back through the stream.
 * `configPath` restarts a node with the config it had (keepConfig); `after`:
 * the event must have a seq above it (a restarted node's earlier
 * "connected" is still in the stream). `config`: more of the node's config
 * (its mcpServers); `cluster`: more cluster keys (heartbeat_ms).
 */
export async function startNode(natsUrl, node, { configPath, history, after = 0, config = {}, cluster = {} } = {}) {
  // nats.c's own leak after a NATS restart (lsan_nats.supp says which).
  const env = { LSAN_OPTIONS: `suppressions=${path.join(repoRoot, 'tests/integration/lsan_nats.supp')}` };
  const proxy = configPath
    ? await startProxy({ configPath, env })
    : await startProxy({ config: { ...config, cluster: { nats_url: natsUrl, node, ...(history ? { history } : {}), ...cluster } }, keepConfig: true, env });
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
