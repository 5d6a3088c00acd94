// upstream_orphans.test.mjs - no upstream process outlives mcpproxy: neither
// after a graceful stop (SIGTERM: every child is stopped and reaped before the
// proxy exits) nor after SIGKILL (the supervisor, mcpproxy-exec, gets the
// kernel's parent-death signal and kills everything below it). The same holds
// for what a server starts itself, in its own session (setsid) or in its
// process group ignoring stdin, through a stop, a disable, a crash and
// restart, and a SIGKILL of mcpproxy (fixtures/descendants_server.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy, api } from './harness.mjs';
import {
  recordEvents, isState, isType, status, demo, everythingArgs, alive, waitAllDead, childrenOf,
  descendantsOf, fastUpstream,
} from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';

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

const here = path.dirname(fileURLToPath(import.meta.url));
const descendantsServer = { name: 'desc', protocol: 'stdio', command: process.execPath,
  args: [path.join(here, 'fixtures', 'descendants_server.mjs')] };

/**
 * Starts the proxy with the descendants server, waits for it to be Ready and
 * returns every process below the proxy then: the server (and its
 * supervisor) and the two processes it started before answering.
 */
async function startWithDescendants(config = {}, server = descendantsServer) {
  const proxy = await startProxy({ config: { mcpServers: [server], ...config } });
  const rec = await recordEvents(proxy);
  await rec.until(isState('desc', 'Ready'), 30000, 'desc Ready');
  const pids = descendantsOf(proxy.proc.pid);
  // At least the server and the two it started (mcpproxy-exec is one more).
  assert.ok(pids.length >= 3, `processes below the proxy: ${pids}`);
  for (const pid of pids) assert.ok(alive(pid), `pid ${pid} should run`);
  return { proxy, rec, pids };
}

/** Whatever a failed run left behind must not outlive the test. */
function killAll(pids) {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

/** Stops the proxy, then kills what was below it if anything survived. */
async function stopAndKillLeftovers(proxy) {
  const below = descendantsOf(proxy.proc.pid);
  await proxy.stop();
  killAll(below.filter(alive));
}

test('a graceful stop ends what the server started, in its own session or not', async () => {
  const { proxy, rec, pids } = await startWithDescendants();
  try {
    await rec.close();
    const { code } = await proxy.stop('SIGTERM');
    assert.equal(code, 0);
    // The supervisor reaps everything below it before it exits, and the
    // proxy waits for the supervisor: nothing is left, not even a zombie.
    assert.deepEqual(pids.filter(alive), [], 'left running after the stop');
  } finally {
    killAll(pids);
  }
});

test('a disable ends what the server started', async () => {
  const { proxy, rec, pids } = await startWithDescendants();
  try {
    const res = await api(proxy, 'POST', '/api/servers/desc/disable');
    assert.equal(res.status, 200, res.text);
    await rec.until(isState('desc', 'Disconnected'), 20000, 'desc to stop');
    assert.deepEqual(pids.filter(alive), [], 'left running after the disable');
    await rec.close();
  } finally {
    killAll(pids);
    await stopAndKillLeftovers(proxy);
  }
});

test('a disable of a server that ignores SIGTERM: what the SIGKILL leaves behind is killed too', async () => {
  // The SIGKILL at the end of the grace reaches the server's group, its
  // supervisor included, which so has no chance to clean up: what is left
  // is re-parented to mcpproxy, which kills it.
  const stubborn = { ...descendantsServer, args: [...descendantsServer.args, '--ignore-term'] };
  const { proxy, rec, pids } = await startWithDescendants({ upstream: { stop_grace_ms: 200 } }, stubborn);
  try {
    const res = await api(proxy, 'POST', '/api/servers/desc/disable');
    assert.equal(res.status, 200, res.text);
    await rec.until(isState('desc', 'Disconnected'), 20000, 'desc to stop');
    // Killed on the SIGCHLD that follows the supervisor's death, so this
    // waits for the kernel to finish them, within a few seconds.
    await waitAllDead(pids, 5000);
    await rec.close();
  } finally {
    killAll(pids);
    await stopAndKillLeftovers(proxy);
  }
});

test('a crash and restart ends what the crashed run started', async () => {
  const { proxy, rec, pids } = await startWithDescendants({ upstream: fastUpstream });
  try {
    const { client } = await mcpConnect(proxy);
    await assert.rejects(client.callTool({ name: 'desc__crash', arguments: {} }), (err) => err.code === -32002);
    await client.close();
    const lost = await rec.until(isType('desc', 'connection_lost'), 20000, 'connection_lost');
    assert.equal(lost.data.exit_code, 3);
    const readyAgain = await rec.until((e) => isState('desc', 'Ready')(e) && e.seq > lost.seq, 30000, 'desc Ready again');
    assert.ok(readyAgain);
    assert.deepEqual(pids.filter(alive), [], 'left running by the crashed run');
    // The new run has its own, running.
    const next = descendantsOf(proxy.proc.pid);
    assert.ok(next.length >= 3 && next.every(alive), `processes of the new run: ${next}`);
    await rec.close();
  } finally {
    killAll(pids);
    await stopAndKillLeftovers(proxy);
  }
});

test('SIGKILL of mcpproxy: the server and everything it started die', async () => {
  const { proxy, rec, pids } = await startWithDescendants();
  try {
    await rec.close();
    const { signal } = await proxy.stop('SIGKILL');
    assert.equal(signal, 'SIGKILL');
    await waitAllDead(pids, 10000);
  } finally {
    killAll(pids);
  }
});
