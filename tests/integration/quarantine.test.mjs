// quarantine.test.mjs - what is new or changed waits for approval: a server
// added through the API starts Quarantined (running, its tools listed for
// review, none offered through /mcp or callable) until it is approved
// through the API or `mcpproxy servers approve`; servers present at the
// first start are trusted; approvals survive a restart; a tool whose
// description and input schema an upstream changes at run time is held
// (not offered, calls refused, the API shows old and new) until approved
// again. Events: server_quarantined, tool_changed, server_approved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { startProxy, api, proxyBin } from './harness.mjs';
import { recordEvents, isState, isType, demo, everythingArgs } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const on = { new_servers: true, changed_tools: true };

function run(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: '/nonexistent', MCPPROXY_API_KEY: '' } });
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`still running: ${stderr}`)); }, 30000);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const toolNames = async (client) => (await client.listTools()).tools.map((t) => t.name);

test('a server added through the API is quarantined until approved (API and CLI); approvals survive a restart', async () => {
  let proxy = await startProxy({ config: { quarantine: on, mcpServers: [demo('demo')] }, keepConfig: true });
  let mcp;
  try {
    let rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    mcp = await mcpConnect(proxy);
    // Present at the first start: trusted.
    assert.ok((await toolNames(mcp.client)).includes('demo__add'));

    assert.equal((await api(proxy, 'POST', '/api/servers', demo('added'))).status, 201);
    const quarantined = await rec.until(isType('added', 'server_quarantined'));
    assert.equal(quarantined.data.severity, 'warning');
    assert.match(quarantined.data.reason, /new server/);
    // Started, its tools listed for review ...
    const review = await api(proxy, 'GET', '/api/servers/added/tools');
    assert.ok(review.json.tools.some((t) => t.name === 'add'));
    const detail = (await api(proxy, 'GET', '/api/servers/added')).json;
    assert.equal(detail.status, 'Ready');
    assert.equal(detail.quarantined, true);
    const statuses = (await api(proxy, 'GET', '/api/servers/status')).json.servers;
    assert.deepEqual(statuses.map((s) => [s.name, s.quarantined]), [['demo', false], ['added', true]]);
    const table = await run(['status', '--url', proxy.url]);
    assert.match(table.stdout, /^added\s+Quarantined\s+4 /m);
    assert.match(table.stdout, /^demo\s+Ready\s+4 /m);
    // ... but nothing offered or callable.
    assert.ok(!(await toolNames(mcp.client)).some((n) => n.startsWith('added__')));
    await assert.rejects(mcp.client.callTool({ name: 'added__add', arguments: { a: 1, b: 2 } }),
      /server "added" is quarantined .*mcpproxy servers approve added/);
    const listed = await api(proxy, 'GET', '/api/quarantine');
    assert.deepEqual(listed.json.servers.map((s) => s.name), ['added']);

    // Approved through the API: offered and callable.
    const approved = await api(proxy, 'POST', '/api/servers/added/approve');
    assert.equal(approved.status, 200);
    assert.deepEqual(approved.json, { server: 'added', status: 'approved', tool_count: 4 });
    const approvedEvent = await rec.until(isType('added', 'server_approved'));
    assert.equal(approvedEvent.data.severity, 'info');
    assert.ok((await toolNames(mcp.client)).includes('added__add'));
    assert.equal((await mcp.client.callTool({ name: 'added__add', arguments: { a: 1, b: 2 } })).structuredContent.sum, 3);
    assert.deepEqual((await api(proxy, 'GET', '/api/quarantine')).json, { servers: [], tools: [] });
    assert.equal((await api(proxy, 'GET', '/api/servers/added')).json.quarantined, false);

    // Through the command line.
    assert.equal((await api(proxy, 'POST', '/api/servers', demo('second'))).status, 201);
    await rec.until(isType('second', 'server_quarantined'));
    const out = await run(['servers', 'approve', 'second', '--url', proxy.url]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'second: approved\n');
    await rec.until(isType('second', 'server_approved'));
    assert.ok((await toolNames(mcp.client)).includes('second__echo'));
    const missing = await run(['servers', 'approve', 'ghost', '--url', proxy.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no server named "ghost"/);
    assert.equal((await api(proxy, 'GET', '/api/servers/demo/approve')).status, 405);

    // A restart keeps the approvals (the file is the record).
    await mcp.client.close();
    mcp = null;
    rec.close();
    await proxy.stop();
    proxy = await startProxy({ configPath: proxy.configPath, keepConfig: true });
    rec = await recordEvents(proxy);
    for (const s of ['demo', 'added', 'second']) await rec.until(isState(s, 'Ready'));
    mcp = await mcpConnect(proxy);
    const after = await toolNames(mcp.client);
    for (const n of ['demo__add', 'added__add', 'second__add']) assert.ok(after.includes(n), `${n} in ${after}`);
    assert.equal(rec.events.filter((e) => e.type === 'server_quarantined').length, 0);

    // A server whose command line changes is a new server.
    assert.equal((await api(proxy, 'PATCH', '/api/servers/second', { args: ['--name', 'second', '--stderr-lines', '1'] })).status, 200);
    await rec.until(isType('second', 'server_quarantined'));
    assert.ok(!(await toolNames(mcp.client)).includes('second__add'));
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
    rmSync(path.dirname(proxy.configPath), { recursive: true, force: true });
  }
});

test('a tool whose definition changes at run time is held until approved again; the API shows old and new', async () => {
  const changing = { name: 'changing', command: process.execPath, args: [path.join(here, 'fixtures', 'changing_server.mjs')] };
  const proxy = await startProxy({ config: { quarantine: on, mcpServers: [changing] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('changing', 'Ready'));
    mcp = await mcpConnect(proxy);
    assert.deepEqual(await toolNames(mcp.client), ['changing__greet', 'changing__control']);
    assert.equal((await mcp.client.callTool({ name: 'changing__greet', arguments: { name: 'ann' } })).content[0].text, 'hello ann');

    await mcp.client.callTool({ name: 'changing__control', arguments: { action: 'change' } });
    const changed = await rec.until(isType('changing', 'tool_changed'));
    assert.equal(changed.data.tool, 'greet');
    assert.equal(changed.data.severity, 'warning');
    assert.notEqual(changed.data.pinned_hash, changed.data.current_hash);
    assert.deepEqual(await toolNames(mcp.client), ['changing__control']);
    await assert.rejects(mcp.client.callTool({ name: 'changing__greet', arguments: { name: 'ann' } }),
      /tool "greet" of server "changing" changed .* since it was approved/);
    const q = (await api(proxy, 'GET', '/api/quarantine')).json;
    assert.deepEqual(q.servers, []);
    assert.equal(q.tools.length, 1);
    assert.equal(q.tools[0].pinned.description, 'Says hello to someone by name.');
    assert.match(q.tools[0].current.description, /id_rsa/);
    assert.ok('secret' in q.tools[0].current.inputSchema.properties);
    assert.equal(q.tools[0].pinned_hash, changed.data.pinned_hash);

    // Back to what was approved: offered again, nothing to approve.
    const updates = () => rec.events.filter((e) => e.type === 'tools_updated' && e.server_name === 'changing').length;
    const beforeRevert = updates();
    await mcp.client.callTool({ name: 'changing__control', arguments: { action: 'revert' } });
    await rec.until(() => updates() > beforeRevert);
    assert.deepEqual(await toolNames(mcp.client), ['changing__greet', 'changing__control']);
    assert.deepEqual((await api(proxy, 'GET', '/api/quarantine')).json.tools, []);

    // Changed again and approved: the new definition is offered.
    await mcp.client.callTool({ name: 'changing__control', arguments: { action: 'change' } });
    await rec.until(() => rec.events.filter((e) => e.type === 'tool_changed').length >= 2);
    assert.deepEqual(await toolNames(mcp.client), ['changing__control']);
    assert.equal((await api(proxy, 'POST', '/api/servers/changing/approve')).status, 200);
    await rec.until(isType('changing', 'server_approved'));
    const greet = (await mcp.client.listTools()).tools.find((t) => t.name === 'changing__greet');
    assert.match(greet.description, /id_rsa/);
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
  }
});

test('a server added by editing the config file is quarantined too', async () => {
  const proxy = await startProxy({ config: { quarantine: on, mcpServers: [demo('demo')] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    // As an editor saves: a new file renamed over the old one.
    const edited = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    edited.mcpServers.push(demo('edited'));
    writeFileSync(proxy.configPath + '.new', JSON.stringify(edited, null, 2));
    renameSync(proxy.configPath + '.new', proxy.configPath);
    const q = await rec.until(isType('edited', 'server_quarantined'));
    assert.match(q.data.reason, /new server/);
    mcp = await mcpConnect(proxy);
    const names = await toolNames(mcp.client);
    assert.ok(names.includes('demo__add'));
    assert.ok(!names.some((n) => n.startsWith('edited__')));
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
  }
});

test("a quarantined server's prompts and resources wait like its tools", async () => {
  const proxy = await startProxy({ config: { quarantine: on, mcpServers: [demo('demo')] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('demo', 'Ready'));
    mcp = await mcpConnect(proxy);
    const everything = { name: 'everything', command: process.execPath, args: everythingArgs };
    assert.equal((await api(proxy, 'POST', '/api/servers', everything)).status, 201);
    await rec.until(isType('everything', 'server_quarantined'), 30000);
    const prompts = (await mcp.client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(!prompts.some((n) => n.startsWith('everything__')), prompts.join(', '));
    await assert.rejects(mcp.client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Paris', state: 'TX' } }));
    await assert.rejects(mcp.client.readResource({ uri: 'demo://resource/dynamic/text/2' }), /server "everything" is quarantined/);
    assert.equal((await api(proxy, 'POST', '/api/servers/everything/approve')).status, 200);
    await rec.until(isType('everything', 'server_approved'));
    assert.ok((await mcp.client.listPrompts()).prompts.some((p) => p.name === 'everything__args-prompt'));
    const read = await mcp.client.readResource({ uri: 'demo://resource/dynamic/text/2' });
    assert.ok(read.contents.length > 0);
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
  }
});

test('quarantine off: added servers and changed tools are offered at once', async () => {
  const changing = { name: 'changing', command: process.execPath, args: [path.join(here, 'fixtures', 'changing_server.mjs')] };
  const proxy = await startProxy({ config: { mcpServers: [changing] } }); // the harness turns it off
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('changing', 'Ready'));
    assert.equal((await api(proxy, 'POST', '/api/servers', demo('added'))).status, 201);
    await rec.until(isState('added', 'Ready'));
    mcp = await mcpConnect(proxy);
    assert.ok((await toolNames(mcp.client)).includes('added__add'));
    const updates = () => rec.events.filter((e) => e.type === 'tools_updated' && e.server_name === 'changing').length;
    const before = updates();
    await mcp.client.callTool({ name: 'changing__control', arguments: { action: 'change' } });
    await rec.until(() => updates() > before);
    const greet = (await mcp.client.listTools()).tools.find((t) => t.name === 'changing__greet');
    assert.match(greet.description, /id_rsa/);
    assert.equal(rec.events.filter((e) => ['server_quarantined', 'tool_changed'].includes(e.type)).length, 0);
    rec.close();
  } finally {
    if (mcp) await mcp.client.close();
    await proxy.stop();
  }
});
