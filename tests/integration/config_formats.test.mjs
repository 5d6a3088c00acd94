// config_formats.test.mjs - config files shaped like other tools' (servers
// in an object keyed by name, VS Code's "servers") run, and an API edit
// saves them back in the same shape; relative paths are relative to the
// config file, whatever directory mcpproxy runs in; SIGHUP reloads the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, symlinkSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, repoRoot, testWebsocketSettings } from './harness.mjs';
import { recordEvents, isState, demoServerBin } from './upstream_helpers.mjs';

const off = { command: '/bin/true', enabled: false };
const isConfigChange = (e) => e.type === 'config_change';

function tempDir() {
  return mkdtempSync(path.join(tmpdir(), 'mcpproxy-formats-'));
}

test('servers as an object keyed by name (Claude Desktop, Cursor) run, and API edits keep the object form', async () => {
  const proxy = await startProxy({
    config: { mcpServers: { demo: { command: demoServerBin, args: ['--name', 'demo'] }, idle: off } },
  });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'), 20000, 'demo Ready');
    let res = await api(proxy, 'POST', '/api/servers', { name: 'added', ...off });
    assert.equal(res.status, 201, res.text);
    res = await api(proxy, 'PATCH', '/api/servers/idle', { args: ['x'] });
    assert.equal(res.status, 200, res.text);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    assert.ok(!Array.isArray(saved.mcpServers) && typeof saved.mcpServers === 'object', 'saved as an array');
    assert.deepEqual(Object.keys(saved.mcpServers), ['demo', 'idle', 'added']);
    assert.deepEqual(saved.mcpServers.idle.args, ['x']);
    assert.equal(saved.mcpServers.added.command, '/bin/true');
    for (const s of Object.values(saved.mcpServers)) assert.equal(s.name, undefined, 'the key is the name');
    assert.equal(saved.servers, undefined);
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('VS Code\'s "servers" with "type": "stdio" runs, and is saved back under "servers"', async () => {
  const dir = tempDir();
  const configPath = path.join(dir, 'mcp.json');
  writeFileSync(configPath, JSON.stringify({
    websocket: testWebsocketSettings,
    servers: { demo: { type: 'stdio', command: demoServerBin, args: ['--name', 'demo'] } },
  }, null, 2));
  const proxy = await startProxy({ configPath });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'), 20000, 'demo Ready');
    let res = await api(proxy, 'POST', '/api/servers', { name: 'added', ...off });
    assert.equal(res.status, 201, res.text);
    // The API takes "type" too, in a new server and in a patch.
    res = await api(proxy, 'PATCH', '/api/servers/added', { type: 'stdio', args: ['y'] });
    assert.equal(res.status, 200, res.text);
    res = await api(proxy, 'PATCH', '/api/servers/added', { type: 'http' });
    assert.equal(res.status, 400, res.text);
    assert.match(res.json.error, /protocol "http" needs a "url"/); // "type" reached the parser as the protocol
    const saved = JSON.parse(readFileSync(configPath, 'utf8'));
    assert.equal(saved.mcpServers, undefined);
    assert.deepEqual(Object.keys(saved.servers), ['demo', 'added']);
    assert.equal(saved.servers.demo.protocol, 'stdio');
    assert.deepEqual(saved.servers.added.args, ['y']);
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('relative command, args and working_dir are relative to the config file, not to where mcpproxy runs', async () => {
  const dir = tempDir();
  const elsewhere = tempDir();
  mkdirSync(path.join(dir, 'bin'));
  mkdirSync(path.join(dir, 'work'));
  symlinkSync(demoServerBin, path.join(dir, 'bin', 'demo-server'));
  const fixture = path.join(repoRoot, 'tests/integration/fixtures/stdio_server.mjs');
  writeFileSync(path.join(dir, 'server.mjs'),
    `import { serveStdio } from ${JSON.stringify(fixture)};\nserveStdio({ name: 'rel-arg' });\n`);
  const configPath = path.join(dir, 'mcp_config.json');
  writeFileSync(configPath, JSON.stringify({
    websocket: testWebsocketSettings,
    mcpServers: [
      { name: 'rel-cmd', command: './bin/demo-server', args: ['--name', 'rel-cmd'] },
      { name: 'rel-arg', command: process.execPath, args: ['server.mjs'] },
      { name: 'rel-wd', working_dir: 'work', command: '../bin/demo-server', args: ['--name', 'rel-wd'] },
    ],
  }, null, 2));
  const proxy = await startProxy({ configPath, cwd: elsewhere });
  try {
    const rec = await recordEvents(proxy);
    for (const name of ['rel-cmd', 'rel-arg', 'rel-wd']) await rec.until(isState(name, 'Ready'), 20000, `${name} Ready`);
    // The file keeps the paths as written.
    const res = await api(proxy, 'POST', '/api/servers/rel-cmd/disable');
    assert.equal(res.status, 200, res.text);
    const saved = JSON.parse(readFileSync(configPath, 'utf8'));
    assert.equal(saved.mcpServers[0].command, './bin/demo-server');
    assert.deepEqual(saved.mcpServers[1].args, ['server.mjs']);
    assert.equal(saved.mcpServers[2].working_dir, 'work');
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('SIGHUP reloads the config file and applies the edit', async () => {
  const proxy = await startProxy({ config: { mcpServers: [{ name: 'a', ...off }] } });
  const elsewhere = tempDir();
  try {
    const rec = await recordEvents(proxy);
    // Written through a hard link in another directory: the same file, but
    // no event in the directory the watch looks at, so only SIGHUP can
    // make the proxy read it.
    const link = path.join(elsewhere, 'same-inode.json');
    linkSync(proxy.configPath, link);
    const edited = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    edited.mcpServers.push({ name: 'hup', command: demoServerBin, args: ['--name', 'hup'] });
    writeFileSync(link, JSON.stringify(edited, null, 2));
    assert.equal(rec.events.filter(isConfigChange).length, 0);
    proxy.proc.kill('SIGHUP');
    const cc = await rec.until(isConfigChange, 10000, 'config_change after SIGHUP');
    assert.deepEqual(cc.data.servers_added, ['hup']);
    await rec.until(isState('hup', 'Ready'), 20000, 'hup Ready');
    rec.close();
    assert.equal((await proxy.stop()).code, 0);
  } finally {
    await proxy.stop();
    rmSync(elsewhere, { recursive: true, force: true });
  }
});
