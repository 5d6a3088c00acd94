// valgrind.test.mjs - a whole proxy session under valgrind: start, serve
// WebSocket clients (one resuming, one dropping its connection), publish,
// stop with SIGTERM; remote servers, OAuth, prompts and resources; the client commands; import and a failed start. Any invalid access or leak
// makes valgrind exit 99.
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
  // A failed result goes the tree way (its text is the event's error); a
  // tool not on offer is refused the general way.
  const failed = await client.callTool({ name: 'demo__fail', arguments: { message: 'boom' } });
  assert.equal(failed.isError, true);
  await until((e) => e.type === 'tool_called' && e.data.error === 'boom');
  await assert.rejects(client.callTool({ name: 'demo__nope', arguments: {} }), /unknown tool/);
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

test('remote servers (Streamable HTTP with a GET stream, one refused) under valgrind: no errors, no leaks', { timeout: 240000 }, async () => {
  const { recordEvents, isState, fastUpstream } = await import('./upstream_helpers.mjs');
  const { mcpConnect } = await import('./mcp_helpers.mjs');
  const { startFakeServer, freePort } = await import('./remote_helpers.mjs');
  const fake = await startFakeServer({ getStream: true, sseAnswers: true });
  const refused = await freePort();
  const proxy = await startProxy({
    wrapper: valgrind, readyMs: 60000,
    config: {
      upstream: fastUpstream, auto_disable_threshold: 2,
      mcpServers: [
        { name: 'remote', url: fake.url, headers: { Authorization: 'Bearer x' } },
        { name: 'gone', url: `http://127.0.0.1:${refused}/mcp` },
      ],
    },
  });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('remote', 'Ready'), 60000, 'remote to be Ready');
    await rec.until((e) => e.type === 'server_auto_disabled' && e.server_name === 'gone', 60000, 'gone to be auto-disabled');
    const { client } = await mcpConnect(proxy);
    const res = await client.callTool({ name: 'remote__work', arguments: {} }, undefined, { timeout: 60000 });
    assert.equal(res.content[0].text, 'worked in session-1');
    fake.changeTools();
    await rec.until((e) => e.type === 'tools_updated' && e.server_name === 'remote' && e.data.tool_count === 2, 60000, 'the new tool');
    await client.close();
    await rec.close();
  } finally {
    const { code, signal } = await proxy.stop('SIGTERM');
    await fake.close();
    assert.equal(signal, null);
    assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
  }
});

test('the client commands under valgrind: no errors, no leaks', { timeout: 240000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { proxyBin } = await import('./harness.mjs');
  const { demo, recordEvents, isState } = await import('./upstream_helpers.mjs');
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  const rec = await recordEvents(proxy);
  await rec.until(isState('demo', 'Ready'));
  const env = { ...process.env, HOME: proxy.dir, MCPPROXY_API_KEY: '' };
  /** Runs a command under valgrind; with `until`, stops it with SIGINT once its stderr matches. */
  const run = (args, until) => new Promise((resolve) => {
    const proc = spawn(valgrind[0], [...valgrind.slice(1), proxyBin, args[0], '--url', proxy.url, ...args.slice(1)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; if (until && until.test(stderr)) proc.kill('SIGINT'); });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  try {
    for (const [args, code, out, until] of [
      [['status', '--json'], 0, /"demo"/],
      [['servers', 'add', 'off', '--disabled', '--env', 'K=v', 'true'], 0, /added off/],
      [['servers', 'edit', 'off', '--env', 'K2=w', '--arg', 'x'], 0, /updated off/],
      [['groups', 'add', 'g', 'off'], 0, /group g/],
      [['tools', 'demo'], 0, /demo__add\(a, b\)/],
      [['call', 'demo__add', '{"a":2,"b":3}'], 0, /^5$/m],
      [['call', 'demo__fail', '{"message":"x"}'], 1, /^$/],
      [['logs', 'demo', '--tail', '2'], 0, /demo: /],
      [['servers', 'add', 'far', '--disabled', '--server-url', 'http://127.0.0.1:9/mcp', '--header', 'A: b'], 0, /added far/],
      [['servers', 'edit', 'far', '--header', 'C=d', '--unset-header', 'A', '--protocol', 'sse'], 0, /updated far/],
      [['servers', 'edit', 'off', '--server-url', 'http://127.0.0.1:9/mcp'], 0, /updated off/],
      [['servers', 'list'], 0, /^far .* http:\/\/127\.0\.0\.1:9\/mcp$/m],
      [['servers', 'rm', 'far'], 0, /removed far/],
      [['logs', 'demo', '-f'], 0, /demo: /, /connected to/],
      [['servers', 'rm', 'off'], 0, /removed off/],
      [['servers', 'rm', 'off'], 1, /^$/],
      [['events'], 0, /^/, /connected to/],
      [['status', '--watch'], 0, /demo\s+Ready/, /connected to/],
    ]) {
      const r = await run(args, until);
      assert.equal(r.code, code, `mcpproxy ${args.join(' ')} exited ${r.code} (99: valgrind found errors):\n${r.stderr}`);
      assert.match(r.stdout, out, args.join(' '));
    }
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('import and a failed start under valgrind: no errors, no leaks', { timeout: 180000 }, async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = (await import('node:path')).default;
  const { proxyBin, repoRoot } = await import('./harness.mjs');
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-vg-import-'));
  const run = (args) => spawnSync(valgrind[0], [...valgrind.slice(1), proxyBin, ...args], { encoding: 'utf8', timeout: 120000 });
  try {
    const fixtures = path.join(repoRoot, 'tests/integration/fixtures/import');
    const target = path.join(dir, 'mcp_config.json');
    // JSONC, ${...} and dev skipped or dropped, a remote server, a created file.
    for (const [args, out] of [
      [['import', path.join(fixtures, 'vscode_mcp.json'), '--config', target, '--dry-run'], /2 added, 2 skipped/],
      [['import', path.join(fixtures, 'cursor_mcp.json'), '--config', target], /3 added, 0 skipped/],
      [['import', path.join(fixtures, 'claude_desktop_config.json'), '--config', target], /1 added, 1 skipped/],
    ]) {
      const r = run(args);
      assert.equal(r.status, 0, `mcpproxy ${args.join(' ')} exited ${r.status} (99: valgrind found errors):\n${r.stderr}`);
      assert.match(r.stdout, out, args.join(' '));
    }
    assert.equal(Object.keys(JSON.parse(readFileSync(target, 'utf8')).mcpServers).length, 4);
    // A start that fails (here: a config that does not parse) frees what it made.
    writeFileSync(target, '{"mcpServers": [{"name": "x"}]}');
    const r = run(['--config', target, '--listen', '127.0.0.1:0']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /invalid config/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an OAuth login, a token refresh, a refused callback, a disable and enable, a call with the token and a logout under valgrind: no errors, no leaks', { timeout: 240000 }, async () => {
  const { recordEvents, isState } = await import('./upstream_helpers.mjs');
  const { mcpConnect } = await import('./mcp_helpers.mjs');
  const { startShortServer, followLogin } = await import('./oauth_helpers.mjs');
  const { eventually } = await import('./security_helpers.mjs');
  const srv = await startShortServer({ TOKEN_LIFE_MS: '6000' });
  const proxy = await startProxy({
    wrapper: valgrind, readyMs: 60000,
    config: { upstream: { request_timeout_ms: 20000 }, mcpServers: [{ name: 'short', url: srv.url }] },
  });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('short', 'Login required'), 60000, 'short to need a login');
    const login = await api(proxy, 'POST', '/api/servers/short/login');
    assert.equal(login.status, 200, login.text);
    assert.equal((await followLogin(login.json.authorization_url)).status, 200);
    await rec.until(isState('short', 'Ready'), 60000, 'short to be Ready');
    // A refresh ahead of expiry (4 s into the token's 6 s).
    await eventually(async () => (await (await fetch(`${srv.authUrl}/test/stats`)).json()).refreshes >= 1, 30000, 'a refresh');
    // A login whose code is refused at the callback (the tokens held stay), then a disable (the
    // refresh paused, one under way dropped) and an enable.
    const again = new URL((await api(proxy, 'POST', '/api/servers/short/login')).json.authorization_url);
    assert.equal((await fetch(`${proxy.url}/oauth/callback?state=${again.searchParams.get('state')}&code=forged`)).status, 502);
    await rec.until((e) => e.type === 'server_login_failed' && e.server_name === 'short', 60000, 'server_login_failed');
    const readyBefore = rec.events.findLast(isState('short', 'Ready')).seq;
    assert.equal((await api(proxy, 'POST', '/api/servers/short/disable')).status, 200);
    await rec.until((e) => isState('short', 'Disconnected')(e) && e.seq > readyBefore, 60000, 'short to stop');
    assert.equal((await api(proxy, 'POST', '/api/servers/short/enable')).status, 200);
    await rec.until((e) => isState('short', 'Ready')(e) && e.seq > readyBefore, 60000, 'short Ready once enabled');
    const { client } = await mcpConnect(proxy);
    const result = await client.callTool({ name: 'short__whoami', arguments: {} });
    assert.match(result.content[0].text, /^client /);
    await client.close();
    assert.equal((await api(proxy, 'POST', '/api/servers/short/logout')).status, 200);
    await rec.until((e) => isState('short', 'Login required')(e) && e.seq > rec.events.findLast(isState('short', 'Ready')).seq,
      60000, 'short to need a login after the logout');
    await rec.close();
  } finally {
    const { code, signal } = await proxy.stop('SIGTERM');
    await srv.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
  }
});

test('prompts and resources through /mcp under valgrind: no errors, no leaks', { timeout: 240000 }, async () => {
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { recordEvents, isState } = await import('./upstream_helpers.mjs');
  const { mcpConnect } = await import('./mcp_helpers.mjs');
  const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'prompts_resources_server.mjs');
  const server = (label) => ({ name: label, protocol: 'stdio', command: process.execPath, args: [fixture, '--label', label, '--resources', '12', '--page-size', '5'] });
  const proxy = await startProxy({ wrapper: valgrind, readyMs: 60000, config: { mcp: { list_page_size: 4 }, mcpServers: [server('one'), server('two')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('one', 'Ready'), 60000, 'one to be Ready');
    await rec.until(isState('two', 'Ready'), 60000, 'two to be Ready');
    const { client } = await mcpConnect(proxy);
    const opts = { timeout: 60000 };
    let uris = [];
    for (let cursor; ;) { // our pages of 4 over upstream pages of 5
      const page = await client.listResources(cursor ? { cursor } : {}, opts);
      uris = uris.concat(page.resources.map((r) => r.uri));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.equal(new Set(uris).size, 12, uris.join(' ')); // the same 12 URIs from both servers, offered once
    assert.equal((await client.getPrompt({ name: 'two__greet', arguments: { who: 'Ada' } }, opts)).messages[0].content.text, 'two: hello Ada');
    assert.equal((await client.readResource({ uri: 'fixture://item/3' }, opts)).contents[0].text, 'one fixture://item/3');
    assert.equal((await client.readResource({ uri: 'fixture://two/dyn/9' }, opts)).contents[0].text, 'two fixture://two/dyn/9');
    await assert.rejects(client.readResource({ uri: 'fixture://three/x' }, opts), /unknown resource/);
    await client.subscribeResource({ uri: 'fixture://item/1' }, opts);
    await client.unsubscribeResource({ uri: 'fixture://item/1' }, opts);
    await client.subscribeResource({ uri: 'fixture://item/2' }, opts); // dropped when the session ends
    await client.listResourceTemplates({}, opts);
    await client.close();
    await rec.close();
  } finally {
    const { code, signal } = await proxy.stop('SIGTERM');
    assert.equal(signal, null);
    assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
  }
});
