// realtime_burst.test.mjs - a client that reads as fast as it can loses
// nothing, whatever the burst: events arriving faster than one loop turn
// can queue (POSTs of 1,000 events, four times the per-client queue) go
// straight to the socket when the queue is full, and only a client whose
// socket is choked too drops events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady } from './harness.mjs';
import { publish, stats, makeEvents } from './realtime_helpers.mjs';

test('fast clients get every event of bursts larger than their queue', async () => {
  const proxy = await startProxy({ config: { websocket: { send_queue: 256 } } });
  try {
    const CLIENTS = 20, POSTS = 10, PER_POST = 1000;
    const clients = [];
    for (let i = 0; i < CLIENTS; i++) {
      const [c] = await connectReady(proxy, '/ws/events?types=tool_called');
      clients.push(c);
    }
    let last = 0;
    for (let p = 0; p < POSTS; p++) {
      const seqs = await publish(proxy, makeEvents(PER_POST, { tag: `burst${p}` }));
      last = seqs[seqs.length - 1];
    }
    // Every client sees the last event; none is told of a drop.
    await Promise.all(clients.map(async (c) => {
      for (;;) {
        const m = await c.next(30000);
        assert.notEqual(m.type, 'events_dropped', `dropped ${JSON.stringify(m)}`);
        if (m.seq === last) return;
      }
    }));
    for (const c of clients) {
      const events = c.messages.filter((m) => m.type === 'tool_called');
      assert.equal(events.length, POSTS * PER_POST);
    }
    const st = await stats(proxy);
    assert.equal(st.dropped, 0);
    assert.equal(st.clients_dropping, 0);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await proxy.stop();
  }
});
