// history.test.mjs - the dashboard pages back through the activity log: calls
// made before a restart of the proxy, which the live feed cannot have, are
// shown under "Earlier calls", 50 at a time, newest first, until the log ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { startProxy, api } from '../integration/harness.mjs';
import { recordEvents, isState, demo } from '../integration/upstream_helpers.mjs';
import { mcpConnect } from '../integration/mcp_helpers.mjs';
import { launchBrowser, openDashboard, screenshotDir } from './browser.mjs';

const CALLS = 55;
let browser, dir;
after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('calls made before a restart are paged back from the activity log', async () => {
  // Before: calls through /mcp, then the proxy stops (its log is flushed).
  const first = await startProxy({ config: { mcpServers: [demo('demo')] }, keepConfig: true });
  dir = path.dirname(first.configPath);
  try {
    const rec = await recordEvents(first);
    await rec.until(isState('demo', 'Ready'));
    const { client } = await mcpConnect(first);
    for (let i = 0; i < CALLS; i++) await client.callTool({ name: 'demo__add', arguments: { a: i, b: 1 } });
    await client.close();
    rec.close();
  } finally {
    await first.stop();
  }

  // After: a new process on the same config and database.
  const proxy = await startProxy({ configPath: path.join(dir, 'mcp_config.json') });
  try {
    assert.equal((await api(proxy, 'GET', '/api/activity?limit=1')).json.rows[0].tool, 'add');
    browser = await launchBrowser();
    const dash = await openDashboard(browser, proxy.url);
    const { page } = dash;
    assert.equal(await page.locator('#feed li[data-type="tool_called"]').count(), 0, 'the live feed starts empty');
    const before = dash.requests.length;

    await page.getByRole('button', { name: 'Show earlier calls' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#history li').length === 50);
    assert.match(await page.textContent('#history-status'), /50 earlier calls shown/);
    // Newest first: the last call (a = 54) heads the list; unfolded, it names its client.
    const newest = page.locator('#history li').first();
    assert.match(await newest.textContent(), /demo\s*add · \d+ ms · ok/);
    await newest.locator('button.ev-line').click();
    const details = await newest.locator('.ev-details').textContent();
    assert.match(details, /Client\s*mcpproxy-test/);
    assert.match(details, /Result\s*\d+ B answered/);

    await page.getByRole('button', { name: 'Show earlier calls' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#history li').length === n, CALLS);
    assert.match(await page.textContent('#history-status'), new RegExp(`${CALLS} earlier calls: the whole log`));
    assert.equal(await page.isHidden('#history-more'), true, 'nothing older to ask for');
    // One request per page asked for, none before.
    const asked = dash.requests.slice(before).filter((r) => new URL(r.url).pathname === '/api/activity');
    assert.equal(asked.length, 2);
    await page.screenshot({ path: path.join(screenshotDir, 'history-1366.png'), fullPage: true });
    assert.deepEqual(dash.consoleErrors, []);
  } finally {
    await proxy.stop();
  }
});
