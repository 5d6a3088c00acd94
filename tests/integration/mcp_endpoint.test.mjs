// mcp_endpoint.test.mjs - the official MCP TypeScript SDK uses mcpproxy as its
// only server: it lists the tools of two real upstreams (the demo server and
// @modelcontextprotocol/server-everything), calls them (many at once), and
// every call shows up on /ws/events as one tool_called.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './harness.mjs';
import { recordEvents, isState, demo, everythingArgs, listToolsDirect, demoServerBin } from './upstream_helpers.mjs';
import { mcpConnect, mcpPost, jsonHeaders } from './mcp_helpers.mjs';

const everything = { name: 'everything', protocol: 'stdio', command: process.execPath, args: everythingArgs };

const toolCalls = (rec) => rec.events.filter((e) => e.type === 'tool_called');

test('SDK client: list, call, concurrent calls, one tool_called per call', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo'), everything] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    await rec.until(isState('everything', 'Ready'), 30000);

    mcp = await mcpConnect(proxy);
    const { client, transport } = mcp;
    const sessionId = transport.sessionId;
    assert.match(sessionId, /^[0-9a-f]{32}$/);
    assert.equal(client.getServerCapabilities().tools.listChanged, true);
    assert.equal(client.getServerVersion().name, 'mcpproxy');

    // tools/list: every tool of both, renamed, otherwise as the servers sent them.
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    const direct = await listToolsDirect(demoServerBin, ['--name', 'demo']);
    for (const t of direct) {
      const offered = byName.get(`demo__${t.name}`);
      assert.ok(offered, `demo__${t.name} missing from ${[...byName.keys()]}`);
      assert.deepEqual({ ...offered, name: t.name }, t);
    }
    const directEverything = await listToolsDirect(process.execPath, everythingArgs);
    assert.ok(directEverything.length > 5);
    for (const t of directEverything) {
      const offered = byName.get(`everything__${t.name}`);
      assert.ok(offered, `everything__${t.name} missing`);
      assert.deepEqual({ ...offered, name: t.name }, t);
    }
    assert.equal(tools.length, direct.length + directEverything.length);
    for (const t of tools) assert.match(t.name, /^[A-Za-z0-9_-]{1,64}$/);

    // Single calls: result forwarded unchanged (content, structuredContent, isError).
    const sum = await client.callTool({ name: 'demo__add', arguments: { a: 2, b: 3 } });
    assert.deepEqual(sum.structuredContent, { sum: 5 });
    assert.equal(sum.content[0].text, '5');
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hi there' } });
    assert.equal(echo.content[0].text, 'Echo: hi there');
    const everythingSum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 40, b: 2 } });
    assert.match(everythingSum.content[0].text, /42/);
    const failed = await client.callTool({ name: 'demo__fail', arguments: { message: 'on purpose' } });
    assert.equal(failed.isError, true);
    assert.match(failed.content[0].text, /on purpose/);

    // An upstream JSON-RPC error comes back as that error.
    await assert.rejects(client.callTool({ name: 'demo__add', arguments: { a: 'x', b: 1 } }),
      (err) => err.code === -32602 && /add needs numbers/.test(err.message));

    // Many at once, to both servers; results matched to their calls.
    const calls = [];
    for (let i = 0; i < 10; i++) {
      const ms = 50 + ((i * 37) % 250);
      calls.push(client.callTool({ name: 'demo__sleep', arguments: { ms } })
        .then((r) => assert.equal(r.content[0].text, `slept ${ms} ms`)));
    }
    for (let i = 0; i < 5; i++) {
      calls.push(client.callTool({ name: 'demo__echo', arguments: { text: `d${i}` } })
        .then((r) => assert.equal(r.content[0].text, `d${i}`)));
      calls.push(client.callTool({ name: 'everything__echo', arguments: { message: `e${i}` } })
        .then((r) => assert.equal(r.content[0].text, `Echo: e${i}`)));
    }
    await Promise.all(calls);
    const total = 5 + 20;

    // One tool_called per call, with the right fields.
    await rec.until(() => toolCalls(rec).length >= total, 20000, `${total} tool_called events`);
    const events = toolCalls(rec);
    assert.equal(events.length, total);
    for (const e of events) {
      assert.ok(['demo', 'everything'].includes(e.server_name), JSON.stringify(e));
      assert.equal(typeof e.data.duration_ms, 'number');
      assert.ok(e.data.duration_ms >= 0);
      assert.equal(e.data.session_id, sessionId);
      assert.equal(e.data.client, 'mcpproxy-test', 'the clientInfo.name of the session');
      // The answer's size exactly when the call succeeded.
      if (e.data.ok) assert.ok(Number.isInteger(e.data.response_bytes) && e.data.response_bytes > 0, JSON.stringify(e));
      else assert.equal('response_bytes' in e.data, false, JSON.stringify(e));
      assert.equal('arguments' in e.data, false, 'arguments are not logged by default');
      assert.equal(typeof e.data.ok, 'boolean');
      // An error message exactly when the call failed.
      assert.equal(typeof e.data.error, e.data.ok ? 'undefined' : 'string', JSON.stringify(e));
    }
    const count = (server, tool) => events.filter((e) => e.server_name === server && e.data.tool === tool).length;
    assert.equal(count('demo', 'sleep'), 10);
    assert.equal(count('demo', 'echo'), 5);
    assert.equal(count('everything', 'echo'), 6);
    assert.equal(count('everything', 'get-sum'), 1);
    assert.equal(count('demo', 'add'), 2);
    const fail = events.find((e) => e.data.tool === 'fail');
    assert.equal(fail.data.ok, false);
    assert.match(fail.data.error, /on purpose/);
    const badAdd = events.find((e) => e.data.tool === 'add' && !e.data.ok);
    assert.match(badAdd.data.error, /add needs numbers/);
    const slow = events.filter((e) => e.data.tool === 'sleep');
    assert.ok(slow.every((e) => e.data.ok && e.data.duration_ms >= 40), JSON.stringify(slow.map((e) => e.data)));

    // DELETE ends the session; the proxy forgets it.
    await transport.terminateSession();
    const after = await mcpPost(proxy, { jsonrpc: '2.0', id: 99, method: 'ping' }, jsonHeaders(sessionId));
    assert.equal(after.status, 404, after.text);
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});

test('tool arguments appear in tool_called only when asked for', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')], mcp: { log_tool_arguments: true } } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    mcp = await mcpConnect(proxy);
    await mcp.client.callTool({ name: 'demo__echo', arguments: { text: 'logged' } });
    const e = await rec.until((x) => x.type === 'tool_called');
    assert.deepEqual(e.data.arguments, { text: 'logged' });
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});
