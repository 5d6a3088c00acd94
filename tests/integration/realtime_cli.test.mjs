// realtime_cli.test.mjs - the command line: --help, --version, bad flags,
// --config errors with positions, --listen, --log-level, --log-format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { proxyBin, repoRoot, connect, connectReady } from './harness.mjs';

/** Runs mcpproxy to completion; kills it (and fails) after ms. */
function run(args, ms = 10000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    proc.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`mcpproxy ${args.join(' ')} still running after ${ms} ms\n${stderr}`));
    }, ms);
    proc.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

function tempConfig(text) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-cli-'));
  const file = path.join(dir, 'mcp_config.json');
  writeFileSync(file, text);
  return { dir, file };
}

const projectVersion = readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8')
  .match(/project\(mcpproxy\s+VERSION\s+([0-9.]+)/)[1];

test('--help exits 0 and mentions every flag', async () => {
  const { code, stdout, stderr } = await run(['--help']);
  assert.equal(code, 0, stderr);
  for (const flag of ['--help', '--version', '--config', '--listen', '--log-level', '--log-format']) {
    assert.ok(stdout.includes(flag), `--help does not mention ${flag}:\n${stdout}`);
  }
  assert.match(stdout, /text/);
  assert.match(stdout, /json/);
});

test('--version prints the version', async () => {
  const { code, stdout } = await run(['--version']);
  assert.equal(code, 0);
  assert.ok(stdout.includes(projectVersion), `"${stdout.trim()}" lacks ${projectVersion}`);
});

test('a bad flag exits 2 with a message naming it', async () => {
  const { code, stderr } = await run(['--no-such-flag']);
  assert.equal(code, 2);
  assert.match(stderr, /no-such-flag/);
});

test('bad flag values exit 2 with a message', async () => {
  for (const [args, re] of [
    [['--log-format', 'xml'], /xml/],
    [['--log-level', 'loud'], /loud/],
    [['--config'], /config/],
  ]) {
    const { code, stderr } = await run(args);
    assert.equal(code, 2, `${args.join(' ')} exited ${code}: ${stderr}`);
    assert.match(stderr, re, args.join(' '));
  }
});

test('a malformed --listen value exits 2 before starting anything', async () => {
  const { dir, file } = tempConfig('{"mcpServers": []}');
  try {
    const { code, stderr } = await run(['--config', file, '--listen', 'nonsense']);
    assert.equal(code, 2, `exited ${code}: ${stderr}`);
    assert.match(stderr, /nonsense/);
    assert.doesNotMatch(stderr, /app state changed/, 'refused before the app starts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config with an unknown key fails naming the key with line:column', async () => {
  const { dir, file } = tempConfig('{\n  "listen": "127.0.0.1:0",\n  "mcpServers": [],\n  "bogus_setting": 1\n}\n');
  try {
    const { code, stderr } = await run(['--config', file, '--listen', '127.0.0.1:0']);
    assert.notEqual(code, 0);
    assert.match(stderr, /bogus_setting/);
    assert.match(stderr, /4:3|4:4|line 4.*column [34]/, stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config with invalid JSON fails with its position', async () => {
  const { dir, file } = tempConfig('{\n  "listen": "127.0.0.1:0",\n  oops\n}\n');
  try {
    const { code, stderr } = await run(['--config', file]);
    assert.notEqual(code, 0);
    assert.match(stderr, /3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Starts mcpproxy with raw args; resolves with {proc, lines, waitLine}. */
function spawnProxy(args) {
  const proc = spawn(proxyBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let tail = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => {
    tail += c;
    let nl;
    while ((nl = tail.indexOf('\n')) >= 0) {
      const line = tail.slice(0, nl);
      tail = tail.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(line); }
      }
    }
  });
  proc.stdout.resume();
  // 'close': after the last stderr line has been read.
  const exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  return {
    proc, lines, exited,
    waitLine(re, ms = 15000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        waiters.push(w);
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no line matching ${re} in ${ms} ms:\n${lines.join('\n')}`));
        }, ms);
      });
    },
  };
}

test('--log-format text writes key=value lines; --listen HOST:PORT is honoured', async () => {
  const { dir, file } = tempConfig('{"mcpServers": []}');
  const port = await freePort();
  const p = spawnProxy(['--config', file, '--listen', `127.0.0.1:${port}`, '--log-format', 'text', '--log-level', 'info']);
  try {
    const line = await p.waitLine(/listening/);
    assert.match(line, new RegExp(`url="?http://127\\.0\\.0\\.1:${port}"?`));
    assert.doesNotThrow(() => assert.notEqual(line.trim()[0], '{'));
    const proxy = { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
    const [c] = await connectReady(proxy, '/ws/events');
    const reg = await p.waitLine(/WebSocket client registered/);
    assert.match(reg, /total_clients=1/);
    await c.close();
    await p.waitLine(/WebSocket client unregistered.*total_clients=0|total_clients=0.*WebSocket client unregistered/);
  } finally {
    p.proc.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.lines.slice(-15).join('\n'));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--log-level warn hides info and debug lines', async () => {
  const { dir, file } = tempConfig('{"mcpServers": []}');
  const port = await freePort();
  const p = spawnProxy(['--config', file, '--listen', `127.0.0.1:${port}`, '--log-format', 'json', '--log-level', 'warn']);
  try {
    // No "listening" line at this level: wait until the port answers instead.
    const proxy = { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
    const deadline = Date.now() + 15000;
    for (;;) {
      try { if ((await fetch(proxy.url + '/healthz')).ok) break; } catch { /* not up yet */ }
      if (Date.now() > deadline) throw new Error('proxy did not come up');
      await new Promise((r) => setTimeout(r, 50));
    }
    // A client served (info lines) and a refused upgrade (a warn line).
    const [c] = await connectReady(proxy, '/ws/events');
    await c.close();
    const refused = connect(proxy, '/ws/events?types=no_such_type');
    await assert.rejects(refused.opened, (e) => e.status === 400);
    await p.waitLine(/WebSocket upgrade refused/);
  } finally {
    p.proc.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.lines.slice(-15).join('\n'));
    rmSync(dir, { recursive: true, force: true });
  }
  // The warning got through, and nothing below warn did.
  assert.ok(p.lines.length >= 1);
  for (const l of p.lines) {
    const e = JSON.parse(l);
    assert.ok(e.level === 'warn' || e.level === 'error', `unexpected line at ${e.level}: ${l}`);
  }
});
