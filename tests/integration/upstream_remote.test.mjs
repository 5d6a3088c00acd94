// upstream_remote.test.mjs - remote upstream servers (a `url` in the config):
// the npm `everything` server over Streamable HTTP and HTTP+SSE, `auto`
// falling back to SSE, and our own small HTTP server misbehaving on purpose
// (refused port, 401, 500, a stream cut mid-answer, a call never answered,
// a forgotten session, a cut GET stream). Each ends in a state and a
// last_error in plain words, and a stop leaves no connection open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, fastUpstream } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';
import { eventually } from './security_helpers.mjs';
import { startEverything, startFakeServer, freePort, selfSignedCert } from './remote_helpers.mjs';

const upstream = { ...fastUpstream, request_timeout_ms: 5000, stop_grace_ms: 500 };

async function withProxy(servers, fn, { mcp = {} } = {}) {
  const proxy = await startProxy({ config: { mcpServers: servers, upstream, mcp } });
  try {
    await fn(proxy);
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200, 'the proxy still serves');
  } finally {
    const { code, signal } = await proxy.stop();
    assert.equal(signal, null, `the proxy died by signal ${signal}`);
    assert.equal(code, 0);
  }
}

async function serverStatus(proxy, name) {
  const res = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(res.status, 200, res.text);
  return res.json.servers.find((s) => s.name === name);
}

/** Calls <server>__<tool> through /mcp with the SDK client. */
async function callTool(proxy, server, tool, args = {}) {
  const { client } = await mcpConnect(proxy);
  try {
    return await client.callTool({ name: `${server}__${tool}`, arguments: args }, undefined, { timeout: 20000 });
  } finally {
    await client.close();
  }
}

for (const [mode, protocol] of [['streamableHttp', 'streamable-http'], ['sse', 'sse'], ['sse', 'auto']]) {
  test(`everything over ${mode} as protocol ${protocol}: Ready, its tools on /mcp, a call answered; stop closes it`, async () => {
    const ev = await startEverything(mode);
    try {
      await withProxy([{ name: 'ev', url: ev.url, protocol, headers: { 'X-Api-Token': 'tok-secret-1' } }], async (proxy) => {
        const rec = await recordEvents(proxy);
        const ready = await rec.until(isState('ev', 'Ready'), 30000, 'ev to be Ready');
        assert.ok(ready.data.tool_count > 0, JSON.stringify(ready));
        const st = await serverStatus(proxy, 'ev');
        assert.equal(st.url, ev.url, 'the status shows the url where a command would be');
        assert.equal(st.command, undefined);
        assert.equal(st.pid, null);
        // Headers are secrets: masked in the API, kept in the file.
        const cfg = await api(proxy, 'GET', '/api/servers/ev');
        assert.equal(cfg.json.headers['X-Api-Token'], '***', cfg.text);
        assert.ok(!cfg.text.includes('tok-secret-1'));

        const { client } = await mcpConnect(proxy);
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === 'ev__echo'), tools.map((t) => t.name).join(','));
        const res = await client.callTool({ name: 'ev__echo', arguments: { message: `hi ${protocol}` } });
        assert.equal(res.content[0].text, `Echo: hi ${protocol}`);
        await client.close();
        if (protocol === 'auto') {
          const logs = await api(proxy, 'GET', '/api/servers/ev/logs');
          assert.ok(logs.json.lines.some((l) => /trying the HTTP\+SSE transport/.test(l)), logs.text);
        }
        // A disable closes the session: no connection of ours stays open.
        assert.equal((await api(proxy, 'POST', '/api/servers/ev/disable')).status, 200);
        await rec.until(isState('ev', 'Disconnected'), 10000, 'ev to be Disconnected');
        await rec.close();
        assert.ok(!JSON.stringify(proxy.logs).includes('tok-secret-1'), 'the header value never reaches the log');
      });
    } finally {
      await ev.stop();
    }
  });
}

test('a remote server that dies while Ready: its GET stream is cut, the proxy notices, Error in plain words, retries', async () => {
  const ev = await startEverything('streamableHttp');
  try {
    await withProxy([{ name: 'ev', url: ev.url, protocol: 'streamable-http' }], async (proxy) => {
      const rec = await recordEvents(proxy);
      const ready = await rec.until(isState('ev', 'Ready'), 30000, 'ev to be Ready');
      await ev.stop(); // SIGKILL: no goodbye
      const err = await rec.until((e) => isState('ev', 'Error')(e) && e.seq > ready.seq, 20000, 'ev to fail');
      assert.equal(err.data.last_error, `connection refused by 127.0.0.1:${ev.port}`);
      await rec.until((e) => isState('ev', 'Connecting')(e) && e.seq > err.seq, 20000, 'a retry');
      await rec.close();
    });
  } finally {
    await ev.stop();
  }
});

test('a refused port, a 401 and a 500 each end in Error with last_error in plain words', async () => {
  const refusedPort = await freePort();
  const unauth = await startFakeServer({ status401: true });
  const broken = await startFakeServer({ status500: true });
  try {
    await withProxy([
      { name: 'refused', url: `http://127.0.0.1:${refusedPort}/mcp` },
      { name: 'unauth', url: unauth.url, protocol: 'streamable-http' },
      { name: 'broken', url: broken.url, protocol: 'streamable-http' },
    ], async (proxy) => {
      const rec = await recordEvents(proxy);
      const refused = await rec.until(isState('refused', 'Error'), 20000, 'refused to fail');
      assert.equal(refused.data.last_error, `connection refused by 127.0.0.1:${refusedPort}`);
      const u = await rec.until(isState('unauth', 'Error'), 20000, 'unauth to fail');
      assert.match(u.data.last_error,
        new RegExp(`^HTTP 401 Unauthorized from ${unauth.url}: this server needs credentials \\(headers\\)`));
      const b = await rec.until(isState('broken', 'Error'), 20000, 'broken to fail');
      assert.match(b.data.last_error, /initialize failed: HTTP 500 Internal Server Error from .*: database is down/);
      // Retried with backoff like a stdio server, then auto-disabled.
      await rec.until(isType('refused', 'server_auto_disabled'), 20000, 'refused to be auto-disabled');
      const lost = rec.of('refused', 'connection_lost')[0];
      assert.equal(lost.data.url, `http://127.0.0.1:${refusedPort}/mcp`);
      await rec.close();
    });
  } finally {
    await unauth.close();
    await broken.close();
  }
});

test('TLS is verified by default; tls_skip_verify connects with a warning; a host that does not resolve fails in words', async () => {
  const fake = await startFakeServer({ tls: selfSignedCert() });
  try {
    await withProxy([
      { name: 'strict', url: fake.url, protocol: 'streamable-http' },
      { name: 'trusting', url: fake.url, protocol: 'streamable-http', tls_skip_verify: true },
      { name: 'nowhere', url: 'http://no-such-host.invalid/mcp', protocol: 'streamable-http' },
    ], async (proxy) => {
      const rec = await recordEvents(proxy);
      const strict = await rec.until(isState('strict', 'Error'), 20000, 'strict to fail');
      assert.match(strict.data.last_error, new RegExp(`^TLS with 127.0.0.1:${fake.port} failed: .*tls_skip_verify`));
      await rec.until(isState('trusting', 'Ready'), 20000, 'trusting to be Ready');
      assert.ok(proxy.logs.some((l) => l.level === 'warn' && /NOT verified/.test(l.msg) && l.server === 'trusting'),
        'tls_skip_verify is logged as a warning');
      const nowhere = await rec.until(isState('nowhere', 'Error'), 30000, 'nowhere to fail');
      assert.match(nowhere.data.last_error, /^cannot resolve the host of http:\/\/no-such-host\.invalid\/mcp \(DNS\)/);
      await rec.close();
    });
  } finally {
    await fake.close();
  }
});

for (const form of ['a JSON body', 'an event stream']) {
  test(`an answer past upstream.max_message_bytes as ${form} fails the server, naming the setting`, async () => {
    const fake = await startFakeServer({ bigList: 200000, sseAnswers: form === 'an event stream' });
    try {
      const proxy = await startProxy({
        config: { mcpServers: [{ name: 'big', url: fake.url }], upstream: { ...upstream, max_message_bytes: 65536 } },
      });
      try {
        const rec = await recordEvents(proxy);
        const e = await rec.until(isState('big', 'Error'), 20000, 'big to fail');
        assert.match(e.data.last_error, /passed upstream\.max_message_bytes \(65536 bytes\)/, e.data.last_error);
        await rec.close();
      } finally {
        assert.equal((await proxy.stop()).code, 0);
      }
    } finally {
      await fake.close();
    }
  });
}

test('a stream cut mid-answer ends in Error naming the cut', async () => {
  const fake = await startFakeServer({ cutList: true });
  try {
    await withProxy([{ name: 'cut', url: fake.url, protocol: 'streamable-http' }], async (proxy) => {
      const rec = await recordEvents(proxy);
      const e = await rec.until(isState('cut', 'Error'), 20000, 'cut to fail');
      assert.match(e.data.last_error, new RegExp(`the connection to 127.0.0.1:${fake.port} was cut`), e.data.last_error);
      await rec.close();
    });
  } finally {
    await fake.close();
  }
});

test('a call never answered times out, is cancelled at the server and its connection let go', async () => {
  const fake = await startFakeServer({ hangCall: true });
  try {
    await withProxy([{ name: 'slow', url: fake.url, protocol: 'streamable-http' }], async (proxy) => {
      const rec = await recordEvents(proxy);
      await rec.until(isState('slow', 'Ready'), 20000, 'slow to be Ready');
      await assert.rejects(callTool(proxy, 'slow', 'work'), (err) => {
        assert.equal(err.code, -32001, err.message); // timed out (docs/PROTOCOL.md)
        return true;
      });
      await eventually(() => fake.seen.cancelled.length === 1, 10000, 'notifications/cancelled');
      await eventually(() => fake.hanging() === 0, 10000, 'the hanging POST to be closed');
      assert.equal((await serverStatus(proxy, 'slow')).state, 'Ready', 'one unanswered call does not end the session');
      await rec.close();
    }, { mcp: { call_timeout_ms: 1500 } });
  } finally {
    await fake.close();
  }
});

test('a 404 on the session starts a new session at once (re-initialize, not a failure), with the session headers sent', async () => {
  const fake = await startFakeServer({ forgetOnCall: true });
  try {
    await withProxy([{ name: 'forget', url: fake.url, protocol: 'streamable-http', headers: { Authorization: 'Bearer t0k' } }], async (proxy) => {
      const rec = await recordEvents(proxy);
      await rec.until(isState('forget', 'Ready'), 20000, 'forget to be Ready');
      const after = fake.seen.requests.filter((r) => r.method === 'POST' && !r.body.includes('"initialize"'));
      assert.ok(after.length > 0);
      for (const r of after) {
        assert.equal(r.headers['mcp-session-id'], 'session-1');
        assert.equal(r.headers['mcp-protocol-version'], '2025-06-18');
        assert.equal(r.headers.authorization, 'Bearer t0k');
        assert.match(r.headers.accept, /application\/json/);
        assert.match(r.headers.accept, /text\/event-stream/);
      }
      const ready = rec.of('forget', 'server_state_changed').at(-1);
      await assert.rejects(callTool(proxy, 'forget', 'work'));
      // Not a failure: straight back to Connecting, a new session, Ready.
      const lost = await rec.until(isType('forget', 'connection_lost'), 20000, 'the session to be dropped');
      assert.equal(lost.data.session_lost, true);
      assert.match(lost.data.reason, /no longer knows the session \(HTTP 404\)/);
      const again = await rec.until((e) => isState('forget', 'Ready')(e) && e.seq > lost.seq, 20000, 'forget to be Ready again');
      const states = rec.of('forget', 'server_state_changed').filter((e) => e.seq > ready.seq && e.seq <= again.seq);
      assert.deepEqual(states.map((e) => e.new_state), ['Connecting', 'Discovering', 'Ready']);
      const st = await serverStatus(proxy, 'forget');
      assert.equal(st.failure_count, 0);
      assert.equal(st.last_error, null);
      assert.deepEqual(fake.seen.sessions, ['session-1', 'session-2']);
      await rec.close();
    });
  } finally {
    await fake.close();
  }
});

test('the GET stream: list_changed forwarded to /mcp clients, resumed with Last-Event-ID after a cut; answers as event streams', async () => {
  const fake = await startFakeServer({ getStream: true, sseAnswers: true });
  try {
    await withProxy([{ name: 'live', url: fake.url, protocol: 'streamable-http' }], async (proxy) => {
      const rec = await recordEvents(proxy);
      await rec.until(isState('live', 'Ready'), 20000, 'live to be Ready');
      // Its answer is a POST of its own, which may land after Ready.
      await eventually(() => fake.seen.pings > 0, 10000, 'the ping in an answer stream to be answered');
      await eventually(() => fake.getStreams() === 1, 10000, 'the GET stream');
      let changed = 0;
      const { client } = await mcpConnect(proxy, { onListChanged: () => { changed++; } });
      const res = await client.callTool({ name: 'live__work', arguments: {} });
      assert.equal(res.content[0].text, 'worked in session-1');
      fake.changeTools();
      await rec.until(isType('live', 'tools_updated', (e) => e.data.added === 1), 10000, 'the new tool');
      await eventually(() => changed > 0, 10000, 'list_changed on /mcp');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'live__extra1'));
      // A cut GET stream is opened again, from where it was.
      const lastId = fake.lastEventId();
      fake.cutGet();
      await eventually(() => fake.seen.getHeaders.length === 2 && fake.getStreams() === 1, 10000, 'the GET stream again');
      assert.equal(fake.seen.getHeaders[1]['last-event-id'], lastId);
      assert.equal(fake.seen.getHeaders[1]['mcp-session-id'], 'session-1');
      fake.changeTools();
      await rec.until(isType('live', 'tools_updated', (e) => e.data.tool_count === 3), 10000, 'the second new tool');
      await client.close();
      assert.equal((await serverStatus(proxy, 'live')).state, 'Ready');
      await rec.close();
    });
    // The proxy's stop DELETEd the session and closed every connection.
    assert.equal(fake.seen.deletes, 1);
    await eventually(() => fake.openSockets() === 0, 10000, 'no connection left open');
  } finally {
    await fake.close();
  }
});

test('a remote server saved through the API keeps its headers; a changed url restarts it', async () => {
  const a = await startFakeServer();
  const b = await startFakeServer();
  try {
    await withProxy([], async (proxy) => {
      const rec = await recordEvents(proxy);
      const add = await api(proxy, 'POST', '/api/servers', { name: 'r', url: a.url, headers: { 'X-K': 'v1' } });
      assert.equal(add.status, 201, add.text);
      assert.equal(add.json.protocol, 'auto');
      assert.equal(add.json.headers['X-K'], '***');
      await rec.until(isState('r', 'Ready'), 20000, 'r to be Ready');
      const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8')).mcpServers.find((s) => s.name === 'r');
      assert.deepEqual(saved.headers, { 'X-K': 'v1' });
      assert.equal(saved.tls_skip_verify, false);
      // A PATCH sending the mask back keeps the secret.
      const patch = await api(proxy, 'PATCH', '/api/servers/r', { url: b.url, headers: { 'X-K': '***' } });
      assert.equal(patch.status, 200, patch.text);
      const upd = await rec.until(isType('r', 'server_config_changed', (e) => e.data.action === 'updated'), 10000, 'the update');
      assert.deepEqual(upd.data.changed, ['url']);
      await eventually(() => b.seen.requests.length > 0 && b.seen.requests[0].headers['x-k'] === 'v1', 10000, 'r on b');
      await eventually(() => a.openSockets() === 0, 10000, 'a let go');
      const both = await api(proxy, 'POST', '/api/servers', { name: 'x', url: a.url, command: 'cat' });
      assert.equal(both.status, 400);
      assert.match(both.json.error, /exactly one of "command"/);
      await rec.close();
    });
  } finally {
    await a.close();
    await b.close();
  }
});
