// mcp_list_changed.test.mjs - sessions hear notifications/tools/list_changed
// on their GET stream when the tools on offer change (an upstream re-lists,
// a server is disabled); a session has one GET stream at a time; a client
// that goes away mid-call is accounted for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';
import { mcpConnect, rawInitialize, mcpPost, jsonHeaders } from './mcp_helpers.mjs';
import { eventually } from './security_helpers.mjs';

/** A queue of list_changed notifications the SDK client received. */
function notifications() {
  const q = { count: 0, waiters: [] };
  q.handler = () => {
    q.count++;
    for (const w of q.waiters.splice(0)) w();
  };
  q.next = (ms = 15000) => {
    const target = q.count + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no tools/list_changed within ' + ms + ' ms')), ms);
      const check = () => {
        if (q.count >= target) { clearTimeout(timer); resolve(); } else q.waiters.push(check);
      };
      check();
    });
  };
  return q;
}

test('list_changed reaches the session when an upstream re-lists and when a server is disabled', async () => {
  const proxy = await startProxy({
    config: { mcpServers: [demo('demo'), demo('changing', ['--tools-change-every', '1'])] },
  });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    await rec.until(isState('changing', 'Ready'));
    const q = notifications();
    // The SDK opens the session's GET stream in the background; its 200
    // (headers in) is the moment the proxy has the stream.
    let streamOpened;
    const streamOpen = new Promise((resolve) => { streamOpened = resolve; });
    const onResponse = (init, res) => {
      if (init.method === 'GET' && res.status === 200) streamOpened();
    };
    mcp = await mcpConnect(proxy, { onListChanged: q.handler, onResponse });
    await streamOpen;

    // The changing server adds and removes a tool every second.
    const before = new Set((await mcp.client.listTools()).tools.map((t) => t.name));
    await q.next();
    const after = new Set((await mcp.client.listTools()).tools.map((t) => t.name));
    const differ = [...before].filter((n) => !after.has(n)).concat([...after].filter((n) => !before.has(n)));
    assert.ok(differ.length > 0 && differ.every((n) => n.startsWith('changing__')), `changed: ${differ}`);

    // Disabling a server takes its tools away, and says so.
    const stop = q.next();
    const res = await api(proxy, 'POST', '/api/servers/demo/disable');
    assert.equal(res.status, 200, res.text);
    await stop;
    await rec.until(isState('demo', 'Disconnected'));
    const names = (await mcp.client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.some((n) => n.startsWith('demo__')), names.join(' '));
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});

test('a second GET stream on one session is 409 until the first is gone; a client gone mid-call is a tool_called error', async () => {
  // Keep-alives every 100 ms: lws notices a vanished client only when a write fails.
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')], mcp: { ping_interval_ms: 100 } } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const sid = await rawInitialize(proxy);

    const abort = new AbortController();
    const stream = await fetch(proxy.url + '/mcp', {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sid }, signal: abort.signal,
    });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get('content-type'), 'text/event-stream');
    const second = await fetch(proxy.url + '/mcp', { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
    assert.equal(second.status, 409);
    await second.text();
    // Once the client drops its stream the session may open another: the
    // 409 turns into a 200 when the proxy has noticed (its next keep-alive).
    abort.abort();
    const again = new AbortController();
    const third = await eventually(async () => {
      const r = await fetch(proxy.url + '/mcp', {
        headers: { accept: 'text/event-stream', 'mcp-session-id': sid }, signal: again.signal,
      });
      if (r.status === 200) return r;
      assert.equal(r.status, 409);
      await r.text();
      return false;
    }, 10000, 'the session to take a new GET stream');
    assert.equal(third.headers.get('content-type'), 'text/event-stream');
    again.abort();

    // A POST whose client disconnects while the upstream works: the call
    // is cancelled upstream and still shows up, as an error.
    const callAbort = new AbortController();
    const res = await fetch(proxy.url + '/mcp', {
      method: 'POST', headers: jsonHeaders(sid), signal: callAbort.signal,
      body: JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'demo__sleep', arguments: { ms: 60000 } } }),
    });
    // A call that waits a whole ping interval (100 ms here) turns its JSON
    // answer into a stream whose headers leave then (fetch resolves on
    // them): the call is in flight now, and the stream's pings find the
    // client gone.
    assert.equal(res.headers.get('content-type'), 'text/event-stream', 'a long wait streams');
    callAbort.abort();
    const gone = await rec.until((e) => e.type === 'tool_called' && /disconnected/.test(e.data.error || ''));
    assert.equal(gone.data.ok, false);
    assert.equal(gone.data.session_id, sid);
    assert.equal(gone.data.tool, 'sleep');
    // The upstream was told, and answers the next call at once.
    const r = await mcpPost(proxy, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'demo__echo', arguments: { text: 'still fine' } } }, jsonHeaders(sid, { accept: 'application/json' }));
    assert.equal(r.json.result.content[0].text, 'still fine');
  } finally {
    await proxy.stop();
  }
});
