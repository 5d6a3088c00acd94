// config_edits.test.mjs - the config file has two writers, the user and the
// API. An API change is refused (409, file untouched) while the file holds a
// hand edit mcpproxy has not loaded - one that does not parse, or one the
// watch has not reloaded yet - and once it is loaded the change lands on top
// of it. A symlinked config stays a link: writes go to its target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync, writeFileSync, readFileSync, rmSync, linkSync, symlinkSync, lstatSync, readlinkSync, mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, proxyBin } from './harness.mjs';
import { recordEvents } from './upstream_helpers.mjs';

const off = (name) => ({ name, command: '/bin/true', enabled: false });
const after = (rec, from, pred) => (e) => rec.events.indexOf(e) >= from && pred(e);
const isConfigChange = (e) => e.type === 'config_change';

test('a file that does not parse: API changes get 409 naming its line and column, the file stays byte for byte', async () => {
  const proxy = await startProxy({ config: { mcpServers: [off('a')] } });
  try {
    const rec = await recordEvents(proxy);
    // A user mid-edit: a limits change, and a server whose closing brace is
    // not typed yet (jansson stops at line 6, column 3).
    const broken = '{\n  "limits": {"max_body_bytes": 65536},\n  "mcpServers": [\n' +
      '    {"name": "a", "command": "/bin/true", "enabled": false},\n' +
      '    {"name": "hand", "command": "/bin/true", "enabled": false\n  ]\n}\n';
    writeFileSync(proxy.configPath, broken);
    const writes = [
      ['POST', '/api/servers', off('api')],
      ['POST', '/api/servers/a/enable'],
      ['PATCH', '/api/servers/a', { args: ['x'] }],
      ['DELETE', '/api/servers/a'],
      ['POST', '/api/groups', { name: 'g', servers: ['a'] }],
    ];
    for (const [method, url, body] of writes) {
      const res = await api(proxy, method, url, body);
      assert.equal(res.status, 409, `${method} ${url}: ${res.text}`);
      assert.ok(res.json.error.includes(`${proxy.configPath}:6:3:`), res.json.error);
      assert.match(res.json.error, /does not parse/);
    }
    assert.equal(readFileSync(proxy.configPath, 'utf8'), broken);
    const servers = (await api(proxy, 'GET', '/api/servers')).json.servers;
    assert.deepEqual(servers.map((s) => [s.name, s.enabled, s.args]), [['a', false, []]]);
    assert.equal(rec.events.filter((e) => e.type === 'server_config_changed').length, 0);

    // The user finishes the edit; once it is loaded, the API change lands on
    // top of it and the limits edit is kept.
    const from = rec.events.length;
    writeFileSync(proxy.configPath, broken.replace('"enabled": false\n  ]', '"enabled": false}\n  ]'));
    const cc = await rec.until(after(rec, from, isConfigChange), 10000, 'config_change');
    assert.deepEqual(cc.data.servers_added, ['hand']);
    const res = await api(proxy, 'POST', '/api/servers', off('api'));
    assert.equal(res.status, 201, res.text);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    assert.equal(saved.limits.max_body_bytes, 65536);
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['a', 'hand', 'api']);
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('a hand edit not reloaded yet: 409; after the reload the API change succeeds and both edits are in the file', async () => {
  const proxy = await startProxy({ config: { mcpServers: [off('a')] } });
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'mcpproxy-link-'));
  try {
    const rec = await recordEvents(proxy);
    // The edit is written through a second hard link outside the watched
    // directory: the watch sees nothing, so no reload can come before the
    // API request, however slow this machine is - the window an editor's
    // save opens for the debounce's 150 ms, held open.
    const link = path.join(elsewhere, 'same-inode.json');
    linkSync(proxy.configPath, link);
    const edited = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    edited.limits = { ...edited.limits, max_body_bytes: 65536 };
    edited.mcpServers.push(off('hand'));
    const text = JSON.stringify(edited, null, 2);
    writeFileSync(link, text);

    let res = await api(proxy, 'POST', '/api/servers', off('api'));
    assert.equal(res.status, 409, res.text);
    assert.ok(res.json.error.includes(proxy.configPath), res.json.error);
    assert.match(res.json.error, /has been edited/);
    assert.equal(readFileSync(proxy.configPath, 'utf8'), text);
    assert.deepEqual((await api(proxy, 'GET', '/api/servers')).json.servers.map((s) => s.name), ['a']);

    // The editor's save as the watch sees it: the same bytes through the
    // real path. The reload applies the edit.
    const from = rec.events.length;
    writeFileSync(proxy.configPath, text);
    const cc = await rec.until(after(rec, from, isConfigChange), 10000, 'config_change');
    assert.deepEqual(cc.data.servers_added, ['hand']);
    res = await api(proxy, 'POST', '/api/servers', off('api'));
    assert.equal(res.status, 201, res.text);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    assert.equal(saved.limits.max_body_bytes, 65536);
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['a', 'hand', 'api']);
    // What the API wrote is the file as recorded: the next change goes
    // through at once.
    res = await api(proxy, 'PATCH', '/api/servers/api', { args: ['x'] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(readFileSync(proxy.configPath, 'utf8')).mcpServers[2].args, ['x']);
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('a symlinked config stays a link: API changes and gen-key write its target', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-symlink-'));
  mkdirSync(path.join(dir, 'dotfiles'));
  mkdirSync(path.join(dir, 'home'));
  const target = path.join(dir, 'dotfiles', 'mcpproxy.json');
  const link = path.join(dir, 'home', 'mcp_config.json');
  writeFileSync(target, JSON.stringify({ mcpServers: [off('a')] }, null, 2));
  symlinkSync('../dotfiles/mcpproxy.json', link);
  const proxy = await startProxy({ configPath: link });
  try {
    const res = await api(proxy, 'POST', '/api/servers', off('api'));
    assert.equal(res.status, 201, res.text);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), '../dotfiles/mcpproxy.json');
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')).mcpServers.map((s) => s.name), ['a', 'api']);
    await proxy.stop();

    const gen = spawnSync(proxyBin, ['gen-key', '--config', link], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), 'gen-key replaced the link with a file');
    assert.equal(readlinkSync(link), '../dotfiles/mcpproxy.json');
    const saved = JSON.parse(readFileSync(target, 'utf8'));
    assert.match(saved.api_key, /^[0-9a-f]{48}$/);
    assert.deepEqual(saved.mcpServers.map((s) => s.name), ['a', 'api']);
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
