// control_room.test.mjs - the dashboard as a control room (issue #13), in a
// real headless Chromium against a real mcpproxy and real demo MCP servers:
// the server detail view with its tools and live stderr, the tool tester,
// adding servers (also from a pasted Claude Desktop block), tool-call
// details, and state that stays truthful while the proxy is away and after
// it returns. Each test asserts what a user sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { startProxy, api, connectReady, demoServerBin } from '../integration/harness.mjs';
import {
  launchBrowser, openDashboard, waitMode, waitRowStatus, waitPageMatchesApi, ensureScreenshotDir,
  unexpectedConsoleErrors,
} from './browser.mjs';

const config = {
  auto_disable_threshold: 3,
  upstream: { backoff_base_ms: 100, backoff_max_ms: 200 },
  mcp: { log_tool_arguments: true },
  mcpServers: [
    { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], group: 'core' },
    { name: 'beta', protocol: 'stdio', command: demoServerBin, args: ['--name', 'beta'], group: 'core' },
    // Cannot start: auto-disabled after 3 failures, the only member of its group.
    { name: 'broken', protocol: 'stdio', command: '/nonexistent/mcp-server', group: 'flaky' },
  ],
};
// Short reconnect steps so "correct within 1 s of returning" is the page's
// doing, not its backoff's.
const knobs = { reconnect_base_ms: '100', reconnect_max_ms: '300', reconnect_attempts: '1000' };

let port, proxy, browser, dash, configDir;
const status = async () => (await api(proxy, 'GET', '/api/servers/status')).json;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address();
      srv.close(() => resolve(p));
    });
  });
}

async function start() {
  const opts = { args: ['--listen', `127.0.0.1:${port}`] };
  if (configDir) opts.configPath = path.join(configDir, 'mcp_config.json');
  else { opts.config = config; opts.keepConfig = true; }
  proxy = await startProxy(opts);
  configDir = configDir || proxy.dir;
}

before(async () => {
  port = await freePort();
  await start();
  browser = await launchBrowser();
  dash = await openDashboard(browser, proxy.url, knobs, { viewport: { width: 1366, height: 900 } });
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  await waitRowStatus(dash.page, 'beta', 'Ready');
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

test('a server name opens its detail view (deep-linkable) with its tools, and stderr lines arrive within 1 s', async () => {
  const { page } = dash;
  await page.getByRole('link', { name: 'alpha', exact: true }).click();
  assert.equal(new URL(page.url()).hash, '#/servers/alpha');
  await page.waitForSelector('#detail h1:has-text("alpha")');
  assert.equal(await page.isVisible('main'), false, 'the overview gives way to the detail view');
  // The demo server's tools, with their descriptions; a tool unfolds to its schema.
  await page.waitForSelector('#detail details[data-tool="add"]');
  const tools = await page.$$eval('#detail details[data-tool]', (ds) => ds.map((d) => d.dataset.tool));
  assert.deepEqual(tools.slice(0, 4), ['echo', 'add', 'sleep', 'fail']);
  assert.match(await page.textContent('#detail details[data-tool="add"] summary'), /Adds two numbers/);
  await page.click('#detail details[data-tool="add"] summary');
  assert.match(await page.textContent('#detail details[data-tool="add"] pre.schema'), /"First addend."/);
  // The stderr kept so far is there.
  await page.waitForFunction(() => /initialized with protocol/.test(document.querySelector('#detail .logs').textContent));

  // A new line: restart alpha, watch for the line naming the new pid.
  await page.evaluate(() => {
    window.__lines = [];
    new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) window.__lines.push([Date.now(), n.textContent]);
    }).observe(document.querySelector('#detail .logs'), { childList: true });
  });
  const [ws] = await connectReady(proxy, '/ws/servers?server=alpha&types=server_log');
  await page.getByRole('button', { name: 'Restart', exact: true }).click();
  let line, gotAt;
  for (;;) {
    const ev = await ws.next(15000);
    line = ev.data.lines.find((l) => /ready: MCP over stdio, pid \d+/.test(l));
    if (line) { gotAt = Date.now(); break; }
  }
  ws.close();
  await page.waitForFunction((l) => window.__lines.some(([, t]) => t.trim() === l), line, { timeout: 5000 });
  const shownAt = await page.evaluate((l) => window.__lines.find(([, t]) => t.trim() === l)[0], line);
  console.log(`# stderr line shown ${shownAt - gotAt} ms after a WebSocket client received it`);
  assert.ok(shownAt - gotAt < 1000, `shown after ${shownAt - gotAt} ms`);
  // The history has the restart.
  await page.waitForFunction(() => /Disconnected → Connecting/.test(document.querySelector('#detail .history').textContent));

  // Deep link: a fresh page opened at the URL shows the same view.
  const other = await openDashboard(browser, `${proxy.url}`, {}, { waitLive: false });
  await other.page.goto(`${proxy.url}/#/servers/beta`);
  await other.page.waitForSelector('#detail details[data-tool="echo"]');
  assert.match(await other.page.textContent('#detail h1'), /beta/);
  await other.context.close();
});

test('the tool tester calls demo__add through /mcp from the keyboard and shows 5', async () => {
  const { page } = dash;
  await page.goto(`${proxy.url}/?${new URLSearchParams(knobs)}#/servers/alpha`);
  await waitMode(page, 'live');
  await waitRowStatus(page, 'alpha', 'Ready');
  await page.waitForSelector('#detail details[data-tool="add"]');
  // Keyboard only: focus the tool, open it, fill its fields, submit.
  await page.focus('#detail details[data-tool="add"] summary');
  await page.keyboard.press('Enter');
  const a = page.getByLabel(/^a\b/);
  const b = page.getByLabel(/^b\b/);
  await a.waitFor(); // the form is built when the tool unfolds
  assert.equal(await a.count(), 1, 'the field of parameter a is labelled with its name');
  assert.equal(await b.count(), 1);
  await a.focus();
  await page.keyboard.type('2');
  await page.keyboard.press('Tab');
  // The description of a sits between the fields; Tab reaches b.
  while (!(await b.evaluate((e) => e === document.activeElement))) await page.keyboard.press('Tab');
  await page.keyboard.type('3');
  await page.keyboard.press('Enter');
  const result = page.locator('#detail details[data-tool="add"] .result');
  await result.locator('.result-text').waitFor();
  assert.equal((await result.locator('.result-text').textContent()).trim(), '5');
  assert.match(await result.locator('.result-structured').textContent(), /"sum": 5/);
  assert.equal(await result.getAttribute('data-outcome'), 'ok');

  // A bad value is caught next to its field, nothing is sent.
  await a.fill('');
  await page.getByRole('button', { name: 'Call add' }).click();
  assert.match(await page.locator('#detail details[data-tool="add"] .field-error').first().textContent(), /required/);

  // A tool error (isError) is shown as one.
  await page.click('#detail details[data-tool="fail"] summary');
  await page.getByLabel(/^message\b/).fill('asked to fail');
  await page.getByRole('button', { name: 'Call fail' }).click();
  const failed = page.locator('#detail details[data-tool="fail"] .result');
  await failed.locator('.result-text').waitFor();
  assert.equal(await failed.getAttribute('data-outcome'), 'tool-error');
  assert.equal((await failed.locator('.result-text').textContent()).trim(), 'asked to fail');

  // The calls are in the view's recent calls, with counts and latency.
  await page.waitForFunction(() => document.querySelectorAll('#detail .calls tbody tr').length >= 2);
  assert.match(await page.textContent('#detail .call-stats'), /2 calls · 1 failed · average \d+ ms · p95 \d+ ms/);
});

test('a tool call in the feed unfolds to its arguments, outcome, result size, duration, client and session', async () => {
  const { page } = dash;
  await page.getByRole('link', { name: '← All servers' }).click();
  await page.waitForSelector('main:not([hidden])');
  const item = page.locator('#feed li[data-type="tool_called"]', { hasText: 'add' }).first();
  await item.locator('button.ev-line').click();
  const details = item.locator('.ev-details');
  const text = await details.textContent();
  assert.match(text, /"a": 2/);
  assert.match(text, /"b": 3/);
  assert.match(text, /Outcome\s*ok/);
  assert.match(text, /Duration\s*\d+ ms/);
  assert.match(text, /Result\s*\d+ B answered/); // demo__add's answer is a few dozen bytes
  assert.match(text, /Client\s*mcpproxy-dashboard/); // the tester's clientInfo.name
  assert.match(text, /Session\s*[0-9a-f]{32}/);
  assert.equal(await item.locator('button.ev-line').getAttribute('aria-expanded'), 'true');
});

test('a pasted Claude Desktop block becomes a Ready server; a refusal is shown at its field', async () => {
  const { page } = dash;
  await page.getByRole('button', { name: 'Add server' }).click();
  // The API's 400 message lands next to the field it names.
  await page.getByLabel('Name', { exact: true }).fill('nocommand');
  await page.getByRole('button', { name: 'Add server', exact: true }).last().click();
  const cmdErr = page.locator('#server-dialog .field-command .field-error');
  await cmdErr.waitFor();
  assert.match(await cmdErr.textContent(), /exactly one of "command" .* and "url"/);
  assert.equal((await status()).servers.some((s) => s.name === 'nocommand'), false);

  const block = {
    mcpServers: {
      pasted: { command: demoServerBin, args: ['--name', 'pasted'], env: { TOKEN: 'secret' } },
    },
  };
  await page.getByLabel('mcpServers JSON').fill(JSON.stringify(block, null, 2));
  await page.getByRole('button', { name: 'Add pasted servers' }).click();
  await waitRowStatus(page, 'pasted', 'Ready');
  assert.equal(await page.isVisible('#server-dialog'), false, 'the dialog closes once every server is added');
  const s = (await api(proxy, 'GET', '/api/servers/pasted')).json;
  assert.deepEqual(s.args, ['--name', 'pasted']);
  assert.deepEqual(s.env, { TOKEN: '***' });

  // A bad name in a pasted block: the API's message under the textarea.
  await page.getByRole('button', { name: 'Add server' }).click();
  await page.getByLabel('mcpServers JSON').fill('"bad name": {"command": "x"}');
  await page.getByRole('button', { name: 'Add pasted servers' }).click();
  await page.waitForFunction(() => /must be 1-64 characters/.test(document.querySelector('#server-dialog .paste .field-error').textContent));
  await page.keyboard.press('Escape');

  // Edit, then remove it from its detail view.
  await page.getByRole('link', { name: 'pasted', exact: true }).click();
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.locator('#server-dialog').getByLabel('Group', { exact: true }).fill('added');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => document.querySelector('tr[data-server="pasted"]')?.closest('tbody').dataset.group === 'added');
  assert.equal((await api(proxy, 'GET', '/api/servers/pasted')).json.env.TOKEN, '***');
  await page.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('button', { name: 'Really remove pasted?' }).click();
  await page.waitForFunction(() => !document.querySelector('tr[data-server="pasted"]') && window.location.hash === '#/');
  assert.equal((await api(proxy, 'GET', '/api/servers/pasted')).status, 404);
});

test('failures, errors and group switches tell one story', async () => {
  const { page } = dash;
  await page.goto(`${proxy.url}/?${new URLSearchParams(knobs)}`);
  await waitMode(page, 'live');
  await waitRowStatus(page, 'broken', 'Auto-Disabled', 20000);
  const err = page.locator('tr[data-server="broken"] [data-field="error"]');
  assert.match(await err.textContent(), /command not found or not executable: \/nonexistent\/mcp-server/);
  // The count shown is the one auto-disable counted (the proxy's status agrees).
  const broken = (await status()).servers.find((s) => s.name === 'broken');
  assert.equal(broken.failure_count, 3);
  assert.equal(await page.textContent('tr[data-server="broken"] [data-field="failures"]'), '3');
  // The only member of "flaky" is auto-disabled: the group is off.
  const sw = page.getByRole('switch', { name: 'Group flaky enabled' });
  assert.equal(await sw.getAttribute('aria-checked'), 'false');
  assert.equal((await sw.textContent()).trim(), 'off');
  // The whole error unfolds in place.
  await err.click();
  assert.equal(await err.getAttribute('aria-expanded'), 'true');
  const box = await err.boundingBox();
  assert.ok(box.height > 20, `the unfolded error wraps (${box.height} px high)`);

  // A server Ready again drops its old error.
  await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'beta', old_state: 'Ready', new_state: 'Error',
    data: { last_error: 'an old failure', failure_count: 1 },
  });
  await waitRowStatus(page, 'beta', 'Error', 1000);
  assert.equal(await page.textContent('tr[data-server="beta"] [data-field="error"]'), 'an old failure');
  await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'beta', old_state: 'Error', new_state: 'Ready',
    data: { tool_count: 4, retry_count: 0, failure_count: 0 },
  });
  await waitRowStatus(page, 'beta', 'Ready', 1000);
  assert.equal(await page.textContent('tr[data-server="beta"] [data-field="error"]'), '');
  await waitPageMatchesApi(page, status);
});

test('screenshots at 1366 and 400 px: overview, detail, dialogs', async () => {
  const dir = ensureScreenshotDir();
  for (const width of [1366, 400]) {
    const d = await openDashboard(browser, proxy.url, {}, { viewport: { width, height: 900 } });
    await waitPageMatchesApi(d.page, status);
    await d.page.screenshot({ path: path.join(dir, `control-room-overview-${width}.png`), fullPage: true });
    const overflow = await d.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at ${width} px (overflow ${overflow} px)`);
    await d.page.goto(`${proxy.url}/#/servers/alpha`);
    await d.page.waitForSelector('#detail details[data-tool="add"]');
    await d.page.click('#detail details[data-tool="add"] summary');
    await d.page.screenshot({ path: path.join(dir, `control-room-detail-${width}.png`), fullPage: true });
    const overflowDetail = await d.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflowDetail <= 0, `detail: no horizontal scrolling at ${width} px (overflow ${overflowDetail} px)`);
    await d.page.getByRole('button', { name: 'Connect a client' }).click();
    await d.page.screenshot({ path: path.join(dir, `control-room-connect-${width}.png`) });
    await d.page.keyboard.press('Escape');
    await d.page.getByRole('button', { name: 'Add server' }).click();
    await d.page.screenshot({ path: path.join(dir, `control-room-add-${width}.png`) });
    assert.deepEqual(d.consoleErrors, []);
    await d.context.close();
  }
});

test('connect panel: snippets for four clients pointing at this /mcp', async () => {
  const { page } = dash;
  await page.goto(`${proxy.url}/?${new URLSearchParams(knobs)}`);
  await waitMode(page, 'live');
  await page.getByRole('button', { name: 'Connect a client' }).click();
  const mcpUrl = `${proxy.url}/mcp`;
  for (const id of ['claude-desktop', 'cursor', 'vscode', 'claude-code']) {
    assert.ok((await page.textContent(`#snippet-${id}`)).includes(mcpUrl), id);
  }
  assert.deepEqual(JSON.parse(await page.textContent('#snippet-cursor')), { mcpServers: { mcpproxy: { url: mcpUrl } } });
  assert.deepEqual(JSON.parse(await page.textContent('#snippet-vscode')), { servers: { mcpproxy: { type: 'http', url: mcpUrl } } });
  assert.equal(await page.getByRole('button', { name: 'Copy the Cursor settings' }).count(), 1);
  await page.keyboard.press('Escape');
});

test('proxy down: rows greyed and actions off within 1 s; back: correct rows and the Running badge within 1 s', async () => {
  const { page } = dash;
  await page.goto(`${proxy.url}/?${new URLSearchParams(knobs)}`);
  await waitMode(page, 'live');
  await waitPageMatchesApi(page, status);
  await page.evaluate(() => {
    window.__stale = [];
    new MutationObserver(() => window.__stale.push([Date.now(), document.body.classList.contains('stale')]))
      .observe(document.body, { attributes: true, attributeFilter: ['class'] });
  });
  await proxy.stop();
  const downAt = Date.now();
  await page.waitForFunction(() => window.__stale.some(([, s]) => s), null, { timeout: 1000 });
  const greyAt = await page.evaluate(() => window.__stale.find(([, s]) => s)[0]);
  console.log(`# rows greyed ${greyAt - downAt} ms after the proxy exited`);
  assert.equal(await page.getByRole('button', { name: 'Disable alpha' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Restart alpha' }).isDisabled(), true);
  assert.equal(await page.getByRole('switch', { name: 'Group core enabled' }).isDisabled(), true);
  const opacity = await page.evaluate(() => getComputedStyle(document.querySelector('tr[data-server="alpha"]').closest('tbody')).opacity);
  assert.ok(Number(opacity) < 1, `greyed (opacity ${opacity})`);
  // The connected time stops counting.
  const since = await page.textContent('tr[data-server="alpha"] [data-field="since"]');
  await page.waitForTimeout(1100); // long enough for a counting clock to move
  assert.equal(await page.textContent('tr[data-server="alpha"] [data-field="since"]'), since);

  await start();
  const upAt = Date.now();
  await page.waitForFunction(() => window.__stale.some(([, s], i) => !s && i > 0), null, { timeout: 3000 });
  const liveAt = await page.evaluate(() => window.__stale.findLast(([, s]) => !s)[0]);
  console.log(`# page live again ${liveAt - upAt} ms after the proxy listened`);
  assert.ok(liveAt - upAt < 1000, `live after ${liveAt - upAt} ms`);
  await page.waitForFunction(() => document.getElementById('app-state').textContent === 'Running', null, { timeout: 1000 });
  await waitPageMatchesApi(page, status);
  assert.equal(await page.getByRole('button', { name: 'Disable alpha' }).isDisabled(), false);
});

test('a fresh load after more than 100 events still shows Running', async () => {
  await api(proxy, 'POST', '/api/events', Array.from({ length: 150 }, (_, i) => ({ type: 'tool_called', server_name: 'alpha', data: { tool: 'echo', duration_ms: i, ok: true } })));
  const d = await openDashboard(browser, proxy.url);
  await d.page.waitForFunction(() => document.getElementById('app-state').textContent === 'Running', null, { timeout: 2000 });
  await d.context.close();
});

test('no console errors on the main page', async () => {
  assert.deepEqual(unexpectedConsoleErrors(dash.consoleErrors), []);
});
