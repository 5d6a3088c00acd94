// valgrind.test.mjs - a whole proxy session under valgrind: start, serve
// WebSocket clients (one resuming, one dropping its connection), publish,
// stop with SIGTERM. Any invalid access or leak makes valgrind exit 99.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady, api } from './harness.mjs';

const valgrind = ['valgrind', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
  '--show-leak-kinds=definite,indirect', '--track-fds=no', '--quiet'];

test('a session under valgrind has no memory errors and no leaks', { timeout: 180000 }, async () => {
  const proxy = await startProxy({ wrapper: valgrind, readyMs: 60000, config: { websocket: { ping_interval_ms: 100 } } });
  const [a, hello] = await connectReady(proxy, '/ws/events?batch=1');
  const [b] = await connectReady(proxy, '/ws/servers?server=demo&types=server_state_changed');
  const events = Array.from({ length: 50 }, (_, i) => ({ type: i % 2 ? 'server_state_changed' : 'tool_called', server_name: 'demo', data: { i } }));
  const { json } = await api(proxy, 'POST', '/api/events', events);
  assert.equal(json.seqs.length, 50);
  // Drain a: batches of arrays (batch=1) until the last seq arrives.
  const last = json.seqs[49];
  for (let seen = 0; seen < last;) {
    const m = await a.next(30000);
    assert.ok(Array.isArray(m), `batch=1 sends arrays: ${JSON.stringify(m).slice(0, 200)}`);
    seen = m[m.length - 1].seq;
  }
  b.ws.terminate(); // gone without a close frame
  const [c] = await connectReady(proxy, `/ws/events?since=${hello.seq}&epoch=${hello.epoch}`);
  assert.equal((await c.next(30000)).seq, hello.seq + 1);
  // permessage-deflate: events compressed once and kept on the event, a
  // large one written in chunks, and a compressed client message inflated
  // across several receive buffers.
  const [d] = await connectReady(proxy, '/ws/events?server=big', { perMessageDeflate: { threshold: 0 } });
  assert.match(d.ws.extensions, /permessage-deflate/);
  const big = [{ type: 'tool_called', server_name: 'big', data: { t: 'z'.repeat(3000) } },
    { type: 'tool_called', server_name: 'big', data: { t: 'y'.repeat(100000) } }];
  const sent = await api(proxy, 'POST', '/api/events', big);
  d.ws.send('w'.repeat(3000));
  for (const [i, seq] of sent.json.seqs.entries()) {
    const m = await d.next(30000);
    assert.equal(m.seq, seq);
    assert.deepEqual(m.data, big[i].data);
  }
  const { code, signal } = await proxy.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
});

test('upstream servers, /mcp calls, SSE and API edits under valgrind: no errors, no leaks', { timeout: 240000 }, async () => {
  const { demo, fastUpstream } = await import('./upstream_helpers.mjs');
  const { mcpConnect } = await import('./mcp_helpers.mjs');
  const proxy = await startProxy({
    wrapper: valgrind, readyMs: 60000,
    config: { upstream: fastUpstream, auto_disable_threshold: 2, mcpServers: [demo('demo'), demo('crashy', ['--crash-after', '0.3'])] },
  });
  // since=0 replays everything from the start: the servers may be Ready before we connect.
  const [ws, hello] = await connectReady(proxy, '/ws/events?since=0');
  // demo reaches Ready; crashy crashes and is auto-disabled.
  const until = async (pred) => { for (;;) { const m = await ws.next(60000); if (pred(m)) return m; } };
  await until((e) => e.type === 'server_state_changed' && e.server_name === 'demo' && e.new_state === 'Ready');
  await until((e) => e.type === 'server_auto_disabled' && e.server_name === 'crashy');
  // An MCP client lists and calls tools through the proxy.
  const { client } = await mcpConnect(proxy);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'demo__echo'));
  const result = await client.callTool({ name: 'demo__echo', arguments: { text: 'under valgrind' } });
  assert.equal(result.content[0].text, 'under valgrind');
  await until((e) => e.type === 'tool_called' && e.data.tool === 'echo');
  // An SSE reader resumes from the start; an API edit is saved and applied.
  const sse = await fetch(`${proxy.url}/events?since=${hello.seq}&epoch=${hello.epoch}`);
  assert.equal(sse.status, 200);
  const patched = await api(proxy, 'PATCH', '/api/servers/demo', { group: 'tools' });
  assert.equal(patched.status, 200);
  await until((e) => e.type === 'server_config_changed' && e.server_name === 'demo');
  const { code, signal } = await proxy.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
});
