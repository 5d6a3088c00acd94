// mcp_keepalive.test.mjs - how /mcp answers one request that waits on an
// upstream: JSON with Content-Length on a kept-alive connection when the
// client takes JSON (many calls, one socket), a stream when the client takes
// only text/event-stream, and a stream too once there is something to
// stream: the upstream's progress, or a wait of a whole ping interval (its
// keep-alive comments need one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy } from './harness.mjs';
import { recordEvents, isState, demo, everythingArgs } from './upstream_helpers.mjs';
import { jsonHeaders, rawInitialize, sseMessages, mcpConnect, mcpPost } from './mcp_helpers.mjs';

const call = (id, name, args) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** One POST /mcp through `agent`; resolves with status, headers, body text and the socket used. */
function post(proxy, agent, body, headers) {
  const url = new URL(proxy.url + '/mcp');
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/mcp', method: 'POST', agent,
      headers: { ...headers, 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, socket: req.socket }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('tools/call on one kept-alive connection: JSON with Content-Length, the same socket for every call', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const sid = await rawInitialize(proxy, '2025-06-18');
    const sockets = new Set();
    agent.on('free', (socket) => sockets.add(socket));
    const headers = jsonHeaders(sid); // accepts application/json and text/event-stream
    // Some one after another, then some at once (queued on the one socket).
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post(proxy, agent, call(i, 'demo__echo', { text: `call ${i}` }), headers));
    answers.push(...await Promise.all([5, 6, 7, 8, 9].map((i) =>
      post(proxy, agent, call(i, 'demo__add', { a: i, b: 1 }), headers))));
    answers.forEach((res, i) => {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));
      assert.equal(res.headers['transfer-encoding'], undefined);
      assert.notEqual(res.headers.connection, 'close');
      const msg = JSON.parse(res.text);
      assert.equal(msg.id, i);
      assert.equal(msg.result.content[0].text, i < 5 ? `call ${i}` : String(i + 1));
    });
    assert.equal(new Set(answers.map((r) => r.socket)).size, 1, 'every call went over one connection');
    assert.equal(sockets.size, 1);
    const called = await rec.until(() => rec.events.filter((e) => e.type === 'tool_called').length >= 10);
    assert.ok(called);
    assert.equal(rec.events.filter((e) => e.type === 'tool_called' && e.data.ok).length, 10);

    // A client that takes only a stream gets one: one message event.
    const sse = await post(proxy, agent, call(20, 'demo__echo', { text: 'streamed' }),
      jsonHeaders(sid, { accept: 'text/event-stream' }));
    assert.equal(sse.status, 200);
    assert.equal(sse.headers['content-type'], 'text/event-stream');
    assert.match(sse.text, /^event: message$/m);
    const [msg] = sseMessages(sse.text);
    assert.equal(msg.id, 20);
    assert.equal(msg.result.content[0].text, 'streamed');
  } finally {
    agent.destroy();
    await proxy.stop();
  }
});

test('a JSON answer that waits a whole ping interval becomes a stream (when the client takes one)', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')], mcp: { ping_interval_ms: 100 } } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const sid = await rawInitialize(proxy, '2025-06-18');
    // Several ping intervals long: the answer turns into a stream with
    // keep-alive comments, and the result as its one message.
    let res = await post(proxy, agent, call(1, 'demo__sleep', { ms: 800 }), jsonHeaders(sid));
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.match(res.text, /^: ping$/m);
    const [msg] = sseMessages(res.text);
    assert.equal(msg.id, 1);
    assert.equal(msg.result.content[0].text, 'slept 800 ms');
    // A client that takes only JSON waits for JSON however long it takes.
    res = await post(proxy, agent, call(2, 'demo__sleep', { ms: 800 }), jsonHeaders(sid, { accept: 'application/json' }));
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(JSON.parse(res.text).result.content[0].text, 'slept 800 ms');
  } finally {
    agent.destroy();
    await proxy.stop();
  }
});

test('progress from the upstream turns the answer into a stream, each client getting its own tokens', async () => {
  const proxy = await startProxy({
    config: { mcpServers: [{ name: 'everything', protocol: 'stdio', command: process.execPath, args: everythingArgs }] },
  });
  const clients = [];
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('everything', 'Ready'), 30000);
    const long = { name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } };
    // Two SDK clients whose requests carry the same progress tokens (the
    // SDK uses its request ids): each hears exactly its own call's progress.
    for (let i = 0; i < 2; i++) clients.push((await mcpConnect(proxy)).client);
    const seen = [[], []];
    const results = await Promise.all(clients.map((client, i) =>
      client.callTool(long, undefined, { onprogress: (p) => seen[i].push(p) })));
    for (let i = 0; i < 2; i++) {
      assert.match(results[i].content[0].text, /Long running operation completed/);
      assert.deepEqual(seen[i].map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]]);
    }

    // Raw: the notifications carry the client's own token, then the answer.
    const sid = await rawInitialize(proxy, '2025-06-18');
    const call = (id, token) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...long, _meta: { progressToken: token } } });
    let res = await mcpPost(proxy, call(1, 'tok-a'), jsonHeaders(sid));
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const msgs = sseMessages(res.text);
    assert.deepEqual(msgs.slice(0, 3).map((m) => [m.method, m.params.progressToken, m.params.progress]),
      [1, 2, 3].map((n) => ['notifications/progress', 'tok-a', n]));
    assert.equal(msgs[3].id, 1);
    assert.match(msgs[3].result.content[0].text, /completed/);
    // A client that takes only JSON gets the answer as JSON (nowhere to put progress).
    res = await mcpPost(proxy, call(2, 'tok-b'), jsonHeaders(sid, { accept: 'application/json' }));
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.json.id, 2);
    assert.match(res.json.result.content[0].text, /completed/);
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await proxy.stop();
  }
});
