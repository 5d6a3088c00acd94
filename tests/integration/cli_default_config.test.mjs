// cli_default_config.test.mjs - with no --config, mcpproxy uses
// ~/.mcpproxy/mcp_config.json: it starts with defaults when the file does
// not exist, and the first change made through the API creates it (and its
// directory), private to the user - or, when that path is a symlink whose
// target is not written yet (dotfiles), creates the target and keeps the link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, statSync, lstatSync, readlinkSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { proxyBin, demoServerBin } from './harness.mjs';

/** Runs mcpproxy with HOME=home and no --config; resolves with its URL and a stop function. */
async function startWithHome(home) {
  const proc = spawn(proxyBin, ['--listen', '127.0.0.1:0', '--log-format', 'json'], {
    env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.exitCode !== null ? resolve() : proc.on('exit', resolve));
  };
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk) => {
      buf += chunk;
      for (const line of buf.split('\n')) {
        try { const e = JSON.parse(line); if (e.msg === 'listening') resolve(e.url); } catch { /* partial line */ }
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited with ${code}: ${buf}`)));
  });
  return { url, stop };
}

async function addServer(url, name) {
  return fetch(`${url}/api/servers`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, command: demoServerBin, enabled: false }),
  });
}

test('the default config file is created, 0600 in a 0700 directory, by the first API change', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-home-'));
  let proxy;
  try {
    proxy = await startWithHome(home);
    const file = path.join(home, '.mcpproxy', 'mcp_config.json');
    assert.throws(() => statSync(file), /ENOENT/, 'no file before the first change');
    const res = await addServer(proxy.url, 'first');
    assert.equal(res.status, 201, await res.text());
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['first']);
  } finally {
    await proxy?.stop();
    rmSync(home, { recursive: true, force: true });
  }
});

test('a default config that is a symlink to a file not written yet: the first API change creates the target, the link stays', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-home-'));
  let proxy;
  try {
    mkdirSync(path.join(home, '.mcpproxy'));
    mkdirSync(path.join(home, 'dotfiles'));
    const link = path.join(home, '.mcpproxy', 'mcp_config.json');
    const target = path.join(home, 'dotfiles', 'mcpproxy.json');
    symlinkSync('../dotfiles/mcpproxy.json', link);
    proxy = await startWithHome(home);
    const res = await addServer(proxy.url, 'first');
    assert.equal(res.status, 201, await res.text());
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link was replaced by a file');
    assert.equal(readlinkSync(link), '../dotfiles/mcpproxy.json');
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')).mcpServers.map((s) => s.name), ['first']);
    // The next change finds the file as the first one wrote it.
    const again = await addServer(proxy.url, 'second');
    assert.equal(again.status, 201, await again.text());
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')).mcpServers.map((s) => s.name), ['first', 'second']);
  } finally {
    await proxy?.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
