// realtime_keepalive.test.mjs - pings, the pong timeout, the write timeout and
// the client message size limit, with the timings shrunk through the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady } from './harness.mjs';
import { publish, stats, makeEvents, waitForStats } from './realtime_helpers.mjs';

/** Resolves once the proxy counts `n` WebSocket clients (the stats say when
 *  a dropped client has been unregistered). */
const clientsAre = (proxy, n, ms) =>
  waitForStats(proxy, (s) => s.connections.total === n, ms, `${n} WebSocket clients`);

/** Why the proxy dropped a client: the peer gets no close frame to read it
 *  from, so the log is the only place that says. */
const closeReason = (proxy) =>
  proxy.waitForLog((e) => e.msg === 'WebSocket client closed', 10000, 'the "WebSocket client closed" log line');

test('the server pings every ping_interval_ms and an answering client stays connected', async () => {
  const proxy = await startProxy({ config: { websocket: { ping_interval_ms: 200, pong_timeout_ms: 1000 } } });
  try {
    const [c] = await connectReady(proxy, '/ws/events');
    // ws answers every ping with a pong by itself. Ten pings span about twice
    // the pong timeout, so a client that answers must outlive the timeout.
    const start = Date.now();
    let pings = 0;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${pings} pings in 15 s`)), 15000);
      c.ws.on('ping', () => { if (++pings === 10) { clearTimeout(timer); resolve(); } });
      c.ws.once('close', (code) => { clearTimeout(timer); reject(new Error(`closed with ${code} after ${pings} pings`)); });
    });
    assert.ok(Date.now() - start >= 1000, 'ten pings took at least the pong timeout');
    assert.equal(c.ws.readyState, c.ws.OPEN);
    const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
    assert.equal((await c.next()).seq, seq);
    await c.close();
  } finally {
    await proxy.stop();
  }
});

test('a client that stops answering is closed after pong_timeout_ms; others are unaffected', async () => {
  const proxy = await startProxy({ config: { websocket: { ping_interval_ms: 100, pong_timeout_ms: 600 } } });
  try {
    const [alive] = await connectReady(proxy, '/ws/events');
    const [silent] = await connectReady(proxy, '/ws/events');
    // Stop reading: the silent client's ws never sees the pings, so never pongs.
    silent.ws._socket.pause();
    await clientsAre(proxy, 1, 15000);
    assert.equal((await closeReason(proxy)).reason, 'pong timeout');
    // Once it reads again, the silent client finds its connection dropped
    // (no close frame: a silent peer is not waited for).
    silent.ws._socket.resume();
    const { code } = await silent.closed;
    assert.equal(code, 1006);
    // The answering client is still connected and served.
    assert.equal(alive.ws.readyState, alive.ws.OPEN);
    assert.equal((await stats(proxy)).connections.total, 1);
    const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
    assert.equal((await alive.next()).seq, seq);
    await alive.close();
  } finally {
    await proxy.stop();
  }
});

test('client messages are read and ignored, and count as liveness', async () => {
  const proxy = await startProxy({ config: { websocket: { ping_interval_ms: 60000, pong_timeout_ms: 800 } } });
  try {
    const [c] = await connectReady(proxy, '/ws/events');
    // No pings come (interval 60 s); only our own messages keep us alive.
    // Send for roughly three pong timeouts, then check we are still served.
    for (let i = 0; i < 12; i++) {
      c.ws.send(JSON.stringify({ hello: i }));
      await new Promise((r) => setTimeout(r, 200)); // pacing our own sends, not synchronization
    }
    assert.equal(c.ws.readyState, c.ws.OPEN);
    const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
    const m = await c.next();
    assert.equal(m.seq, seq, 'client text messages produce no reply');
    await c.close();
  } finally {
    await proxy.stop();
  }
});

test('a client message over max_message_bytes closes the client with 1009', async () => {
  const proxy = await startProxy({ config: { websocket: { max_message_bytes: 1024 } } });
  try {
    const [ok] = await connectReady(proxy, '/ws/events');
    ok.ws.send('a'.repeat(1000)); // under the limit: ignored
    const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
    assert.equal((await ok.next()).seq, seq);
    assert.equal(ok.ws.readyState, ok.ws.OPEN);

    const [big] = await connectReady(proxy, '/ws/events');
    big.ws.send('b'.repeat(4096));
    assert.equal((await big.closed).code, 1009);

    // A message split into small fragments counts as a whole.
    const [frag] = await connectReady(proxy, '/ws/events');
    for (let i = 0; i < 7; i++) frag.ws.send('c'.repeat(200), { fin: false });
    frag.ws.send('c'.repeat(200), { fin: true });
    assert.equal((await frag.closed).code, 1009);

    // The well-behaved client is untouched.
    const seq2 = await publish(proxy, { type: 'tool_called', server_name: 'x' });
    assert.equal((await ok.next()).seq, seq2);
    await ok.close();
  } finally {
    await proxy.stop();
  }
});

test('a write stuck for write_timeout_ms closes the client', async () => {
  const proxy = await startProxy({
    config: { websocket: { write_timeout_ms: 500, ping_interval_ms: 60000, pong_timeout_ms: 60000 } },
  });
  try {
    const [fast] = await connectReady(proxy, '/ws/events');
    const [stuck] = await connectReady(proxy, '/ws/events');
    stuck.ws._socket.pause();
    // Fill the kernel buffers towards the stuck client until its write stalls
    // long enough; the fast client keeps up between batches.
    let dropped = false;
    for (let i = 0; i < 400 && !dropped; i++) {
      const seqs = await publish(proxy, makeEvents(100, { pad: 4096 }));
      while ((await fast.next()).seq !== seqs[seqs.length - 1]) { /* drain */ }
      dropped = (await stats(proxy)).connections.total === 1;
    }
    await clientsAre(proxy, 1, 60000);
    assert.equal((await closeReason(proxy)).reason, 'write timeout');
    assert.equal(fast.ws.readyState, fast.ws.OPEN);
    stuck.ws.terminate();
    await fast.close();
  } finally {
    await proxy.stop();
  }
});
