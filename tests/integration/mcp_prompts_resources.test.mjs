// mcp_prompts_resources.test.mjs - prompts and resources through /mcp with
// the official SDK client: listed across servers (prompts as
// <server>__<name>, resources under their own URIs), paged, got and read
// through the server that offers them (a URI two servers list goes to the
// first; one no server lists goes by template), subscribed to, and their
// list changes told to the session; against a fixture that changes its
// lists at run time, and server-everything over stdio and Streamable HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startProxy } from './harness.mjs';
import { recordEvents, isState, everythingArgs, serverStatus } from './upstream_helpers.mjs';
import { mcpConnect } from './mcp_helpers.mjs';
import { startEverything } from './remote_helpers.mjs';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'prompts_resources_server.mjs');
const fixtureServer = (label) => ({ name: label, protocol: 'stdio', command: process.execPath, args: [fixture, '--label', label] });

/** Resolves with the next notification `schema` brings to `client` whose params pass `pred`. */
function nextNotification(client, schema, pred = () => true, ms = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${schema.shape.method.value} within ${ms} ms`)), ms);
    client.setNotificationHandler(schema, (n) => {
      if (!pred(n.params)) return;
      clearTimeout(timer);
      resolve(n);
    });
  });
}

/** Connects and resolves once the session's GET stream is open (where notifications come). */
async function connectWithStream(proxy) {
  let opened;
  const streamOpen = new Promise((resolve) => { opened = resolve; });
  const mcp = await mcpConnect(proxy, {
    onResponse: (init, res) => { if (init.method === 'GET' && res.status === 200) opened(); },
  });
  await streamOpen;
  return mcp;
}

/** Every page of a list; resolves with { items, pages }. */
async function allPages(list, key) {
  const items = [];
  let cursor;
  let pages = 0;
  do {
    const page = await list(cursor ? { cursor } : undefined);
    items.push(...page[key]);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

test('prompts and resources of two servers: listed, paged, got, read, routed, subscribed, changes told', async () => {
  const proxy = await startProxy({
    config: { mcpServers: [fixtureServer('one'), fixtureServer('two')], mcp: { list_page_size: 7 } },
  });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('one', 'Ready'));
    await rec.until(isState('two', 'Ready'));
    // The status counts what each server lists (its own, duplicates included).
    const one = await serverStatus(proxy, 'one');
    assert.equal(one.prompt_count, 1);
    assert.equal(one.resource_count, 25);
    mcp = await connectWithStream(proxy);
    const { client } = mcp;

    const caps = client.getServerCapabilities();
    assert.deepEqual(caps.prompts, { listChanged: true });
    assert.deepEqual(caps.resources, { listChanged: true, subscribe: true });

    // Prompts: named like tools, got from their own server with arguments.
    const prompts = await allPages((p) => client.listPrompts(p), 'prompts');
    assert.deepEqual(prompts.items.map((p) => p.name).sort(), ['one__greet', 'two__greet']);
    assert.deepEqual(prompts.items[0].arguments, [{ name: 'who', required: true }]);
    const got = await client.getPrompt({ name: 'two__greet', arguments: { who: 'Ada' } });
    assert.equal(got.messages[0].content.text, 'two: hello Ada');
    await assert.rejects(client.getPrompt({ name: 'one__nope', arguments: {} }), /unknown prompt "one__nope"/);

    // Resources: each server lists 25 in upstream pages of 10 (all followed);
    // the same URIs from both are offered once; our pages hold 7.
    const resources = await allPages((p) => client.listResources(p), 'resources');
    const uris = resources.items.map((r) => r.uri);
    assert.equal(uris.length, 25, uris.join(' '));
    assert.equal(new Set(uris).size, 25);
    assert.ok(uris.includes('fixture://item/24'));
    assert.equal(resources.pages, 4);
    await assert.rejects(client.listResources({ cursor: 'bogus' }), /invalid params.cursor/);

    // A URI both list is read from the first server in config order.
    const read = await client.readResource({ uri: 'fixture://item/3' });
    assert.equal(read.contents[0].text, 'one fixture://item/3');
    // Templates are listed as they are; a URI only a template matches goes
    // to that template's server.
    const templates = await allPages((p) => client.listResourceTemplates(p), 'resourceTemplates');
    assert.deepEqual(templates.items.map((t) => t.uriTemplate).sort(), ['fixture://one/dyn/{id}', 'fixture://two/dyn/{id}']);
    const byTemplate = await client.readResource({ uri: 'fixture://two/dyn/9' });
    assert.equal(byTemplate.contents[0].text, 'two fixture://two/dyn/9');
    await assert.rejects(client.readResource({ uri: 'fixture://three/x' }), /unknown resource "fixture:\/\/three\/x"/);

    // Subscribed (by this session and another): the server's update reaches
    // this session.
    const uri = 'fixture://two/dyn/5';
    const update = (u) => client.callTool({ name: 'two__control', arguments: { action: 'update', uri: u } })
      .then((r) => r.content[0].text);
    const other = await mcpConnect(proxy);
    await client.subscribeResource({ uri });
    await other.client.subscribeResource({ uri });
    let updated = nextNotification(client, ResourceUpdatedNotificationSchema, (p) => p.uri === uri);
    assert.equal(await update(uri), 'sent');
    await updated;
    // One session unsubscribing leaves the server subscribed for the other.
    await other.client.unsubscribeResource({ uri });
    updated = nextNotification(client, ResourceUpdatedNotificationSchema, (p) => p.uri === uri);
    assert.equal(await update(uri), 'sent');
    await updated;
    // The last one unsubscribing tells the server.
    await client.unsubscribeResource({ uri });
    assert.equal(await update(uri), 'not subscribed');
    // A session that ends takes its subscriptions with it, upstream too.
    const own = 'fixture://two/dyn/77';
    await other.client.subscribeResource({ uri: own });
    assert.equal(await update(own), 'sent');
    // A subscribe the server refuses is not kept: here the other session's
    // later unsubscribe is the last one, so the server is told.
    const flaky = 'fixture://two/dyn/refuse-once';
    await assert.rejects(client.subscribeResource({ uri: flaky }), /refused \(once\)/);
    await other.client.subscribeResource({ uri: flaky });
    assert.equal(await update(flaky), 'sent');
    await other.client.unsubscribeResource({ uri: flaky });
    assert.equal(await update(flaky), 'not subscribed');
    await other.transport.terminateSession();
    await other.client.close();
    assert.equal(await update(own), 'not subscribed');
    // List changes at run time reach the session, and the lists show them.
    const promptsChanged = nextNotification(client, PromptListChangedNotificationSchema);
    await client.callTool({ name: 'one__control', arguments: { action: 'add_prompt' } });
    await promptsChanged;
    const names = (await allPages((p) => client.listPrompts(p), 'prompts')).items.map((p) => p.name);
    assert.ok(names.includes('one__extra'), names.join(' '));
    assert.equal((await client.getPrompt({ name: 'one__extra' })).messages[0].content.text, 'one: hello undefined');
    assert.equal((await serverStatus(proxy, 'one')).prompt_count, 2);

    const resourcesChanged = nextNotification(client, ResourceListChangedNotificationSchema);
    await client.callTool({ name: 'two__control', arguments: { action: 'add_resource' } });
    await resourcesChanged;
    const now = (await allPages((p) => client.listResources(p), 'resources')).items.map((r) => r.uri);
    assert.ok(now.includes('fixture://two/added'), now.join(' '));
    assert.equal((await client.readResource({ uri: 'fixture://two/added' })).contents[0].text, 'two fixture://two/added');
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});

test('a subscribe to a server that offers no subscriptions is refused by name; no prompts: an empty list', async () => {
  const plain = { ...fixtureServer('plain'), args: [fixture, '--label', 'plain', '--no-subscribe', '--no-prompts'] };
  const proxy = await startProxy({ config: { mcpServers: [plain] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('plain', 'Ready'));
    mcp = await mcpConnect(proxy);
    await assert.rejects(mcp.client.subscribeResource({ uri: 'fixture://item/1' }),
      /server "plain" does not offer resource subscriptions/);
    assert.deepEqual((await mcp.client.listPrompts()).prompts, []);
    assert.equal((await mcp.client.readResource({ uri: 'fixture://item/1' })).contents[0].text, 'plain fixture://item/1');
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});

test('a resources listing past upstream.max_tools or max_tool_pages fails the server like a tool listing', async () => {
  const many = { ...fixtureServer('many'), args: [fixture, '--label', 'many', '--resources', '40', '--page-size', '40'] };
  const paged = { ...fixtureServer('paged'), args: [fixture, '--label', 'paged', '--resources', '12', '--page-size', '3'] };
  const proxy = await startProxy({
    config: { mcpServers: [many, paged], upstream: { max_tools: 30, max_tool_pages: 3, backoff_base_ms: 60000 } },
  });
  try {
    const rec = await recordEvents(proxy);
    const manyEnd = await rec.until(isState('many', 'Error'));
    assert.match(manyEnd.data.last_error, /resources\/list lists more than upstream\.max_tools \(30\)/);
    const pagedEnd = await rec.until(isState('paged', 'Error'));
    assert.match(pagedEnd.data.last_error, /resources\/list goes on past upstream\.max_tool_pages \(3 pages\)/);
  } finally {
    await proxy.stop();
  }
});

/** What server-everything offers, seen through the proxy as server `name`. */
async function checkEverything(client, name) {
  const prompts = (await allPages((p) => client.listPrompts(p), 'prompts')).items.map((p) => p.name);
  assert.ok(prompts.includes(`${name}__args-prompt`), prompts.join(' '));
  const got = await client.getPrompt({ name: `${name}__args-prompt`, arguments: { city: 'Paris', state: 'TX' } });
  assert.equal(got.messages[0].content.text, "What's weather in Paris, TX?");

  const resources = (await allPages((p) => client.listResources(p), 'resources')).items;
  const doc = resources.find((r) => r.uri.startsWith('demo://resource/static/document/'));
  assert.ok(doc, resources.map((r) => r.uri).join(' '));
  const text = await client.readResource({ uri: doc.uri });
  assert.equal(text.contents[0].uri, doc.uri);
  assert.ok(text.contents[0].text.length > 0);

  const templates = (await allPages((p) => client.listResourceTemplates(p), 'resourceTemplates')).items.map((t) => t.uriTemplate);
  assert.ok(templates.includes('demo://resource/dynamic/blob/{resourceId}'), templates.join(' '));
  const blob = await client.readResource({ uri: 'demo://resource/dynamic/blob/3' });
  assert.match(Buffer.from(blob.contents[0].blob, 'base64').toString(), /^Resource 3: This is a base64 blob/);
  const dynText = await client.readResource({ uri: 'demo://resource/dynamic/text/2' });
  assert.match(dynText.contents[0].text, /^Resource 2: This is a plaintext resource/);
}

test('server-everything over stdio: prompts, resources, templates, a blob, and subscription updates', async () => {
  const proxy = await startProxy({
    config: { mcpServers: [{ name: 'everything', protocol: 'stdio', command: process.execPath, args: everythingArgs }] },
  });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('everything', 'Ready'), 30000);
    mcp = await connectWithStream(proxy);
    await checkEverything(mcp.client, 'everything');

    // Its updates come every 5 s for what is subscribed, once asked to.
    const uri = 'demo://resource/dynamic/text/1';
    await mcp.client.subscribeResource({ uri });
    const updated = nextNotification(mcp.client, ResourceUpdatedNotificationSchema, (p) => p.uri === uri, 20000);
    await mcp.client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    await updated;
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
  }
});

test('server-everything over Streamable HTTP: the same through a remote server', async () => {
  const everything = await startEverything('streamableHttp');
  const proxy = await startProxy({ config: { mcpServers: [{ name: 'remote', url: everything.url }] } });
  let mcp;
  try {
    const rec = await recordEvents(proxy);
    await rec.until(isState('remote', 'Ready'), 30000);
    mcp = await mcpConnect(proxy);
    await checkEverything(mcp.client, 'remote');
  } finally {
    if (mcp) await mcp.client.close().catch(() => {});
    await proxy.stop();
    await everything.stop();
  }
});
