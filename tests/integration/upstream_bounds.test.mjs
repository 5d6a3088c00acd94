// upstream_bounds.test.mjs - what one upstream server can make mcpproxy
// hold is bounded (the `upstream` settings max_queued_bytes, max_tool_pages,
// max_tool_list_bytes, max_tools, at their defaults here). A server past a
// bound ends in Error with a last_error naming the setting, while the proxy
// keeps answering and its memory stays far from what the server asked for:
//   - one that floods pings and never reads its stdin (our answers would
//     queue without end);
//   - one whose tools/list hands out a nextCursor forever, in small pages
//     and in large ones;
//   - one that lists more tools than max_tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, serverStatus } from './upstream_helpers.mjs';
import { rssKiB } from './security_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (file) => path.join(here, 'fixtures', file);
const node = (name, file, args = []) => ({ name, protocol: 'stdio', command: process.execPath, args: [fixture(file), ...args] });

// Far above what the bounds let a server make the proxy hold (8 MiB queued,
// 32 MiB of tool lists, parsed into a few times that), far below what the
// servers here asked for without them (gigabytes within a minute).
const RSS_GROWTH_LIMIT_KIB = 300 * 1024;

/**
 * Runs until the server `name` reaches Error or Ready (whichever comes
 * first) after the event numbered `afterSeq`, checking all along that
 * /healthz answers and the proxy's RSS stays within RSS_GROWTH_LIMIT_KIB of
 * where it started. Resolves with that event.
 */
async function watchUntilSettled(proxy, rec, name, afterSeq = 0) {
  const base = rssKiB(proxy.proc.pid);
  let settled = null;
  const settles = (e) => e.seq > afterSeq && (isState(name, 'Error')(e) || isState(name, 'Ready')(e));
  const done = rec.until(settles, 120000, `${name} to settle`)
    .then((e) => { settled = e; }, (err) => { settled = err; });
  let answered = 0;
  while (!settled) {
    const rss = rssKiB(proxy.proc.pid);
    assert.ok(rss - base < RSS_GROWTH_LIMIT_KIB, `RSS grew from ${base} to ${rss} KiB`);
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
    answered++;
    // Pacing between samples, not synchronization: the loop ends on the event.
    await new Promise((r) => setTimeout(r, 50));
  }
  await done;
  if (settled instanceof Error) throw settled;
  assert.ok(answered >= 1);
  assert.ok(rssKiB(proxy.proc.pid) - base < RSS_GROWTH_LIMIT_KIB);
  return settled;
}

/** The server ended in Error, its last_error naming `setting`; status agrees. */
async function assertFailedOn(proxy, end, name, setting) {
  assert.equal(end.new_state, 'Error', `${name} ended ${end.new_state}: ${JSON.stringify(end.data)}`);
  assert.match(end.data.last_error, new RegExp(`upstream\\.${setting}`), end.data.last_error);
  const st = await serverStatus(proxy, name);
  assert.match(st.last_error, new RegExp(`upstream\\.${setting}`));
  // auto_disable_threshold 1: the usual failure path, taken to its end.
  assert.equal(st.status, 'Auto-Disabled');
  assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
}

async function withServer(server, fn) {
  const proxy = await startProxy({ config: { auto_disable_threshold: 1, mcpServers: [server] } });
  try {
    const rec = await recordEvents(proxy);
    await fn(proxy, rec);
    await rec.close();
  } finally {
    const { code, signal } = await proxy.stop();
    assert.equal(signal, null);
    assert.equal(code, 0);
  }
}

test('a server that floods pings and never reads its stdin is failed at upstream.max_queued_bytes', async () => {
  await withServer(node('flood', 'ping_flood_server.mjs'), async (proxy, rec) => {
    // Ready first: the flood starts once its tools are listed.
    const ready = await rec.until(isState('flood', 'Ready'), 30000, 'flood Ready');
    const end = await watchUntilSettled(proxy, rec, 'flood', ready.seq);
    await assertFailedOn(proxy, end, 'flood', 'max_queued_bytes');
  });
});

test('a tools/list that never ends, in small pages, is failed at upstream.max_tool_pages', async () => {
  await withServer(node('endless', 'tool_list_server.mjs', ['--endless', '--tools', '1']), async (proxy, rec) => {
    const end = await watchUntilSettled(proxy, rec, 'endless');
    await assertFailedOn(proxy, end, 'endless', 'max_tool_pages');
  });
});

test('a tools/list that never ends, in large pages, is failed at upstream.max_tool_list_bytes', async () => {
  // 17 tools of 64 KiB to a page, about 1.1 MB: the byte bound comes after
  // some 30 pages and 500 tools, long before the page and tool bounds.
  const args = ['--endless', '--tools', '16', '--description-bytes', '65536'];
  await withServer(node('endless', 'tool_list_server.mjs', args), async (proxy, rec) => {
    const end = await watchUntilSettled(proxy, rec, 'endless');
    await assertFailedOn(proxy, end, 'endless', 'max_tool_list_bytes');
  });
});

test('a server with more tools than upstream.max_tools is failed, not truncated', async () => {
  // 10,000 tools and "control": one over the default bound.
  await withServer(node('many', 'tool_list_server.mjs', ['--tools', '10000', '--page-size', '1000']), async (proxy, rec) => {
    const end = await watchUntilSettled(proxy, rec, 'many');
    await assertFailedOn(proxy, end, 'many', 'max_tools');
    assert.equal((await serverStatus(proxy, 'many')).tool_count, 0, 'no part of the list is offered');
  });
});
