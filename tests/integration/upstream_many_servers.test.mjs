// upstream_many_servers.test.mjs - 10,000 configured servers (disabled, so
// nothing runs): they load, are listed (status, and config merged with
// status), and API writes still go through -
// an edit of one server and a group of all of them - each saved to the file
// and published. A functional check of the paths that once searched the
// whole server list once per server; no timing is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, readConfig, status } from './upstream_helpers.mjs';

const N = 10000;

test('10,000 disabled servers load, and API writes succeed', async () => {
  const servers = Array.from({ length: N }, (_, i) => ({ name: `s${i}`, command: '/bin/true', enabled: false }));
  const proxy = await startProxy({ config: { mcpServers: servers }, readyMs: 120000 });
  try {
    const rec = await recordEvents(proxy);
    const listed = (await status(proxy)).servers;
    assert.equal(listed.length, N);
    assert.ok(listed.every((s) => s.status === 'Disabled'));
    const full = (await api(proxy, 'GET', '/api/servers')).json.servers;
    assert.deepEqual(full.map((s) => s.name), servers.map((s) => s.name));
    assert.ok(full.every((s) => s.command === '/bin/true' && s.status === 'Disabled'));

    let res = await api(proxy, 'PATCH', '/api/servers/s5000', { args: ['x'] });
    assert.equal(res.status, 200, res.text);
    const upd = await rec.until((e) => e.type === 'server_config_changed' && e.server_name === 's5000', 60000,
      'server_config_changed for s5000');
    assert.deepEqual(upd.data.changed, ['args']);
    let saved = readConfig(proxy).mcpServers;
    assert.equal(saved.length, N);
    assert.deepEqual(saved[5000].args, ['x']);

    res = await api(proxy, 'POST', '/api/groups', { name: 'all', servers: servers.map((s) => s.name) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.groups.length, 1);
    assert.equal(res.json.groups[0].servers.length, N);
    const grp = await rec.until((e) => e.type === 'server_group_updated' && e.data.group === 'all', 60000,
      'server_group_updated for all');
    assert.equal(grp.data.servers.length, N);
    saved = readConfig(proxy).mcpServers;
    assert.ok(saved.every((s) => s.group === 'all'));
    rec.close();
  } finally {
    await proxy.stop();
  }
});
