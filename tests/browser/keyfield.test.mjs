// keyfield.test.mjs - with api_key set, a page opened without the key asks
// for it in a labelled field (not "edit the URL"), stops retrying instead of
// saying "Reconnecting" forever, and once given the key keeps it in this
// browser (localStorage), never in the address bar. The connect panel's
// snippets carry the key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, demoServerBin } from '../integration/harness.mjs';
import { launchBrowser, openDashboard, waitMode, waitRowStatus, unexpectedConsoleErrors } from './browser.mjs';

const KEY = 'browser-keyfield-key-0123456789';
let proxy, browser;

before(async () => {
  proxy = await startProxy({
    config: {
      api_key: KEY,
      mcpServers: [{ name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'] }],
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('without a key: a key field, no retry loop; with it: live, kept in localStorage, not in the URL', async () => {
  const dash = await openDashboard(browser, proxy.url, { reconnect_base_ms: '100' }, { waitLive: false });
  const { page } = dash;
  const field = page.getByLabel('API key');
  await field.waitFor();
  await waitMode(page, 'auth');
  assert.match(await page.textContent('#banner'), /requires an API key: enter it below/);
  assert.doesNotMatch(await page.textContent('#banner'), /apikey=/, 'no "edit the URL" advice');
  assert.equal(await page.textContent('#conn-text'), 'API key needed');
  // It stopped: no request while it waits for the key.
  const before = dash.requests.length;
  await page.waitForTimeout(1000); // a retry loop at 100 ms would have sent several by now
  assert.deepEqual(dash.requests.slice(before).map((r) => r.url), []);
  assert.equal(await page.getAttribute('#conn', 'data-mode'), 'auth');

  // A wrong key is refused and asked for again.
  await field.fill('wrong-key');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /refused this API key/.test(document.getElementById('banner').textContent));
  await waitMode(page, 'auth');

  await field.fill(KEY);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await waitMode(page, 'live');
  await waitRowStatus(page, 'alpha', 'Ready');
  assert.equal(await page.isVisible('#key-form'), false);
  assert.equal(await page.isVisible('#banner'), false);
  assert.equal(await page.evaluate(() => localStorage.getItem('mcpproxy.apikey')), KEY);
  assert.doesNotMatch(page.url(), /apikey/);

  // The connect panel's snippets carry the key.
  await page.getByRole('button', { name: 'Connect a client' }).click();
  const cursor = JSON.parse(await page.textContent('#snippet-cursor'));
  assert.deepEqual(cursor.mcpServers.mcpproxy.headers, { 'X-API-Key': KEY });
  assert.match(await page.textContent('#snippet-claude-code'), new RegExp(`--header "X-API-Key: ${KEY}"`));
  await page.keyboard.press('Escape');

  // A reload stays live: the key comes from this browser.
  await page.reload();
  await waitMode(page, 'live');
  assert.equal(await page.isVisible('#key-form'), false);
  assert.deepEqual(unexpectedConsoleErrors(dash.consoleErrors).filter((e) => !/401/.test(e)), []);
  await dash.context.close();
});

test('?apikey= is taken once into localStorage and removed from the address bar', async () => {
  const dash = await openDashboard(browser, proxy.url, { apikey: KEY });
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  assert.doesNotMatch(dash.page.url(), /apikey/);
  assert.equal(await dash.page.evaluate(() => localStorage.getItem('mcpproxy.apikey')), KEY);
  await dash.context.close();
});
