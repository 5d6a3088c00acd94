// realtime_backpressure.test.mjs - a client that stops reading loses its oldest
// pending events and is told so; the publisher and a fast client in the same
// run are unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady } from './harness.mjs';
import { publish, stats, makeEvents, readUntil, assertRange } from './realtime_helpers.mjs';

const isDropLog = (e) => /drop/i.test(e.msg ?? '') && typeof e.event_type === 'string';

test('a slow client gets events_dropped while a fast client receives everything', async () => {
  const proxy = await startProxy({
    // Keep the stuck client connected: only the send budget is under test here.
    config: { websocket: { send_queue: 256, write_timeout_ms: 120000, ping_interval_ms: 120000, pong_timeout_ms: 120000 } },
  });
  try {
    const [fast, fastHello] = await connectReady(proxy, '/ws/events');
    const [slow, slowHello] = await connectReady(proxy, '/ws/events');
    slow.ws._socket.pause();

    // Batches of 200 (< the 256 budget); the fast client drains each batch
    // before the next, so only the slow one can fall behind.
    const BATCH = 200;
    const published = [];
    let slowest = 0;
    let dropping = false;
    for (let i = 0; i < 500 && !dropping; i++) {
      const t0 = Date.now();
      const seqs = await publish(proxy, makeEvents(BATCH, { pad: 1024, tag: `b${i}` }));
      slowest = Math.max(slowest, Date.now() - t0);
      published.push(...seqs);
      await readUntil(fast, (m) => m.seq === seqs[seqs.length - 1]);
      dropping = (await stats(proxy)).dropped > 0;
    }
    assert.ok(dropping, 'the slow client started losing events');
    // The drop is logged once, naming the type (the stats told the moment; the
    // log line is checked for what it says).
    const dropLine = await proxy.waitForLog(isDropLog, 10000, 'the dropped-events log line');
    assert.equal(dropLine.event_type, 'tool_called');
    // A couple more batches after drops began: the publisher still is not held up.
    for (let i = 0; i < 3; i++) {
      const seqs = await publish(proxy, makeEvents(BATCH, { pad: 1024, tag: `after${i}` }));
      published.push(...seqs);
      await readUntil(fast, (m) => m.seq === seqs[seqs.length - 1]);
    }
    const lastSeq = published[published.length - 1];
    if (process.env.MCPPROXY_TEST_VERBOSE) console.log(`published ${published.length} events before and after the first drop`);
    assert.ok(slowest < 5000, `a publish took ${slowest} ms`);

    // The fast client got every seq exactly once, in order, with no drop notice.
    const fastEvents = fast.messages.filter((m) => m.type === 'tool_called').map((m) => m.seq);
    assertRange(fastEvents, fastHello.seq + 1, lastSeq, 'fast client');
    assert.equal(fast.messages.some((m) => m.type === 'events_dropped'), false);

    const s = await stats(proxy);
    assert.ok(s.dropped > 0, 'stats count the drops');
    assert.ok(s.clients_dropping >= 1, 'stats count the dropping client');
    assert.ok(s.published >= published.length);

    // Let the slow client read again: it catches up to the newest event.
    slow.ws._socket.resume();
    await readUntil(slow, (m) => m.seq === lastSeq, 60000);
    const notices = slow.messages.filter((m) => m.type === 'events_dropped');
    if (process.env.MCPPROXY_TEST_VERBOSE) console.log(JSON.stringify(notices), slow.messages.length);
    assert.ok(notices.length >= 1, 'the slow client was told');
    const received = slow.messages.filter((m) => m.type === 'tool_called').map((m) => m.seq);
    // Strictly increasing: nothing twice, nothing out of order.
    for (let i = 1; i < received.length; i++) assert.ok(received[i] > received[i - 1], `order at ${i}`);
    // Every published event either arrived or is accounted for in a notice.
    const got = new Set(received);
    const missing = [];
    for (let seq = slowHello.seq + 1; seq <= lastSeq; seq++) if (!got.has(seq)) missing.push(seq);
    const reported = notices.reduce((n, m) => n + m.count, 0);
    assert.equal(reported, missing.length, 'notice counts add up to the events that never arrived');
    for (const n of notices) {
      assert.equal(Object.keys(n).sort().join(','), 'count,first_seq,last_seq,type');
      assert.ok(n.count >= 1 && n.first_seq <= n.last_seq && n.count <= n.last_seq - n.first_seq + 1, JSON.stringify(n));
    }
    for (const seq of missing) {
      assert.ok(notices.some((n) => n.first_seq <= seq && seq <= n.last_seq), `seq ${seq} missing without notice`);
    }
    // The notice comes before the events that follow the drop.
    const firstNotice = slow.messages.findIndex((m) => m.type === 'events_dropped');
    const afterNotice = slow.messages.slice(firstNotice + 1).find((m) => m.type === 'tool_called');
    assert.ok(afterNotice.seq > notices[0].last_seq);
    // The newest events are never the ones dropped.
    assert.ok(received.includes(lastSeq));
    assert.ok(s.dropped >= reported || (await stats(proxy)).dropped >= reported);

    await Promise.all([fast.close(), slow.close()]);
  } finally {
    await proxy.stop();
  }
});
