// dashboard.test.mjs - the dashboard in a real headless Chromium against the
// real mcpproxy and real demo MCP servers: it loads, shows the truth, follows
// events live without a request per event, and its buttons work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startProxy, api, connectReady, demoServerBin } from '../integration/harness.mjs';
import { startFakeServer } from '../integration/remote_helpers.mjs';
import {
  launchBrowser, openDashboard, waitRowStatus, waitPageMatchesApi, pageStatuses,
  ensureScreenshotDir,
} from './browser.mjs';

const demoConfig = {
  auto_disable_threshold: 3,
  mcpServers: [
    { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], enabled: true, group: 'core' },
    { name: 'beta', protocol: 'stdio', command: demoServerBin, args: ['--name', 'beta'], enabled: true, group: 'core' },
    // Crashes 4 s after each start: the live-update test restarts it and
    // watches the crash arrive.
    { name: 'crashy', protocol: 'stdio', command: demoServerBin, args: ['--name', 'crashy', '--crash-after', '4'], enabled: true, group: 'tools' },
    { name: 'gamma', protocol: 'stdio', command: demoServerBin, args: ['--name', 'gamma'], enabled: false, group: 'tools' },
    { name: 'broken', protocol: 'stdio', command: '/nonexistent/mcp-server', args: [], enabled: true, group: 'tools' },
    { name: 'solo', protocol: 'stdio', command: demoServerBin, args: ['--name', 'solo'], enabled: true },
  ],
};

let proxy, browser, dash;
const status = async () => (await api(proxy, 'GET', '/api/servers/status')).json;

/** Requests the page made after index `from` (page load is everything before). */
const requestsSince = (from) => dash.requests.slice(from).map((r) => `${r.method} ${r.url}`);

before(async () => {
  proxy = await startProxy({
    // Quick retries so "broken" reaches Auto-Disabled and "crashy" comes back fast.
    config: { ...demoConfig, upstream: { backoff_base_ms: 200, backoff_max_ms: 400 } },
  });
  browser = await launchBrowser();
  dash = await openDashboard(browser, proxy.url);
  // Proof of "no reload": a reload would wipe this.
  await dash.page.evaluate(() => { window.__noReload = true; });
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('serves the embedded page at / with its assets', async () => {
  const res = await api(proxy, 'GET', '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.text, /<script type="module" src="app.js">/);
  for (const [p, type] of [['/app.js', /javascript/], ['/live.js', /javascript/], ['/chart.js', /javascript/], ['/style.css', /^text\/css/]]) {
    const r = await api(proxy, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), type, p);
  }
  // Load = the page, its four assets, the status list and the groups; nothing from elsewhere.
  const origin = new URL(proxy.url).origin;
  for (const r of dash.requests) assert.equal(new URL(r.url).origin, origin, r.url);
});

test('shows every server of the demo config with its status', async () => {
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  await waitRowStatus(dash.page, 'gamma', 'Disabled');
  // "broken" cannot start: Error while retrying, Auto-Disabled after 3 failures.
  await waitRowStatus(dash.page, 'broken', 'Auto-Disabled', 20000);
  const shown = await waitPageMatchesApi(dash.page, status);
  assert.deepEqual(Object.keys(shown).sort(), ['alpha', 'beta', 'broken', 'crashy', 'gamma', 'solo']);

  const row = await dash.page.evaluate(() => {
    const r = document.querySelector('tr[data-server="alpha"]');
    return {
      group: r.closest('tbody').dataset.group,
      tools: r.querySelector('[data-field="tools"]').textContent,
      since: r.querySelector('[data-field="since"]').dataset.since,
    };
  });
  const alpha = (await status()).servers.find((s) => s.name === 'alpha');
  assert.equal(row.group, 'core');
  assert.equal(row.tools, String(alpha.tool_count));
  assert.ok(row.since, 'a Ready server shows since when it is connected');
  const brokenError = await dash.page.textContent('tr[data-server="broken"] [data-field="error"]');
  assert.ok(brokenError.length > 0, 'the last error of a failing server is shown');
  // Groups: core, tools, then the ungrouped server last.
  const groups = await dash.page.$$eval('#servers tbody[data-group]', (bs) => bs.map((b) => b.dataset.group));
  assert.deepEqual(groups, ['core', 'tools', '']);
});

test('an event posted to /api/events shows within 1 s, with no reload and no request', async () => {
  await waitRowStatus(dash.page, 'beta', 'Ready');
  const before = dash.requests.length;
  const t0 = Date.now();
  const res = await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'beta', old_state: 'Ready', new_state: 'Error',
    data: { last_error: 'injected by the browser test', retry_count: 7, failure_count: 2 },
  });
  assert.equal(res.status, 200, res.text);
  await waitRowStatus(dash.page, 'beta', 'Error', 1000);
  const took = Date.now() - t0;
  assert.equal(await dash.page.textContent('tr[data-server="beta"] [data-field="error"]'), 'injected by the browser test');
  assert.equal(await dash.page.textContent('tr[data-server="beta"] [data-field="failures"]'), '2');
  // The feed has it too, newest first.
  const first = await dash.page.textContent('#feed li:first-child');
  assert.match(first, /beta/);
  assert.match(first, /Ready → Error/);
  assert.equal(await dash.page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  assert.deepEqual(requestsSince(before), [], 'no HTTP request per event');
  console.log(`# injected event shown after ${took} ms`);

  // Put the row back as it really is.
  await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'beta', old_state: 'Error', new_state: 'Ready',
    data: { last_error: null, retry_count: 0, failure_count: 0 },
  });
  await waitRowStatus(dash.page, 'beta', 'Ready', 1000);
});

test('a crashing demo server shows within 1 s of its event, with no request', async () => {
  // Watch what the row shows, with the time it showed it.
  await dash.page.evaluate(() => {
    window.__crashy = [];
    const cell = () => document.querySelector('tr[data-server="crashy"] [data-field="status"]');
    new MutationObserver(() => window.__crashy.push([Date.now(), cell().textContent.trim()]))
      .observe(cell(), { subtree: true, childList: true, characterData: true });
  });
  const [ws] = await connectReady(proxy, '/ws/servers?server=crashy&types=server_state_changed');
  const before = dash.requests.length;
  // A fresh start: it crashes 4 s from now.
  assert.equal((await api(proxy, 'POST', '/api/servers/crashy/restart')).status, 200);
  let crashAt = 0;
  let sawReady = false;
  for (;;) {
    const ev = await ws.next(20000);
    if (ev.new_state === 'Ready') sawReady = true;
    if (sawReady && ev.new_state === 'Error') { crashAt = Date.now(); break; }
  }
  ws.close();
  await dash.page.waitForFunction(() => window.__crashy.some(([, s]) => s === 'Error'), null, { timeout: 5000 })
    .catch(async (e) => {
      const shown = await dash.page.evaluate(() => window.__crashy.map(([, s]) => s).join(' → '));
      throw new Error(`the row never showed Error (it showed: ${shown}): ${e.message}`);
    });
  const shownAt = await dash.page.evaluate(() => window.__crashy.find(([, s]) => s === 'Error')[0]);
  const lag = shownAt - crashAt;
  console.log(`# crash shown ${lag} ms after a WebSocket client received it`);
  assert.ok(lag < 1000, `crash shown after ${lag} ms`);
  const seen = await dash.page.evaluate(() => window.__crashy.map(([, s]) => s));
  assert.ok(seen.includes('Ready') && seen.indexOf('Ready') < seen.lastIndexOf('Error'), `row went ${seen.join(' → ')}`);
  // The feed names the lost connection.
  await dash.page.waitForFunction(() => [...document.querySelectorAll('#feed li[data-type="connection_lost"]')].some((li) => li.textContent.includes('crashy')));
  assert.equal(await dash.page.evaluate(() => window.__noReload), true);
  assert.deepEqual(requestsSince(before), [], 'no HTTP request per event');
});

test('Disable and Enable on a row change the server and the row', async () => {
  const { page } = dash;
  await waitRowStatus(page, 'alpha', 'Ready');
  await page.getByRole('button', { name: 'Disable alpha' }).click();
  await waitRowStatus(page, 'alpha', 'Disabled');
  let alpha = (await status()).servers.find((s) => s.name === 'alpha');
  assert.equal(alpha.enabled, false);
  assert.equal(alpha.status, 'Disabled');
  assert.equal(await page.getByRole('button', { name: 'Restart alpha' }).isDisabled(), true);

  await page.getByRole('button', { name: 'Enable alpha' }).click();
  await waitRowStatus(page, 'alpha', 'Ready');
  alpha = (await status()).servers.find((s) => s.name === 'alpha');
  assert.equal(alpha.enabled, true);
  assert.equal(alpha.status, 'Ready');
  await waitPageMatchesApi(page, status);
});

test('a remote server shows its protocol and host where a command would be, its url in the tooltip', async () => {
  const { page } = dash;
  const fake = await startFakeServer();
  try {
    const add = await api(proxy, 'POST', '/api/servers', { name: 'remote', url: fake.url, protocol: 'streamable-http' });
    assert.equal(add.status, 201, add.text);
    await waitRowStatus(page, 'remote', 'Ready');
    const cmd = page.locator('tr[data-server="remote"] .cmd');
    assert.equal(await cmd.textContent(), `streamable-http · 127.0.0.1:${fake.port}`);
    assert.equal(await cmd.getAttribute('title'), fake.url);
    assert.equal((await api(proxy, 'DELETE', '/api/servers/remote')).status, 200);
    await page.waitForSelector('tr[data-server="remote"]', { state: 'detached' });
  } finally {
    await fake.close();
  }
});

test('groups fold, and switch off and on as a whole', async () => {
  const { page } = dash;
  const fold = page.getByRole('button', { name: 'Fold group core' });
  await fold.click();
  assert.equal(await page.isVisible('tr[data-server="alpha"]'), false);
  assert.equal(await page.getByRole('button', { name: 'Unfold group core' }).getAttribute('aria-expanded'), 'false');
  await page.getByRole('button', { name: 'Unfold group core' }).click();
  assert.equal(await page.isVisible('tr[data-server="alpha"]'), true);

  await waitRowStatus(page, 'beta', 'Ready');
  const sw = page.getByRole('switch', { name: 'Group core enabled' });
  assert.equal(await sw.getAttribute('aria-checked'), 'true');
  await sw.click();
  await waitRowStatus(page, 'alpha', 'Disabled');
  await waitRowStatus(page, 'beta', 'Disabled');
  await page.waitForFunction(() => document.querySelector('tbody[data-group="core"] [role="switch"]').getAttribute('aria-checked') === 'false');
  await waitPageMatchesApi(page, status);

  await sw.click();
  await waitRowStatus(page, 'alpha', 'Ready');
  await waitRowStatus(page, 'beta', 'Ready');
  await waitPageMatchesApi(page, status);
});

test('keyboard: every control is a labelled button reachable with Tab', async () => {
  const { page } = dash;
  const unlabeled = await page.$$eval('button', (bs) => bs.filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length);
  assert.equal(unlabeled, 0);
  assert.equal(await page.getAttribute('#conn-text', 'aria-live'), 'polite');
  // Tab from the top until the first row action has focus.
  await page.evaluate(() => document.activeElement?.blur());
  let reached = null;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('aria-label')?.match(/^(Disable|Enable) /) ? document.activeElement.getAttribute('aria-label') : null);
  }
  assert.ok(reached, 'a row action is reachable with Tab');
  // Space on a fold button folds the group.
  await page.getByRole('button', { name: 'Fold group tools' }).focus();
  await page.keyboard.press('Space');
  assert.equal(await page.getByRole('button', { name: 'Unfold group tools' }).getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('Enter');
  assert.equal(await page.getByRole('button', { name: 'Fold group tools' }).getAttribute('aria-expanded'), 'true');
});

test('feed filters by server and by type', async () => {
  const { page } = dash;
  await page.selectOption('#filter-server', 'alpha');
  const servers = await page.$$eval('#feed li .esrv', (s) => [...new Set(s.map((x) => x.textContent))]);
  assert.deepEqual(servers, ['alpha']);
  await page.selectOption('#filter-type', 'state');
  const types = await page.$$eval('#feed li', (ls) => [...new Set(ls.map((l) => l.dataset.type))]);
  assert.ok(types.length > 0);
  for (const t of types) assert.ok(['server_state_changed', 'state_change', 'server_auto_disabled'].includes(t), t);
  await page.selectOption('#filter-server', '');
  await page.selectOption('#filter-type', '');
});

test('works at 400 px wide and in dark mode; screenshots for review', async () => {
  const dir = ensureScreenshotDir();
  // Something in the feed for every outcome colour.
  await api(proxy, 'POST', '/api/events', [
    { type: 'tool_called', server_name: 'alpha', data: { tool: 'echo', duration_ms: 3, ok: true } },
    { type: 'tool_called', server_name: 'beta', data: { tool: 'fail', duration_ms: 12, ok: false, error: 'asked to fail' } },
  ]);
  await dash.page.waitForFunction(() => document.querySelectorAll('#feed li[data-type="tool_called"]').length >= 2);
  for (const scheme of ['light', 'dark']) {
    const wide = await openDashboard(browser, proxy.url, {}, { colorScheme: scheme });
    await waitPageMatchesApi(wide.page, status);
    await wide.page.screenshot({ path: path.join(dir, `dashboard-${scheme}.png`), fullPage: true });
    const bg = await wide.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const rgb = bg.match(/\d+/g).map(Number);
    const lum = (rgb[0] + rgb[1] + rgb[2]) / 3;
    assert.ok(scheme === 'dark' ? lum < 60 : lum > 200, `${scheme} background ${bg}`);
    await wide.context.close();

    const narrow = await openDashboard(browser, proxy.url, {}, { colorScheme: scheme, viewport: { width: 400, height: 800 } });
    await waitPageMatchesApi(narrow.page, status);
    const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 400 px (overflow ${overflow} px)`);
    // The actions stay usable: the buttons are visible and inside the viewport.
    const box = await narrow.page.getByRole('button', { name: 'Restart alpha' }).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 400, `Restart alpha at ${JSON.stringify(box)}`);
    await narrow.page.screenshot({ path: path.join(dir, `dashboard-narrow-${scheme}.png`), fullPage: true });
    assert.deepEqual(narrow.consoleErrors, []);
    await narrow.context.close();
  }
});

test('no console errors', async () => {
  assert.deepEqual(dash.consoleErrors, []);
  const shown = await pageStatuses(dash.page);
  assert.ok(Object.keys(shown).length === 6);
});
