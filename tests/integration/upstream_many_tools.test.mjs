// upstream_many_tools.test.mjs - a server with 30,000 tools (upstream.max_tools
// raised to allow them; upstream_bounds.test.mjs has the default bound).
// The proxy becomes Ready with all of them, offers all of them on /mcp, and
// keeps answering while a list_changed re-lists them: the fixture holds the
// second page of that listing until told to go on, so the test knows the
// listing is under way when it asks. The new list is diffed by name (half
// the tools renamed: 15,000 added, 15,000 removed). Comparing the lists, and
// building /mcp's catalog with its name checks, once took time quadratic in
// the number of tools: a minute of frozen loop for one list_changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, serverStatus } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOOLS = 30000;
const server = {
  name: 'big', protocol: 'stdio', command: process.execPath,
  args: [path.join(here, 'fixtures', 'tool_list_server.mjs'), '--tools', String(TOOLS), '--page-size', '1000'],
};

test('30,000 tools: Ready with all of them, served while a list_changed re-lists them, diffed by name', async () => {
  const proxy = await startProxy({ config: { upstream: { max_tools: 40000 }, mcpServers: [server] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    // Generous: the whole listing, 31 pages, under ASan on a loaded machine.
    await rec.until(isState('big', 'Ready'), 60000, 'big Ready');
    assert.equal((await serverStatus(proxy, 'big')).tool_count, TOOLS + 1);
    mcp = (await mcpConnect(proxy)).client;
    let names = (await mcp.listTools()).tools.map((t) => t.name);
    assert.equal(names.length, TOOLS + 1);
    assert.ok(names.includes('big__t0_0') && names.includes(`big__s_${TOOLS - 1}`));

    const control = (action) => mcp.callTool({ name: 'big__control', arguments: { action } });
    await control('change');      // renames half the tools, sends list_changed
    await control('await_hold');  // the re-listing is past its first page
    // In the middle of the listing: the proxy answers, and offers the old list.
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
    const mid = await serverStatus(proxy, 'big');
    assert.equal(mid.state, 'Ready');
    assert.equal(mid.tool_count, TOOLS + 1);
    const seq = rec.events.at(-1).seq;
    await control('release');

    // Comparing 30,000 names with 30,000 pairwise took about a minute of
    // frozen loop; by hash it is milliseconds. The wait is generous for a
    // loaded machine under ASan, and far short of the quadratic minute.
    const updated = await rec.until((e) => isType('big', 'tools_updated')(e) && e.seq > seq, 30000, 'tools_updated');
    assert.equal(updated.data.tool_count, TOOLS + 1);
    assert.equal(updated.data.added, TOOLS / 2);
    assert.equal(updated.data.removed, TOOLS / 2);
    assert.equal((await api(proxy, 'GET', '/healthz')).status, 200);
    names = (await mcp.listTools()).tools.map((t) => t.name);
    assert.equal(names.length, TOOLS + 1);
    assert.ok(names.includes('big__t1_0') && !names.includes('big__t0_0'), 'the renamed tools are on offer');
    await rec.close();
  } finally {
    await mcp?.close();
    assert.equal((await proxy.stop()).code, 0);
  }
});
