// cluster_remote.test.mjs - what a client of one node gets of a server that
// runs on another node besides its tools/call answers: the call's
// notifications/progress, and the server's prompts and resources
// (docs/PROTOCOL.md, "Tool calls across nodes").
// A real nats-server, two real nodes, node a running the real
// @modelcontextprotocol/server-everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './harness.mjs';
import { everythingArgs } from './upstream_helpers.mjs';
import { mcpConnect, mcpPost, rawInitialize, jsonHeaders, sseMessages } from './mcp_helpers.mjs';
import { startNats, startNode, stopCluster, pollUntil } from './cluster_helpers.mjs';
import { PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

let nats;
const nodes = {};
const everything = { name: 'everything', protocol: 'stdio', command: process.execPath, args: everythingArgs };
const LONG = 'everything__trigger-long-running-operation';

const until = (pred, what, ms = 30000) => pollUntil(pred, what, ms);

before(async () => {
  nats = await startNats();
  nodes.a = await startNode(nats.url, 'a', { config: { mcpServers: [everything] }, cluster: { heartbeat_ms: 200 } });
  nodes.b = await startNode(nats.url, 'b', { cluster: { heartbeat_ms: 200 } });
  // b offers a's tool once a's server is Ready and b has its entry.
  const session = await rawInitialize(nodes.b);
  await until(async () => {
    const res = await mcpPost(nodes.b, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, jsonHeaders(session));
    return res.json?.result?.tools.some((t) => t.name === LONG);
  }, `${LONG} offered on b`);
});

after(() => stopCluster(nodes, nats));

test('a call through node b of a tool on node a: the upstream\'s progress reaches b\'s client, then the answer', async () => {
  const args = { duration: 0.3, steps: 3 };
  // The SDK's client: onprogress hears every step, with its own token.
  const { client } = await mcpConnect(nodes.b);
  try {
    const seen = [];
    const result = await client.callTool({ name: LONG, arguments: args }, undefined,
      { onprogress: (p) => seen.push([p.progress, p.total]) });
    assert.match(result.content[0].text, /Long running operation completed/);
    assert.deepEqual(seen, [[1, 3], [2, 3], [3, 3]]);
  } finally {
    await client.close();
  }

  // Raw: the answer becomes a stream, the notifications carry the client's token, in order, before the answer.
  const sid = await rawInitialize(nodes.b);
  const res = await mcpPost(nodes.b, { jsonrpc: '2.0', id: 7, method: 'tools/call',
    params: { name: LONG, arguments: args, _meta: { progressToken: 'tok-b' } } }, jsonHeaders(sid));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const msgs = sseMessages(res.text);
  assert.deepEqual(msgs.slice(0, 3).map((m) => [m.method, m.params.progressToken, m.params.progress]),
    [1, 2, 3].map((n) => ['notifications/progress', 'tok-b', n]));
  assert.equal(msgs.length, 4, res.text);
  assert.equal(msgs[3].id, 7);
  assert.match(msgs[3].result.content[0].text, /completed/);

  // Without a token: no progress, a plain JSON answer.
  const plain = await mcpPost(nodes.b, { jsonrpc: '2.0', id: 8, method: 'tools/call',
    params: { name: LONG, arguments: args } }, jsonHeaders(sid));
  assert.equal(plain.headers.get('content-type'), 'application/json');
  assert.equal(plain.json.id, 8);
  // Every call ran on node a: its activity log has the three, b's none.
  const rows = async (p) => {
    const res = await api(p, 'GET', '/api/activity?server=everything&tool=trigger-long-running-operation');
    assert.equal(res.status, 200, res.text);
    return res.json.rows;
  };
  assert.equal((await until(async () => ((await rows(nodes.a)).length === 3 ? 3 : 0), 'three rows on a')), 3);
  assert.equal((await rows(nodes.b)).length, 0);
});

/** Every page of a list through the SDK client. */
async function allPages(list, key) {
  const items = [];
  let cursor;
  do {
    const page = await list(cursor ? { cursor } : undefined);
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

test('node b offers node a\'s prompts and resources, and gets and reads them on node a', async () => {
  const { client } = await mcpConnect(nodes.b);
  try {
    const prompts = (await allPages((p) => client.listPrompts(p), 'prompts')).map((p) => p.name);
    assert.ok(prompts.includes('everything__args-prompt'), prompts.join(' '));
    const got = await client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Paris', state: 'TX' } });
    assert.equal(got.messages[0].content.text, "What's weather in Paris, TX?");

    const resources = await allPages((p) => client.listResources(p), 'resources');
    const doc = resources.find((r) => r.uri.startsWith('demo://resource/static/document/'));
    assert.ok(doc, resources.map((r) => r.uri).join(' '));
    const text = await client.readResource({ uri: doc.uri });
    assert.equal(text.contents[0].uri, doc.uri);
    assert.ok(text.contents[0].text.length > 0);

    // A URI no server lists, routed by a's template.
    const templates = (await allPages((p) => client.listResourceTemplates(p), 'resourceTemplates')).map((t) => t.uriTemplate);
    assert.ok(templates.includes('demo://resource/dynamic/text/{resourceId}'), templates.join(' '));
    const dyn = await client.readResource({ uri: 'demo://resource/dynamic/text/2' });
    assert.match(dyn.contents[0].text, /^Resource 2: This is a plaintext resource/);

    // Subscriptions stay with the node that runs the server, and the error says where to go.
    await assert.rejects(client.subscribeResource({ uri: doc.uri }),
      /server "everything" runs on node a: subscriptions to another node's resources are not carried across nodes; subscribe through node a's \/mcp/);

    // A prompt no node offers is refused on b, as a local one is.
    await assert.rejects(client.getPrompt({ name: 'everything__nope' }), /unknown prompt "everything__nope"/);
  } finally {
    await client.close();
  }
  // They ran on node a: its activity log has the get and the reads, b's has none.
  const rows = async (p) => {
    const res = await api(p, 'GET', '/api/activity?server=everything');
    assert.equal(res.status, 200, res.text);
    return res.json.rows.filter((r) => r.method !== 'tools/call').map((r) => r.method);
  };
  const onA = await until(async () => {
    const r = await rows(nodes.a);
    return r.length >= 3 ? r : null;
  }, 'the get and the reads in a\'s activity log');
  assert.deepEqual(onA.sort(), ['prompts/get', 'resources/read', 'resources/read']);
  assert.deepEqual(await rows(nodes.b), []);
});

/** Rejects after `ms` unless `promise` settles first (a deadline, not a wait). */
function within(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  })]).finally(() => clearTimeout(timer));
}

test('node a\'s server disabled: node b tells its clients its prompts and resources changed, and no longer offers them', async () => {
  // b's client, once its GET stream (where notifications come) is open.
  let opened;
  const streamOpen = new Promise((resolve) => { opened = resolve; });
  const { client } = await mcpConnect(nodes.b, {
    onResponse: (init, res) => { if (init.method === 'GET' && res.status === 200) opened(); },
  });
  const heard = (schema) => new Promise((resolve) => client.setNotificationHandler(schema, () => resolve()));
  const promptsChanged = heard(PromptListChangedNotificationSchema);
  const resourcesChanged = heard(ResourceListChangedNotificationSchema);
  try {
    await streamOpen;
    assert.ok((await allPages((p) => client.listPrompts(p), 'prompts')).some((p) => p.name === 'everything__args-prompt'));
    const res = await api(nodes.a, 'POST', '/api/servers/everything/disable');
    assert.equal(res.status, 200, res.text);
    await within(Promise.all([promptsChanged, resourcesChanged]), 20000, 'prompts and resources list_changed on b');
    const prompts = (await allPages((p) => client.listPrompts(p), 'prompts')).map((p) => p.name);
    assert.ok(!prompts.some((p) => p.startsWith('everything__')), prompts.join(' '));
    const resources = await allPages((p) => client.listResources(p), 'resources');
    assert.ok(!resources.some((r) => r.uri.startsWith('demo://')), resources.map((r) => r.uri).join(' '));
    await assert.rejects(client.readResource({ uri: 'demo://resource/dynamic/text/2' }), /unknown resource/);
  } finally {
    await client.close();
  }
});
