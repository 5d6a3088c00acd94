// mcp_search.test.mjs - /mcp in search mode with the official SDK client:
// the client sees two tools (retrieve_tools, call_tool) however many the
// servers offer, finds server-everything's get-sum by describing it, and
// calls it through call_tool; the modes chosen by path, ?mode= and the
// config's "routing"; the index following a server that comes and goes;
// mistakes answered so a model can correct itself; calls in the activity log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, demo, everythingArgs } from './upstream_helpers.mjs';
import { mcpPost, jsonHeaders } from './mcp_helpers.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const everything = { name: 'everything', protocol: 'stdio', command: process.execPath, args: everythingArgs };

async function connectAt(proxy, urlPath, onListChanged) {
  const client = new Client({ name: 'search-test', version: '1.0.0' });
  if (onListChanged) client.setNotificationHandler(ToolListChangedNotificationSchema, onListChanged);
  await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url + urlPath)));
  return client;
}

const names = (r) => r.structuredContent.tools.map((t) => t.name);

test('search mode: two tools, retrieve_tools finds everything__get-sum, call_tool calls it', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo'), everything] } });
  const clients = [];
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    await rec.until(isState('everything', 'Ready'), 30000);

    let searchListChanged = 0;
    const search = await connectAt(proxy, '/mcp/search', () => { searchListChanged++; });
    clients.push(search);
    assert.match(search.getInstructions(), /retrieve_tools/);
    const { tools } = await search.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['retrieve_tools', 'call_tool']);
    assert.deepEqual(tools[0].inputSchema.required, ['query']);

    const found = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'sum of two numbers' } });
    assert.equal(found.isError, undefined);
    assert.ok(names(found).slice(0, 5).includes('everything__get-sum'), names(found).join(', '));
    assert.ok(found.structuredContent.tools.length <= 5);
    const getSum = found.structuredContent.tools.find((t) => t.name === 'everything__get-sum');
    // The full input schema, as the server listed it.
    let directListChanged;
    const directChanged = new Promise((resolve) => { directListChanged = resolve; });
    const direct = await connectAt(proxy, '/mcp', () => directListChanged());
    clients.push(direct);
    const everythingSum = (await direct.listTools()).tools.find((t) => t.name === 'everything__get-sum');
    assert.deepEqual(getSum.inputSchema, everythingSum.inputSchema);
    assert.equal(getSum.description, everythingSum.description);
    assert.equal(getSum.server, 'everything');
    assert.equal(JSON.parse(found.content[0].text).tools[0].name, found.structuredContent.tools[0].name);

    const sum = await search.callTool({ name: 'call_tool', arguments: { name: 'everything__get-sum', arguments: { a: 40, b: 2 } } });
    assert.match(sum.content[0].text, /42/);

    // limit and server.
    const many = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'echo message text', limit: 2 } });
    assert.equal(many.structuredContent.tools.length, 2);
    const demoOnly = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'echo message text', server: 'demo' } });
    assert.ok(demoOnly.structuredContent.tools.length > 0);
    assert.ok(demoOnly.structuredContent.tools.every((t) => t.server === 'demo'), names(demoOnly).join(', '));
    assert.equal(names(demoOnly)[0], 'demo__echo');

    // Mistakes: a tool error the model can read, or a JSON-RPC error.
    const noQuery = await search.callTool({ name: 'retrieve_tools', arguments: {} });
    assert.equal(noQuery.isError, true);
    assert.match(noQuery.content[0].text, /needs arguments.query/);
    const badLimit = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'x', limit: 500 } });
    assert.equal(badLimit.isError, true);
    const nothing = await search.callTool({ name: 'retrieve_tools', arguments: { query: '!!!' } });
    assert.deepEqual(nothing.structuredContent.tools, []);
    await assert.rejects(search.callTool({ name: 'call_tool', arguments: { name: 'demo__nope', arguments: {} } }), /unknown tool "demo__nope"/);
    await assert.rejects(search.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } }), /search mode: its tools are retrieve_tools and call_tool/);
    const noName = await search.callTool({ name: 'call_tool', arguments: {} });
    assert.equal(noName.isError, true);

    // ?mode=search is the same; a bad mode is refused.
    const byQuery = await connectAt(proxy, '/mcp?mode=search');
    clients.push(byQuery);
    assert.deepEqual((await byQuery.listTools()).tools.map((t) => t.name), ['retrieve_tools', 'call_tool']);
    const bad = await mcpPost({ url: proxy.url }, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, jsonHeaders());
    assert.equal(bad.status, 200); // plain /mcp: direct
    const res = await fetch(`${proxy.url}/mcp?mode=fast`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }) });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /mode= must be direct or search/);

    // The index follows the servers: a server added is found, one removed is not.
    assert.equal((await api(proxy, 'POST', '/api/servers', demo('fresh'))).status, 201);
    await rec.until(isState('fresh', 'Ready'));
    // The direct session hears that its tools changed; the search session,
    // whose two tools did not, is not told.
    await directChanged;
    const withFresh = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'echo', server: 'fresh' } });
    assert.deepEqual(names(withFresh), ['fresh__echo']);
    assert.equal((await api(proxy, 'DELETE', '/api/servers/fresh')).status, 200);
    await rec.until((e) => e.type === 'server_state_changed' && e.server_name === 'fresh' && e.new_state === 'Disconnected');
    const gone = await search.callTool({ name: 'retrieve_tools', arguments: { query: 'echo', server: 'fresh' } });
    assert.deepEqual(names(gone), []);
    assert.deepEqual((await search.listTools()).tools.map((t) => t.name), ['retrieve_tools', 'call_tool']);
    assert.equal(searchListChanged, 0);

    // The activity log names the real tool of a call_tool, and records retrieve_tools.
    const rows = (await api(proxy, 'GET', '/api/activity?limit=1000')).json.rows;
    const sumRow = rows.find((r) => r.tool === 'get-sum');
    assert.equal(sumRow.server, 'everything');
    assert.deepEqual(sumRow.arguments, { a: 40, b: 2 });
    assert.equal(sumRow.client_name, 'search-test');
    assert.ok(rows.some((r) => r.tool === 'retrieve_tools' && r.server === null && r.outcome === 'ok'));
    rec.close();
  } finally {
    for (const c of clients) await c.close();
    await proxy.stop();
  }
});

test('config routing: search makes /mcp a search endpoint, ?mode=direct opts out', async () => {
  const proxy = await startProxy({ config: { routing: 'search', mcpServers: [demo('demo')] } });
  const clients = [];
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const search = await connectAt(proxy, '/mcp');
    clients.push(search);
    assert.deepEqual((await search.listTools()).tools.map((t) => t.name), ['retrieve_tools', 'call_tool']);
    const added = await search.callTool({ name: 'call_tool', arguments: { name: 'demo__add', arguments: { a: 2, b: 3 } } });
    assert.deepEqual(added.structuredContent, { sum: 5 });
    const direct = await connectAt(proxy, '/mcp?mode=direct');
    clients.push(direct);
    assert.ok((await direct.listTools()).tools.some((t) => t.name === 'demo__add'));
    rec.close();
  } finally {
    for (const c of clients) await c.close();
    await proxy.stop();
  }
});
