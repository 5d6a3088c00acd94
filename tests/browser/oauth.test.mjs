// oauth.test.mjs - the dashboard's side of OAuth in a real headless
// Chromium: a remote server (the MCP SDK's example server with --oauth)
// shows "Login required" with its own status class and a "Log in" button;
// the button asks the proxy for the authorization URL and opens it in a new
// tab, which the authorization server redirects to the proxy's
// /oauth/callback; the row turns Ready live and the button goes away. The
// server's detail view has the same Log in button, doing the same, and
// shows live why a login failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from '../integration/harness.mjs';
import { startSdkExample } from '../integration/oauth_helpers.mjs';
import { launchBrowser, openDashboard, waitRowStatus } from './browser.mjs';

test('Login required shows a Log in button that opens the authorization URL; the login makes the row Ready', async () => {
  const sdk = await startSdkExample();
  const proxy = await startProxy({ config: { mcpServers: [{ name: 'sdk', url: sdk.url }] } });
  const browser = await launchBrowser();
  try {
    const { page, context } = await openDashboard(browser, proxy.url);
    await waitRowStatus(page, 'sdk', 'Login required');
    const row = page.locator('tr[data-server="sdk"]');
    assert.match(await row.locator('.badge').getAttribute('class'), /\bst-login-required\b/);
    const button = page.getByRole('button', { name: 'Log in to sdk' });
    assert.ok(await button.isVisible());

    const [tab] = await Promise.all([context.waitForEvent('page'), button.click()]);
    // The tab goes to the authorization server, which redirects it to our callback at once.
    await tab.waitForURL((u) => u.href.startsWith(`${proxy.url}/oauth/callback?`), { timeout: 20000 });
    await tab.waitForLoadState();
    assert.match(await tab.textContent('h1'), /Logged in/);
    await waitRowStatus(page, 'sdk', 'Ready', 20000);
    assert.ok(!(await button.isVisible()), 'no Log in button once Ready');
    assert.equal((await api(proxy, 'GET', '/api/servers/sdk')).json.status, 'Ready');
  } finally {
    await browser.close();
    await proxy.stop();
    await sdk.stop();
  }
});

test('the detail view of a server in Login required has a Log in button too; the login makes the view Ready', async () => {
  const sdk = await startSdkExample();
  const proxy = await startProxy({ config: { mcpServers: [{ name: 'sdk', url: sdk.url }] } });
  const browser = await launchBrowser();
  try {
    const { page, context, consoleErrors } = await openDashboard(browser, proxy.url);
    await waitRowStatus(page, 'sdk', 'Login required');
    await page.goto(`${proxy.url}/#/servers/sdk`);
    const detail = page.locator('#detail');
    const badge = detail.locator('[data-field="detail-status"]');
    await badge.filter({ hasText: 'Login required' }).waitFor();
    const button = detail.locator('.detail-actions').getByRole('button', { name: 'Log in' });
    assert.ok(await button.isVisible());
    assert.ok(await button.isEnabled());

    // A login denied at the authorization server: the view shows why, live (server_login_failed).
    const denied = new URL((await api(proxy, 'POST', '/api/servers/sdk/login')).json.authorization_url);
    assert.equal((await fetch(`${proxy.url}/oauth/callback?state=${denied.searchParams.get('state')}&error=access_denied`)).status, 502);
    await detail.locator('.err-full').filter({ hasText: 'login failed: the authorization server did not authorize mcpproxy: access_denied' }).first().waitFor();
    assert.ok(await button.isVisible(), 'still Login required, the button still there');

    const [tab] = await Promise.all([context.waitForEvent('page'), button.click()]);
    await tab.waitForURL((u) => u.href.startsWith(`${proxy.url}/oauth/callback?`), { timeout: 20000 });
    await tab.waitForLoadState();
    assert.match(await tab.textContent('h1'), /Logged in/);
    await badge.filter({ hasText: 'Ready' }).waitFor({ timeout: 20000 });
    assert.equal(await button.count(), 0, 'no Log in button once Ready');
    assert.equal((await api(proxy, 'GET', '/api/servers/sdk')).json.status, 'Ready');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
    await proxy.stop();
    await sdk.stop();
  }
});
