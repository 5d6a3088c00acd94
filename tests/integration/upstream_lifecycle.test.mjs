// upstream_lifecycle.test.mjs - real MCP servers through their whole life:
// Connecting → Discovering → Ready with the right tool count, tool-list
// changes, crashes with retries and auto-disable, stderr kept per server, and
// the status API agreeing with what the WebSocket stream said.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import {
  recordEvents, isState, isType, status, serverStatus, demo, fastUpstream, everythingArgs, listToolsDirect,
} from './upstream_helpers.mjs';

test('server-everything from npm reaches Ready with the tool count tools/list gives', async () => {
  const expected = await listToolsDirect('node', everythingArgs);
  assert.ok(expected.length > 0);
  const proxy = await startProxy({
    config: { mcpServers: [{ name: 'everything', command: 'node', args: everythingArgs }] },
  });
  try {
    const rec = await recordEvents(proxy);
    const ready = await rec.until(isState('everything', 'Ready'), 30000, 'everything Ready');
    assert.equal(ready.data.tool_count, expected.length);
    // The order of the first connection, as the stream told it.
    const states = rec.of('everything', 'server_state_changed').map((e) => [e.old_state, e.new_state]);
    assert.deepEqual(states, [['Disconnected', 'Connecting'], ['Connecting', 'Discovering'], ['Discovering', 'Ready']]);
    const est = await rec.until(isType('everything', 'connection_established'));
    assert.equal(est.data.protocol_version, '2025-11-25');
    assert.equal(est.data.server_info.name, 'mcp-servers/everything');
    const tu = await rec.until(isType('everything', 'tools_updated'));
    assert.equal(tu.data.tool_count, expected.length);

    const s = await serverStatus(proxy, 'everything');
    assert.equal(s.status, 'Ready');
    assert.equal(s.state, 'Ready');
    assert.equal(s.tool_count, expected.length);
    assert.equal(s.last_error, null);
    assert.match(s.connected_since, /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof s.pid, 'number');

    const tools = await api(proxy, 'GET', '/api/servers/everything/tools');
    assert.equal(tools.status, 200);
    assert.deepEqual(tools.json.tools.map((t) => t.name).sort(), expected.map((t) => t.name).sort());
    // The original tool objects, schemas included.
    assert.deepEqual(tools.json.tools.find((t) => t.name === expected[0].name), expected[0]);
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('pagination, list_changed → tools_updated, stderr lines kept per server', async () => {
  const proxy = await startProxy({
    config: {
      mcpServers: [demo('paged', ['--page-size', '1', '--tools-change-every', '0.3', '--stderr-lines', '3'])],
    },
  });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('paged', 'Ready'));
    // 4 base tools one per page: all of them listed.
    assert.equal((await serverStatus(proxy, 'paged')).tool_count >= 4, true);
    const added = await rec.until(isType('paged', 'tools_updated', (e) => e.data.added === 1), 10000, 'a tool added');
    const removed = await rec.until(isType('paged', 'tools_updated', (e) => e.data.removed === 1), 10000, 'a tool removed');
    assert.equal(added.data.tool_count, 5);
    assert.equal(removed.data.tool_count, 4);
    const logs = await api(proxy, 'GET', '/api/servers/paged/logs');
    assert.equal(logs.status, 200);
    assert.ok(logs.json.lines.length >= 3, logs.text);
    const tail = await api(proxy, 'GET', '/api/servers/paged/logs?tail=1');
    assert.equal(tail.json.lines.length, 1);
    assert.equal((await api(proxy, 'GET', '/api/servers/nope/logs')).status, 404);
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('a crashing server: connection_lost → retries → server_auto_disabled, and status agrees', async () => {
  const proxy = await startProxy({
    config: { upstream: fastUpstream, auto_disable_threshold: 3, mcpServers: [demo('crashy', ['--crash-after', '0.2'])] },
  });
  try {
    const rec = await recordEvents(proxy);
    const disabled = await rec.until(isType('crashy', 'server_auto_disabled'), 30000, 'auto-disable');
    assert.equal(disabled.data.failure_count, 3);
    assert.match(disabled.data.reason, /3 consecutive failures/);
    assert.match(disabled.data.reason, /exited with code 3/);

    // In order: lost, Error, Connecting (a retry), ..., the third lost, auto-disabled.
    const mine = rec.events.filter((e) => e.server_name === 'crashy' &&
      ['connection_lost', 'server_auto_disabled', 'server_state_changed'].includes(e.type));
    const seq = mine.map((e) => (e.type === 'server_state_changed' ? e.new_state : e.type));
    const lostAt = seq.map((x, i) => (x === 'connection_lost' ? i : -1)).filter((i) => i >= 0);
    assert.ok(lostAt.length >= 2, seq.join(' '));
    for (let k = 0; k + 1 < lostAt.length; k++) {
      const between = seq.slice(lostAt[k], lostAt[k + 1]);
      assert.deepEqual(between.slice(0, 3), ['connection_lost', 'Error', 'Connecting'], seq.join(' '));
    }
    assert.deepEqual(seq.slice(-3), ['connection_lost', 'Error', 'server_auto_disabled'], seq.join(' '));
    const lost = rec.of('crashy', 'connection_lost').at(-1);
    assert.equal(lost.data.exit_code, 3);
    assert.match(lost.data.stderr_tail, /crashing on purpose/);
    // Retries carry their count.
    const retries = rec.of('crashy', 'server_state_changed').filter((e) => e.new_state === 'Connecting' && e.data.retry_count > 0);
    assert.ok(retries.length >= 1);

    const st = await status(proxy);
    const s = st.servers.find((x) => x.name === 'crashy');
    assert.equal(s.status, 'Auto-Disabled');
    assert.equal(s.state, rec.of('crashy', 'server_state_changed').at(-1).new_state);
    assert.equal(s.failure_count, 3);
    assert.match(s.last_error, /exited with code 3/);
    assert.equal(s.pid, null);
    assert.ok(st.seq >= disabled.seq);

    // Enabling it again gives it a fresh start.
    const from = rec.events.length;
    const res = await api(proxy, 'POST', '/api/servers/crashy/enable');
    assert.equal(res.status, 200, res.text);
    await rec.until((e) => rec.events.indexOf(e) >= from && isState('crashy', 'Connecting')(e), 10000, 'restart after enable');
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('a failing handshake and a missing command are errors with a reason', async () => {
  const proxy = await startProxy({
    config: {
      upstream: fastUpstream,
      auto_disable_threshold: 2,
      mcpServers: [
        demo('nohand', ['--fail-handshake']),
        { name: 'missing', command: '/nonexistent/server-binary' },
      ],
    },
  });
  try {
    const rec = await recordEvents(proxy);
    const d1 = await rec.until(isType('nohand', 'server_auto_disabled'), 20000, 'nohand auto-disabled');
    assert.match(d1.data.reason, /initialize failed/);
    const d2 = await rec.until(isType('missing', 'server_auto_disabled'), 20000, 'missing auto-disabled');
    assert.match(d2.data.reason, /not found/);
    const s = await serverStatus(proxy, 'missing');
    assert.equal(s.status, 'Auto-Disabled');
    assert.match(s.last_error, /\/nonexistent\/server-binary/);
    rec.close();
  } finally {
    await proxy.stop();
  }
});

test('the status API matches the stream at its seq (list-then-watch)', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('one'), demo('two', [], { enabled: false })] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('one', 'Ready'));
    const st = await status(proxy);
    const byName = Object.fromEntries(st.servers.map((s) => [s.name, s]));
    assert.equal(byName.one.status, 'Ready');
    assert.equal(byName.two.status, 'Disabled');
    assert.equal(byName.two.state, 'Disconnected');
    // Everything the stream said about "one" up to st.seq ends in the listed state.
    const last = rec.events.filter((e) => e.seq <= st.seq && isType('one', 'server_state_changed')(e)).at(-1);
    assert.equal(last.new_state, byName.one.state);
    rec.close();
  } finally {
    await proxy.stop();
  }
});
