// upstream_oauth.test.mjs - OAuth for remote servers, against real peers:
// the MCP TypeScript SDK's example server with --oauth (its in-memory
// authorization server approves at once) and, for expiry and refresh, an
// SDK server whose tokens live seconds (fixtures/oauth_short_server.mjs).
// Login required on the first 401, discovery, dynamic registration, the
// login followed the way a browser would (redirects to the proxy's own
// /oauth/callback, which needs no API key), calls with the token through
// /mcp, a forged or replayed state refused, the token file (0600) and no
// token anywhere else, tokens surviving a restart, refresh ahead of expiry
// and after a 401, a revoked token back to Login required, an
// authorization server that stops answering a refresh (Error with the
// reason, backoff, Ready again), a login that fails at the callback (the
// reason in last_error, server_login_failed, `auth login` exits 1), no
// refresh while a server is disabled, and `mcpproxy auth login|logout`
// from the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startProxy, api as rawApi, proxyBin } from './harness.mjs';
import { recordEvents, isState, isType, fastUpstream } from './upstream_helpers.mjs';
import { eventually } from './security_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';
import { startSdkExample, startShortServer, followLogin } from './oauth_helpers.mjs';
import { check } from './openapi_helpers.mjs';

const KEY = 'oauth-test-api-key';
const auth = { 'X-API-Key': KEY };
const api = (proxy, method, urlPath, body) => rawApi(proxy, method, urlPath, body, auth);
const upstream = { ...fastUpstream, request_timeout_ms: 5000, stop_grace_ms: 500 };
function proxyConfig(servers) {
  return { api_key: KEY, mcpServers: servers, upstream };
}

async function login(proxy, name) {
  const res = await api(proxy, 'POST', `/api/servers/${name}/login`);
  assert.equal(res.status, 200, res.text);
  check('POST', '/api/servers/{name}/login', res);
  return res.json.authorization_url;
}

async function callTool(proxy, name, args) {
  const { client } = await mcpConnect(proxy, { headers: auth });
  try {
    return await client.callTool({ name, arguments: args }, undefined, { timeout: 20000 });
  } finally {
    await client.close();
  }
}

function tokensOf(file) {
  return JSON.parse(readFileSync(file, 'utf8')).servers;
}

/** Every place a token must never appear: logs, events, API answers. */
async function assertNoSecret(proxy, rec, secrets, name) {
  const answers = await Promise.all(['/api/servers', `/api/servers/${name}`, '/api/servers/status',
    `/api/servers/${name}/logs`, '/api/realtime/stats'].map((p) => api(proxy, 'GET', p)));
  const places = {
    log: JSON.stringify(proxy.logs),
    events: JSON.stringify(rec.events),
    api: answers.map((a) => a.text).join('\n'),
  };
  for (const secret of secrets) {
    assert.ok(secret && secret.length >= 16, `a real secret to look for: ${secret}`);
    for (const [where, text] of Object.entries(places))
      assert.ok(!text.includes(secret), `a token appears in the ${where}`);
  }
}

/** Stops the proxy, then the OAuth upstream (if any), removes `dirs`, and
 *  asserts the proxy ended on its own (exit 0, no signal). */
/** Resolves with a child's exit code and all it printed. */
function finished(proc) {
  return new Promise((resolve) => {
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function stopAll(proxy, upstream, ...dirs) {
  const { code, signal } = await proxy.stop();
  await upstream?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  assert.equal(signal, null);
  assert.equal(code, 0);
}

test('the SDK example server: Login required, discovery and registration, a login through /oauth/callback, calls with the token, tokens kept across a restart, logout', async () => {
  const sdk = await startSdkExample();
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-oauth-'));
  const configPath = path.join(dir, 'mcp_config.json');
  const tokenFile = path.join(dir, 'oauth_tokens.json');
  writeFileSync(configPath, JSON.stringify(proxyConfig([{ name: 'sdk', url: sdk.url }])));
  let proxy = await startProxy({ configPath });
  try {
    let rec = await recordEvents(proxy, { headers: auth });
    const needLogin = await rec.until(isState('sdk', 'Login required'), 20000, 'sdk to need a login');
    assert.equal(needLogin.old_state, 'Connecting');
    assert.match(needLogin.data.last_error, /^HTTP 401 Unauthorized from http:\/\/localhost:\d+\/mcp: this server needs a login \(OAuth\)/);
    assert.match(needLogin.data.last_error, /mcpproxy auth login sdk/);
    let st = (await api(proxy, 'GET', '/api/servers/sdk')).json;
    assert.equal(st.status, 'Login required');
    assert.equal(st.state, 'Login required');
    assert.equal(st.failure_count, 0, 'a login is not a failure: no backoff, no auto-disable');
    assert.ok(!existsSync(tokenFile), 'no token file before a login');

    // The login start: discovery (RFC 9728, RFC 8414), registration (RFC 7591), PKCE and resource.
    const noKey = await rawApi(proxy, 'POST', '/api/servers/sdk/login');
    assert.equal(noKey.status, 401, 'starting a login needs the API key');
    const url = new URL(await login(proxy, 'sdk'));
    assert.equal(url.origin, sdk.authUrl);
    assert.equal(url.pathname, '/authorize');
    const q = url.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('state'), /^[0-9a-f]{64}$/);
    assert.equal(q.get('resource'), sdk.url);
    assert.equal(q.get('redirect_uri'), `${proxy.url}/oauth/callback`);
    assert.equal(q.get('scope'), 'mcp:tools');
    assert.ok(q.get('client_id'), 'a client registered dynamically');

    // A forged state, and none: refused, and nothing changes.
    const forged = await fetch(`${proxy.url}/oauth/callback?state=${'0'.repeat(64)}&code=stolen`);
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /unknown, was already used, or has expired/);
    assert.equal((await fetch(`${proxy.url}/oauth/callback?code=x`)).status, 400);
    assert.equal((await api(proxy, 'GET', '/api/servers/sdk')).json.status, 'Login required');

    // A HEAD (a link checker, a prefetch) does not use the state up.
    const head = await fetch(`${proxy.url}/oauth/callback?state=${q.get('state')}&code=x`, { method: 'HEAD' });
    assert.equal(head.status, 200);
        // The browser's way: the authorization server redirects to our callback (no API key).
    const done = await followLogin(url.href);
    assert.equal(done.status, 200, done.text);
    assert.ok(done.url.startsWith(`${proxy.url}/oauth/callback?`), done.url);
    assert.match(done.text, /Logged in/);
    check('GET', '/oauth/callback', done);
    const ready = await rec.until((e) => isState('sdk', 'Ready')(e) && e.seq > needLogin.seq, 20000, 'sdk to be Ready');
    assert.ok(ready.data.tool_count > 0);
    // The same callback again: the state was single use.
    const replay = await fetch(done.url);
    assert.equal(replay.status, 400);

    const res = await callTool(proxy, 'sdk__greet', { name: 'oauth' });
    assert.equal(res.content[0].text, 'Hello, oauth!');

    // The token file: 0600, beside the config, for this server and url.
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const entry = tokensOf(tokenFile).sdk;
    assert.equal(entry.url, sdk.url);
    assert.ok(entry.access_token);
    assert.equal(entry.client_id, q.get('client_id'));
    assert.ok(!readFileSync(configPath, 'utf8').includes(entry.access_token), 'tokens stay out of the config file');
    await assertNoSecret(proxy, rec, [entry.access_token, q.get('state'), new URL(done.url).searchParams.get('code')], 'sdk');
    await rec.close();

    // A restart: the stored token is used at once, no login.
    assert.deepEqual(await proxy.stop(), { code: 0, signal: null });
    proxy = await startProxy({ configPath });
    rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('sdk', 'Ready'), 20000, 'sdk to be Ready after the restart');
    assert.equal(rec.of('sdk', 'server_state_changed').filter((e) => e.new_state === 'Login required').length, 0);
    assert.equal((await callTool(proxy, 'sdk__greet', { name: 'again' })).content[0].text, 'Hello, again!');

    // Logout: the tokens go, the server waits for a login.
    const out = await api(proxy, 'POST', '/api/servers/sdk/logout');
    assert.equal(out.status, 200, out.text);
    check('POST', '/api/servers/{name}/logout', out);
    await rec.until(isState('sdk', 'Login required'), 10000, 'sdk to need a login after the logout');
    assert.equal(tokensOf(tokenFile).sdk, undefined);
    assert.equal((await api(proxy, 'POST', '/api/servers/nope/login')).status, 404);
    assert.equal((await api(proxy, 'POST', '/api/servers/sdk/disable')).status, 200);
    const disabled = await api(proxy, 'POST', '/api/servers/sdk/login');
    assert.equal(disabled.status, 409);
    check('POST', '/api/servers/{name}/login', disabled);
    assert.match(disabled.json.error, /server 'sdk' is disabled; enable it first/);
    await rec.close();
  } finally {
    await stopAll(proxy, sdk, dir);
  }
});

test('short-lived tokens (4.5 s): refreshed ahead of expiry without leaving Ready; a 401 refreshes; a revoked grant goes back to Login required with the reason', async () => {
  // 4.5 s tokens, refreshed 1.5 s before they expire: room for a loaded machine.
  const srv = await startShortServer({ TOKEN_LIFE_MS: '4500' });
  const proxy = await startProxy({ config: proxyConfig([{ name: 'short', url: srv.url }]) });
  const stats = async () => (await fetch(`${srv.authUrl}/test/stats`)).json();
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    const done = await followLogin(await login(proxy, 'short'));
    assert.equal(done.status, 200, done.text);
    const ready = await rec.until(isState('short', 'Ready'), 20000, 'short to be Ready');
    const tokenFile = path.join(proxy.dir, 'oauth_tokens.json');
    const first = tokensOf(tokenFile).short;
    assert.ok(first.refresh_token);

    // Over two token lives (the subject here is time passing): each token is
    // replaced before it expires, and a call made after the first one
    // expired goes through, without a state change.
    await new Promise((r) => setTimeout(r, 10000));
    const res = await callTool(proxy, 'short__whoami', { note: 'late' });
    assert.equal(res.content[0].text, `client ${first.client_id} late`);
    assert.ok((await stats()).refreshes >= 2, JSON.stringify(await stats()));
    assert.equal(rec.events.filter((e) => e.server_name === 'short' && e.type === 'server_state_changed' && e.seq > ready.seq).length, 0,
      'the refreshes never took the server out of Ready');
    const now = tokensOf(tokenFile).short;
    assert.notEqual(now.access_token, first.access_token);
    assert.notEqual(now.refresh_token, first.refresh_token, 'the rotated refresh token is kept');

    // The server forgets every access token: the next call's 401 leads to a refresh and a new session.
    const before = (await stats()).refreshes;
    await fetch(`${srv.authUrl}/test/expire-access`, { method: 'POST' });
    const failed = await callTool(proxy, 'short__whoami', {}).catch((e) => e);
    assert.ok(failed, 'the call that met the 401 is answered (an error or a result)');
    const back = await rec.until((e) => isState('short', 'Ready')(e) && e.seq > ready.seq, 20000, 'short Ready again after a refresh');
    assert.ok((await stats()).refreshes > before);
    assert.equal(rec.events.filter((e) => isState('short', 'Login required')(e) && e.seq > ready.seq).length, 0);

    // Revoked: the refresh is refused; Login required says why.
    await fetch(`${srv.authUrl}/test/revoke`, { method: 'POST' });
    await callTool(proxy, 'short__whoami', {}).catch(() => {});
    const lost = await rec.until((e) => isState('short', 'Login required')(e) && e.seq > back.seq, 20000, 'short to need a login again');
    assert.match(lost.data.last_error, /refresh refused by http:\/\/localhost:\d+\/token: HTTP 400 invalid_grant/);
    assert.match(lost.data.last_error, /log in again: mcpproxy auth login short/);
    assert.ok((await stats()).refused_refreshes >= 1);
    assert.equal(tokensOf(tokenFile).short.access_token, undefined, 'the refused tokens are forgotten');
    await assertNoSecret(proxy, rec, [first.access_token, first.refresh_token, now.access_token, now.refresh_token], 'short');

    // A new login reuses the client registered the first time.
    const again = new URL(await login(proxy, 'short'));
    assert.equal(again.searchParams.get('client_id'), first.client_id);
    assert.equal((await followLogin(again.href)).status, 200);
    await rec.until((e) => isState('short', 'Ready')(e) && e.seq > lost.seq, 20000, 'short Ready after the new login');
    await rec.close();
  } finally {
    await stopAll(proxy, srv);
  }
});

test('mcpproxy auth login prints the URL and opens it with xdg-open, then reports the server Ready; auth logout', async () => {
  const sdk = await startSdkExample();
  const proxy = await startProxy({ config: proxyConfig([{ name: 'sdk', url: sdk.url }]) });
  // A real xdg-open of our own on PATH: it writes the URL it was given.
  const bin = mkdtempSync(path.join(tmpdir(), 'mcpproxy-xdg-'));
  const opened = path.join(bin, 'opened.txt');
  writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" > '${opened}'\n`);
  chmodSync(path.join(bin, 'xdg-open'), 0o755);
  const env = { ...process.env, HOME: bin, PATH: `${bin}:${process.env.PATH}`, MCPPROXY_API_KEY: KEY };
  const cli = (args) => spawn(proxyBin, [...args, '--url', proxy.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('sdk', 'Login required'), 20000, 'sdk to need a login');
    const proc = cli(['auth', 'login', 'sdk']);
    const result = finished(proc);
    // The printed URL, read as the user would.
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no URL printed')), 20000);
      createInterface({ input: proc.stdout }).on('line', (line) => {
        const m = line.match(/^\s+(http:\/\/\S+\/authorize\?\S+)$/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
    });
    const done = await followLogin(url);
    assert.equal(done.status, 200, done.text);
    const { code, stdout, stderr } = await result;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /To log in to sdk, open this URL in a browser/);
    assert.match(stdout, /Logged in: sdk is Ready \(\d+ tools\)/);
    assert.equal(readFileSync(opened, 'utf8').trim(), url, 'xdg-open was given the URL');

    const out = await finished(cli(['auth', 'logout', 'sdk']));
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Logged out of sdk/);
    await rec.until((e) => isState('sdk', 'Login required')(e) && e.seq > rec.events.findLast((x) => isState('sdk', 'Ready')(x)).seq,
      10000, 'sdk to need a login after auth logout');
    const local = await finished(cli(['auth', 'login', 'nope', '--no-browser']));
    assert.equal(local.code, 1);
    assert.match(local.stderr, /no server named 'nope'/);
    const usage = await finished(cli(['auth', 'sdk']));
    assert.equal(usage.code, 2);
    await rec.close();
  } finally {
    await stopAll(proxy, sdk, bin);
  }
});

test('a configured oauth.client_id (and secret, masked and kept on PATCH) is used instead of registering', async () => {
  const sdk = await startSdkExample();
  const proxy = await startProxy({ config: proxyConfig([{ name: 'sdk', url: sdk.url }]) });
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    const first = await rec.until(isState('sdk', 'Login required'), 20000, 'sdk to need a login');
    // A client registered by hand, as a user would at their provider, with a secret.
    const reg = await fetch(`${sdk.authUrl}/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'by hand', redirect_uris: [`${proxy.url}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }),
    });
    const client = await reg.json();
    assert.equal(reg.status, 201, JSON.stringify(client));
    assert.ok(client.client_secret);
    const patched = await api(proxy, 'PATCH', '/api/servers/sdk', { oauth: { client_id: client.client_id, client_secret: client.client_secret, scopes: ['mcp:tools'] } });
    assert.equal(patched.status, 200, patched.text);
    check('PATCH', '/api/servers/{name}', patched);
    assert.equal(patched.json.oauth.client_secret, '***');
    // Sent back masked (a dashboard editing another field): the secret stays.
    const again = await api(proxy, 'PATCH', '/api/servers/sdk', { oauth: { ...patched.json.oauth } });
    assert.equal(again.status, 200, again.text);
    assert.equal(JSON.parse(readFileSync(proxy.configPath, 'utf8')).mcpServers[0].oauth.client_secret, client.client_secret);
    await rec.until((e) => isState('sdk', 'Login required')(e) && e.seq > first.seq, 20000, 'sdk restarted by the change');

    const url = new URL(await login(proxy, 'sdk'));
    assert.equal(url.searchParams.get('client_id'), client.client_id, 'no registration: the configured client');
    // The token endpoint checks the secret: Ready proves it was sent, unmasked.
    const done = await followLogin(url.href);
    assert.equal(done.status, 200, done.text);
    await rec.until(isState('sdk', 'Ready'), 20000, 'sdk to be Ready');
    const stored = tokensOf(path.join(proxy.dir, 'oauth_tokens.json')).sdk;
    assert.equal(stored.client_id, client.client_id);
    assert.equal(stored.registered, undefined);
    await assertNoSecret(proxy, rec, [client.client_secret, stored.access_token], 'sdk');
    await rec.close();
  } finally {
    await stopAll(proxy, sdk);
  }
});

test('discovery without resource_metadata in the challenge (the well-known URL) and with only an OpenID Connect configuration', async () => {
  const srv = await startShortServer({ TOKEN_LIFE_MS: '60000', DISCOVERY: 'well-known' });
  const proxy = await startProxy({ config: proxyConfig([{ name: 'wk', url: srv.url }]) });
  try {
    // The peer really is that way: no resource_metadata, no RFC 8414 document.
    const challenge = (await fetch(srv.url, { method: 'POST' })).headers.get('www-authenticate');
    assert.match(challenge, /^Bearer /);
    assert.ok(!/resource_metadata/.test(challenge), challenge);
    assert.equal((await fetch(`${srv.authUrl}/.well-known/oauth-authorization-server`)).status, 404);
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('wk', 'Login required'), 20000, 'wk to need a login');
    const url = new URL(await login(proxy, 'wk'));
    assert.equal(url.origin, srv.authUrl);
    assert.equal(url.searchParams.get('resource'), srv.url);
    assert.equal((await followLogin(url.href)).status, 200);
    await rec.until(isState('wk', 'Ready'), 20000, 'wk to be Ready');
    assert.match((await callTool(proxy, 'wk__whoami', {})).content[0].text, /^client /);
    await rec.close();
  } finally {
    await stopAll(proxy, srv);
  }
});

test('an authorization server that cannot be found: the login answers 502 naming what was tried; the server stays in Login required', async () => {
  const srv = await startShortServer({ DISCOVERY: 'well-known' });
  const proxy = await startProxy({ config: proxyConfig([{ name: 'wk', url: srv.url }]) });
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('wk', 'Login required'), 20000, 'wk to need a login');
    await srv.stop(); // its metadata goes with it
    const res = await api(proxy, 'POST', '/api/servers/wk/login');
    assert.equal(res.status, 502, res.text);
    check('POST', '/api/servers/{name}/login', res);
    assert.match(res.json.error, /^no OAuth protected resource metadata found \(last tried http:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource: /);
    assert.equal((await api(proxy, 'GET', '/api/servers/wk')).json.status, 'Login required');
    await rec.close();
  } finally {
    await stopAll(proxy);
  }
});

test('a token file that does not parse is never written over: the log names it, a login still works, in memory', async () => {
  const srv = await startShortServer({ TOKEN_LIFE_MS: '60000' });
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-oauth-bad-'));
  const configPath = path.join(dir, 'mcp_config.json');
  const tokenFile = path.join(dir, 'oauth_tokens.json');
  writeFileSync(configPath, JSON.stringify(proxyConfig([{ name: 'short', url: srv.url }])));
  const broken = '{"servers": {"short": {"access_token": "hand-edited"\n';
  writeFileSync(tokenFile, broken, { mode: 0o600 });
  const proxy = await startProxy({ configPath });
  try {
    // Only the log can say it: nothing else knows of the file.
    const line = await proxy.waitForLog((e) => /OAuth token file does not parse/.test(e.msg), 10000, 'the token file complaint');
    assert.equal(line.file, tokenFile);
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    assert.equal((await followLogin(await login(proxy, 'short'))).status, 200);
    await rec.until(isState('short', 'Ready'), 20000, 'short to be Ready with the token held in memory');
    assert.equal(readFileSync(tokenFile, 'utf8'), broken, 'the file is untouched, byte for byte');
    assert.ok(proxy.logs.some((e) => e.msg === 'OAuth tokens not saved' && /did not parse at start; fix or remove it/.test(e.reason)));
    await rec.close();
  } finally {
    await stopAll(proxy, srv, dir);
  }
});

test('an authorization server that does not answer the refresh after a 401: Error with the reason and the usual backoff, Ready again once it answers', async () => {
  const srv = await startShortServer({ TOKEN_LIFE_MS: '600000' });
  // 2 s per OAuth exchange: the silence is found out quickly.
  const proxy = await startProxy({ config: { ...proxyConfig([{ name: 'short', url: srv.url }]),
    upstream: { ...upstream, request_timeout_ms: 2000 }, auto_disable_threshold: 20 } });
  const stats = async () => (await fetch(`${srv.authUrl}/test/stats`)).json();
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    assert.equal((await followLogin(await login(proxy, 'short'))).status, 200);
    const ready = await rec.until(isState('short', 'Ready'), 20000, 'short to be Ready');
    const tokenFile = path.join(proxy.dir, 'oauth_tokens.json');
    const first = tokensOf(tokenFile).short;

    // The token endpoint goes silent, and the server forgets the access token: the next call meets a 401.
    await fetch(`${srv.authUrl}/test/silence`, { method: 'POST' });
    await fetch(`${srv.authUrl}/test/expire-access`, { method: 'POST' });
    await callTool(proxy, 'short__whoami', {}).catch(() => {});
    const failed = await rec.until((e) => isState('short', 'Error')(e) && e.seq > ready.seq, 20000, 'short to fail the refresh');
    assert.equal(failed.old_state, 'Connecting', 'the refresh ran in Connecting, then gave up');
    assert.match(failed.data.last_error,
      /^the token refresh failed: authorization server http:\/\/localhost:\d+\/token did not answer \(.*timed out.*\)$/i);
    assert.ok(failed.data.failure_count >= 1, 'counted as a failure (backoff, auto-disable)');
    assert.ok((await stats()).unanswered >= 1, 'the refresh really met the silence');
    const st = (await api(proxy, 'GET', '/api/servers/short')).json;
    assert.ok(['Error', 'Connecting'].includes(st.status), st.status);
    assert.match(st.last_error, /token refresh failed: authorization server .* did not answer/);
    assert.equal(tokensOf(tokenFile).short.refresh_token, first.refresh_token, 'an unanswered refresh keeps the tokens');

    // It answers again: the backoff's retry meets the 401, refreshes, and the server is Ready.
    await fetch(`${srv.authUrl}/test/speak`, { method: 'POST' });
    await rec.until((e) => isState('short', 'Ready')(e) && e.seq > failed.seq, 30000, 'short Ready once the refresh is answered');
    assert.ok((await stats()).refreshes >= 1);
    assert.equal(rec.events.filter((e) => isState('short', 'Login required')(e) && e.seq > ready.seq).length, 0,
      'no answer is not a refusal: the tokens were never dropped');
    assert.notEqual(tokensOf(tokenFile).short.access_token, first.access_token);
    assert.equal((await api(proxy, 'GET', '/api/servers/short')).json.last_error, null);
    await rec.close();
  } finally {
    await stopAll(proxy, srv);
  }
});

test('a login that fails at the callback (a forged code, a denial): the page, last_error and server_login_failed say why; mcpproxy auth login exits 1 printing it', async () => {
  const srv = await startShortServer({ TOKEN_LIFE_MS: '60000' });
  const proxy = await startProxy({ config: proxyConfig([{ name: 'short', url: srv.url }]) });
  const env = { ...process.env, MCPPROXY_API_KEY: KEY };
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    const proc = spawn(proxyBin, ['auth', 'login', 'short', '--no-browser', '--url', proxy.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = finished(proc);
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no URL printed')), 20000);
      createInterface({ input: proc.stdout }).on('line', (line) => {
        const m = line.match(/^\s+(http:\/\/\S+\/authorize\?\S+)$/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
    });
    // The browser comes back with the login's state but a code the authorization server never issued.
    const state = new URL(url).searchParams.get('state');
    const page = await fetch(`${proxy.url}/oauth/callback?state=${state}&code=forged-code`);
    assert.equal(page.status, 502);
    assert.match(await page.text(), /authorization code exchange refused by http:\/\/localhost:\d+\/token: HTTP 400 invalid_grant/);
    const failed = await rec.until(isType('short', 'server_login_failed'), 10000, 'server_login_failed');
    assert.match(failed.data.reason,
      /^login failed: the authorization code exchange refused by http:\/\/localhost:\d+\/token: HTTP 400 invalid_grant: Invalid authorization code; try again: mcpproxy auth login short/);
    assert.equal(failed.data.state, 'Login required');
    const { code, stderr } = await result;
    assert.equal(code, 1, 'the waiting command ends, not at Ctrl-C');
    assert.match(stderr, /^mcpproxy auth: login failed: the authorization code exchange refused by .*invalid_grant/m);
    const st = (await api(proxy, 'GET', '/api/servers/short')).json;
    assert.equal(st.status, 'Login required');
    assert.equal(st.last_error, failed.data.reason);
    assert.ok(!JSON.stringify(rec.events).includes('forged-code'), 'the code is never echoed');

    // The user denies at the authorization server: the same, with its error.
    const denied = new URL(await login(proxy, 'short'));
    const back = await fetch(`${proxy.url}/oauth/callback?state=${denied.searchParams.get('state')}&error=access_denied`);
    assert.equal(back.status, 502);
    const refused = await rec.until((e) => isType('short', 'server_login_failed')(e) && e.seq > failed.seq, 10000, 'a second server_login_failed');
    assert.match(refused.data.reason, /^login failed: the authorization server did not authorize mcpproxy: access_denied/);

    // Nothing is broken: a real login still goes through.
    assert.equal((await followLogin(await login(proxy, 'short'))).status, 200);
    await rec.until(isState('short', 'Ready'), 20000, 'short Ready after a good login');
    assert.equal((await api(proxy, 'GET', '/api/servers/short')).json.last_error, null);
    await rec.close();
  } finally {
    await stopAll(proxy, srv);
  }
});

test('a disabled server\'s tokens are not refreshed, nor after a restart while disabled; enabled again, it refreshes and is Ready', async () => {
  // 4.5 s tokens: refreshed every 3 s while enabled.
  const srv = await startShortServer({ TOKEN_LIFE_MS: '4500' });
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-oauth-off-'));
  const configPath = path.join(dir, 'mcp_config.json');
  writeFileSync(configPath, JSON.stringify(proxyConfig([{ name: 'short', url: srv.url }])));
  const refreshes = async () => (await (await fetch(`${srv.authUrl}/test/stats`)).json()).refreshes;
  let proxy = await startProxy({ configPath });
  try {
    let rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    assert.equal((await followLogin(await login(proxy, 'short'))).status, 200);
    const ready = await rec.until(isState('short', 'Ready'), 20000, 'short to be Ready');
    await eventually(async () => (await refreshes()) >= 1, 15000, 'a refresh while enabled');

    assert.equal((await api(proxy, 'POST', '/api/servers/short/disable')).status, 200);
    await rec.until((e) => isState('short', 'Disconnected')(e) && e.seq > ready.seq, 10000, 'short to stop');
    const before = await refreshes();
    // The subject is time passing: two refresh periods (6 s) with none.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(await refreshes(), before, 'no refresh while disabled');
    await rec.close();

    // A restart with the server still disabled: its token is overdue, and still not refreshed.
    assert.deepEqual(await proxy.stop(), { code: 0, signal: null });
    proxy = await startProxy({ configPath });
    assert.equal((await api(proxy, 'GET', '/api/servers/short')).json.status, 'Disabled');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await refreshes(), before, 'no refresh of a server disabled at start');

    // Enabled: refreshed (the token expired meanwhile) and Ready, and refreshed again ahead of expiry.
    rec = await recordEvents(proxy, { headers: auth });
    assert.equal((await api(proxy, 'POST', '/api/servers/short/enable')).status, 200);
    await rec.until(isState('short', 'Ready'), 20000, 'short Ready once enabled');
    await eventually(async () => (await refreshes()) >= before + 2, 15000, 'refreshes again once enabled');
    assert.match((await callTool(proxy, 'short__whoami', {})).content[0].text, /^client /);
    assert.equal(rec.events.filter((e) => isState('short', 'Login required')(e)).length, 0);
    await rec.close();
  } finally {
    await stopAll(proxy, srv, dir);
  }
});

test('an auto-disabled server\'s tokens are not refreshed; enabled again, it refreshes and is Ready', async () => {
  const srv = await startShortServer({ TOKEN_LIFE_MS: '4500' });
  const refreshes = async () => (await (await fetch(`${srv.authUrl}/test/stats`)).json()).refreshes;
  const proxy = await startProxy({ config: { ...proxyConfig([{ name: 'short', url: srv.url }]), auto_disable_threshold: 2 } });
  try {
    const rec = await recordEvents(proxy, { headers: auth });
    await rec.until(isState('short', 'Login required'), 20000, 'short to need a login');
    assert.equal((await followLogin(await login(proxy, 'short'))).status, 200);
    const ready = await rec.until(isState('short', 'Ready'), 20000, 'short to be Ready');
    await eventually(async () => (await refreshes()) >= 1, 15000, 'a refresh while it works');

    // The MCP endpoint breaks: the restart fails twice and the server is auto-disabled.
    await fetch(`${srv.authUrl}/test/break`, { method: 'POST' });
    assert.equal((await api(proxy, 'POST', '/api/servers/short/restart')).status, 200);
    await rec.until((e) => isType('short', 'server_auto_disabled')(e) && e.seq > ready.seq, 20000, 'short auto-disabled');
    const before = await refreshes();
    // The subject is time passing: two refresh periods (6 s) with none.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(await refreshes(), before, 'no refresh while auto-disabled');

    // Mended and enabled: the overdue token is refreshed and the server is Ready.
    await fetch(`${srv.authUrl}/test/mend`, { method: 'POST' });
    const disabled = rec.events[rec.events.length - 1];
    assert.equal((await api(proxy, 'POST', '/api/servers/short/enable')).status, 200);
    await rec.until((e) => isState('short', 'Ready')(e) && e.seq > disabled.seq, 20000, 'short Ready once enabled');
    await eventually(async () => (await refreshes()) > before, 15000, 'refreshes again once enabled');
    await rec.close();
  } finally {
    await stopAll(proxy, srv);
  }
});
