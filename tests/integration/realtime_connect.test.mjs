// realtime_connect.test.mjs - WebSocket connection lifecycle: hello, counting,
// endpoint validation before the upgrade, subprotocols, max_clients, churn.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startProxy, connect, connectReady, api } from './harness.mjs';
import {
  EPOCH_RE, stats, head, rawRequest, rawExchange, upgradeHeaders, fdCount, publish, waitForStats,
} from './realtime_helpers.mjs';

let proxy;
before(async () => { proxy = await startProxy({ config: { websocket: { max_clients: 50 } } }); });
after(async () => { if (proxy && proxy.proc.exitCode === null && proxy.proc.signalCode === null) await proxy.stop(); });

/** The `error` of a {"error": "..."} body (PROTOCOL.md: errors before the upgrade are JSON). */
function jsonError(res) {
  let body;
  try { body = JSON.parse(res.body); } catch {
    assert.fail(`expected a JSON {"error": ...} body (${res.headers['content-type']}): ${res.body.slice(0, 200)}`);
  }
  assert.equal(typeof body.error, 'string', res.body);
  return body.error;
}

/** Resolves once the proxy counts `n` WebSocket clients (the stats say when
 *  a client that went away has been unregistered). */
const clientsAre = (p, n, ms = 10000) =>
  waitForStats(p, (s) => s.connections.total === n, ms, `${n} WebSocket clients`);

test('hello comes first and names seq, epoch and version', async () => {
  const h = await head(proxy);
  const [client, hello] = await connectReady(proxy, '/ws/events');
  assert.equal(hello.type, 'hello');
  assert.equal(typeof hello.seq, 'number');
  assert.match(hello.epoch, EPOCH_RE);
  assert.equal(hello.epoch, h.epoch);
  assert.equal(hello.seq, h.seq, 'hello.seq is the head at registration (nothing published in between)');
  assert.equal(typeof hello.version, 'string');
  assert.match(hello.version, /^\d+\.\d+\.\d+/);
  await client.close();
});

test('a client is counted while connected and uncounted after it leaves', async () => {
  // The previous test's client may still be on its way out.
  const base = (await clientsAre(proxy, 0)).connections;
  const [client] = await connectReady(proxy, '/ws/events');
  // The hello is sent once the client is registered: it is counted now.
  let s = await stats(proxy);
  assert.equal(s.connections.total, 1);
  assert.equal(s.connections.ws_events, base.ws_events + 1);

  await client.close();
  s = await clientsAre(proxy, 0);
  assert.equal(s.connections.ws_events, base.ws_events);
});

test('connections are counted per endpoint', async () => {
  const base = await stats(proxy);
  const [a] = await connectReady(proxy, '/ws/events');
  const [b] = await connectReady(proxy, '/ws/servers?server=alpha');
  const [c] = await connectReady(proxy, '/ws/servers?server=beta');
  const s = await stats(proxy);
  assert.equal(s.connections.total, base.connections.total + 3);
  assert.equal(s.connections.ws_events, base.connections.ws_events + 1);
  assert.equal(s.connections.ws_servers, base.connections.ws_servers + 2);
  await Promise.all([a.close(), b.close(), c.close()]);
  const z = await clientsAre(proxy, base.connections.total);
  assert.deepEqual(z.connections, base.connections);
});

test('/ws/servers without a server name is 400 before any upgrade', async () => {
  for (const q of ['', '?server=', '?other=x']) {
    const res = await rawRequest(proxy, '/ws/servers' + q, upgradeHeaders());
    assert.equal(res.status, 400, `/ws/servers${q} answered ${res.status}`);
    assert.match(jsonError(res), /server/);
  }
  // And through a real client: the handshake fails with 400.
  const client = connect(proxy, '/ws/servers');
  await assert.rejects(client.opened, (e) => e.status === 400);
});

test('malformed query values are 400 naming the problem', async () => {
  const cases = [
    ['/ws/events?types=tool_called,bogus_type', /bogus_type/],
    ['/ws/events?since=abc', /since/],
    ['/ws/events?since=-5', /since/],
    ['/ws/events?batch=maybe', /batch/],
  ];
  for (const [path, re] of cases) {
    const res = await rawRequest(proxy, path, upgradeHeaders());
    assert.equal(res.status, 400, `${path} answered ${res.status}`);
    assert.match(jsonError(res), re, path);
  }
});

test('a refused upgrade is logged with its status and reason', async () => {
  // The log line is what this test is about (the operator's record of the
  // refusal). Earlier tests' refusals may still be in the stderr pipe: wait for this one's.
  const logged = proxy.waitForLog((e) => e.msg === 'WebSocket upgrade refused' && /nope_type/.test(e.reason), 10000, 'upgrade refused log');
  const res = await rawRequest(proxy, '/ws/events?types=nope_type', upgradeHeaders());
  assert.equal(res.status, 400);
  const line = await logged;
  assert.equal(line.status, 400);
  assert.match(line.reason, /nope_type/);
});

test('a plain GET without Upgrade is 426', async () => {
  for (const path of ['/ws/events', '/ws/servers?server=alpha']) {
    const res = await rawRequest(proxy, path, {});
    assert.equal(res.status, 426, `${path} answered ${res.status}`);
  }
});

test('a broken upgrade request is refused, never upgraded', async () => {
  const { hostname, port } = new URL(proxy.url);
  const hostHdr = `${hostname}:${port}`;
  const bad = [
    // No Sec-WebSocket-Key.
    `GET /ws/events HTTP/1.1\r\nHost: ${hostHdr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    // Not a WebSocket upgrade at all.
    `GET /ws/events HTTP/1.1\r\nHost: ${hostHdr}\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n`,
    // Wrong method.
    `POST /ws/events HTTP/1.1\r\nHost: ${hostHdr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n`,
  ];
  for (const req of bad) {
    const r = await rawExchange(proxy, req);
    // Refused either with a 4xx status line or by closing the connection
    // without a byte (lws does that for a missing key); never left hanging.
    const answered4xx = r.statusLine !== null && /^HTTP\/1\.[01] 4\d\d/.test(r.statusLine);
    const closedSilently = r.closed && r.raw === '';
    assert.ok(answered4xx || closedSilently,
      `${JSON.stringify(req.split('\r\n')[0])}: got ${JSON.stringify(r)}`);
  }
  // The server is still healthy afterwards.
  assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
});

// RFC 6455 4.2.2: a version the server does not speak gets 426 with the
// versions it does.
test('an unsupported Sec-WebSocket-Version is refused with 426 naming version 13', async () => {
  const res = await rawRequest(proxy, '/ws/events', upgradeHeaders({ 'Sec-WebSocket-Version': '99' }));
  assert.equal(res.status, 426);
  assert.equal(res.headers['sec-websocket-version'], '13');
});

test('no subprotocol is needed (a browser\'s plain new WebSocket(url))', async () => {
  const ws = new WebSocket(proxy.wsUrl + '/ws/events'); // no protocols argument
  const first = await new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  assert.equal(first.type, 'hello');
  assert.equal(ws.protocol, '');
  ws.close();
});

test('an unknown subprotocol offer is accepted without choosing it, or refused cleanly', async () => {
  // RFC 6455: the server may ignore protocols it does not speak. With ws, a
  // 101 that selects none of the offered protocols is a client-side error
  // ("Server sent no subprotocol"), so the raw handshake is checked too.
  const res = await rawRequest(proxy, '/ws/events', upgradeHeaders({ 'Sec-WebSocket-Protocol': 'x-unknown-proto' }));
  if (res.status === 101) {
    // Accepted: the server must not claim a protocol the client did not offer.
    const chosen = res.headers['sec-websocket-protocol'];
    assert.ok(chosen === undefined || chosen === 'x-unknown-proto', `server chose ${chosen}`);
  } else {
    assert.ok(res.status >= 400 && res.status < 500, `refused with ${res.status}`);
  }
  // Either way, the proxy still serves normal clients.
  const [c] = await connectReady(proxy, '/ws/events');
  await c.close();
});

test('max_clients: one more is refused with 503 before the upgrade', async () => {
  const small = await startProxy({ config: { websocket: { max_clients: 2 } } });
  try {
    const [a] = await connectReady(small, '/ws/events');
    const [b] = await connectReady(small, '/ws/servers?server=x');
    const res = await rawRequest(small, '/ws/events', upgradeHeaders());
    assert.equal(res.status, 503);
    const third = connect(small, '/ws/events');
    await assert.rejects(third.opened, (e) => e.status === 503);
    assert.equal((await stats(small)).connections.total, 2);
    // Room again once one leaves.
    await a.close();
    await clientsAre(small, 1);
    const [c] = await connectReady(small, '/ws/events');
    await Promise.all([b.close(), c.close()]);
  } finally {
    await small.stop();
  }
});

test('connect/disconnect churn leaves no client and no fd behind', async () => {
  const pid = proxy.proc.pid;
  // Warm up once so lazily created fds (e.g. the first accept) are counted in the baseline.
  const [w] = await connectReady(proxy, '/ws/events');
  await w.close();
  await clientsAre(proxy, 0);
  await publish(proxy, { type: 'tool_called', server_name: 'x' }); // settle
  const fdBefore = fdCount(pid);

  const CYCLES = 10000;
  const PARALLEL = 10;
  let done = 0;
  async function worker(i) {
    while (done < CYCLES) {
      done++;
      const path = i % 2 ? '/ws/events' : `/ws/servers?server=s${i}`;
      const [c] = await connectReady(proxy, path);
      // Half of them go away abruptly (TCP reset) instead of a close handshake.
      if (done % 2) c.ws.terminate(); else c.ws.close();
      await c.closed;
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, (_, i) => worker(i)));

  // Every cycle's client was registered (it got its hello) and is unregistered.
  const s = await clientsAre(proxy, 0, 60000);
  assert.equal(s.connections.ws_events, 0);
  assert.equal(s.connections.ws_servers, 0);
  // The proxy still delivers to a new client, and its fd table is back where it was.
  const [c] = await connectReady(proxy, '/ws/events');
  const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
  assert.equal((await c.next()).seq, seq);
  await c.close();
  await clientsAre(proxy, 0);
  assert.ok(fdCount(pid) <= fdBefore, `fds grew from ${fdBefore} to ${fdCount(pid)}`);
});

test('after all of the above the proxy exits 0 on SIGTERM (in the sanitizer build: nothing leaked)', async () => {
  const { code, signal } = await proxy.stop();
  const raw = proxy.logs.filter((e) => e.raw).map((e) => e.msg).slice(-20).join('\n');
  assert.equal(signal, null);
  assert.equal(code, 0, raw);
});
