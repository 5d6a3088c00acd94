// upstream_orphans.test.mjs - no upstream process outlives mcpproxy: neither
// after a graceful stop (SIGTERM: every child is stopped and reaped before the
// proxy exits) nor after SIGKILL (children see EOF on stdin and get the
// kernel's parent-death signal through mcpproxy-exec).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './harness.mjs';
import { recordEvents, isState, status, demo, everythingArgs, alive, waitAllDead, childrenOf } from './upstream_helpers.mjs';

const servers = [
  demo('d1'),
  demo('d2', ['--tools-change-every', '0.5']),
  { name: 'everything', command: 'node', args: everythingArgs },
];

async function startAllReady() {
  const proxy = await startProxy({ config: { mcpServers: servers } });
  const rec = await recordEvents(proxy);
  for (const s of servers) await rec.until(isState(s.name, 'Ready'), 30000, `${s.name} Ready`);
  const pids = (await status(proxy)).servers.map((s) => s.pid);
  assert.equal(pids.length, 3);
  for (const pid of pids) assert.ok(alive(pid), `pid ${pid} should run`);
  // They are mcpproxy's own children (no shell in between).
  assert.deepEqual(childrenOf(proxy.proc.pid).sort(), [...pids].sort());
  rec.close();
  return { proxy, pids };
}

test('SIGTERM: mcpproxy stops and reaps every server before it exits', async () => {
  const { proxy, pids } = await startAllReady();
  // The proxy's own word that it stopped them before exiting: once it has
  // exited no API is left to ask, and the stream has closed before this.
  const stopped = proxy.waitForLog((e) => e.msg === 'all upstream servers stopped', 10000);
  const t0 = Date.now();
  const { code } = await proxy.stop('SIGTERM');
  assert.equal(code, 0);
  await stopped;
  assert.ok(Date.now() - t0 < 5000, 'the proxy exits promptly');
  // Reaped by the proxy itself: not even a zombie is left.
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} outlived mcpproxy`);
});

test('SIGKILL: no server outlives mcpproxy', async () => {
  const { proxy, pids } = await startAllReady();
  const { signal } = await proxy.stop('SIGKILL');
  assert.equal(signal, 'SIGKILL');
  await waitAllDead(pids, 10000);
});
