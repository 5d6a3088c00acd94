// realtime_sse.test.mjs - GET /events, the event stream as Server-Sent
// Events: the same hello, filters and resume as the WebSocket endpoints,
// ids that are seqs, Last-Event-ID resume, a clean end on shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';

/** Opens /events with fetch and parses SSE messages as they arrive. */
async function openStream(proxy, query = '', headers = {}) {
  const controller = new AbortController();
  const res = await fetch(`${proxy.url}/events${query}`, { headers, signal: controller.signal });
  const messages = [];
  const waiters = [];
  let ended = false;
  const done = (async () => {
    if (!res.ok) return;
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk, { stream: true });
        let sep;
        while ((sep = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, sep);
          buf = buf.slice(sep + 2);
          if (block.startsWith(':')) continue; // keep-alive comment
          const msg = { id: null, data: null };
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) msg.id = line.slice(4);
            if (line.startsWith('data: ')) msg.data = JSON.parse(line.slice(6));
          }
          messages.push(msg);
          for (const w of [...waiters]) w();
        }
      }
    } catch (err) {
      if (err.name !== 'AbortError') throw err;
    }
    ended = true;
    for (const w of [...waiters]) w();
  })();
  return {
    res, messages, done,
    get ended() { return ended; },
    /** Resolves when pred holds for the messages so far. */
    until(pred, ms = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(messages)) { clearTimeout(timer); waiters.splice(waiters.indexOf(check), 1); resolve(messages); }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out; got ${JSON.stringify(messages.map((m) => m.data))}`));
        }, ms);
        waiters.push(check);
        check();
      });
    },
    close() { controller.abort(); return done; },
  };
}

const hasSeq = (seq) => (ms) => ms.some((m) => m.data && m.data.seq === seq);

test('hello first, then events whose SSE id is their seq, filtered like the WebSocket', async () => {
  const proxy = await startProxy();
  try {
    const all = await openStream(proxy);
    const some = await openStream(proxy, '?types=server_state_changed&server=alpha');
    assert.equal(all.res.status, 200);
    assert.match(all.res.headers.get('content-type'), /^text\/event-stream/);
    await all.until((ms) => ms.length >= 1);
    await some.until((ms) => ms.length >= 1);
    const hello = all.messages[0];
    assert.equal(hello.data.type, 'hello');
    assert.equal(hello.id, null, 'control messages carry no id');
    const { json } = await api(proxy, 'POST', '/api/events', [
      { type: 'tool_called', server_name: 'alpha' },
      { type: 'state_change', server_name: 'alpha' }, // legacy alias: matches the canonical filter
      { type: 'server_state_changed', server_name: 'beta' },
    ]);
    await all.until(hasSeq(json.seqs[2]));
    await some.until(hasSeq(json.seqs[1]));
    const events = all.messages.slice(1);
    assert.deepEqual(events.map((m) => m.data.seq), json.seqs);
    assert.deepEqual(events.map((m) => m.id), json.seqs.map(String));
    assert.deepEqual(some.messages.slice(1).map((m) => m.data.seq), [json.seqs[1]]);
    assert.equal((await api(proxy, 'GET', '/api/realtime/stats')).json.connections.sse, 2);
    await all.close();
    await some.close();
  } finally {
    await proxy.stop();
  }
});

test('Last-Event-ID (and since=) resume with exactly the missed events; a stale epoch gets resync_required', async () => {
  const proxy = await startProxy();
  try {
    const first = await api(proxy, 'POST', '/api/events', [{ type: 'tool_called' }, { type: 'tool_called' }]);
    const seen = first.json.seqs[0];
    const missed = await api(proxy, 'POST', '/api/events', [{ type: 'tools_updated' }, { type: 'tool_called' }]);
    const expected = [first.json.seqs[1], ...missed.json.seqs];
    const last = expected[expected.length - 1];

    const byHeader = await openStream(proxy, '', { 'Last-Event-ID': String(seen) });
    await byHeader.until(hasSeq(last));
    assert.deepEqual(byHeader.messages.filter((m) => m.id).map((m) => m.data.seq), expected);

    const byQuery = await openStream(proxy, `?since=${seen}`);
    await byQuery.until(hasSeq(last));
    assert.deepEqual(byQuery.messages.filter((m) => m.id).map((m) => m.data.seq), expected);

    const stale = await openStream(proxy, `?since=${seen}&epoch=0000000000000000`);
    await stale.until((ms) => ms.length >= 2);
    assert.equal(stale.messages[1].data.type, 'resync_required');
    assert.equal(stale.messages.filter((m) => m.id).length, 0, 'nothing replayed after a resync');
    await Promise.all([byHeader.close(), byQuery.close(), stale.close()]);
  } finally {
    await proxy.stop();
  }
});

test('bad queries are 400 with a JSON error; the stream ends cleanly on shutdown after Stopping', async () => {
  const proxy = await startProxy();
  const bad = await api(proxy, 'GET', '/events?types=nope');
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /unknown event type "nope"/);
  const badId = await api(proxy, 'GET', '/events', undefined, { 'Last-Event-ID': 'abc' });
  assert.equal(badId.status, 400);
  const post = await api(proxy, 'POST', '/events', {});
  assert.equal(post.status, 405);

  const stream = await openStream(proxy);
  await stream.until((ms) => ms.length >= 1);
  const { code } = await proxy.stop('SIGTERM');
  assert.equal(code, 0);
  await stream.done;
  assert.ok(stream.ended, 'the response ended');
  const last = stream.messages[stream.messages.length - 1].data;
  assert.equal(last.type, 'app_state_changed');
  assert.equal(last.new_state, 'Stopping');
});

test('with an api_key, /events needs it', async () => {
  const proxy = await startProxy({ config: { api_key: 'sse-secret' } });
  try {
    assert.equal((await api(proxy, 'GET', '/events')).status, 401);
    const stream = await openStream(proxy, '?apikey=sse-secret');
    assert.equal(stream.res.status, 200);
    await stream.until((ms) => ms.length >= 1);
    assert.equal(stream.messages[0].data.type, 'hello');
    await stream.close();
  } finally {
    await proxy.stop();
  }
});

test('a client that does not read loses events past its budget and is told with events_dropped', async () => {
  const proxy = await startProxy({ config: { websocket: { send_queue: 4, history: 4096 } } });
  try {
    // Raw fetch, body left unread: the socket's buffers fill, then the proxy's queue.
    const res = await fetch(`${proxy.url}/events`);
    assert.equal(res.status, 200);
    const pad = 'p'.repeat(1024);
    let published = [];
    const isDropLog = (e) => e.msg === 'SSE client too slow, dropping event';
    // Publish until the first drop. SSE drops are counted nowhere but the log
    // (the stats count WebSocket clients), and the client must not read yet.
    for (let i = 0; i < 400 && !proxy.logs.some(isDropLog); i++) {
      const { json } = await api(proxy, 'POST', '/api/events',
        Array.from({ length: 100 }, () => ({ type: 'tool_called', data: { pad } })));
      published = published.concat(json.seqs);
    }
    const dropLine = await proxy.waitForLog(isDropLog, 10000, 'the SSE drop log line');
    assert.equal(dropLine.event_type, 'tool_called');
    // One more event after the drops: it is preceded by the notice.
    const { json } = await api(proxy, 'POST', '/api/events', { type: 'tools_updated', data: { marker: true } });
    // Now read everything up to the marker.
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes(`"seq":${json.seq},`)) break;
    }
    const datas = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    const notices = datas.filter((d) => d.type === 'events_dropped');
    assert.ok(notices.length >= 1, 'told of the drops');
    const received = datas.filter((d) => d.seq && d.type !== 'hello').map((d) => d.seq);
    const dropped = notices.reduce((n, d) => n + d.count, 0);
    const expected = published.length + 1;
    // Every published event was either received or counted as dropped.
    assert.equal(received.filter((s) => s >= published[0]).length + dropped, expected);
    assert.equal(received[received.length - 1], json.seq);
  } finally {
    await proxy.stop();
  }
});
