// security_secrets.test.mjs - secrets never leave the config file:
// `api_key` and upstream `env` values do not appear in log lines, events or
// API responses (env values are shown as "***", their names stay visible),
// and every config file mcpproxy writes is mode 0600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, chmodSync } from 'node:fs';
import { startProxy, api, connectReady } from './harness.mjs';
import { demo } from './upstream_helpers.mjs';

const KEY = 'apikey-SECRET-7f3a9c1e5b';
const TOKEN = 'env-SECRET-token-d41d8cd9';
const OTHER = 'env-SECRET-other-0cc175b9';
const H = { 'X-API-Key': KEY };

// Every leak is collected, so one run names all the places at once.
const leaks = [];
function assertNoSecret(what, text) {
  if ([KEY, TOKEN, OTHER, 'rotated-SECRET-92eb5ffe'].some((secret) => text.includes(secret)))
    leaks.push(`${what}: ${text.slice(0, 600)}`);
}

test('api_key and env values stay out of logs, events and API responses; files written are 0600', async () => {
  const proxy = await startProxy({
    config: { api_key: KEY, mcpServers: [demo('sec', [], { env: { TOKEN, OTHER } })] },
  });
  try {
    chmodSync(proxy.configPath, 0o644); // as a user might leave it
    const [client] = await connectReady(proxy, `/ws/events?since=0&apikey=${KEY}`);
    const events = [];
    client.ws.on('message', (d) => events.push(d.toString()));

    // status and server listings
    const responses = [];
    for (const p of ['/api/servers/status', '/api/servers', '/api/servers/sec', '/api/servers/sec/status',
      '/api/groups', '/api/realtime/stats', '/metrics', '/healthz']) {
      const res = await api(proxy, 'GET', p, undefined, H);
      assert.ok(res.status < 500, `${p}: ${res.status}`);
      responses.push([p, res]);
    }
    for (const [p, res] of responses) assertNoSecret(`GET ${p}`, res.text);

    const listed = responses.find(([p]) => p === '/api/servers')[1].json.servers.find((s) => s.name === 'sec');
    if (JSON.stringify(listed.env) !== JSON.stringify({ TOKEN: '***', OTHER: '***' }))
      leaks.push(`GET /api/servers env should be {"TOKEN":"***","OTHER":"***"}, is ${JSON.stringify(listed.env)}`);

    // edits: the response and the server_config_changed event must not carry values
    const patched = await api(proxy, 'PATCH', '/api/servers/sec', { env: { TOKEN: 'rotated-SECRET-92eb5ffe', OTHER } }, H);
    assert.equal(patched.status, 200, patched.text);
    assertNoSecret('PATCH response', patched.text);
    const added = await api(proxy, 'POST', '/api/servers', { name: 'sec2', command: 'true', env: { TOKEN } }, H);
    assert.equal(added.status, 201, added.text);
    assertNoSecret('POST response', added.text);

    // a masked value sent back unchanged keeps the real one
    const roundTrip = await api(proxy, 'PATCH', '/api/servers/sec2', { env: { TOKEN: '***' } }, H);
    assert.equal(roundTrip.status, 200, roundTrip.text);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    if (saved.mcpServers.find((s) => s.name === 'sec2').env.TOKEN !== TOKEN)
      leaks.push('PATCHing back the masked "***" overwrote the real env value');
    assert.equal(saved.mcpServers.find((s) => s.name === 'sec').env.TOKEN, 'rotated-SECRET-92eb5ffe');
    assert.equal(saved.api_key, KEY, 'the file keeps the real values');
    assert.equal(statSync(proxy.configPath).mode & 0o777, 0o600, 'a config written by mcpproxy is 0600');

    // The edits were published before they were answered: once a marker
    // published now has arrived, their events are all in.
    const marker = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'marker' }, H);
    while (!events.some((t) => t.includes(`"seq":${marker.json.seq},`))) await new Promise((r) => client.ws.once('message', r));
    const seen = events.map((t) => JSON.parse(t));
    const configChanged = (server, action) => seen.some((e) => e.type === 'server_config_changed' &&
      e.server_name === server && e.data.action === action);
    assert.ok(configChanged('sec', 'updated'), 'the edit of sec was published');
    assert.ok(configChanged('sec2', 'created'), 'the addition of sec2 was published');
    for (const e of events) assertNoSecret('event', e);
    await client.close();
  } finally {
    await proxy.stop();
  }
  for (const e of proxy.logs) assertNoSecret('log line', JSON.stringify(e));
  assert.deepEqual(leaks, [], `secrets leak in ${leaks.length} places:\n${leaks.join('\n')}`);
});
