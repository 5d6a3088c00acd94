// cli_default_config.test.mjs - with no --config, mcpproxy uses
// ~/.mcpproxy/mcp_config.json: it starts with defaults when the file does
// not exist, and the first change made through the API creates it (and its
// directory), private to the user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { proxyBin, demoServerBin } from './harness.mjs';

test('the default config file is created, 0600 in a 0700 directory, by the first API change', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-home-'));
  const proc = spawn(proxyBin, ['--listen', '127.0.0.1:0', '--log-format', 'json'], {
    env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
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
    const file = path.join(home, '.mcpproxy', 'mcp_config.json');
    assert.throws(() => statSync(file), /ENOENT/, 'no file before the first change');
    const res = await fetch(`${url}/api/servers`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first', command: demoServerBin, enabled: false }),
    });
    assert.equal(res.status, 201, await res.text());
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['first']);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.exitCode !== null ? resolve() : proc.on('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
});
