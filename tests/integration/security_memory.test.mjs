// security_memory.test.mjs - what the event stream may hold, counted in
// bytes as well as in events: a large event sent to clients that do not
// read (one copy for all, not one each), the history ring's byte budget,
// each client's byte budget, the largest event accepted, the write timeout
// of SSE clients, and a large array published a slice per loop turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy, api, connectReady } from './harness.mjs';
import { rawWebSocket, rssKiB, tcpConnect } from './security_helpers.mjs';
import { publish, head, readUntil, waitForStats } from './realtime_helpers.mjs';

const MiB = 1024 * 1024;
const bigEvent = (bytes, tag = 'big') => ({ type: 'tool_called', server_name: 's', data: { tag, blob: 'x'.repeat(bytes) } });

test('a large event to 200 clients that never read costs about one copy, not one per client', async () => {
  const proxy = await startProxy({
    config: { limits: { max_body_bytes: 8 * MiB }, websocket: { max_event_bytes: 6 * MiB, send_queue_bytes: 32 * MiB } },
  });
  try {
    const clients = [];
    for (let i = 0; i < 200; i++) {
      const c = await rawWebSocket(proxy, '/ws/events');
      c.socket.pause(); // reads nothing more: the kernel's buffers fill, then the proxy's would
      clients.push(c);
    }
    const before = rssKiB(proxy.proc.pid);
    await publish(proxy, [bigEvent(4 * MiB)]);
    // Two round trips through the loop: every client's first writable
    // callback has run (they were all writable at once).
    await head(proxy);
    await head(proxy);
    const grew = rssKiB(proxy.proc.pid) - before;
    // One copy of the event is ~4 MiB (plus the request's body and JSON):
    // per client at most one 64 KiB chunk waits in the proxy. A copy per
    // client would be hundreds of MiB.
    assert.ok(grew < 80 * 1024, `RSS grew by ${grew} KiB`);
    for (const c of clients) c.socket.destroy();
  } finally {
    await proxy.stop();
  }
});

test('the history ring keeps at most websocket.history_bytes: an old resume point gets resync_required', async () => {
  const proxy = await startProxy({
    config: { limits: { max_body_bytes: 4 * MiB }, websocket: { history: 4096, history_bytes: 2 * MiB, max_event_bytes: 2 * MiB } },
  });
  try {
    const h = await head(proxy);
    const seqs = [];
    for (let i = 0; i < 6; i++) seqs.push(...await publish(proxy, [bigEvent(MiB / 2, `e${i}`)]));
    // 6 half-MiB events do not fit in 2 MiB: the first ones are gone, though
    // the ring has room for 4096 of them by count.
    const [old] = await connectReady(proxy, `/ws/events?since=${seqs[0] - 1}&epoch=${h.epoch}`);
    const first = await old.next();
    assert.equal(first.type, 'resync_required');
    old.close();
    // A resume point still held replays.
    const [recent] = await connectReady(proxy, `/ws/events?since=${seqs[4]}&epoch=${h.epoch}`);
    const replayed = await recent.next();
    assert.equal(replayed.seq, seqs[5]);
    recent.close();
  } finally {
    await proxy.stop();
  }
});

test('a client that does not read loses its oldest events past websocket.send_queue_bytes, and is told', async () => {
  const proxy = await startProxy({
    config: { limits: { max_body_bytes: 2 * MiB }, websocket: { send_queue: 256, send_queue_bytes: MiB, max_event_bytes: MiB } },
  });
  try {
    const stalled = await rawWebSocket(proxy, '/ws/events');
    stalled.socket.pause();
    // 80 events of 200 KiB: 16 MiB, far more than the kernel's buffers and
    // 1 MiB of queue take, and far fewer than the 256 events of the count.
    const seqs = [];
    for (let i = 0; i < 8; i++) seqs.push(...await publish(proxy, Array.from({ length: 10 }, (_, k) => bigEvent(200 * 1024, `${i}.${k}`))));
    const st = (await api(proxy, 'GET', '/api/realtime/stats')).json;
    assert.ok(st.dropped > 0, 'drops counted');
    assert.equal(st.clients_dropping, 1);
    stalled.socket.resume();
    const last = seqs[seqs.length - 1];
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('last event never came')), 20000);
      const check = () => {
        const texts = stalled.frames().filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()));
        if (texts.some((m) => m.seq === last)) { clearTimeout(t); resolve(); }
      };
      stalled.socket.on('data', check);
      check();
    });
    const msgs = stalled.frames().filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()));
    const notice = msgs.find((m) => m.type === 'events_dropped');
    assert.ok(notice && notice.count > 0, 'events_dropped told the client');
    stalled.socket.destroy();
  } finally {
    await proxy.stop();
  }
});

test('an event over websocket.max_event_bytes is refused with 413, and nothing of its array published', async () => {
  const proxy = await startProxy({ config: { websocket: { max_event_bytes: 64 * 1024 } } });
  try {
    const before = (await head(proxy)).seq;
    const res = await api(proxy, 'POST', '/api/events', [bigEvent(10), bigEvent(100 * 1024)]);
    assert.equal(res.status, 413);
    assert.match(res.json.error, /event 1: .*websocket\.max_event_bytes/);
    assert.equal((await head(proxy)).seq, before);
  } finally {
    await proxy.stop();
  }
});

test('an SSE client that stops reading is dropped after websocket.write_timeout_ms', async () => {
  const proxy = await startProxy({
    config: { limits: { max_body_bytes: 4 * MiB }, websocket: { write_timeout_ms: 1000, max_event_bytes: 2 * MiB, send_queue: 4096 } },
  });
  try {
    const s = await tcpConnect(proxy);
    s.pause(); // reads nothing: the kernel's buffers fill, then the stream waits
    s.write(`GET /events HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nAccept: text/event-stream\r\n\r\n`);
    await waitForStats(proxy, (st) => st.connections.sse === 1, 10000, 'the SSE client registered');
    // Far more than the kernel's buffers take (the client's send_queue
    // budget drops the rest): the stream is stuck.
    for (let i = 0; i < 40; i++) await publish(proxy, [bigEvent(MiB, `sse${i}`)]);
    // A paused socket cannot see the close: the proxy's count tells.
    const st = await waitForStats(proxy, (x) => x.connections.sse === 0, 20000, 'the stuck SSE client dropped');
    assert.ok(st.sse_dropped > 0, 'it had fallen behind first');
    s.destroy();
  } finally {
    await proxy.stop();
  }
});

test('a large array is published a slice at a time: other requests are answered in between', async () => {
  const proxy = await startProxy({ config: { limits: { max_body_bytes: 16 * MiB } } });
  try {
    const [watcher] = await connectReady(proxy, '/ws/events?types=tool_called');
    const events = Array.from({ length: 150000 }, (_, i) => ({ type: 'tool_called', server_name: 'bulk', data: { i } }));
    const body = JSON.stringify(events);
    const url = new URL(proxy.url);
    let answerStarted = false;
    const post = new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/api/events',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        answerStarted = true; // the status line is in: publishing is over
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    // An event of the array on the stream: publishing has begun.
    await readUntil(watcher, (m) => m.type === 'tool_called' && m.server_name === 'bulk', 30000);
    const health = await api(proxy, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(answerStarted, false, '/healthz was answered while the array was still being published');
    const res = await post;
    assert.equal(res.status, 200);
    assert.equal(res.json.seqs.length, events.length);
    assert.equal(res.json.seqs[events.length - 1] - res.json.seqs[0], events.length - 1);
    watcher.close();
  } finally {
    await proxy.stop();
  }
});
