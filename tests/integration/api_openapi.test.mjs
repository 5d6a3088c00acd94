// api_openapi.test.mjs - docs/openapi.json is the REST API's contract: the
// proxy serves it (embedded at build time) at GET /api/openapi.json, it is a
// valid OpenAPI 3.1 document, and real answers of a running proxy - every
// documented GET, the changes, and error answers - match its schemas
// (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1), with no status
// the document does not list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import WebSocket from 'ws';
import { startProxy, api, repoRoot } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';
import { doc, docPath, check } from './openapi_helpers.mjs';
import { rawInitialize, mcpPost, jsonHeaders } from './mcp_helpers.mjs';

const projectVersion = readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8').match(/project\(mcpproxy\s+VERSION\s+([0-9.]+)/)[1];

test('the document is valid OpenAPI 3.1, of this version, and the proxy serves it as built', async () => {
  const validator = new Validator();
  const res = await validator.validate(structuredClone(doc));
  assert.ok(res.valid, JSON.stringify(res.errors, null, 2));
  assert.equal(validator.version, '3.1');
  assert.equal(doc.info.version, projectVersion);
  const proxy = await startProxy();
  try {
    const served = await api(proxy, 'GET', '/api/openapi.json');
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'application/json');
    assert.equal(served.text, readFileSync(docPath, 'utf8'));
    assert.equal((await api(proxy, 'POST', '/api/openapi.json')).status, 405);
  } finally {
    await proxy.stop();
  }
});

test('every documented GET answers as documented, and so do the changes', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo', ['--stderr-lines', '3'], { group: 'g', env: { TOKEN: 'x' } }), demo('off', [], { enabled: false }),
    // A remote server: its settings and status have url (and headers) where a local one has command.
    { name: 'remote', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer x' }, enabled: false,
      oauth: { client_id: 'cid', client_secret: 'not-shown', scopes: ['read'] } }] } });
  const rec = await recordEvents(proxy);
  try {
    await rec.until(isState('demo', 'Ready'));
    // A call through /mcp, so the activity log has a row to check.
    const session = await rawInitialize(proxy);
    const call = await mcpPost(proxy, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'demo__add', arguments: { a: 1, b: 2 } } }, jsonHeaders(session));
    assert.equal(call.status, 200, call.text);
    // A WebSocket and an SSE client, so the stats list stream clients of both kinds.
    const ws = new WebSocket(`${proxy.wsUrl}/ws/servers?server=demo&types=tool_called`);
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const sse = new AbortController();
    const stream = await fetch(`${proxy.url}/events?types=server_state_changed`, { signal: sse.signal });
    check('GET', '/events', { status: stream.status, headers: stream.headers, json: null, text: '' });
    const byName = { name: 'demo' };
    // streams: below; the OAuth callback needs a login under way (upstream_oauth.test.mjs)
    const skip = new Set(['/events', '/ws/events', '/ws/servers', '/mcp', '/oauth/callback']);
    for (const [route, item] of Object.entries(doc.paths)) {
      if (!item.get || skip.has(route)) continue;
      const url = route.replace(/\{(\w+)\}/g, (_, k) => byName[k]);
      const answer = await api(proxy, 'GET', url);
      assert.equal(answer.status, 200, `GET ${url}: ${answer.text}`);
      check('GET', route, answer);
    }
    const remote = await api(proxy, 'GET', '/api/servers/remote');
    assert.equal(remote.json.url, 'http://127.0.0.1:9/mcp');
    assert.equal(remote.json.headers.Authorization, '***');
    assert.equal(remote.json.oauth.client_secret, '***');
    check('GET', '/api/servers/{name}', remote);
    const stats = (await api(proxy, 'GET', '/api/realtime/stats')).json;
    assert.deepEqual(stats.clients.map((c) => c.endpoint).sort(), ['/events', '/ws/events', '/ws/servers']);
    const activity = await api(proxy, 'GET', '/api/activity?server=demo&limit=1');
    assert.equal(activity.json.rows.length, 1);
    check('GET', '/api/activity', activity);
    check('GET', '/api/activity/export', await api(proxy, 'GET', '/api/activity/export?format=csv'));
    check('GET', '/api/servers/{name}/logs', await api(proxy, 'GET', '/api/servers/demo/logs?tail=1&since=1'));
    for (const route of ['/ws/events', '/ws/servers']) check('GET', route, await api(proxy, 'GET', `${route}?server=demo`));

    // Changes, with their real answers.
    check('POST', '/api/servers', await api(proxy, 'POST', '/api/servers', { name: 'added', command: demo('x').command, args: ['--name', 'added'] }));
    check('PATCH', '/api/servers/{name}', await api(proxy, 'PATCH', '/api/servers/added', { group: 'g' }));
    for (const action of ['disable', 'enable', 'restart']) {
      const answer = await api(proxy, 'POST', `/api/servers/added/${action}`);
      assert.equal(answer.status, 200, `${action}: ${answer.text}`);
      check('POST', `/api/servers/{name}/${action}`, answer);
    }
    check('POST', '/api/groups', await api(proxy, 'POST', '/api/groups', { name: 'h', servers: ['added'] }));
    check('POST', '/api/groups/{name}/disable', await api(proxy, 'POST', '/api/groups/h/disable'));
    check('POST', '/api/groups/{name}/enable', await api(proxy, 'POST', '/api/groups/h/enable'));
    check('POST', '/api/servers/{name}/approve', await api(proxy, 'POST', '/api/servers/added/approve'));
    check('DELETE', '/api/servers/{name}', await api(proxy, 'DELETE', '/api/servers/added'));
    check('POST', '/api/events', await api(proxy, 'POST', '/api/events', { type: 'tool_called', server_name: 'demo' }));
    check('POST', '/api/events', await api(proxy, 'POST', '/api/events', [{ type: 'tool_called' }, { type: 'config_change' }]));
    ws.close();
    sse.abort();
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('error answers match the document: 400, 404, 405, 409, and 401 without the key', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo'), demo('off', [], { enabled: false }),
    // Enabled (a login of a disabled server is refused first); nothing listens on port 9.
    { name: 'remote', url: 'http://127.0.0.1:9/mcp' }] } });
  try {
    const cases = [
      ['GET', '/api/servers/{name}', '/api/servers/nope', undefined, 404],
      ['GET', '/api/servers/{name}/tools', '/api/servers/nope/tools', undefined, 404],
      ['GET', '/api/servers/{name}/logs', '/api/servers/demo/logs?tail=x', undefined, 400],
      ['GET', '/api/servers/{name}/logs', '/api/servers/demo/logs?since=-2', undefined, 400],
      ['POST', '/api/servers', '/api/servers', { name: 'x' }, 400],
      ['POST', '/api/servers', '/api/servers', 'not json', 400],
      ['POST', '/api/servers', '/api/servers', { name: 'demo', command: 'y' }, 409],
      ['PATCH', '/api/servers/{name}', '/api/servers/demo', { name: 'renamed' }, 400],
      ['POST', '/api/servers/{name}/restart', '/api/servers/off/restart', undefined, 409],
      ['POST', '/api/groups', '/api/groups', { name: 'g', servers: ['ghost'] }, 404],
      ['POST', '/api/groups/{name}/enable', '/api/groups/ghost/enable', undefined, 404],
      ['POST', '/api/events', '/api/events', { type: 'nope' }, 400],
      ['GET', '/api/activity', '/api/activity?outcome=maybe', undefined, 400],
      ['POST', '/api/servers/{name}/approve', '/api/servers/nope/approve', undefined, 404],
      ['GET', '/api/activity/export', '/api/activity/export?format=xml', undefined, 400],
      ['GET', '/api/servers/{name}/tools', '/api/servers/demo/tools', undefined, 200],
      // OAuth: a local server has no login; a login whose discovery reaches nobody is a 502.
      ['POST', '/api/servers/{name}/login', '/api/servers/demo/login', undefined, 409],
      ['POST', '/api/servers/{name}/logout', '/api/servers/demo/logout', undefined, 409],
      ['POST', '/api/servers/{name}/login', '/api/servers/remote/login', undefined, 502],
      ['POST', '/api/servers/{name}/logout', '/api/servers/remote/logout', undefined, 200],
      ['GET', '/oauth/callback', '/oauth/callback', undefined, 400],
      ['GET', '/oauth/callback', `/oauth/callback?state=${'a'.repeat(64)}&code=c`, undefined, 400],
    ];
    for (const [method, route, url, body, status] of cases) {
      const answer = await api(proxy, method, url, body);
      assert.equal(answer.status, status, `${method} ${url}: ${answer.text}`);
      check(method, route, answer);
    }
    for (const [method, route, url] of [['DELETE', '/api/servers', '/api/servers'], ['PUT', '/api/groups', '/api/groups'],
      ['POST', '/api/servers/status', '/api/servers/status'], ['GET', '/api/events', '/api/events'],
      ['POST', '/api/activity', '/api/activity']]) {
      const answer = await api(proxy, method, url);
      assert.equal(answer.status, 405, `${method} ${url}`);
      // 405 is documented on the path's own operations; its body is the Error schema.
      const someOp = Object.keys(doc.paths[route]).find((m) => doc.paths[route][m].responses?.['405']);
      assert.ok(someOp, `${route} documents 405`);
      check(someOp.toUpperCase(), route, answer);
    }
  } finally {
    await proxy.stop();
  }
  const keyed = await startProxy({ config: { api_key: 'the-key' } });
  try {
    for (const route of ['/api/servers', '/api/servers/status', '/api/groups', '/api/realtime/stats', '/api/openapi.json', '/metrics', '/api/activity']) {
      const answer = await api(keyed, 'GET', route);
      assert.equal(answer.status, 401, route);
      check('GET', route, answer);
      assert.equal((await api(keyed, 'GET', route, undefined, { 'X-API-Key': 'the-key' })).status, 200);
    }
    check('GET', '/healthz', await api(keyed, 'GET', '/healthz'));
    // The OAuth callback needs no key (the login's state guards it).
    check('GET', '/oauth/callback', await api(keyed, 'GET', '/oauth/callback?state=x'));
  } finally {
    await keyed.stop();
  }
});
