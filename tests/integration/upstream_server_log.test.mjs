// upstream_server_log.test.mjs - what the dashboard's live views rely on:
// a server's stderr arrives as server_log events (bounded for a chatty
// server), state events carry the failure count the auto-disable counts,
// and every group change is one server_group_updated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, demo, fastUpstream } from './upstream_helpers.mjs';

test('stderr lines arrive as server_log events, in order, as they are written', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('talky', ['--stderr-lines', '3'])] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('talky', 'Ready'));
    const lines = () => rec.of('talky', 'server_log').flatMap((e) => e.data.lines);
    await rec.until(isType('talky', 'server_log', (e) => e.data.lines.some((l) => /initialized/.test(l))));
    const got = lines();
    assert.deepEqual(got.slice(0, 3), ['talky: stderr line 1 of 3', 'talky: stderr line 2 of 3', 'talky: stderr line 3 of 3']);
    // The logs API has the same lines.
    const logs = (await api(proxy, 'GET', '/api/servers/talky/logs')).json.lines;
    assert.deepEqual(logs.slice(0, got.length), got);
    for (const e of rec.of('talky', 'server_log')) assert.equal(e.data.skipped, undefined);
  } finally {
    await proxy.stop();
  }
});

test('a chatty server cannot flood the stream: 50 lines a second, the rest counted as skipped', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('chatty', ['--stderr-lines', '5000'])] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('chatty', 'Ready'));
    // The count of what was left out is told at the latest when the
    // process exits: restart it, and look at its first run.
    await api(proxy, 'POST', '/api/servers/chatty/restart');
    const stopped = await rec.until(isState('chatty', 'Disconnected'));
    const run = rec.of('chatty', 'server_log').filter((e) => e.seq < stopped.seq);
    const published = run.reduce((n, e) => n + e.data.lines.length, 0);
    const skipped = run.reduce((n, e) => n + (e.data.skipped || 0), 0);
    // Every line is accounted for: published, or counted as skipped.
    assert.ok(published + skipped >= 5000, `${published} published + ${skipped} skipped`);
    assert.ok(skipped >= 4000, `skipped ${skipped}`);
    // By the proxy's own timestamps, no second holds more than two budgets
    // (a second that is not aligned with the budget's spans two of them).
    const at = (e) => Date.parse(e.timestamp) + Number(e.timestamp.slice(23, 26)) / 1000;
    for (const e of run) {
      const inSecond = run.filter((x) => at(x) >= at(e) && at(x) < at(e) + 1000).reduce((n, x) => n + x.data.lines.length, 0);
      assert.ok(inSecond <= 100, `${inSecond} lines within a second of seq ${e.seq}`);
    }
    // Every line of the flood is still in the logs API (the last 1,000).
    const logs = (await api(proxy, 'GET', '/api/servers/chatty/logs')).json.lines;
    assert.equal(logs.length, 1000);
  } finally {
    await proxy.stop();
  }
});

test('state events carry the failure count that auto-disables, consistent with the status API', async () => {
  const proxy = await startProxy({
    config: { auto_disable_threshold: 3, upstream: fastUpstream, mcpServers: [{ name: 'nope', command: '/nonexistent/server' }] },
  });
  try {
    const rec = await recordEvents(proxy);
    const off = await rec.until(isType('nope', 'server_auto_disabled'));
    assert.equal(off.data.failure_count, 3);
    const errors = rec.of('nope', 'server_state_changed').filter((e) => e.new_state === 'Error');
    assert.deepEqual(errors.map((e) => e.data.failure_count), [1, 2, 3]);
    const s = (await api(proxy, 'GET', '/api/servers/nope')).json;
    assert.equal(s.failure_count, 3);
    assert.equal(s.status, 'Auto-Disabled');
  } finally {
    await proxy.stop();
  }
});

test('one server_group_updated per group action', async () => {
  const proxy = await startProxy({
    config: {
      upstream: fastUpstream,
      mcpServers: [demo('a', [], { group: 'g' }), demo('b', [], { group: 'g' }), demo('c', [], { group: 'h' })],
    },
  });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('c', 'Ready'));
    const groupEvents = () => rec.events.filter((e) => e.type === 'server_group_updated');
    const act = async (method, path, body, expect) => {
      const before = groupEvents().length;
      const res = await api(proxy, method, path, body);
      assert.equal(res.status, 200, res.text);
      // A marker published after the action: every event the action caused
      // is before it.
      const { seq } = (await api(proxy, 'POST', '/api/events', { type: 'app_state_changed', data: { marker: path } })).json;
      await rec.until((e) => e.seq === seq);
      const got = groupEvents().slice(before).map((e) => [e.data.group, e.data.enabled]);
      assert.deepEqual(got, expect, `${method} ${path}`);
    };
    await act('POST', '/api/groups/g/disable', undefined, [['g', false]]);
    await act('POST', '/api/groups/g/enable', undefined, [['g', true]]);
    await act('POST', '/api/groups/g/enable', undefined, [['g', true]]); // nothing moved: still said once
    await act('POST', '/api/groups', { name: 'h', servers: ['a'] }, [['g', true], ['h', true]]);
  } finally {
    await proxy.stop();
  }
});

test("a crash's last_error quotes the error, not the runtime's last line", async () => {
  // Node prints the error, a stack, and then its version: "Node.js v20...".
  const proxy = await startProxy({
    config: { auto_disable_threshold: 1, mcpServers: [{ name: 'nomod', command: process.execPath, args: ['/nonexistent/server.js'] }] },
  });
  try {
    const rec = await recordEvents(proxy);
    const err = await rec.until(isState('nomod', 'Error'));
    assert.match(err.data.last_error, /^exited with code 1: Error: Cannot find module '\/nonexistent\/server.js'/);
    const lost = await rec.until(isType('nomod', 'connection_lost'));
    assert.match(lost.data.stderr_tail, /Node\.js v\d+/, 'the whole tail is still in connection_lost');
  } finally {
    await proxy.stop();
  }
});
