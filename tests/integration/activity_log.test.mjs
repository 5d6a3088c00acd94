// activity_log.test.mjs - every /mcp call is a row of the activity log
// (the SQLite file beside the config): what a row holds (client, session,
// server, tool, arguments, outcome, error, duration, response size), the
// filters and pages of GET /api/activity, export as JSON Lines and CSV,
// `mcpproxy activity`, rows kept across a restart, and a proxy killed with
// SIGKILL in the middle of a burst of calls: the file opens clean and every
// row in it is whole. tool_called events keep flowing beside the log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, proxyBin } from './harness.mjs';
import { recordEvents, isState, demo, everythingArgs } from './upstream_helpers.mjs';
import { mcpConnect, mcpPost, jsonHeaders, rawInitialize } from './mcp_helpers.mjs';

const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-activity-home-'));
after(() => rmSync(home, { recursive: true, force: true }));

function run(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: home, MCPPROXY_API_KEY: '' } });
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`mcpproxy ${args.join(' ')}: still running\n${stderr}`)); }, 30000);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A CSV document (RFC 4180: quoted fields, "" for a quote) as rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  return rows;
}

test('activity log: rows, filters, pages, export, CLI, restart', async () => {
  let proxy = await startProxy({ config: { mcpServers: [demo('demo'), demo('other')] }, keepConfig: true });
  // The harness made the config: the database is next to it.
  const dbPath = path.join(path.dirname(proxy.configPath), 'mcpproxy.db');
  let mcp;
  try {
    assert.ok(existsSync(dbPath), 'mcpproxy.db beside the config file');
    assert.equal(statSync(dbPath).mode & 0o777, 0o600);
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    await rec.until(isState('other', 'Ready'));
    const before = Date.now();
    mcp = await mcpConnect(proxy);
    const { client, transport } = mcp;
    await client.callTool({ name: 'demo__add', arguments: { a: 2, b: 3 } });
    await client.callTool({ name: 'demo__echo', arguments: { text: 'needle, "quoted"\nline' } });
    const failed = await client.callTool({ name: 'demo__fail', arguments: { message: 'on purpose' } });
    assert.equal(failed.isError, true);
    await assert.rejects(client.callTool({ name: 'demo__nope', arguments: {} }), /unknown tool/);
    await client.callTool({ name: 'other__add', arguments: { a: 1, b: 1 } });
    // tool_called keeps flowing: one per call.
    await rec.until((e) => e.type === 'tool_called' && e.server_name === 'other');
    assert.equal(rec.events.filter((e) => e.type === 'tool_called').length, 5);

    let res = await api(proxy, 'GET', '/api/activity');
    assert.equal(res.status, 200);
    assert.equal(res.json.next_cursor, null);
    const rows = res.json.rows;
    assert.equal(rows.length, 5);
    assert.deepEqual(rows.map((r) => `${r.server}/${r.tool}/${r.outcome}`),
      ['other/add/ok', 'demo/nope/error', 'demo/fail/error', 'demo/echo/ok', 'demo/add/ok']);
    const add = rows[4];
    assert.equal(add.client_name, 'mcpproxy-test');
    assert.equal(add.session_id, transport.sessionId);
    assert.equal(add.method, 'tools/call');
    assert.deepEqual(add.arguments, { a: 2, b: 3 });
    assert.equal(add.arguments_truncated, false);
    assert.equal(add.error, null);
    assert.ok(add.response_bytes > 10, `response_bytes ${add.response_bytes}`);
    assert.ok(Number.isInteger(add.duration_ms) && add.duration_ms >= 0);
    const ts = Date.parse(add.timestamp);
    assert.ok(ts >= before - 1000 && ts <= Date.now(), add.timestamp);
    assert.match(rows[2].error, /on purpose/);
    assert.match(rows[1].error, /unknown tool "demo__nope"/);
    assert.equal(rows[1].response_bytes, 0);

    // Filters.
    const ids = async (q) => {
      const r = await api(proxy, 'GET', `/api/activity?${q}`);
      assert.equal(r.status, 200, r.text);
      return r.json.rows.map((x) => x.id);
    };
    assert.deepEqual(await ids('server=other'), [rows[0].id]);
    assert.deepEqual(await ids('server=demo&tool=add'), [add.id]);
    assert.deepEqual(await ids('outcome=error'), [rows[1].id, rows[2].id]);
    assert.deepEqual(await ids('q=needle'), [rows[3].id]);
    assert.deepEqual(await ids('q=on%20purpose'), [rows[2].id]);
    assert.deepEqual(await ids(`since=${encodeURIComponent(rows[1].timestamp)}&until=${Date.parse(rows[0].timestamp)}`),
      rows.filter((r) => Date.parse(r.timestamp) >= Date.parse(rows[1].timestamp) && Date.parse(r.timestamp) < Date.parse(rows[0].timestamp)).map((r) => r.id));
    assert.deepEqual(await ids('until=2000-01-01T00:00:00Z'), []);
    // Pages: two, two, one.
    res = await api(proxy, 'GET', '/api/activity?limit=2');
    assert.deepEqual(res.json.rows.map((r) => r.id), [rows[0].id, rows[1].id]);
    res = await api(proxy, 'GET', `/api/activity?limit=2&cursor=${res.json.next_cursor}`);
    assert.deepEqual(res.json.rows.map((r) => r.id), [rows[2].id, rows[3].id]);
    res = await api(proxy, 'GET', `/api/activity?limit=2&cursor=${res.json.next_cursor}`);
    assert.deepEqual(res.json.rows.map((r) => r.id), [add.id]);
    assert.equal(res.json.next_cursor, null);
    // Mistakes say what to fix.
    for (const [q, re] of [['outcome=maybe', /outcome must be ok or error/], ['since=yesterday', /RFC 3339/],
      ['limit=0', /limit must be/], ['limit=1001', /limit must be/], ['cursor=-3', /cursor/]]) {
      res = await api(proxy, 'GET', `/api/activity?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(res.json.error, re);
    }
    res = await api(proxy, 'POST', '/api/activity', {});
    assert.equal(res.status, 405);

    // Export: JSON Lines and CSV, the same rows.
    res = await api(proxy, 'GET', '/api/activity/export?format=jsonl&server=demo');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/jsonl/);
    const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, rows.filter((r) => r.server === 'demo'));
    res = await api(proxy, 'GET', '/api/activity/export?format=csv');
    assert.match(res.headers.get('content-type'), /^text\/csv/);
    const csv = parseCsv(res.text);
    const header = csv[0];
    assert.deepEqual(header.slice(0, 3), ['id', 'timestamp', 'session_id']);
    assert.equal(csv.length, 6);
    const echoRow = Object.fromEntries(header.map((h, i) => [h, csv[4][i]]));
    assert.equal(echoRow.tool, 'echo');
    assert.deepEqual(JSON.parse(echoRow.arguments), { text: 'needle, "quoted"\nline' });
    res = await api(proxy, 'GET', '/api/activity/export?format=xml');
    assert.equal(res.status, 400);

    // The command line.
    const url = ['--url', proxy.url];
    let out = await run(['activity', ...url]);
    assert.equal(out.code, 0, out.stderr);
    const printed = out.stdout.trimEnd().split('\n');
    assert.match(printed[0], /^TIME\s+SERVER\s+TOOL\s+OUTCOME/);
    assert.equal(printed.length, 6);
    assert.match(printed[1], /demo\s+add\s+ok\s+\d+\s+mcpproxy-test/); // oldest first
    assert.match(printed[3], /demo\s+fail\s+error.*on purpose/);
    out = await run(['activity', ...url, '--outcome', 'error', '--json']);
    assert.equal(out.code, 0);
    assert.deepEqual(JSON.parse(out.stdout).rows.map((r) => r.id), [rows[1].id, rows[2].id]);
    out = await run(['activity', ...url, '--limit', '2']);
    assert.equal(out.stdout.trimEnd().split('\n').length, 3);
    assert.match(out.stderr, /--cursor \d+/);
    out = await run(['activity', ...url, '--export', 'jsonl', '--tool', 'add']);
    assert.equal(out.code, 0);
    assert.deepEqual(out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id), [rows[0].id, add.id]);
    out = await run(['activity', ...url, '--outcome', 'maybe']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--outcome is ok or error/);
    out = await run(['activity', ...url, '--since', 'yesterday']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /RFC 3339/);

    // A restart keeps every row.
    await mcp.client.close();
    mcp = null;
    rec.close();
    const { code } = await proxy.stop();
    assert.equal(code, 0);
    proxy = await startProxy({ configPath: proxy.configPath, keepConfig: true });
    res = await api(proxy, 'GET', '/api/activity');
    assert.deepEqual(res.json.rows, rows);
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
    rmSync(path.dirname(dbPath), { recursive: true, force: true });
  }
});

test('activity log: kill -9 in the middle of a burst leaves a file that opens clean, with whole rows', async () => {
  let proxy = await startProxy({ config: { mcpServers: [demo('demo')] }, keepConfig: true });
  const configPath = proxy.configPath;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const session = await rawInitialize(proxy, '2025-03-26'); // a version that takes batches
    await mcpPost(proxy, { jsonrpc: '2.0', method: 'notifications/initialized' }, jsonHeaders(session));
    // Batches of 20 calls, sent back to back without waiting, until the
    // process is gone.
    let sent = 0;
    let stop = false;
    const big = 'x'.repeat(3000);
    let refused = null;
    const pump = (async () => {
      while (!stop) {
        const batch = [];
        for (let i = 0; i < 20; i++) batch.push({ jsonrpc: '2.0', id: ++sent, method: 'tools/call', params: { name: 'demo__echo', arguments: { text: big, n: sent } } });
        let res;
        try { res = await mcpPost(proxy, batch, jsonHeaders(session, { 'mcp-protocol-version': '2025-03-26' })); } catch { return; }
        if (res.status !== 200) { refused = res; return; }
      }
    })();
    await Promise.race([
      rec.until(() => rec.events.filter((e) => e.type === 'tool_called').length >= 200, 30000, '200 tool_called'),
      pump.then(() => { if (refused) throw new Error(`batch refused: ${refused.status} ${refused.text}`); }),
    ]);
    proxy.proc.kill('SIGKILL');
    const { signal } = await proxy.exited;
    stop = true;
    await pump;
    assert.equal(signal, 'SIGKILL');

    proxy = await startProxy({ configPath, keepConfig: true }); // opening runs the integrity check
    const res = await api(proxy, 'GET', '/api/activity/export?format=jsonl');
    assert.equal(res.status, 200);
    const rows = res.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.ok(rows.length >= 100, `${rows.length} rows survived`);
    assert.ok(rows.length <= sent);
    for (const r of rows) {
      assert.equal(r.tool, 'echo');
      assert.equal(r.server, 'demo');
      assert.equal(r.outcome, 'ok');
      assert.equal(r.client_name, 'raw');
      assert.equal(r.arguments_truncated, false);
      assert.equal(r.arguments.text, big);
      assert.ok(r.response_bytes > 3000);
    }
    assert.equal(new Set(rows.map((r) => r.arguments.n)).size, rows.length);
  } finally {
    await proxy.stop();
    rmSync(path.dirname(configPath), { recursive: true, force: true });
  }
});

test('activity log: a large export streams page by page, and a client that leaves mid-export costs nothing', async () => {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo')] } });
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    const session = await rawInitialize(proxy, '2025-03-26');
    const big = 'y'.repeat(3000);
    let id = 0;
    for (let b = 0; b < 12; b++) {
      const batch = Array.from({ length: 100 }, () => ({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'demo__echo', arguments: { text: big, n: id } } }));
      const res = await mcpPost(proxy, batch, jsonHeaders(session, { 'mcp-protocol-version': '2025-03-26' }));
      assert.equal(res.status, 200);
    }
    // Every row, newest first, across pages of the stream.
    const res = await api(proxy, 'GET', '/api/activity/export?format=jsonl');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="activity.jsonl"');
    const ns = res.text.trimEnd().split('\n').map((l) => JSON.parse(l).arguments.n);
    assert.deepEqual(ns, Array.from({ length: 1200 }, (_, i) => 1200 - i));
    const limited = await api(proxy, 'GET', '/api/activity/export?format=csv&limit=700');
    assert.equal(limited.text.trimEnd().split('\r\n').length, 701); // the header and 700 rows
    const head = await fetch(`${proxy.url}/api/activity/export?format=csv`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type'), /^text\/csv/);

    // A client that reads the first bytes and leaves.
    const abort = new AbortController();
    const stream = await fetch(`${proxy.url}/api/activity/export`, { signal: abort.signal });
    const reader = stream.body.getReader();
    const first = await reader.read();
    assert.ok(first.value.length > 0);
    abort.abort();
    await assert.rejects(reader.read());
    // The proxy goes on, and the next export is whole.
    const again = await api(proxy, 'GET', '/api/activity/export?limit=3');
    assert.equal(again.text.trimEnd().split('\n').length, 3);
    rec.close();
    const { code } = await proxy.stop();
    assert.equal(code, 0);
  } finally {
    await proxy.stop();
  }
});

test('activity log: prompts/get and resources/read are rows too, named by prompt and URI', async () => {
  const everything = { name: 'everything', command: process.execPath, args: everythingArgs };
  const proxy = await startProxy({ config: { mcpServers: [everything] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('everything', 'Ready'), 30000);
    mcp = await mcpConnect(proxy);
    const got = await mcp.client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Paris', state: 'TX' } });
    assert.ok(got.messages.length > 0);
    const read = await mcp.client.readResource({ uri: 'demo://resource/dynamic/text/2' });
    assert.ok(read.contents.length > 0);
    await assert.rejects(mcp.client.readResource({ uri: 'demo://resource/dynamic/text/nope' }));
    const rows = (await api(proxy, 'GET', '/api/activity?server=everything')).json.rows;
    const prompt = rows.find((r) => r.method === 'prompts/get');
    assert.equal(prompt.tool, 'args-prompt');
    assert.deepEqual(prompt.arguments, { city: 'Paris', state: 'TX' });
    assert.equal(prompt.outcome, 'ok');
    assert.equal(prompt.client_name, 'mcpproxy-test');
    assert.ok(prompt.response_bytes > 0);
    const reads = rows.filter((r) => r.method === 'resources/read');
    assert.deepEqual(reads.map((r) => [r.tool, r.outcome]),
      [['demo://resource/dynamic/text/nope', 'error'], ['demo://resource/dynamic/text/2', 'ok']]);
    assert.ok(reads[0].error);
    // No tool_called for them: that event is about tools.
    assert.equal(rec.events.filter((e) => e.type === 'tool_called').length, 0);
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
  }
});
