// valgrind.test.mjs - a whole proxy session under valgrind: start, serve
// WebSocket clients (one resuming, one dropping its connection), publish,
// stop with SIGTERM. Any invalid access or leak makes valgrind exit 99.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, connectReady, api } from './harness.mjs';

const valgrind = ['valgrind', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
  '--show-leak-kinds=definite,indirect', '--track-fds=no', '--quiet'];

test('a session under valgrind has no memory errors and no leaks', { timeout: 180000 }, async () => {
  const proxy = await startProxy({ wrapper: valgrind, readyMs: 60000, config: { websocket: { ping_interval_ms: 100 } } });
  const [a, hello] = await connectReady(proxy, '/ws/events?batch=1');
  const [b] = await connectReady(proxy, '/ws/servers?server=demo&types=server_state_changed');
  const events = Array.from({ length: 50 }, (_, i) => ({ type: i % 2 ? 'server_state_changed' : 'tool_called', server_name: 'demo', data: { i } }));
  const { json } = await api(proxy, 'POST', '/api/events', events);
  assert.equal(json.seqs.length, 50);
  // Drain a: batches of arrays until the last seq arrives.
  const last = json.seqs[49];
  for (let seen = 0; seen < last;) {
    const m = await a.next(30000);
    if (Array.isArray(m)) seen = m[m.length - 1].seq;
  }
  b.ws.terminate(); // gone without a close frame
  const [c] = await connectReady(proxy, `/ws/events?since=${hello.seq}&epoch=${hello.epoch}`);
  assert.equal((await c.next(30000)).seq, hello.seq + 1);
  const { code, signal } = await proxy.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0, `valgrind exit code ${code}: see the proxy's stderr for the report`);
});
