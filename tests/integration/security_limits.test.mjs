// security_limits.test.mjs - the configurable limits (config
// `limits`): header size, body size, connections in total and per client
// address, handshake timeout, idle keep-alive timeout. Exceeding one gets
// the right status (or an immediate close) and a log line; the proxy keeps
// serving. The log lines are part of that contract (docs/SECURITY.md), so
// these tests wait for them; no event or API reports a refused connection.
// Timeouts use >= 2000 ms (libwebsockets counts whole seconds) and are
// checked against generous deadlines that the 10 s / 15 s defaults would
// miss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, api } from './harness.mjs';
import { rawRequest, tcpConnect, untilClosed, fdCount, eventually } from './security_helpers.mjs';
import { waitForLogCount } from './realtime_helpers.mjs';

const limits = (over) => ({
  max_header_bytes: 8192, max_body_bytes: 4194304, max_connections: 2048, max_connections_per_address: 512,
  handshake_timeout_ms: 10000, keepalive_timeout_ms: 15000, ...over,
});

const isWarn = (e) => e.level === 'warn' || e.level === 'error';

// libwebsockets 4.1 drops a request whose headers overflow its header
// buffer before any callback can answer it, so the contract is: no answer,
// the connection closed, and a log line that names the limit (SECURITY.md).
test('headers over limits.max_header_bytes close the connection unanswered and are logged', async () => {
  const proxy = await startProxy({ config: { limits: limits({ max_header_bytes: 2048 }) } });
  try {
    // Logged (SECURITY.md): lws closes before any answer, so only the log says why.
    const logged = proxy.nextLog((e) => isWarn(e) && e.msg === 'request headers too large: connection closed' &&
      e.limit === 'limits.max_header_bytes', 10000, 'a log line about the header');
    let outcome;
    try {
      outcome = `status ${(await rawRequest(proxy, 'GET', '/healthz', { headers: { 'X-Big': 'b'.repeat(4000) } })).status}`;
    } catch (err) {
      outcome = 'closed';
    }
    assert.equal(outcome, 'closed');
    await logged;
    const ok = await rawRequest(proxy, 'GET', '/healthz', { headers: { 'X-Small': 's'.repeat(1000) } });
    assert.equal(ok.status, 200, 'a request under the limit still passes');
  } finally {
    await proxy.stop();
  }
});

test('bodies over limits.max_body_bytes get 413 on the API and on /mcp, with a log line', async () => {
  const proxy = await startProxy({ config: { limits: limits({ max_body_bytes: 4096 }) } });
  try {
    const big = JSON.stringify({ type: 'tools_updated', data: { x: 'y'.repeat(8000) } });
    for (const p of ['/api/events', '/api/servers', '/mcp']) {
      // The 413 is the answer; the log line (SECURITY.md) is checked alongside it.
      const logged = proxy.nextLog((e) => isWarn(e) && e.msg === 'request body too large' && e.status === 413 &&
        e.path === p, 10000, `a log line for ${p}`);
      const res = await rawRequest(proxy, 'POST', p, { body: big, headers: { Accept: 'application/json, text/event-stream' } });
      assert.equal(res.status, 413, `${p}: ${res.status} ${res.text}`);
      await logged;
    }
    // chunked: no Content-Length to refuse early, the count must still stop it
    const url = new URL(proxy.url);
    const s = await tcpConnect(proxy);
    s.write(`POST /api/events HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
      'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    const chunk = 'z'.repeat(1024);
    for (let i = 0; i < 8; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    s.write('0\r\n\r\n');
    const answer = (await untilClosed(s, 15000)).toString();
    assert.ok(answer === '' || /^HTTP\/1\.1 (413|411|400)/.test(answer), `chunked answer: ${answer.slice(0, 200)}`);
    // a body under the limit still works
    const small = await api(proxy, 'POST', '/api/events', { type: 'tools_updated' });
    assert.equal(small.status, 200, small.text);
  } finally {
    await proxy.stop();
  }
});

/** Opens n raw connections from localAddress; resolves once all are connected. */
async function openMany(proxy, n, localAddress = '127.0.0.1') {
  const url = new URL(proxy.url);
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port), localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  })));
}

/** Whether the server closes a fresh connection (that sent a request) at once. */
async function refusedAtOnce(proxy, localAddress = '127.0.0.1') {
  const [s] = await openMany(proxy, 1, localAddress);
  s.on('error', () => {});
  s.write(`GET /healthz HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nConnection: close\r\n\r\n`);
  const got = (await untilClosed(s, 10000)).toString();
  return !/^HTTP\/1\.1 200/.test(got);
}

test('connections over limits.max_connections_per_address are closed at once and logged; other addresses pass', async () => {
  const proxy = await startProxy({ config: { limits: limits({ max_connections_per_address: 20 }) } });
  try {
    const held = await openMany(proxy, 20);
    // A refused connection gets no answer: the log says why (SECURITY.md).
    const logged = proxy.nextLog((e) => e.msg === 'connection refused' && typeof e.reason === 'string', 10000,
      '"connection refused" with a reason');
    assert.ok(await refusedAtOnce(proxy), 'the 21st connection from 127.0.0.1 must be refused');
    const line = await logged;
    assert.match(line.reason, /address|per/i, JSON.stringify(line));
    assert.ok(!(await refusedAtOnce(proxy, '127.0.0.2')), 'another address is not affected');
    for (const s of held) s.destroy();
    await eventually(async () => !(await refusedAtOnce(proxy)), 10000, 'a slot to free up once the 20 are closed');
  } finally {
    await proxy.stop();
  }
});

test('connections over limits.max_connections are closed at once and logged', async () => {
  const proxy = await startProxy({ config: { limits: limits({ max_connections: 10 }) } });
  try {
    const held = [...await openMany(proxy, 5, '127.0.0.1'), ...await openMany(proxy, 5, '127.0.0.3')];
    // A refused connection gets no answer: the log says why (SECURITY.md).
    const logged = proxy.nextLog((e) => e.msg === 'connection refused' && typeof e.reason === 'string', 10000);
    assert.ok(await refusedAtOnce(proxy, '127.0.0.4'), 'the 11th connection must be refused, whatever its address');
    await logged;
    for (const s of held) s.destroy();
    await eventually(async () => !(await refusedAtOnce(proxy)), 10000, 'a slot to free up');
  } finally {
    await proxy.stop();
  }
});

test('half-open and slowloris clients are dropped after limits.handshake_timeout_ms', async () => {
  const proxy = await startProxy({ config: { limits: limits({ handshake_timeout_ms: 2000 }) } });
  try {
    const baseline = fdCount(proxy.proc.pid);
    const url = new URL(proxy.url);
    const half = await tcpConnect(proxy);
    half.write('GET /ws/events HTTP/1.1\r\nHost: ');
    const idle = await tcpConnect(proxy); // sends nothing at all
    const slow = await tcpConnect(proxy);
    slow.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n`);
    const drip = setInterval(() => { if (!slow.destroyed) slow.write('X-Drip: 1\r\n'); }, 300);
    const started = Date.now();
    try {
      await Promise.all([untilClosed(half, 9000), untilClosed(idle, 9000), untilClosed(slow, 9000)]);
    } finally {
      clearInterval(drip);
    }
    assert.ok(Date.now() - started < 9000);
    // Each of the three was logged as closed for want of a request in time
    // (the peers only see a close; the reason is in the log).
    await waitForLogCount(proxy, (e) => isWarn(e) && e.msg === 'connection closed: no complete request in time' &&
      e.limit === 'limits.handshake_timeout_ms', 3, 10000, 'handshake-timeout log lines');
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
    await eventually(() => fdCount(proxy.proc.pid) <= baseline, 10000, 'fds back to the baseline');
  } finally {
    await proxy.stop();
  }
});

test('an idle keep-alive HTTP connection is closed after limits.keepalive_timeout_ms', async () => {
  const proxy = await startProxy({ config: { limits: limits({ keepalive_timeout_ms: 2000, handshake_timeout_ms: 10000 }) } });
  try {
    const url = new URL(proxy.url);
    const s = await tcpConnect(proxy);
    const closed = untilClosed(s, 12000);
    s.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`);
    const got = (await closed).toString();
    assert.match(got, /^HTTP\/1\.1 200/, 'the request itself was answered');
    // The client saw the close; the log (SECURITY.md) names the limit and the idle time.
    const line = await proxy.waitForLog((e) => e.msg === 'idle keep-alive connection closed', 10000, 'the keep-alive log line');
    assert.equal(line.limit, 'limits.keepalive_timeout_ms');
    assert.ok(line.idle_ms >= 2000, `idle ${line.idle_ms} ms`);
  } finally {
    await proxy.stop();
  }
});
