// apikey.test.mjs - with api_key set, the page opened as /?apikey=K sends the
// key on every fetch (X-API-Key) and on the WebSocket URL (apikey=K); opened
// without it, the page says what is missing instead of failing silently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api, demoServerBin } from '../integration/harness.mjs';
import { launchBrowser, openDashboard, waitRowStatus, unexpectedConsoleErrors } from './browser.mjs';

const KEY = 'browser-test-key-0123456789';
let proxy, browser;

before(async () => {
  proxy = await startProxy({
    config: {
      api_key: KEY,
      mcpServers: [
        { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], enabled: true, group: 'core' },
      ],
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('with ?apikey= the page is live and its actions are authorized', async () => {
  const dash = await openDashboard(browser, proxy.url, { apikey: KEY });
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  await dash.page.getByRole('button', { name: 'Disable alpha' }).click();
  await waitRowStatus(dash.page, 'alpha', 'Disabled');
  await dash.page.getByRole('button', { name: 'Enable alpha' }).click();
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  const s = await api(proxy, 'GET', '/api/servers/status', undefined, { 'X-API-Key': KEY });
  assert.equal(s.json.servers[0].status, 'Ready');
  assert.equal(await dash.page.isVisible('#banner'), false);
  assert.deepEqual(dash.consoleErrors, []);
  await dash.context.close();
});

test('without the key the page says so', async () => {
  const dash = await openDashboard(browser, proxy.url, { reconnect_base_ms: '100' }, { waitLive: false });
  await dash.page.waitForSelector('#banner:not([hidden])');
  assert.match(await dash.page.textContent('#banner'), /API key/);
  assert.notEqual(await dash.page.getAttribute('#conn', 'data-mode'), 'live');
  // Only the browser's own "401" resource lines; nothing thrown by the page.
  assert.deepEqual(unexpectedConsoleErrors(dash.consoleErrors), []);
  await dash.context.close();
});
