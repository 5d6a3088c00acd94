// realtime_stats.test.mjs - /api/realtime/stats and /metrics read the one
// stats struct: every stream client listed with its endpoint, address,
// filters, connection time and counts; the same numbers in both answers;
// /mcp tool calls and their failures counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api, connectReady } from './harness.mjs';
import { publish, stats, readUntil, waitForStats, TIMESTAMP_RE } from './realtime_helpers.mjs';
import { demo, recordEvents, isState } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';

/** The value of a Prometheus sample line (`name{labels} value`). */
function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  assert.ok(line, `metric ${name} present`);
  return Number(line.split(' ').pop());
}

/** Opens /events and resolves once `n` event messages (with ids) arrived. */
async function sseUntil(proxy, query, n) {
  const controller = new AbortController();
  const res = await fetch(`${proxy.url}/events${query}`, { signal: controller.signal });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const done = (async () => {
    while ((text.match(/^id: /gm) || []).length < n) {
      const { value, done: end } = await reader.read();
      if (end) throw new Error('stream ended early');
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { done, close: () => controller.abort() };
}

test('every stream client is listed with its filters and counts, and /metrics says the same', async () => {
  const proxy = await startProxy();
  try {
    const [a] = await connectReady(proxy, '/ws/events?types=tool_called,tools_updated');
    const [b] = await connectReady(proxy, '/ws/servers?server=s&batch=1');
    const c = await sseUntil(proxy, '?server=s', 2);
    await waitForStats(proxy, (st) => st.connections.sse === 1, 10000, 'the SSE client registered');
    await publish(proxy, [
      { type: 'tool_called', server_name: 's' },
      { type: 'tool_called', server_name: 'other' },
      { type: 'server_state_changed', server_name: 's', old_state: 'Connecting', new_state: 'Ready' },
    ]);
    await readUntil(a, (m) => m.server_name === 'other');
    await readUntil(b, (m) => Array.isArray(m) && m.some((e) => e.type === 'server_state_changed'));
    await c.done;

    const st = await stats(proxy);
    assert.equal(st.clients.length, 3);
    const byEndpoint = Object.fromEntries(st.clients.map((x) => [x.endpoint, x]));
    const wsEvents = byEndpoint['/ws/events'];
    assert.deepEqual([...wsEvents.filters.types].sort(), ['tool_called', 'tools_updated']);
    assert.equal(wsEvents.filters.server, null);
    assert.equal(wsEvents.filters.batch, false);
    assert.equal(wsEvents.delivered, 2);
    assert.equal(wsEvents.dropped, 0);
    assert.equal(wsEvents.queue_depth, 0);
    assert.equal(wsEvents.address, '127.0.0.1');
    assert.match(wsEvents.connected_since, TIMESTAMP_RE);
    const wsServers = byEndpoint['/ws/servers'];
    assert.deepEqual(wsServers.filters, { types: null, server: 's', batch: true });
    assert.equal(wsServers.delivered, 2);
    const sse = byEndpoint['/events'];
    assert.deepEqual(sse.filters, { types: null, server: 's', batch: false });
    assert.equal(sse.delivered, 2);
    assert.equal(typeof sse.queued_bytes, 'number');
    assert.equal(st.delivered, 4);
    assert.equal(st.sse_delivered, 2);

    const prom = (await api(proxy, 'GET', '/metrics')).text;
    assert.equal(metric(prom, 'mcpproxy_ws_messages_delivered_total'), st.delivered);
    assert.equal(metric(prom, 'mcpproxy_sse_events_delivered_total'), st.sse_delivered);
    assert.equal(metric(prom, 'mcpproxy_sse_connections'), 1);
    assert.equal(metric(prom, 'mcpproxy_events_published_total'), st.published);
    assert.ok(metric(prom, 'mcpproxy_tcp_connections') >= 3);
    c.close();
    a.close();
    b.close();
  } finally {
    await proxy.stop();
  }
});

test('upstream processes started and failed are counted', async () => {
  const proxy = await startProxy({ config: { auto_disable_threshold: 1, mcpServers: [demo('crashy', ['--crash-after', '0'])] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until((e) => e.type === 'server_auto_disabled' && e.server_name === 'crashy');
    const prom = (await api(proxy, 'GET', '/metrics')).text;
    assert.equal(metric(prom, 'mcpproxy_upstream_starts_total'), 1);
    assert.equal(metric(prom, 'mcpproxy_upstream_failures_total'), 1);
  } finally {
    await proxy.stop();
  }
});

test('tool calls through /mcp are counted, and the failed ones apart', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    mcp = await mcpConnect(proxy);
    await mcp.client.callTool({ name: 'demo__echo', arguments: { text: 'x' } });
    await assert.rejects(mcp.client.callTool({ name: 'nosuch__tool', arguments: {} }));
    const st = await stats(proxy);
    assert.equal(st.tool_calls, 2);
    const prom = (await api(proxy, 'GET', '/metrics')).text;
    assert.equal(metric(prom, 'mcpproxy_tool_calls_total'), 2);
    assert.equal(metric(prom, 'mcpproxy_tool_call_errors_total'), 1);
    assert.equal(metric(prom, 'mcpproxy_upstream_starts_total'), 1);
    assert.equal(metric(prom, 'mcpproxy_upstream_failures_total'), 0);
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});
