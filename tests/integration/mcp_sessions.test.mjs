// mcp_sessions.test.mjs - how many /mcp sessions there may be and how long
// they live: caps in total and per address (503 with Retry-After past
// them), a shorter life for sessions that never make a request after
// initialize, and lookups that find every one of many sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './harness.mjs';
import { mcpPost, jsonHeaders } from './mcp_helpers.mjs';

const init = {
  jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'sessions', version: '1' } },
};
const ping = (id) => ({ jsonrpc: '2.0', id, method: 'ping' });

test('sessions are capped per address, with 503 and Retry-After past the cap, and a DELETE frees a place', async () => {
  const proxy = await startProxy({ config: { mcp: { max_sessions: 50, max_sessions_per_address: 10, unused_session_ttl_ms: 7000 } } });
  try {
    const ids = [];
    for (let i = 0; i < 10; i++) {
      const res = await mcpPost(proxy, init, jsonHeaders(null));
      assert.equal(res.status, 200);
      ids.push(res.headers.get('mcp-session-id'));
    }
    let res = await mcpPost(proxy, init, jsonHeaders(null));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.match(res.json.error.message, /mcp\.max_sessions_per_address/);
    // The sessions there are still work.
    res = await mcpPost(proxy, ping(1), jsonHeaders(ids[3]));
    assert.equal(res.status, 200);
    res = await fetch(proxy.url + '/mcp', { method: 'DELETE', headers: { 'mcp-session-id': ids[0] } });
    assert.equal(res.status, 200);
    res = await mcpPost(proxy, init, jsonHeaders(null));
    assert.equal(res.status, 200);
  } finally {
    await proxy.stop();
  }
});

test('a session never used after initialize expires sooner than one in use', async () => {
  const proxy = await startProxy({ config: { mcp: { unused_session_ttl_ms: 300, session_ttl_ms: 60000 } } });
  try {
    const unused = (await mcpPost(proxy, init, jsonHeaders(null))).headers.get('mcp-session-id');
    const used = (await mcpPost(proxy, init, jsonHeaders(null))).headers.get('mcp-session-id');
    assert.equal((await mcpPost(proxy, ping(1), jsonHeaders(used))).status, 200);
    // Only the log tells when a session expires (a request would touch it);
    // it is awaited, then both sessions are asked.
    await proxy.waitForLog((e) => e.msg === 'mcp session expired' && e.session_id === unused, 10000);
    assert.equal((await mcpPost(proxy, ping(2), jsonHeaders(unused))).status, 404);
    assert.equal((await mcpPost(proxy, ping(3), jsonHeaders(used))).status, 200);
  } finally {
    await proxy.stop();
  }
});

test('each of many sessions is found, and unknown ids are not', async () => {
  const n = 600;
  const proxy = await startProxy({ config: { mcp: { max_sessions: n, max_sessions_per_address: n } } });
  try {
    const ids = [];
    for (let i = 0; i < n; i++) ids.push((await mcpPost(proxy, init, jsonHeaders(null))).headers.get('mcp-session-id'));
    assert.equal(new Set(ids).size, n);
    for (const [i, id] of ids.entries()) {
      const res = await mcpPost(proxy, ping(i), jsonHeaders(id));
      assert.equal(res.status, 200, `session ${i}`);
      assert.equal(res.json.id, i);
    }
    for (const bad of ['0'.repeat(32), ids[0].slice(0, 31) + (ids[0][31] === 'a' ? 'b' : 'a'), 'zz', 'é'.repeat(16)]) {
      assert.equal((await mcpPost(proxy, ping(1), jsonHeaders(bad))).status, 404, bad);
    }
    assert.equal((await mcpPost(proxy, init, jsonHeaders(null))).status, 503, 'the total cap holds');
  } finally {
    await proxy.stop();
  }
});
