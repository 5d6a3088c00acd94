// upstream_stop_grace.test.mjs - upstream.stop_grace_ms: how long a server
// that ignores SIGTERM is given before SIGKILL. A disable waits the whole
// grace, and so does the stop mcpproxy starts itself when a server closes
// its stdout; a process stop (SIGTERM to mcpproxy) cuts it to 1 s, so the
// proxy still exits within its stop deadline. Only lower bounds and the
// order of the proxy's own timers are asserted: both hold on a loaded
// machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, serverStatus, alive } from './upstream_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const stubbornServer = path.join(here, 'fixtures', 'stubborn_server.mjs');

const GRACE_MS = 2500;
// libuv's loop clock counts whole milliseconds, so a timer may fire up to
// 1 ms before the exact instant; more than that would be a shorter grace.
const CLOCK_SLACK_MS = 10;
const KILL_LOG = 'upstream did not exit after SIGTERM; sending SIGKILL';

async function startWithStubborn(extra = {}) {
  const proxy = await startProxy({
    config: {
      ...extra,
      upstream: { stop_grace_ms: GRACE_MS },
      mcpServers: [{ name: 'stubborn', protocol: 'stdio', command: process.execPath, args: [stubbornServer] }],
    },
  });
  const rec = await recordEvents(proxy);
  await rec.until(isState('stubborn', 'Ready'));
  const { pid } = await serverStatus(proxy, 'stubborn');
  assert.ok(alive(pid), `server pid ${pid} runs`);
  return { proxy, rec, pid };
}

test('a disable gives a server that ignores SIGTERM the whole stop_grace_ms before SIGKILL', async () => {
  const { proxy, rec, pid } = await startWithStubborn();
  try {
    const started = performance.now();
    const res = await api(proxy, 'POST', '/api/servers/stubborn/disable');
    assert.equal(res.status, 200, res.text);
    await rec.until(isState('stubborn', 'Disconnected'), 20000, 'the server to stop');
    const waited = performance.now() - started;
    assert.ok(waited >= GRACE_MS - CLOCK_SLACK_MS, `SIGKILL after ${Math.round(waited)} ms, before the ${GRACE_MS} ms grace`);

    const kill = await proxy.waitForLog((e) => e.msg === KILL_LOG);
    assert.equal(kill.pid, pid);
    assert.equal(alive(pid), false, 'the server is gone');
    // It was asked first: SIGTERM reached it, and it said so on stderr.
    const logs = await api(proxy, 'GET', '/api/servers/stubborn/logs');
    assert.ok(logs.json.lines.includes('stubborn_server: SIGTERM ignored'), JSON.stringify(logs.json.lines));
    await rec.close();
  } finally {
    assert.equal((await proxy.stop()).code, 0);
  }
});

test('a server that closes its stdout but lives on gets the same grace', async () => {
  // threshold 1: the failure auto-disables it, so no retry starts another
  const { proxy, rec, pid } = await startWithStubborn({ auto_disable_threshold: 1 });
  try {
    const started = performance.now();
    process.kill(pid, 'SIGUSR1'); // the fixture closes its stdout
    const lost = await rec.until(isType('stubborn', 'connection_lost'), 20000, 'connection_lost');
    const waited = performance.now() - started;
    assert.ok(waited >= GRACE_MS - CLOCK_SLACK_MS, `SIGKILL after ${Math.round(waited)} ms, before the ${GRACE_MS} ms grace`);
    assert.equal(lost.data.signal_number, 9);
    const kill = await proxy.waitForLog((e) => e.msg === KILL_LOG);
    assert.equal(kill.pid, pid);
    assert.equal(alive(pid), false, 'the server is gone');
    await rec.close();
  } finally {
    assert.equal((await proxy.stop()).code, 0);
  }
});

test('a process stop cuts the grace to 1 s: the SIGKILL comes before the stop deadline', async () => {
  const { proxy, rec, pid } = await startWithStubborn();
  await rec.close();
  const { code, signal } = await proxy.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.equal(alive(pid), false, 'the server is gone');
  // The kill timer (1 s) and the app's stop deadline (1.5 s) start in the
  // same loop turn, so the loop fires them in that order however late it
  // runs. With the full 2.5 s grace the deadline would come first.
  const kill = proxy.logs.findIndex((e) => e.msg === KILL_LOG && e.pid === pid);
  const deadline = proxy.logs.findIndex((e) => e.msg === 'stop deadline reached: closing what is left');
  assert.ok(kill >= 0, 'the server was SIGKILLed by the proxy');
  assert.ok(deadline === -1 || kill < deadline, `SIGKILL (log line ${kill}) after the stop deadline (log line ${deadline})`);
});
