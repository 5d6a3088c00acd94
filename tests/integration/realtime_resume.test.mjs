// realtime_resume.test.mjs - list-then-watch: since=SEQ&epoch=E replays from
// the history ring then goes live with no gap and no duplicate at the seam;
// unusable resume points get resync_required.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady, api } from './harness.mjs';
import { EPOCH_RE, publish, head, makeEvents, readUntil, assertRange } from './realtime_helpers.mjs';

let proxy;
before(async () => {
  proxy = await startProxy({ config: { websocket: { history: 512, send_queue: 256 } } });
});
after(async () => { await proxy?.stop(); });

const isEvent = (m) => typeof m.seq === 'number' && !['hello', 'resync_required', 'events_dropped'].includes(m.type);

test('list-then-watch: status seq + since replays what was missed, then live', async () => {
  const status = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(status.status, 200);
  const { seq: N, epoch: E } = status.json;
  assert.equal(typeof N, 'number');
  assert.match(E, EPOCH_RE);
  assert.ok(Array.isArray(status.json.servers));

  const missed = await publish(proxy, makeEvents(5, { tag: 'missed' }));
  assert.equal(missed[0], N + 1);
  const [c, hello] = await connectReady(proxy, `/ws/events?since=${N}&epoch=${E}`);
  assert.equal(hello.epoch, E);
  const live = await publish(proxy, makeEvents(5, { tag: 'live' }));
  const got = await c.take(10);
  assert.equal(got.some((m) => m.type === 'resync_required'), false);
  assertRange(got.map((m) => m.seq), N + 1, live[4]);
  await c.close();
});

test('a client that disconnects while events flow and resumes with since sees the exact sequence', async () => {
  const { epoch } = await head(proxy);
  const [a, helloA] = await connectReady(proxy, '/ws/events');
  const published = [];
  let stop = false;
  // A publisher that keeps going through the disconnect and the reconnect.
  const publisher = (async () => {
    for (let i = 0; !stop && i < 400; i++) {
      published.push(...await publish(proxy, makeEvents(5, { tag: `p${i}` })));
    }
  })();
  // Take some events live, then leave in the middle of the stream.
  await readUntil(a, (m) => isEvent(m) && m.seq >= helloA.seq + 50);
  await a.close();
  const seenA = a.messages.filter(isEvent).map((m) => m.seq);
  const lastA = seenA[seenA.length - 1];
  assertRange(seenA, helloA.seq + 1, lastA, 'first connection');

  // Resume from the last seq seen, while the publisher is still running.
  const [b, helloB] = await connectReady(proxy, `/ws/events?since=${lastA}&epoch=${epoch}`);
  assert.equal(helloB.epoch, epoch);
  stop = true;
  await publisher;
  const final = published[published.length - 1];
  assert.ok(final - lastA < 512, 'the test stays inside the history ring');
  await readUntil(b, (m) => m.seq === final);
  assert.equal(b.messages.some((m) => m.type === 'resync_required'), false);
  const seenB = b.messages.filter(isEvent).map((m) => m.seq);
  // Across the two connections: exactly the published sequence, once each.
  assertRange([...seenA, ...seenB], helloA.seq + 1, final, 'both connections');
  await b.close();
});

test('a stale epoch gets resync_required first, then the live stream', async () => {
  const { seq: headSeq, epoch } = await head(proxy);
  const stale = epoch === '0000000000000000' ? '1111111111111111' : '0000000000000000';
  const [c] = await connectReady(proxy, `/ws/events?since=1&epoch=${stale}`);
  const r = await c.next();
  assert.equal(r.type, 'resync_required');
  assert.equal(typeof r.reason, 'string');
  assert.ok(r.reason.length > 0);
  assert.equal(r.epoch, epoch);
  assert.equal(r.seq, headSeq);
  const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
  const next = await c.next();
  assert.equal(next.seq, seq, 'live continues right after the resync notice, no replay');
  assert.equal(next.seq, r.seq + 1);
  await c.close();
});

test('since ahead of the head gets resync_required', async () => {
  const { seq: headSeq, epoch } = await head(proxy);
  const [c] = await connectReady(proxy, `/ws/events?since=${headSeq + 100}&epoch=${epoch}`);
  const r = await c.next();
  assert.equal(r.type, 'resync_required');
  assert.equal(r.seq, headSeq);
  const seq = await publish(proxy, { type: 'tool_called', server_name: 'x' });
  assert.equal((await c.next()).seq, seq);
  await c.close();
});

test('since older than the ring gets resync_required; the oldest held point replays all', async () => {
  // Push the ring (512) well past its start.
  for (let i = 0; i < 4; i++) await publish(proxy, makeEvents(200, { tag: `fill${i}` }));
  const { seq: headSeq, epoch } = await head(proxy);
  const oldest = headSeq - 512 + 1;

  const [gone] = await connectReady(proxy, `/ws/events?since=${oldest - 2}&epoch=${epoch}`);
  const r = await gone.next();
  assert.equal(r.type, 'resync_required');
  assert.equal(r.seq, headSeq);
  await gone.close();

  // since = oldest - 1: seq `oldest` is still held, so everything replays,
  // more events than the send budget (256), none dropped.
  const [all] = await connectReady(proxy, `/ws/events?since=${oldest - 1}&epoch=${epoch}`);
  const got = await all.take(512);
  assert.equal(got.some((m) => m.type === 'resync_required' || m.type === 'events_dropped'), false);
  assertRange(got.map((m) => m.seq), oldest, headSeq);
  await all.close();
});

test('since without epoch is compared against the ring only', async () => {
  const { seq: headSeq } = await head(proxy);
  const seqs = await publish(proxy, makeEvents(3));
  const [c] = await connectReady(proxy, `/ws/events?since=${headSeq}`);
  assert.deepEqual((await c.take(3)).map((m) => m.seq), seqs);
  await c.close();
});

test('replay honours the filters', async () => {
  const { seq: headSeq, epoch } = await head(proxy);
  const seqs = await publish(proxy, [
    { type: 'tool_called', server_name: 'a' },
    { type: 'tools_updated', server_name: 'a' },
    { type: 'tool_called', server_name: 'b' },
    { type: 'tool_called', server_name: 'a' },
  ]);
  const [c] = await connectReady(proxy, `/ws/servers?server=a&types=tool_called&since=${headSeq}&epoch=${epoch}`);
  const live = await publish(proxy, { type: 'tool_called', server_name: 'a' });
  assert.deepEqual((await c.take(3)).map((m) => m.seq), [seqs[0], seqs[3], live]);
  await c.close();
});

test('a restarted proxy has a new epoch, and the old one gets resync_required', async () => {
  const { epoch: oldEpoch, seq: oldSeq } = await head(proxy);
  const other = await startProxy();
  try {
    const { epoch, seq } = await head(other);
    assert.notEqual(epoch, oldEpoch);
    assert.ok(seq < oldSeq, 'seqs start again in a new run');
    const [c] = await connectReady(other, `/ws/events?since=${seq}&epoch=${oldEpoch}`);
    const r = await c.next();
    assert.equal(r.type, 'resync_required');
    assert.equal(r.epoch, epoch);
    await c.close();
  } finally {
    await other.stop();
  }
});
