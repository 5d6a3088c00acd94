// quarantine.test.mjs (browser) - a server added through the API shows as
// Quarantined with an Approve button; clicking it approves the server (the
// API says so, /mcp offers its tools) and the row goes back to Ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api, demoServerBin } from '../integration/harness.mjs';
import { launchBrowser, openDashboard, waitRowStatus } from './browser.mjs';

const demo = (name) => ({ name, command: demoServerBin, args: ['--name', name] });

test('a Quarantined server has an Approve button that approves it', async () => {
  const proxy = await startProxy({ config: { quarantine: { new_servers: true, changed_tools: true }, mcpServers: [demo('alpha')] } });
  const browser = await launchBrowser();
  try {
    const { page, consoleErrors } = await openDashboard(browser, proxy.url);
    await waitRowStatus(page, 'alpha', 'Ready');
    assert.equal(await page.getByRole('button', { name: 'Approve alpha' }).count(), 0); // hidden: not in the accessibility tree
    assert.equal((await api(proxy, 'POST', '/api/servers', demo('added'))).status, 201);
    await waitRowStatus(page, 'added', 'Quarantined');
    assert.equal((await api(proxy, 'GET', '/api/servers/added')).json.quarantined, true);
    await page.getByRole('button', { name: 'Approve added' }).click();
    await waitRowStatus(page, 'added', 'Ready');
    assert.equal((await api(proxy, 'GET', '/api/servers/added')).json.quarantined, false);
    assert.equal(await page.getByRole('button', { name: 'Approve added' }).count(), 0);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
    await proxy.stop();
  }
});
