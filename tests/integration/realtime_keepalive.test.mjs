// realtime_keepalive.test.mjs - pings, the pong timeout, the write timeout and
// the client message size limit, with the timings shrunk through the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady } from './harness.mjs';
import { publish, stats, makeEvents } from './realtime_helpers.mjs';

const unregistered = (e) => e.msg === 'WebSocket client unregistered';

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
    const closedLog = proxy.nextLog(unregistered, 15000, 'the silent client to be unregistered');
    const line = await closedLog;
    assert.equal(line.total_clients, 1);
    // If the close was logged with a reason, it names the timeout.
    const why = proxy.logs.find((e) => e.msg === 'WebSocket client closed' && e.reason);
    if (why) assert.match(why.reason, /pong|idle|silent/i);
    // Once it reads again, the silent client finds its connection closed.
    silent.ws._socket.resume();
    const { code } = await silent.closed;
    assert.notEqual(code, 1000);
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
    const gone = proxy.nextLog(unregistered, 60000, 'the stuck client to be unregistered');
    let unregisteredYet = false;
    gone.then(() => { unregisteredYet = true; }, () => {});
    // Fill the kernel buffers towards the stuck client until its write stalls
    // long enough; the fast client keeps up between batches.
    for (let i = 0; i < 400 && !unregisteredYet; i++) {
      const seqs = await publish(proxy, makeEvents(100, { pad: 4096 }));
      while ((await fast.next()).seq !== seqs[seqs.length - 1]) { /* drain */ }
    }
    const line = await gone;
    assert.equal(line.total_clients, 1);
    const why = proxy.logs.find((e) => e.msg === 'WebSocket client closed' && e.reason);
    if (why) assert.match(why.reason, /write/i);
    assert.equal(fast.ws.readyState, fast.ws.OPEN);
    stuck.ws.terminate();
    await fast.close();
  } finally {
    await proxy.stop();
  }
});
