// security_upstream_faults.test.mjs - upstream servers that misbehave
//: a server that floods stdout, writes invalid JSON, never
// answers, or exits in the middle of a call. mcpproxy keeps running and
// serving, the status API reports the error, the caller of a tool gets an
// error (not a hang, not a success), and no process or memory is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, fastUpstream } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';
import { rssKiB, eventually } from './security_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const faultServer = path.join(here, 'fixtures', 'fault_server.mjs');
const upstream = { ...fastUpstream, request_timeout_ms: 2000, stop_grace_ms: 300 };
const mcp = { call_timeout_ms: 2000 };

const fault = (name, mode) => ({ name, protocol: 'stdio', command: process.execPath, args: [faultServer, mode] });

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** One server's entry in /api/servers/status. */
async function serverStatus(proxy, name) {
  const res = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(res.status, 200, res.text);
  return res.json.servers.find((s) => s.name === name);
}

async function withProxy(servers, fn) {
  const proxy = await startProxy({ config: { mcpServers: servers, mcp, upstream } });
  const pids = new Set();
  const track = setInterval(async () => {
    try {
      const res = await api(proxy, 'GET', '/api/servers/status');
      for (const s of res.json?.servers || []) if (s.pid) pids.add(s.pid);
    } catch { /* stopping */ }
  }, 200);
  try {
    await fn(proxy, pids);
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200, 'the proxy still serves');
  } finally {
    clearInterval(track);
    const { code, signal } = await proxy.stop();
    assert.equal(signal, null, `the proxy died by signal ${signal}`);
    assert.equal(code, 0);
  }
  // every fault server the proxy ever started is gone with it
  await eventually(() => [...pids].every((pid) => !alive(pid)), 10000, `fault servers ${[...pids]} to be gone`);
}

// The JSON-RPC errors /mcp answers a failed call with (docs/PROTOCOL.md).
const TIMED_OUT = -32001;
const CONNECTION_CLOSED = -32002;

/**
 * Calls <server>__work through /mcp and asserts it fails with the JSON-RPC
 * error `code` (never a result, never a hang), naming the server.
 */
async function callFails(proxy, server, code) {
  const { client } = await mcpConnect(proxy);
  try {
    const started = Date.now();
    // The client gives up after 20 s; the proxy must answer (an error) well
    // before, once its call timeout (2 s here) or the server's exit says so.
    await assert.rejects(client.callTool({ name: `${server}__work`, arguments: {} }, undefined, { timeout: 20000 }),
      (err) => {
        assert.equal(err.code, code, `error ${err.code}: ${err.message}`);
        assert.match(err.message, new RegExp(`server "${server}"`), 'the error names the server');
        return true;
      });
    const ms = Date.now() - started;
    assert.ok(ms < 15000, `the caller waited ${ms} ms`);
  } finally {
    await client.close();
  }
}

for (const mode of ['silent', 'invalid_init']) {
  test(`a server that ${mode === 'silent' ? 'never answers' : 'answers with invalid JSON'} ends in Error; the proxy keeps serving`, async () => {
    await withProxy([fault('bad', mode)], async (proxy) => {
      const rec = await recordEvents(proxy);
      const err = await rec.until(isState('bad', 'Error'), 30000, 'bad to reach Error');
      assert.ok(err.data.last_error, JSON.stringify(err));
      const st = await serverStatus(proxy, 'bad');
      assert.ok(st.last_error, JSON.stringify(st));
      assert.notEqual(st.state, 'Ready');
      await rec.close();
    });
  });
}

for (const [mode, what, code] of [
  ['hang_call', 'never answers a call', TIMED_OUT],
  // The broken line is ignored: the call then times out like a silent one.
  ['invalid_call', 'answers a call with invalid JSON', TIMED_OUT],
]) {
  test(`a server that ${what}: the caller gets an error, the proxy keeps serving`, async () => {
    await withProxy([fault('f', mode)], async (proxy) => {
      const rec = await recordEvents(proxy);
      await rec.until(isState('f', 'Ready'), 30000, 'f to be Ready');
      await callFails(proxy, 'f', code);
      assert.equal((await serverStatus(proxy, 'f')).state, 'Ready', 'one bad answer does not end the connection');
      await rec.close();
    });
  });
}

test('a server that exits in the middle of a call: the caller gets an error, the proxy keeps serving', async () => {
  await withProxy([fault('f', 'exit_call')], async (proxy) => {
    const rec = await recordEvents(proxy);
    await rec.until(isState('f', 'Ready'), 30000, 'f to be Ready');
    await callFails(proxy, 'f', CONNECTION_CLOSED);
    const lost = await rec.until((e) => e.type === 'connection_lost' && e.server_name === 'f', 20000, 'connection_lost');
    assert.equal(lost.data.exit_code, 3);
    await rec.close();
  });
});

test('a server that floods stdout: memory stays bounded, the caller gets an error, others are served', async () => {
  await withProxy([fault('flood', 'flood'), fault('calm', 'hang_call')], async (proxy) => {
    const rec = await recordEvents(proxy);
    await rec.until(isState('flood', 'Ready'), 30000, 'flood to be Ready');
    await rec.until(isState('calm', 'Ready'), 30000, 'calm to be Ready');
    const rssBefore = rssKiB(proxy.proc.pid);
    // The flood is discarded, never parsed as an answer: the call times out.
    const call = callFails(proxy, 'flood', TIMED_OUT);
    // while the flood runs, the proxy answers and its memory stays bounded
    let peak = rssBefore;
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
      assert.ok(Date.now() - started < 5000, 'healthz answered slowly during the flood');
      peak = Math.max(peak, rssKiB(proxy.proc.pid));
    }
    await call;
    peak = Math.max(peak, rssKiB(proxy.proc.pid));
    // the line limit is 16 MiB: anything far above means the flood is buffered
    assert.ok(peak < rssBefore + 80 * 1024, `RSS ${rssBefore} -> ${peak} KiB during the flood`);
    const calm = await serverStatus(proxy, 'calm');
    assert.equal(calm.state, 'Ready', 'the other server is unaffected');
    await rec.close();
  });
});
