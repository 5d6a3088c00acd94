// cli_events.test.mjs - `mcpproxy events`, the terminal view of the stream:
// prints events as they are published, filters, and reconnects across a
// proxy restart, saying so; waits for a proxy not running yet; refuses
// plainly (exit 4) without the right key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startProxy, api, proxyBin } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';

/** Runs `mcpproxy events ARGS`, collecting stdout and stderr lines. */
function watch(args) {
  const proc = spawn(proxyBin, ['events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { out: [], err: [] };
  const waiters = [];
  const feed = (kind) => {
    let tail = '';
    return (chunk) => {
      tail += chunk;
      let nl;
      while ((nl = tail.indexOf('\n')) >= 0) {
        lines[kind].push(tail.slice(0, nl));
        tail = tail.slice(nl + 1);
        for (const w of [...waiters]) w.check();
      }
    };
  };
  proc.stdout.setEncoding('utf8').on('data', feed('out'));
  proc.stderr.setEncoding('utf8').on('data', feed('err'));
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc, lines, exited,
    /** Resolves once some line of `kind` matches. */
    until(kind, pred, ms = 10000) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            const hit = lines[kind].find(pred);
            if (hit !== undefined) { clearTimeout(timer); waiters.splice(waiters.indexOf(w), 1); resolve(hit); }
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching ${kind} line in ${ms} ms; got:\n${lines.out.join('\n')}\n${lines.err.join('\n')}`));
        }, ms);
        waiters.push(w);
        w.check();
      });
    },
  };
}

test('prints each event as JSON, filtered by server and type', async () => {
  const proxy = await startProxy();
  const all = watch(['--url', proxy.url, '--json']);
  const one = watch(['--url', proxy.url, '--json', '--server', 'alpha', '--types', 'server_state_changed']);
  try {
    await all.until('err', (l) => l.includes('connected to'));
    await one.until('err', (l) => l.includes('connected to'));
    const { json } = await api(proxy, 'POST', '/api/events', [
      { type: 'tool_called', server_name: 'alpha', data: { tool: 'echo' } },
      { type: 'server_state_changed', server_name: 'beta', new_state: 'Ready' },
      { type: 'server_state_changed', server_name: 'alpha', new_state: 'Ready' },
    ]);
    const last = json.seqs[2];
    await all.until('out', (l) => JSON.parse(l).seq === last);
    await one.until('out', (l) => JSON.parse(l).seq === last);
    const seen = all.lines.out.map((l) => JSON.parse(l).seq).filter((s) => json.seqs.includes(s));
    assert.deepEqual(seen, json.seqs);
    assert.deepEqual(one.lines.out.map((l) => JSON.parse(l).seq), [last]);
  } finally {
    all.proc.kill('SIGINT');
    one.proc.kill('SIGINT');
    assert.equal(await all.exited, 0);
    assert.equal(await one.exited, 0);
    await proxy.stop();
  }
});

test('text lines name the time, seq, type, server and state change', async () => {
  const proxy = await startProxy();
  const w = watch(['--url', proxy.url]);
  try {
    await w.until('err', (l) => l.includes('connected to'));
    const { json } = await api(proxy, 'POST', '/api/events',
      { type: 'server_state_changed', server_name: 'gamma', old_state: 'Connecting', new_state: 'Ready', data: { tool_count: 4 } });
    const line = await w.until('out', (l) => l.includes('gamma'));
    assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+${json.seq}\\s+server_state_changed\\s+gamma\\s+Connecting -> Ready \\{"tool_count":4\\}$`));
  } finally {
    w.proc.kill('SIGINT');
    await w.exited;
    await proxy.stop();
  }
});

test('reconnects after the proxy restarts and says the run changed', async () => {
  const first = await startProxy();
  const port = new URL(first.url).port;
  const w = watch(['--url', first.url, '--json']);
  let second;
  try {
    await w.until('err', (l) => l.includes('connected to'));
    await first.stop();
    await w.until('err', (l) => l.includes('disconnected'));
    second = await startProxy({ args: ['--listen', `127.0.0.1:${port}`] });
    await w.until('err', (l) => l.includes('restarted'), 20000);
    const { json } = await api(second, 'POST', '/api/events', { type: 'tool_called', server_name: 'after' });
    await w.until('out', (l) => { const e = JSON.parse(l); return e.server_name === 'after' && e.seq === json.seq; });
  } finally {
    w.proc.kill('SIGINT');
    await w.exited;
    if (second) await second.stop();
  }
});

test('bad arguments exit 2 naming the problem', () => {
  const bad = spawnSync(proxyBin, ['events', '--types', 'nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown event type "nope"/);
  const misplaced = spawnSync(proxyBin, ['--json'], { encoding: 'utf8' });
  assert.equal(misplaced.status, 2);
  assert.match(misplaced.stderr, /unknown option "--json" \(see mcpproxy help serve\)/);
  const extra = spawnSync(proxyBin, ['events', 'stray'], { encoding: 'utf8' });
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /unexpected argument "stray"/);
});

test('a proxy not running yet is waited for, said once, then followed', async () => {
  // A port nothing listens on yet: take one from the OS and let it go.
  const probe = await startProxy();
  const port = new URL(probe.url).port;
  await probe.stop();
  const w = watch(['--url', `http://127.0.0.1:${port}`, '--json']);
  let proxy;
  try {
    await w.until('err', (l) => l.includes(`waiting for mcpproxy on 127.0.0.1:${port}`) && l.includes('start it with `mcpproxy`'));
    proxy = await startProxy({ args: ['--listen', `127.0.0.1:${port}`] });
    await w.until('err', (l) => l.includes('connected to'), 20000);
    const { json } = await api(proxy, 'POST', '/api/events', { type: 'tool_called', server_name: 'late' });
    await w.until('out', (l) => JSON.parse(l).seq === json.seq);
    assert.equal(w.lines.err.filter((l) => l.includes('waiting for mcpproxy')).length, 1, w.lines.err.join('\n'));
  } finally {
    w.proc.kill('SIGINT');
    assert.equal(await w.exited, 0);
    await proxy?.stop();
  }
});

test('a proxy with a key refuses a missing or wrong one: exit 4, in plain words', async () => {
  const proxy = await startProxy({ config: { api_key: 'sekret-key-for-events' } });
  try {
    // An empty HOME: no ~/.mcpproxy/mcp_config.json of this machine supplies a key.
    const env = { ...process.env, HOME: proxy.dir, MCPPROXY_API_KEY: '' };
    const none = spawnSync(proxyBin, ['events', '--url', proxy.url], { encoding: 'utf8', timeout: 20000, env });
    assert.equal(none.status, 4, none.stderr);
    assert.match(none.stderr, /this proxy needs a key: pass --api-key or set MCPPROXY_API_KEY/);
    const wrong = spawnSync(proxyBin, ['events', '--url', proxy.url, '--api-key', 'nope'], { encoding: 'utf8', timeout: 20000, env });
    assert.equal(wrong.status, 4, wrong.stderr);
    assert.match(wrong.stderr, /refused this API key/);
    const w = spawn(proxyBin, ['events', '--url', proxy.url, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MCPPROXY_API_KEY: 'sekret-key-for-events' } });
    const connected = new Promise((resolve) => {
      let err = '';
      w.stderr.setEncoding('utf8').on('data', (c) => { err += c; if (err.includes('connected to')) resolve(); });
    });
    await connected;
    w.kill('SIGINT');
    assert.equal(await new Promise((resolve) => w.on('exit', resolve)), 0);
  } finally {
    await proxy.stop();
  }
});

test('connection_lost reads as one line: how the server ended and its last stderr line', async () => {
  const proxy = await startProxy();
  const w = watch(['--url', proxy.url, '--types', 'connection_lost']);
  try {
    await w.until('err', (l) => l.includes('connected to'));
    await api(proxy, 'POST', '/api/events', {
      type: 'connection_lost', server_name: 'gone', data: { exit_code: 3, stderr_tail: 'first\nlast words\n' },
    });
    const line = await w.until('out', (l) => l.includes('gone'));
    assert.match(line, /connection_lost\s+gone\s+exited with status 3: last words$/);
    await api(proxy, 'POST', '/api/events', {
      type: 'connection_lost', server_name: 'shot', data: { signal: 'Killed', signal_number: 9, stderr_tail: '' },
    });
    assert.match(await w.until('out', (l) => l.includes('shot')), /connection_lost\s+shot\s+killed by signal 9 \(Killed\)$/);
  } finally {
    w.proc.kill('SIGINT');
    await w.exited;
    await proxy.stop();
  }
});

test('server_log reads as "server: line", one line each, and says how many lines were left out', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('chatty', ['--stderr-lines', '5000'])] } });
  const rec = await recordEvents(proxy);
  const w = watch(['--url', proxy.url, '--types', 'server_log']);
  try {
    await rec.until(isState('chatty', 'Ready'));
    await w.until('err', (l) => l.includes('connected to'));
    // A server added now: its stderr lines, as it writes them.
    assert.equal((await api(proxy, 'POST', '/api/servers', demo('talky', ['--stderr-lines', '3']))).status, 201);
    await w.until('out', (l) => l.endsWith('talky: talky: stderr line 3 of 3'));
    const talky = w.lines.out.filter((l) => /\btalky: talky: stderr line/.test(l));
    assert.equal(talky.length, 3, talky.join('\n'));
    talky.forEach((l, i) => assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+\\d+\\s+server_log\\s+talky: talky: stderr line ${i + 1} of 3$`)));
    // 5,000 lines at once: over the 50 a second the stream carries; the
    // count left out is told at the latest when the process exits.
    assert.equal((await api(proxy, 'POST', '/api/servers/chatty/restart')).status, 200);
    const left = await w.until('out', (l) => /server_log\s+chatty: \(\d+ lines left out; `mcpproxy logs chatty` has them\)$/.test(l), 20000);
    assert.ok(Number(left.match(/\((\d+) lines/)[1]) > 0, left);
  } finally {
    w.proc.kill('SIGINT');
    assert.equal(await w.exited, 0);
    rec.close();
    await proxy.stop();
  }
});
