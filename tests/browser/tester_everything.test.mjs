// tester_everything.test.mjs - the tool tester against the reference MCP
// server from npm (@modelcontextprotocol/server-everything): an enum and a
// boolean become a select and a checkbox, an image result is shown as an
// image, and a tool without arguments says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../integration/harness.mjs';
import { everythingArgs } from '../integration/upstream_helpers.mjs';
import { startEverything } from '../integration/remote_helpers.mjs';
import { launchBrowser, openDashboard, waitRowStatus } from './browser.mjs';

let proxy, browser, dash, remote;

before(async () => {
  proxy = await startProxy({ config: { mcpServers: [{ name: 'everything', command: 'node', args: everythingArgs }] } });
  browser = await launchBrowser();
  dash = await openDashboard(browser, proxy.url);
  await waitRowStatus(dash.page, 'everything', 'Ready', 30000);
});

after(async () => {
  await remote?.stop();
  await browser?.close();
  await proxy?.stop();
});

test('enum and boolean controls, and an image result shown as an image', async () => {
  const { page } = dash;
  await page.goto(`${proxy.url}/#/servers/everything`);
  const tool = page.locator('#detail details[data-tool="get-annotated-message"]');
  await tool.locator('summary').click();
  const kind = tool.getByLabel(/^messageType\b/);
  const image = tool.getByLabel(/^includeImage\b/);
  assert.equal(await kind.evaluate((e) => e.tagName), 'SELECT');
  assert.equal(await image.getAttribute('type'), 'checkbox');
  await kind.selectOption({ label: 'success' });
  await image.check();
  await tool.getByRole('button', { name: 'Call get-annotated-message' }).click();
  const img = tool.locator('.result img.result-img');
  await img.waitFor();
  assert.ok(await img.evaluate((e) => e.complete && e.naturalWidth > 0), 'the image decodes');
  assert.match(await tool.locator('.result').textContent(), /success/i);

  const tiny = page.locator('#detail details[data-tool="get-tiny-image"]');
  await tiny.locator('summary').click();
  const call = tiny.getByRole('button', { name: 'Call get-tiny-image' });
  await call.waitFor(); // the form is built when the tool unfolds
  assert.match(await tiny.textContent(), /takes no arguments/);
  await call.click();
  await tiny.locator('.result img.result-img').waitFor();
  assert.equal(await tiny.locator('.result').getAttribute('data-outcome'), 'ok');
  assert.deepEqual(dash.consoleErrors, []);
});

test('a remote server added by its URL in the form reaches Ready, and its tools can be called', async () => {
  const { page } = dash;
  remote = await startEverything('streamableHttp');
  await page.goto(`${proxy.url}/#/`);
  await page.getByRole('button', { name: 'Add server' }).click();
  const dialog = page.locator('#server-dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('far');
  await dialog.getByLabel('URL', { exact: true }).fill(remote.url);
  await dialog.getByRole('button', { name: 'Add server' }).click();
  await waitRowStatus(page, 'far', 'Ready', 30000);
  await page.getByRole('link', { name: 'far', exact: true }).click();
  assert.match(await page.textContent('#detail .facts'), new RegExp(`URL\\s*${remote.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const echo = page.locator('#detail details[data-tool="echo"]');
  await echo.locator('summary').click();
  await echo.getByLabel(/^message\b/).fill('over http');
  await echo.getByRole('button', { name: 'Call echo' }).click();
  await echo.locator('.result .result-text').waitFor();
  assert.match(await echo.locator('.result .result-text').textContent(), /over http/);
});
