// cli_startup.test.mjs - a start that cannot work fails at once: exit 1 and
// one line on stderr that says what to fix, before any upstream server is
// started. Each config lists a server whose command would create a marker
// file, so "no child was started" is a file that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, rmSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, proxyBin } from './harness.mjs';

// Root reads and writes whatever the permissions say, so the cases about
// permissions run the proxy as nobody when the tests run as root.
const unprivileged = process.getuid() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A temp directory others may enter, with a config whose server would touch `marker`. */
function setup(configText) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-startup-'));
  chmodSync(dir, 0o755);
  const marker = path.join(dir, 'child-started');
  const cfg = path.join(dir, 'mcp_config.json');
  const servers = [{ name: 'marker', command: '/bin/sh', args: ['-c', `touch '${marker}'; sleep 30`] }];
  writeFileSync(cfg, configText ?? JSON.stringify({ mcpServers: servers }, null, 2));
  chmodSync(cfg, 0o644);
  return { dir, cfg, marker, servers };
}

/** Runs the proxy to its exit; resolves with its code, stderr and stdout. */
function runToExit(args, options = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, ['--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stderr = '';
    let stdout = '';
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    // A proxy that runs on instead of failing would never exit: stop it so
    // the assertion below fails with what it said.
    const guard = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.on('error', reject);
    proc.on('close', (code, signal) => { clearTimeout(guard); resolve({ code, signal, stderr, stdout }); });
  });
}

/** Exactly one line on stderr, matching every pattern. */
function assertOneLine(stderr, ...patterns) {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.match(lines[0], /^mcpproxy: /);
  for (const p of patterns) assert.match(lines[0], p);
}

test('a second mcpproxy on a busy port exits 1 with one line naming the port, and starts no server', async () => {
  const first = await startProxy();
  const s = setup();
  try {
    const port = new URL(first.url).port;
    const r = await runToExit(['--config', s.cfg, '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1, `exit ${r.code}/${r.signal}: ${r.stderr}`);
    assertOneLine(r.stderr, new RegExp(`port ${port} is in use \\(another mcpproxy\\?\\)`), /--listen/);
    assert.equal(existsSync(s.marker), false, 'a server was started');
    // The first one is untouched.
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
  } finally {
    await first.stop();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an unreadable config file exits 1 with one line saying to fix its permissions', async () => {
  const s = setup();
  try {
    chmodSync(s.cfg, 0o000);
    const r = await runToExit(['--config', s.cfg, '--listen', '127.0.0.1:0'], unprivileged);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, /cannot read config file/, /permission/i, /--config/);
    assert.equal(existsSync(s.marker), false);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a config directory mcpproxy cannot write exits 1 with one line naming it', async () => {
  const s = setup();
  try {
    chmodSync(s.dir, 0o555);
    const r = await runToExit(['--config', s.cfg, '--listen', '127.0.0.1:0'], unprivileged);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, new RegExp(`config directory ${s.dir} is not writable`), /permissions/);
    assert.equal(existsSync(s.marker), false);
  } finally {
    chmodSync(s.dir, 0o755);
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an invalid or missing config file exits 1 with one line naming the file', async () => {
  const s = setup();
  try {
    // Valid JSON, and the marker server is fine: the second server is not.
    writeFileSync(s.cfg, JSON.stringify({ mcpServers: [...s.servers, { name: 'no-command' }] }, null, 2));
    let r = await runToExit(['--config', s.cfg, '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, /invalid config/, new RegExp(`${s.cfg}:\\d+:\\d+:`), /give exactly one of "command"/);
    assert.equal(existsSync(s.marker), false);

    r = await runToExit(['--config', path.join(s.dir, 'missing.json'), '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, /missing\.json/, /No such file/);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an address that is not this machine\'s exits 1 with one line; a host name such as localhost is bound', async () => {
  // 192.0.2.1 is TEST-NET-1, never a local address; a key, so that listening
  // beyond loopback is allowed at all.
  const s = setup();
  try {
    writeFileSync(s.cfg, JSON.stringify({ api_key: 'k', mcpServers: s.servers }));
    for (const listen of ['192.0.2.1:0', 'no-such-host.invalid:8080']) {
      const r = await runToExit(['--config', s.cfg, '--listen', listen]);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr, new RegExp(`cannot listen on ${listen.replace('.', '\\.')}: not an address of this machine`), /--listen/);
    }
    assert.equal(existsSync(s.marker), false);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
  // lws binds addresses and interface names, not host names: the name is
  // resolved first, so this really listens.
  const proxy = await startProxy({ args: ['--listen', 'localhost:0'] });
  try {
    const port = new URL(proxy.url).port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  } finally {
    await proxy.stop();
  }
});

test('on an IPv6 address the listening URL has the address in brackets, and it answers', async () => {
  const proxy = await startProxy({ args: ['--listen', '[::1]:0'] });
  try {
    const url = new URL(proxy.url);
    assert.equal(url.hostname, '[::1]');
    assert.equal((await fetch(`${proxy.url}/healthz`)).status, 200);
  } finally {
    await proxy.stop();
  }
});
