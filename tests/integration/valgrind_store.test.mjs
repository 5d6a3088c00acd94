// valgrind_store.test.mjs - the database's parts under valgrind: the
// activity log (rows written per loop turn, queried, exported), search mode
// (the FTS5 index built, searched, a call through call_tool), quarantine (a
// server added, held, approved), then SIGTERM. Any invalid access or leak
// makes valgrind exit 99. (Run on the plain build: make test leaves
// *valgrind* out of the ASan run.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, demo } from './upstream_helpers.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const valgrind = ['valgrind', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
  '--show-leak-kinds=definite,indirect', '--track-fds=no', '--quiet'];

test('activity log, search mode and quarantine under valgrind: no memory errors, no leaks', { timeout: 240000 }, async () => {
  const proxy = await startProxy({ wrapper: valgrind, readyMs: 60000,
    config: { quarantine: { new_servers: true, changed_tools: true }, mcpServers: [demo('demo')] } });
  const rec = await recordEvents(proxy);
  await rec.until(isState('demo', 'Ready'), 60000);
  const client = new Client({ name: 'valgrind', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url + '/mcp/search')));
  const found = await client.callTool({ name: 'retrieve_tools', arguments: { query: 'add two numbers' } });
  assert.equal(found.structuredContent.tools[0].name, 'demo__add');
  const sum = await client.callTool({ name: 'call_tool', arguments: { name: 'demo__add', arguments: { a: 2, b: 3 } } });
  assert.deepEqual(sum.structuredContent, { sum: 5 });
  await assert.rejects(client.callTool({ name: 'call_tool', arguments: { name: 'demo__nope' } }));

  assert.equal((await api(proxy, 'POST', '/api/servers', demo('added'))).status, 201);
  await rec.until(isType('added', 'server_quarantined'), 60000);
  await assert.rejects(client.callTool({ name: 'call_tool', arguments: { name: 'added__add', arguments: { a: 1, b: 1 } } }), /quarantined/);
  assert.equal((await api(proxy, 'GET', '/api/quarantine')).json.servers.length, 1);
  assert.equal((await api(proxy, 'POST', '/api/servers/added/approve')).status, 200);
  await rec.until(isType('added', 'server_approved'), 60000);

  const rows = (await api(proxy, 'GET', '/api/activity?limit=2')).json;
  assert.equal(rows.rows.length, 2);
  assert.ok(rows.next_cursor);
  assert.equal((await api(proxy, 'GET', `/api/activity?cursor=${rows.next_cursor}&q=add`)).status, 200);
  const csv = await api(proxy, 'GET', '/api/activity/export?format=csv');
  assert.equal(csv.status, 200);
  assert.ok(csv.text.split('\r\n').length >= 4);
  await client.close();
  rec.close();
  const { code, signal } = await proxy.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0, proxy.logs.filter((e) => e.raw).map((e) => e.msg).join('\n'));
});
