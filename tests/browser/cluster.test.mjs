// cluster.test.mjs - the dashboard of one cluster node in a real headless
// Chromium shows every node's servers, live, says which node runs each, and
// leaves the actions on another node's server to that node. Real
// nats-server, real nodes, real demo MCP servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, startProxy, demoServerBin, repoRoot } from '../integration/harness.mjs';
import { startNats, waitClusterEvent, stopNode } from '../integration/cluster_helpers.mjs';
import { launchBrowser, openDashboard, waitRowStatus } from './browser.mjs';
import path from 'node:path';

let nats, nodeA, nodeB, browser, dash;

/** A node of the cluster with its own demo server, connected to the stream. */
async function startNodeWith(node, server) {
  const env = { LSAN_OPTIONS: `suppressions=${path.join(repoRoot, 'tests/integration/lsan_nats.supp')}` };
  const proxy = await startProxy({
    config: {
      cluster: { nats_url: nats.url, node, heartbeat_ms: 500 },
      mcpServers: [{ name: server, protocol: 'stdio', command: demoServerBin, args: ['--name', server] }],
    },
    env,
  });
  await waitClusterEvent(proxy, (e) => e.node === node && e.new_state === 'connected');
  return proxy;
}

before(async () => {
  nats = await startNats();
  nodeA = await startNodeWith('a', 'alpha');
  nodeB = await startNodeWith('b', 'beta');
  browser = await launchBrowser();
  dash = await openDashboard(browser, nodeB.url);
});

after(async () => {
  await browser?.close();
  // A killed node's stop() only collects its exit and removes its files.
  for (const n of [nodeB, nodeA]) if (n) await stopNode(n);
  await nats?.destroy();
});

test("node b's dashboard shows node a's server, says where it runs, and leaves its actions to node a", async () => {
  const { page } = dash;
  await waitRowStatus(page, 'beta', 'Ready');
  await waitRowStatus(page, 'alpha', 'Ready');
  const rows = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('tr[data-server]')].map((r) => [
    r.dataset.server,
    { where: r.querySelector('.cmd').textContent, toggleDisabled: r.querySelector('[data-action="toggle"]').disabled,
      title: r.querySelector('[data-action="toggle"]').title },
  ])));
  assert.match(rows.alpha.where, /^node a · stdio/);
  assert.equal(rows.alpha.toggleDisabled, true);
  assert.match(rows.alpha.title, /Runs on node a/);
  assert.doesNotMatch(rows.beta.where, /node/);
  assert.equal(rows.beta.toggleDisabled, false);
  assert.match(await page.textContent('#app-state'), /node b · cluster connected/);

  // Its detail view says the same, with its tools (fetched from node b's API).
  await page.click('tr[data-server="alpha"] a.srv-name');
  await page.waitForSelector('[data-field="remote-node"]');
  assert.match(await page.textContent('[data-field="remote-node"]'), /Runs on node a/);
  assert.equal(await page.locator('.detail-actions button:not([disabled])').count(), 0);
  await page.goBack();
  await page.waitForSelector('tr[data-server="alpha"]', { state: 'visible' });
});

test("a change on node a reaches node b's dashboard live", async () => {
  const res = await api(nodeA, 'POST', '/api/servers/alpha/disable');
  assert.equal(res.status, 200, res.text);
  await waitRowStatus(dash.page, 'alpha', 'Disabled');
  const back = await api(nodeA, 'POST', '/api/servers/alpha/enable');
  assert.equal(back.status, 200, back.text);
  await waitRowStatus(dash.page, 'alpha', 'Ready');
});

test("node a killed: its server shows Unreachable on node b's dashboard", async () => {
  nodeA.proc.kill('SIGKILL');
  await waitRowStatus(dash.page, 'alpha', 'Unreachable', 20000);
  await waitRowStatus(dash.page, 'beta', 'Ready');
});
