// security_access.test.mjs - who may talk to mcpproxy: the API key
// on every protected path (401 before any upgrade), the Origin rule against
// cross-site WebSocket hijacking and CSRF (403), the Host rule against DNS
// rebinding (421), loopback by default, and `mcpproxy gen-key`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, connectReady, connect, proxyBin } from './harness.mjs';
import { rawRequest, rawUpgrade } from './security_helpers.mjs';

const KEY = 'k3y-' + 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

async function headSeq(proxy) {
  const res = await api(proxy, 'GET', '/api/realtime/stats', undefined, { 'X-API-Key': KEY });
  assert.equal(res.status, 200, res.text);
  return res.json.seq;
}

/** Runs the binary to completion; resolves with { code, stdout, stderr }. */
function runBin(args, ms = 15000) {
  return new Promise((resolve, reject) => {
    const p = spawn(proxyBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${args.join(' ')} still running after ${ms} ms:\n${stderr}`)); }, ms);
    p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
  });
}

describe('API key', () => {
  let proxy;
  before(async () => { proxy = await startProxy({ config: { api_key: KEY } }); });
  after(async () => { await proxy.stop(); });

  const protectedGets = ['/api/servers/status', '/api/servers', '/api/realtime/stats', '/api/groups', '/metrics', '/events'];

  test('every protected path answers 401 without the key', async () => {
    for (const p of protectedGets) {
      const res = await api(proxy, 'GET', p);
      assert.equal(res.status, 401, `${p}: ${res.status} ${res.text}`);
      assert.match(res.json.error, /API key required/, p);
    }
    for (const [method, p] of [['POST', '/api/events'], ['POST', '/mcp'], ['GET', '/mcp'], ['DELETE', '/api/servers/x'],
      ['PATCH', '/api/servers/x'], ['POST', '/api/servers/x/restart']]) {
      const res = await api(proxy, method, p, method === 'GET' || method === 'DELETE' ? undefined : {});
      assert.equal(res.status, 401, `${method} ${p}: ${res.status} ${res.text}`);
    }
  });

  test('a refused POST /api/events publishes nothing and the refusal is logged without the key', async () => {
    const before = await headSeq(proxy);
    // The log line is under test here: the refusal is recorded, without the key.
    const logged = proxy.nextLog((e) => e.msg === 'HTTP request refused' && e.status === 401 && e.path === '/api/events');
    const res = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'x' }, { 'X-API-Key': 'wrong' });
    assert.equal(res.status, 401);
    await logged;
    assert.equal(await headSeq(proxy), before);
    assert.ok(!proxy.logs.some((e) => JSON.stringify(e).includes(KEY)), 'the key must never be logged');
  });

  test('the key is accepted as X-API-Key, Authorization: Bearer and ?apikey=', async () => {
    for (const [p, headers] of [
      ['/api/servers/status', { 'X-API-Key': KEY }],
      ['/api/servers/status', { Authorization: `Bearer ${KEY}` }],
      ['/api/servers/status', { Authorization: `bearer ${KEY}` }],
      [`/api/servers/status?apikey=${encodeURIComponent(KEY)}`, {}],
      [`/metrics?apikey=${KEY}`, {}],
    ]) {
      const res = await api(proxy, 'GET', p, undefined, headers);
      assert.equal(res.status, 200, `${p} ${JSON.stringify(headers)}: ${res.text}`);
    }
    const posted = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'x' }, { 'X-API-Key': KEY });
    assert.equal(posted.status, 200, posted.text);
  });

  test('near misses are refused: wrong key, prefix, longer key, other case, other schemes', async () => {
    for (const headers of [
      { 'X-API-Key': 'wrong' },
      { 'X-API-Key': KEY.slice(0, -1) },
      { 'X-API-Key': KEY + 'x' },
      { 'X-API-Key': KEY.toUpperCase() },
      { 'X-API-Key': '' },
      { Authorization: `Basic ${Buffer.from('user:' + KEY).toString('base64')}` },
      { Authorization: KEY },
      { Authorization: `Bearer  ${KEY}x` },
    ]) {
      const res = await api(proxy, 'GET', '/api/servers/status', undefined, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
    }
    for (const q of ['apikey=', 'apikey=wrong', `apikey=${KEY.slice(1)}`, `APIKEY=${KEY}`, `api_key=${KEY}`]) {
      const res = await api(proxy, 'GET', `/api/servers/status?${q}`);
      assert.equal(res.status, 401, q);
    }
  });

  test('/healthz and the dashboard stay open without the key', async () => {
    const health = await api(proxy, 'GET', '/healthz');
    assert.equal(health.status, 200);
    const index = await api(proxy, 'GET', '/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /text\/html/);
    const js = await api(proxy, 'GET', '/app.js');
    assert.equal(js.status, 200);
  });

  test('a route takes whole path segments: /mcp.js or /eventsx is not /mcp or /events', async () => {
    // Not a protected route, so no 401: the dashboard's files answer these (404: no such file).
    for (const path of ['/mcp.js', '/mcpx', '/eventsx', '/healthzx', '/metrics.txt']) {
      assert.equal((await api(proxy, 'GET', path)).status, 404, path);
    }
    // Below a protected route, still protected.
    assert.equal((await api(proxy, 'POST', '/mcp/x', {})).status, 401);
  });

  test('WebSocket upgrades without the key get 401 and never a 101', async () => {
    for (const p of ['/ws/events', '/ws/servers?server=x', '/ws/events?apikey=wrong', '/ws/events?types=tools_updated']) {
      const res = await rawUpgrade(proxy, p);
      assert.equal(res.status, 401, `${p}: ${res.status}`);
      assert.match(res.json.error, /API key/);
    }
    const res = await rawUpgrade(proxy, '/ws/events', { Authorization: 'Bearer nope' });
    assert.equal(res.status, 401);
    const client = connect(proxy, '/ws/events');
    await assert.rejects(client.opened, (err) => err.status === 401);
  });

  test('WebSocket clients with the key connect: ?apikey= (browsers), X-API-Key, Bearer', async () => {
    const [a] = await connectReady(proxy, `/ws/events?apikey=${KEY}`);
    const [b] = await connectReady(proxy, '/ws/servers?server=x', { headers: { 'X-API-Key': KEY } });
    const [c] = await connectReady(proxy, '/ws/events', { headers: { Authorization: `Bearer ${KEY}` } });
    const posted = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'x' }, { 'X-API-Key': KEY });
    for (const client of [a, b, c]) assert.equal((await client.next()).seq, posted.json.seq);
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});

describe('Origin (cross-site WebSocket hijacking, CSRF)', () => {
  let proxy, port;
  before(async () => {
    proxy = await startProxy({ config: { allowed_origins: ['https://dash.example'] } });
    port = new URL(proxy.url).port;
  });
  after(async () => { await proxy.stop(); });

  test('a WebSocket upgrade from another site is refused with 403 before any 101', async () => {
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example',
      'https://dash.example.evil', 'file://']) {
      // Each refusal is recorded for the operator: the log line is checked, not used to wait.
      const logged = proxy.nextLog((e) => e.msg === 'WebSocket upgrade refused' && e.status === 403);
      const res = await rawUpgrade(proxy, '/ws/events', { Origin: origin });
      assert.equal(res.status, 403, `${origin}: ${res.status}`);
      assert.match(res.json.error, /allowed_origins/);
      await logged;
    }
    const client = connect(proxy, '/ws/events', { origin: 'https://evil.example' });
    await assert.rejects(client.opened, (err) => err.status === 403);
  });

  test('the server itself, loopback origins and allowed_origins may connect', async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'http://localhost:5173', 'http://[::1]:3000',
      'https://dash.example']) {
      const [client] = await connectReady(proxy, '/ws/events', { origin });
      await client.close();
    }
  });

  test('state-changing requests from another site are refused with 403 and change nothing', async () => {
    const before = (await api(proxy, 'GET', '/api/realtime/stats')).json.seq;
    for (const [method, p, body] of [
      ['POST', '/api/events', { type: 'tools_updated', server_name: 'x' }],
      ['POST', '/api/servers', { name: 'evil', command: '/bin/sh' }],
      ['PATCH', '/api/servers/x', { enabled: false }],
      ['DELETE', '/api/servers/x', undefined],
      ['POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }],
    ]) {
      const res = await api(proxy, method, p, body, { Origin: 'https://evil.example' });
      assert.equal(res.status, 403, `${method} ${p}: ${res.status} ${res.text}`);
    }
    assert.equal((await api(proxy, 'GET', '/api/realtime/stats')).json.seq, before);
    const servers = await api(proxy, 'GET', '/api/servers');
    assert.ok(!servers.json.servers.some((s) => s.name === 'evil'));
    // the same request from an allowed origin goes through
    const ok = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', server_name: 'x' }, { Origin: 'https://dash.example' });
    assert.equal(ok.status, 200, ok.text);
  });

  test('a valid API key does not excuse a foreign Origin', async () => {
    const keyed = await startProxy({ config: { api_key: KEY } });
    try {
      const res = await rawUpgrade(keyed, `/ws/events?apikey=${KEY}`, { Origin: 'https://evil.example' });
      assert.equal(res.status, 403);
      const post = await api(keyed, 'POST', '/api/events', { type: 'tools_updated' }, { Origin: 'https://evil.example', 'X-API-Key': KEY });
      assert.equal(post.status, 403);
    } finally {
      await keyed.stop();
    }
  });
});

describe('Host (DNS rebinding)', () => {
  let proxy, port;
  before(async () => {
    proxy = await startProxy();
    port = new URL(proxy.url).port;
  });
  after(async () => { await proxy.stop(); });

  test('on loopback, a Host that is not a loopback name is refused with 421', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`,
      `192.168.1.10:${port}`, `0.0.0.0:${port}`]) {
      for (const p of ['/api/servers/status', '/healthz', '/']) {
        const res = await rawRequest(proxy, 'GET', p, { headers: { Host: host } });
        assert.equal(res.status, 421, `${host} ${p}: ${res.status}`);
      }
      const up = await rawUpgrade(proxy, '/ws/events', { Host: host });
      assert.equal(up.status, 421, `${host} upgrade: ${up.status}`);
    }
  });

  test('loopback names are accepted', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`]) {
      const res = await rawRequest(proxy, 'GET', '/api/servers/status', { headers: { Host: host } });
      assert.equal(res.status, 200, `${host}: ${res.status}`);
    }
  });
});

describe('listening beyond loopback', () => {
  test('0.0.0.0 or [::] without api_key refuses to start, naming api_key and gen-key', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0']) {
      const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-sec-'));
      const cfg = path.join(dir, 'c.json');
      writeFileSync(cfg, JSON.stringify({ mcpServers: [] }));
      const r = await runBin(['--config', cfg, '--listen', listen, '--log-format', 'json']);
      rmSync(dir, { recursive: true, force: true });
      assert.notEqual(r.code, 0, `${listen} started without a key`);
      assert.match(r.stderr, /api_key/);
      assert.match(r.stderr, /gen-key/);
    }
  });

  test('the config file\'s listen address counts too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-sec-'));
    const cfg = path.join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ listen: '0.0.0.0:0', mcpServers: [] }));
    const r = await runBin(['--config', cfg]);
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /api_key/);
  });

  test('with api_key it starts on 0.0.0.0 and every protected path needs the key', async () => {
    const proxy = await startProxy({ config: { api_key: KEY }, args: ['--listen', '0.0.0.0:0'] });
    try {
      assert.match(proxy.url, /0\.0\.0\.0/);
      const url = new URL(proxy.url);
      const local = { ...proxy, url: `http://127.0.0.1:${url.port}` };
      assert.equal((await api(local, 'GET', '/api/servers/status')).status, 401);
      assert.equal((await rawUpgrade(local, '/ws/events')).status, 401);
      assert.equal((await api(local, 'GET', '/api/servers/status', undefined, { 'X-API-Key': KEY })).status, 200);
      // beyond loopback other Host names are expected (the key guards it)
      const named = await rawRequest(local, 'GET', '/api/servers/status', { headers: { Host: `mybox.lan:${url.port}`, 'X-API-Key': KEY } });
      assert.equal(named.status, 200);
    } finally {
      await proxy.stop();
    }
  });

  test('localhost needs no key', async () => {
    const proxy = await startProxy({ args: ['--listen', 'localhost:0'] });
    await proxy.stop();
  });
});

describe('mcpproxy gen-key', () => {
  test('writes a new key into a fresh config (0600) and prints the dashboard URL with it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-sec-'));
    const cfg = path.join(dir, 'sub', 'mcp_config.json');
    try {
      const r = await runBin(['gen-key', '--config', cfg]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(cfg).mode & 0o777, 0o600);
      const key = JSON.parse(readFileSync(cfg, 'utf8')).api_key;
      assert.match(key, /^[0-9a-f]{32,}$/);
      assert.ok(r.stdout.includes(`?apikey=${key}`), r.stdout);
      assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:8080/\\?apikey=${key}`));
      assert.ok(!r.stderr.includes(key), 'the key goes to stdout only');

      // The server now requires it; the printed dashboard URL works.
      const proxy = await startProxy({ configPath: cfg });
      try {
        assert.equal((await api(proxy, 'GET', '/api/servers/status')).status, 401);
        assert.equal((await rawUpgrade(proxy, '/ws/events')).status, 401);
        const printed = new URL(/dashboard:\s*(\S+)/.exec(r.stdout)[1]);
        assert.equal((await api(proxy, 'GET', `/${printed.search}`)).status, 200);
        assert.equal((await api(proxy, 'GET', `/api/servers/status${printed.search}`)).status, 200);
        const [client] = await connectReady(proxy, `/ws/events${printed.search}`);
        await client.close();
        assert.ok(!proxy.logs.some((e) => JSON.stringify(e).includes(key)), 'the key must never be logged');
      } finally {
        await proxy.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on an existing config: keeps its servers, replaces the key, tightens the mode to 0600', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-sec-'));
    const cfg = path.join(dir, 'mcp_config.json');
    try {
      writeFileSync(cfg, JSON.stringify({ api_key: 'old', listen: '127.0.0.1:9999',
        mcpServers: [{ name: 'keep', command: 'true', env: { TOKEN: 's3cret' } }] }));
      chmodSync(cfg, 0o644);
      const r = await runBin(['gen-key', '--config', cfg]);
      assert.equal(r.code, 0, r.stderr);
      const saved = JSON.parse(readFileSync(cfg, 'utf8'));
      assert.notEqual(saved.api_key, 'old');
      assert.equal(saved.mcpServers[0].name, 'keep');
      assert.equal(saved.mcpServers[0].env.TOKEN, 's3cret');
      assert.equal(statSync(cfg).mode & 0o777, 0o600);
      assert.ok(r.stdout.includes(`http://127.0.0.1:9999/?apikey=${saved.api_key}`), r.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
