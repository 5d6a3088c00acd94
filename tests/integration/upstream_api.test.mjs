// upstream_api.test.mjs - changing servers and groups through the API and by
// editing the config file: every change is written to the file, applied, and
// published; a failed write or a bad edit changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { startProxy, api } from './harness.mjs';
import {
  recordEvents, isState, isType, serverStatus, demo, fastUpstream, readConfig, status,
} from './upstream_helpers.mjs';

const after = (rec, from, pred) => (e) => rec.events.indexOf(e) >= from && pred(e);

test('add, edit, disable, enable, restart, groups, delete: events, file, and a restart of mcpproxy', async () => {
  let proxy = await startProxy({ keepConfig: true, config: { upstream: fastUpstream, mcpServers: [demo('a', [], { group: 'g1' })] } });
  const configPath = proxy.configPath;
  try {
    let rec = await recordEvents(proxy);
    await rec.until(isState('a', 'Ready'));

    // Validation: what is wrong is said, nothing changes.
    let res = await api(proxy, 'POST', '/api/servers', { name: 'bad name!', command: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.json.error, /name/);
    res = await api(proxy, 'POST', '/api/servers', { name: 'nocmd' });
    assert.equal(res.status, 400);
    assert.match(res.json.error, /command/);
    res = await api(proxy, 'POST', '/api/servers', { name: 'a', command: 'x' });
    assert.equal(res.status, 409);
    res = await api(proxy, 'POST', '/api/servers', { name: 'x', command: 'x', colour: 'red' });
    assert.equal(res.status, 400);
    assert.match(res.json.error, /colour/);
    assert.equal((await api(proxy, 'PUT', '/api/servers/a')).status, 405);
    assert.equal((await api(proxy, 'GET', '/api/servers/a/restart')).status, 405);
    assert.equal((await api(proxy, 'POST', '/api/servers/zzz/restart')).status, 404);
    assert.deepEqual(readConfig(proxy).mcpServers.map((s) => s.name), ['a']);

    // Add.
    let from = rec.events.length;
    res = await api(proxy, 'POST', '/api/servers', demo('b', [], { group: 'g1' }));
    assert.equal(res.status, 201, res.text);
    const created = await rec.until(after(rec, from, isType('b', 'server_config_changed', (e) => e.data.action === 'created')));
    assert.equal(created.data.server.command, demo('b').command);
    const grp = await rec.until(after(rec, from, (e) => e.type === 'server_group_updated' && e.data.group === 'g1'));
    assert.deepEqual(grp.data.servers, ['a', 'b']);
    await rec.until(after(rec, from, isState('b', 'Ready')));
    assert.deepEqual(readConfig(proxy).mcpServers.map((s) => s.name), ['a', 'b']);

    // Edit: only the edited server restarts.
    const pidA = (await serverStatus(proxy, 'a')).pid;
    const pidB = (await serverStatus(proxy, 'b')).pid;
    from = rec.events.length;
    res = await api(proxy, 'PATCH', '/api/servers/b', { args: ['--name', 'b2', '--page-size', '2'] });
    assert.equal(res.status, 200, res.text);
    const upd = await rec.until(after(rec, from, isType('b', 'server_config_changed', (e) => e.data.action === 'updated')));
    assert.deepEqual(upd.data.changed, ['args']);
    await rec.until(after(rec, from, isState('b', 'Ready')));
    assert.notEqual((await serverStatus(proxy, 'b')).pid, pidB);
    assert.equal((await serverStatus(proxy, 'a')).pid, pidA);
    assert.deepEqual(readConfig(proxy).mcpServers[1].args, ['--name', 'b2', '--page-size', '2']);
    res = await api(proxy, 'PATCH', '/api/servers/b', { name: 'renamed' });
    assert.equal(res.status, 400);

    // Disable / enable.
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/servers/b/disable');
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, isState('b', 'Disconnected')));
    assert.equal((await serverStatus(proxy, 'b')).status, 'Disabled');
    assert.equal(readConfig(proxy).mcpServers[1].enabled, false);
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/servers/b/enable');
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, isState('b', 'Ready')));
    assert.equal(readConfig(proxy).mcpServers[1].enabled, true);

    // Restart: a new process, through Disconnected.
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/servers/a/restart');
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, isState('a', 'Disconnected')));
    await rec.until(after(rec, from, isState('a', 'Ready')));
    assert.notEqual((await serverStatus(proxy, 'a')).pid, pidA);

    // Groups.
    let groups = await api(proxy, 'GET', '/api/groups');
    assert.deepEqual(groups.json.groups, [{ name: 'g1', servers: ['a', 'b'], enabled: true }]);
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/groups/g1/disable');
    assert.equal(res.status, 200, res.text);
    const gd = await rec.until(after(rec, from, (e) => e.type === 'server_group_updated' && e.data.group === 'g1'));
    assert.equal(gd.data.enabled, false);
    await rec.until(after(rec, from, isState('a', 'Disconnected')));
    await rec.until(after(rec, from, isState('b', 'Disconnected')));
    assert.deepEqual((await status(proxy)).servers.map((s) => s.status), ['Disabled', 'Disabled']);
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/groups/g1/enable');
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, isState('a', 'Ready')));
    await rec.until(after(rec, from, isState('b', 'Ready')));
    assert.equal((await api(proxy, 'POST', '/api/groups/nope/enable')).status, 404);
    from = rec.events.length;
    res = await api(proxy, 'POST', '/api/groups', { name: 'g2', servers: ['b'] });
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, (e) => e.type === 'server_group_updated' && e.data.group === 'g2'));
    groups = await api(proxy, 'GET', '/api/groups');
    assert.deepEqual(groups.json.groups.map((g) => [g.name, g.servers]), [['g1', ['a']], ['g2', ['b']]]);

    // Delete.
    from = rec.events.length;
    res = await api(proxy, 'DELETE', '/api/servers/a');
    assert.equal(res.status, 200, res.text);
    await rec.until(after(rec, from, isType('a', 'server_config_changed', (e) => e.data.action === 'deleted')));
    assert.equal((await api(proxy, 'GET', '/api/servers/a')).status, 404);
    assert.deepEqual((await status(proxy)).servers.map((s) => s.name), ['b']);
    rec.close();
    await proxy.stop();

    // The file was written: a new mcpproxy on the same file sees the same servers.
    proxy = await startProxy({ configPath });
    rec = await recordEvents(proxy);
    await rec.until(isState('b', 'Ready'));
    const s = (await status(proxy)).servers;
    assert.deepEqual(s.map((x) => [x.name, x.group, x.enabled]), [['b', 'g2', true]]);
    const tools = await api(proxy, 'GET', '/api/servers/b/tools');
    assert.equal(tools.json.tool_count, 4);
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(configPath, { force: true, recursive: true });
  }
});

test('a failed config write changes nothing and says why', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('a')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('a', 'Ready'));
    // Put a directory where the file was: it can be neither compared with
    // what was loaded nor replaced by the atomic rename.
    rmSync(proxy.configPath);
    mkdirSync(proxy.configPath);
    writeFileSync(proxy.configPath + '/keep', 'x');
    const res = await api(proxy, 'POST', '/api/servers/a/disable');
    assert.equal(res.status, 500);
    assert.match(res.json.error, /could not be written/);
    const s = await serverStatus(proxy, 'a');
    assert.equal(s.enabled, true);
    assert.equal(s.status, 'Ready');
    const del = await api(proxy, 'DELETE', '/api/servers/a');
    assert.equal(del.status, 500);
    assert.equal((await status(proxy)).servers.length, 1);
    assert.equal(rec.events.filter((e) => e.type === 'server_config_changed').length, 0);
    rec.close();
  } finally {
    await proxy.stop();
    rmSync(proxy.configPath, { recursive: true, force: true });
  }
});

test('hand edits: a bad one is rejected with line and column, a good one applies as a diff', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('keep'), demo('change'), demo('drop')] } });
  try {
    const rec = await recordEvents(proxy);
    for (const n of ['keep', 'change', 'drop']) await rec.until(isState(n, 'Ready'));
    const pids = Object.fromEntries((await status(proxy)).servers.map((s) => [s.name, s.pid]));
    const original = readConfig(proxy);

    // Invalid JSON: logged with line and column, running config stays. A
    // rejected reload is reported in the log only (no event, no API field).
    const rejected = proxy.nextLog((e) => e.msg === 'config reload rejected; keeping the running config', 10000);
    writeFileSync(proxy.configPath, '{\n  "mcpServers": [\n    {"name": "keep",, }\n  ]\n}\n');
    const line = await rejected;
    assert.match(line.error, /3/); // line 3
    assert.match(line.error, /column|:\d+:\d+/);
    // An unknown key is rejected too.
    const rejected2 = proxy.nextLog((e) => e.msg === 'config reload rejected; keeping the running config', 10000);
    writeFileSync(proxy.configPath, JSON.stringify({ ...original, bogus: 1 }, null, 2));
    assert.match((await rejected2).error, /bogus/);
    assert.deepEqual((await status(proxy)).servers.map((s) => s.status), ['Ready', 'Ready', 'Ready']);

    // A valid edit, saved like an editor does (write elsewhere, rename over).
    const from = rec.events.length;
    const edited = structuredClone(original);
    edited.mcpServers = [
      original.mcpServers[0],
      { ...original.mcpServers[1], args: ['--name', 'changed', '--page-size', '3'] },
      demo('fresh'),
    ];
    writeFileSync(proxy.configPath + '.new', JSON.stringify(edited, null, 2));
    renameSync(proxy.configPath + '.new', proxy.configPath);
    const cc = await rec.until(after(rec, from, (e) => e.type === 'config_change'), 10000, 'config_change');
    assert.deepEqual(cc.data, { servers_added: ['fresh'], servers_removed: ['drop'], servers_changed: ['change'] });
    await rec.until(after(rec, from, isType('drop', 'server_config_changed', (e) => e.data.action === 'deleted')));
    await rec.until(after(rec, from, isState('fresh', 'Ready')));
    await rec.until(after(rec, from, isState('change', 'Ready')));
    const now = Object.fromEntries((await status(proxy)).servers.map((s) => [s.name, s.pid]));
    assert.deepEqual(Object.keys(now), ['keep', 'change', 'fresh']);
    assert.equal(now.keep, pids.keep, 'an unchanged server must not restart');
    assert.notEqual(now.change, pids.change);
    // Nothing about "keep" after the edit.
    assert.equal(rec.events.slice(from).filter((e) => e.server_name === 'keep').length, 0);
    rec.close();
  } finally {
    await proxy.stop();
  }
});
