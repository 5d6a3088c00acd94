// mcp_errors.test.mjs - what /mcp says when things are wrong: a disabled or
// crashed server, a timeout, bad requests and sessions, access rules, and
// tool names that would not fit what clients accept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, demo, fastUpstream } from './upstream_helpers.mjs';
import { mcpConnect, mcpPost, jsonHeaders, rawInitialize, sseMessages, callSignals, signalServer } from './mcp_helpers.mjs';

test('disabled and crashed servers, timeouts: clear JSON-RPC errors, and tool_called says so', async () => {
  // The victim reports each call it receives: the moment a call is in flight.
  const signals = await callSignals();
  const proxy = await startProxy({
    config: { upstream: fastUpstream, auto_disable_threshold: 100, mcp: { call_timeout_ms: 1500 },
      mcpServers: [demo('demo'), demo('off', [], { enabled: false }), signalServer('victim', signals)] },
  });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    await rec.until(isState('victim', 'Ready'));
    mcp = await mcpConnect(proxy);
    const { client } = mcp;
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('demo__echo') && names.includes('victim__echo'));
    assert.ok(!names.some((n) => n.startsWith('off__')), 'a disabled server offers nothing');

    await assert.rejects(client.callTool({ name: 'off__echo', arguments: { text: 'x' } }),
      (err) => err.code === -32003 && /server "off" is not available \(status: Disabled\)/.test(err.message));
    await assert.rejects(client.callTool({ name: 'nosuch__tool', arguments: {} }),
      (err) => err.code === -32602 && /unknown tool "nosuch__tool"/.test(err.message));

    // A call in flight when its server dies gets an error, not silence.
    const pending = client.callTool({ name: 'victim__sleep', arguments: { ms: 60000 } });
    const received = await signals.next((c) => c.tool === 'sleep');
    assert.deepEqual(received.arguments, { ms: 60000 });
    const victim = (await api(proxy, 'GET', '/api/servers/status')).json.servers.find((s) => s.name === 'victim');
    process.kill(victim.pid, 'SIGKILL');
    await assert.rejects(pending, (err) => err.code === -32002 && /server "victim" closed its connection/.test(err.message));
    // While it restarts, its tools are not available.
    await rec.until((e) => e.type === 'connection_lost' && e.server_name === 'victim');

    // A timeout is the timeout error.
    await assert.rejects(client.callTool({ name: 'demo__sleep', arguments: { ms: 10000 } }),
      (err) => err.code === -32001 && /timed out after 1500 ms/.test(err.message));

    await rec.until((e) => e.type === 'tool_called' && e.data.tool === 'sleep' && e.server_name === 'demo');
    const calls = rec.events.filter((e) => e.type === 'tool_called');
    const byTool = (server, tool) => calls.find((e) => e.server_name === server && e.data.tool === tool);
    assert.match(byTool('off', 'echo').data.error, /not available/);
    assert.equal(byTool('off', 'echo').data.ok, false);
    assert.match(byTool('victim', 'sleep').data.error, /closed its connection/);
    assert.match(byTool('demo', 'sleep').data.error, /timed out/);
    const unknown = calls.find((e) => e.data.tool === 'nosuch__tool');
    assert.equal(unknown.data.ok, false);
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
    await signals.close();
  }
});

test('status codes: sessions, methods, media types, batches', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

    // No session on a non-initialize request: 400; an unknown one: 404.
    let res = await mcpPost(proxy, list, jsonHeaders(null));
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /Mcp-Session-Id/);
    res = await mcpPost(proxy, list, jsonHeaders('0123456789abcdef0123456789abcdef'));
    assert.equal(res.status, 404);

    const sid = await rawInitialize(proxy, '2025-06-18');
    assert.match(sid, /^[0-9a-f]{32}$/);
    res = await mcpPost(proxy, list, jsonHeaders(sid));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.ok(res.json.result.tools.some((t) => t.name === 'demo__echo'));

    // Notifications only: 202, no body.
    res = await mcpPost(proxy, { jsonrpc: '2.0', method: 'notifications/initialized' }, jsonHeaders(sid));
    assert.equal(res.status, 202);
    assert.equal(res.text, '');

    // Bad JSON, not JSON-RPC, wrong media types, unknown method, bad version.
    res = await mcpPost(proxy, '{"jsonrpc":', jsonHeaders(sid));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, -32700);
    res = await mcpPost(proxy, { hello: 1 }, jsonHeaders(sid));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, -32600);
    res = await mcpPost(proxy, list, jsonHeaders(sid, { 'content-type': 'text/plain' }));
    assert.equal(res.status, 415);
    res = await mcpPost(proxy, list, jsonHeaders(sid, { accept: 'text/html' }));
    assert.equal(res.status, 406);
    res = await mcpPost(proxy, { jsonrpc: '2.0', id: 7, method: 'completion/complete' }, jsonHeaders(sid));
    assert.equal(res.status, 200);
    assert.equal(res.json.error.code, -32601);
    res = await mcpPost(proxy, list, jsonHeaders(sid, { 'mcp-protocol-version': '1999-01-01' }));
    assert.equal(res.status, 400);
    res = await fetch(proxy.url + '/mcp', { method: 'PUT', headers: jsonHeaders(sid), body: '{}' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, POST, DELETE');
    res = await fetch(proxy.url + '/mcp', { headers: { 'mcp-session-id': sid, accept: 'application/json' } });
    assert.equal(res.status, 406);

    // Batches: refused in 2025-06-18, served in 2025-03-26 (with an SSE answer
    // when a call waits, a JSON array otherwise).
    const batch = [
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'demo__echo', arguments: { text: 'in a batch' } } },
      { jsonrpc: '2.0', method: 'notifications/whatever' },
    ];
    res = await mcpPost(proxy, batch, jsonHeaders(sid));
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /batch/);
    const old = await rawInitialize(proxy, '2025-03-26');
    res = await mcpPost(proxy, batch, jsonHeaders(old));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    let answers = sseMessages(res.text);
    assert.deepEqual(answers.map((m) => m.id).sort(), ['a', 'b']);
    assert.equal(answers.find((m) => m.id === 'b').result.content[0].text, 'in a batch');
    res = await mcpPost(proxy, batch, jsonHeaders(old, { accept: 'application/json' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(res.json.map((m) => m.id).sort(), ['a', 'b']);
    res = await mcpPost(proxy, [{ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }], jsonHeaders(old));
    assert.equal(res.status, 400);

    // DELETE ends a session: then 404; without a session 400.
    res = await fetch(proxy.url + '/mcp', { method: 'DELETE', headers: { 'mcp-session-id': sid } });
    assert.equal(res.status, 200);
    res = await mcpPost(proxy, list, jsonHeaders(sid));
    assert.equal(res.status, 404);
    res = await fetch(proxy.url + '/mcp', { method: 'DELETE' });
    assert.equal(res.status, 400);
  } finally {
    await proxy.stop();
  }
});

test('idle sessions expire', async () => {
  const proxy = await startProxy({ config: { mcp: { session_ttl_ms: 400 } } });
  try {
    const sid = await rawInitialize(proxy);
    // Only the log can say when: any request would reset the idle clock.
    await proxy.waitForLog((e) => e.msg === 'mcp session expired' && e.session_id === sid, 10000);
    const res = await mcpPost(proxy, { jsonrpc: '2.0', id: 1, method: 'ping' }, jsonHeaders(sid));
    assert.equal(res.status, 404);
  } finally {
    await proxy.stop();
  }
});

test('access rules: API key and Origin', async () => {
  const key = 'k'.repeat(32);
  const proxy = await startProxy({ config: { api_key: key, mcpServers: [demo('demo')] } });
  try {
    const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    let res = await mcpPost(proxy, init, jsonHeaders(null));
    assert.equal(res.status, 401);
    res = await mcpPost(proxy, init, jsonHeaders(null, { 'x-api-key': key, origin: 'https://evil.example' }));
    assert.equal(res.status, 403);
    res = await mcpPost(proxy, init, jsonHeaders(null, { authorization: `Bearer ${key}` }));
    assert.equal(res.status, 200);
    res = await fetch(proxy.url + '/mcp', { headers: { accept: 'text/event-stream', 'x-api-key': 'wrong' } });
    assert.equal(res.status, 401);
    // The SDK with the key works end to end.
    const rec = await recordEvents(proxy, { headers: { 'X-API-Key': key } });
    await rec.until(isState('demo', 'Ready'));
    rec.close();
    const { client } = await mcpConnect(proxy, { headers: { 'x-api-key': key } });
    const r = await client.callTool({ name: 'demo__echo', arguments: { text: 'keyed' } });
    assert.equal(r.content[0].text, 'keyed');
    await client.close();
  } finally {
    await proxy.stop();
  }
});

test('tool names fit [A-Za-z0-9_-]{1,64}: sanitized, long ones shortened with a hash, all callable', async () => {
  const long = 's'.repeat(60);
  const proxy = await startProxy({ config: { mcpServers: [demo('my.server'), demo(long), demo('my_server')] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    for (const n of ['my.server', long, 'my_server']) await rec.until(isState(n, 'Ready'));
    mcp = await mcpConnect(proxy);
    const tools = (await mcp.client.listTools()).tools;
    const names = tools.map((t) => t.name);
    for (const n of names) assert.match(n, /^[A-Za-z0-9_-]{1,64}$/);
    // "my.server" and "my_server" both sanitize to my_server__echo: the
    // second gets the hashed form.
    assert.ok(names.includes('my_server__echo'));
    const hashed = names.filter((n) => /^my_server__echo_[0-9a-f]{8}$/.test(n));
    assert.equal(hashed.length, 1, names.join(' '));
    const longNames = names.filter((n) => n.startsWith('sss'));
    assert.equal(longNames.length, 4);
    for (const n of longNames) {
      assert.equal(n.length, 64);
      assert.match(n, /_[0-9a-f]{8}$/);
    }
    assert.equal(new Set(names).size, names.length);
    // Each name reaches its own server.
    // The long server's names are all prefix + hash: its echo is found by
    // its description.
    const longEcho = tools.find((t) => longNames.includes(t.name) && /text unchanged/.test(t.description)).name;
    for (const name of ['my_server__echo', hashed[0], longEcho]) {
      const r = await mcp.client.callTool({ name, arguments: { text: name } });
      assert.equal(r.content[0].text, name);
    }
    await rec.until(() => rec.events.filter((e) => e.type === 'tool_called').length >= 3);
    const servers = rec.events.filter((e) => e.type === 'tool_called').map((e) => e.server_name).sort();
    assert.deepEqual(servers, [long, 'my.server', 'my_server'].sort());
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});
