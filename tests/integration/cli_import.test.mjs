// cli_import.test.mjs - `mcpproxy import` adds the servers of sample Claude
// Desktop, Cursor and VS Code files (tests/integration/fixtures/import/) to
// a running proxy's config: it reports what it added and what it skipped
// and why, and the proxy starts the new servers through its file watch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, proxyBin, repoRoot } from './harness.mjs';
import { recordEvents, isState, demoServerBin } from './upstream_helpers.mjs';

const fixtures = path.join(repoRoot, 'tests/integration/fixtures/import');

/** A fixture with its placeholder command made the real demo server, written to `to`. */
function placeFixture(name, to) {
  mkdirSync(path.dirname(to), { recursive: true });
  writeFileSync(to, readFileSync(path.join(fixtures, name), 'utf8').replaceAll('MCP_DEMO_SERVER', demoServerBin));
  return to;
}

function runImport(args, env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, ['import', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The report's lines as {name: 'added' | 'added: note' | 'skipped: why'}. */
function reportOf(stdout) {
  const out = {};
  for (const m of stdout.matchAll(/^ {2}(added|skipped) +([^:\n]+)(?:: (.*))?$/gm)) out[m[2]] = m[3] ? `${m[1]}: ${m[3]}` : m[1];
  return out;
}

const isConfigChange = (e) => e.type === 'config_change';

test('import --from claude, cursor and vscode into a running proxy: added, skipped with why, started', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-import-home-'));
  const xdg = path.join(home, 'xdg');
  const env = { HOME: home, XDG_CONFIG_HOME: xdg };
  placeFixture('claude_desktop_config.json', path.join(xdg, 'Claude', 'claude_desktop_config.json'));
  placeFixture('cursor_mcp.json', path.join(home, '.cursor', 'mcp.json'));
  placeFixture('vscode_mcp.json', path.join(xdg, 'Code', 'User', 'mcp.json'));
  // Our config already has a "filesystem": the one in the files is a duplicate.
  const proxy = await startProxy({ config: { mcpServers: [{ name: 'filesystem', command: '/bin/true', enabled: false }] } });
  try {
    const rec = await recordEvents(proxy);
    const steps = [
      ['claude', { filesystem: /^skipped: .*in the config already/, 'demo-claude': /^added$/ }, 'demo-claude'],
      ['cursor', {
        'demo-cursor': /^added$/,
        filesystem: /^skipped: .*in the config already/,
        linear: /^added$/, // a remote server (url), as it is
      }, 'demo-cursor', ['demo-cursor', 'linear']],
      ['vscode', {
        'demo-vscode': /^added: without "dev"/,
        github: /^skipped: uses \$\{\.\.\.\} variables/,
        fetch: /^added$/, // "type": "http" with a url
        'python-tools': /^skipped: uses \$\{\.\.\.\} variables/,
      }, 'demo-vscode', ['demo-vscode', 'fetch']],
    ];
    for (const [tool, expected, ready, added = [ready]] of steps) {
      const seen = rec.events.filter(isConfigChange).length;
      const r = await runImport(['--from', tool, '--config', proxy.configPath], env);
      assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
      const report = reportOf(r.stdout);
      assert.deepEqual(Object.keys(report).sort(), Object.keys(expected).sort(), r.stdout);
      for (const [name, re] of Object.entries(expected)) assert.match(report[name], re, `${tool} ${name}`);
      assert.match(r.stdout, new RegExp(`^${added.length} added`, 'm'));
      // The running proxy applies the file it wrote, and starts the servers.
      const cc = await rec.until((e) => isConfigChange(e) && rec.events.filter(isConfigChange).indexOf(e) >= seen,
        10000, `config_change after importing from ${tool}`);
      assert.deepEqual(cc.data.servers_added, added);
      await rec.until(isState(ready, 'Ready'), 20000, `${ready} Ready`);
    }
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    assert.deepEqual(saved.mcpServers.map((s) => s.name),
      ['filesystem', 'demo-claude', 'demo-cursor', 'linear', 'demo-vscode', 'fetch']);
    assert.deepEqual(saved.mcpServers[1].env, { DEMO_TOKEN: 'secret' });
    assert.equal(saved.mcpServers[3].url, 'http://127.0.0.1:9/sse');
    assert.equal(saved.mcpServers[4].dev, undefined);
    assert.equal(saved.mcpServers[5].protocol, 'http');

    // Again: everything is a duplicate now, and nothing is written.
    const before = readFileSync(proxy.configPath, 'utf8');
    const again = await runImport(['--from', 'claude', '--config', proxy.configPath], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 added, 2 skipped/);
    assert.equal(readFileSync(proxy.configPath, 'utf8'), before);
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(home, { recursive: true, force: true });
  }
});

test('import FILE into a config that does not exist yet creates it; --dry-run writes nothing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-import-'));
  try {
    const src = placeFixture('cursor_mcp.json', path.join(dir, 'project', '.cursor', 'mcp.json'));
    const target = path.join(dir, 'new', 'mcp_config.json');
    const dry = await runImport([src, '--config', target, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /3 added, 0 skipped \(dry run: nothing written\)/);
    assert.equal(existsSync(target), false);

    const r = await runImport([src, '--config', target]);
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(target, 'utf8'));
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['demo-cursor', 'filesystem', 'linear']);
    assert.equal(saved.mcpServers[0].protocol, 'stdio');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('import: --help has examples; bad use exits 2, a missing file 1, each with a message', async () => {
  const help = await runImport(['--help']);
  assert.equal(help.code, 0);
  for (const s of ['--from', 'claude', 'cursor', 'vscode', '--dry-run', '--config', 'Examples:', 'Library/Application Support']) {
    assert.ok(help.stdout.includes(s), `--help mentions ${s}`);
  }
  for (const args of [[], ['--from', 'emacs'], ['a.json', '--from', 'claude'], ['--bogus']]) {
    const r = await runImport(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^mcpproxy import: .+/);
  }
  const missing = await runImport(['/nonexistent/mcp.json', '--config', '/nonexistent/ours.json']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/mcp\.json/);
});
