// reconnect.test.mjs - the dashboard survives its proxy going away: it says so,
// reconnects with backoff, falls back to polling after the last attempt, and
// stops polling the moment the WebSocket is back.
//
// The page's timing knobs are shrunk through URL parameters (the defaults are
// 2 s..32 s backoff, 30 s polling, 60 s WebSocket retry).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { startProxy, api, demoServerBin } from '../integration/harness.mjs';
import {
  launchBrowser, openDashboard, waitMode, waitRowStatus, waitPageMatchesApi, unexpectedConsoleErrors,
} from './browser.mjs';

const config = {
  mcpServers: [
    { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], enabled: true, group: 'core' },
    { name: 'beta', protocol: 'stdio', command: demoServerBin, args: ['--name', 'beta'], enabled: true, group: 'core' },
  ],
};

const knobs = { reconnect_base_ms: '100', poll_ms: '500', ws_retry_ms: '1000' };

let port, proxy, browser, dash, configPath, configDir;

/** A port nobody listens on right now (the OS picks it; we close it again). */
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
  if (configPath) opts.configPath = configPath;
  else { opts.config = config; opts.keepConfig = true; }
  proxy = await startProxy(opts);
  assert.equal(proxy.url, `http://127.0.0.1:${port}`, 'the later --listen wins');
  configPath = proxy.configPath;
  configDir = configDir || proxy.dir;
  return proxy;
}

const status = async () => (await api(proxy, 'GET', '/api/servers/status')).json;
const statusRequests = (from) => dash.requests.slice(from).filter((r) => new URL(r.url).pathname === '/api/servers/status');

before(async () => {
  port = await freePort();
  await start();
  browser = await launchBrowser();
  dash = await openDashboard(browser, proxy.url, knobs);
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  await waitRowStatus(dash.page, 'beta', 'Ready');
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

test('proxy restart: reconnecting, then live again with a correct list', async () => {
  const { page } = dash;
  await proxy.stop();
  await waitMode(page, 'reconnecting');
  const text = await page.textContent('#conn-text');
  assert.match(text, /Reconnecting \(attempt \d of 5/);

  // While it is down, change what the list will say: beta starts disabled.
  const { readFileSync, writeFileSync } = await import('node:fs');
  const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
  cfg.mcpServers.find((s) => s.name === 'beta').enabled = false;
  writeFileSync(configPath, JSON.stringify(cfg, null, 2));

  const mark = dash.requests.length;
  await start();
  await waitMode(page, 'live', 15000);
  // A new run (new epoch): the page refetched the list once and shows the truth.
  await waitRowStatus(page, 'beta', 'Disabled');
  await waitRowStatus(page, 'alpha', 'Ready');
  await waitPageMatchesApi(page, status);
  assert.ok(statusRequests(mark).length >= 1, 'the status list was fetched again after the restart');
  assert.ok(statusRequests(mark).length <= 2, `status fetched ${statusRequests(mark).length} times`);
  // And events flow again.
  await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'alpha', old_state: 'Ready', new_state: 'Error', data: { last_error: 'after restart' },
  });
  await waitRowStatus(page, 'alpha', 'Error', 2000);
  await api(proxy, 'POST', '/api/events', {
    type: 'server_state_changed', server_name: 'alpha', old_state: 'Error', new_state: 'Ready', data: { last_error: null },
  });
  await waitRowStatus(page, 'alpha', 'Ready', 2000);
});

test('down past 5 attempts: polling; back: live, and polling stops', async () => {
  const { page } = dash;
  await proxy.stop();
  await waitMode(page, 'reconnecting');
  // 100+200+400+800+1600 ms of backoff, then polling.
  await waitMode(page, 'polling', 20000);
  assert.match(await page.textContent('#conn-text'), /Polling every/);
  // It does poll (every 500 ms here), and the polls fail while the proxy is down.
  const pollMark = dash.requests.length;
  await page.waitForFunction(() => /unreachable/.test(document.getElementById('conn-text').textContent), null, { timeout: 5000 });
  await waitFor(() => statusRequests(pollMark).length >= 2, 5000, 'two polls');

  await start();
  await waitMode(page, 'live', 10000);
  await waitPageMatchesApi(page, status);
  // Proof that polling stopped: no request at all over 6 poll periods.
  const liveMark = dash.requests.length;
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(dash.requests.slice(liveMark).map((r) => r.url), [], 'no request while live');
  assert.equal(await page.getAttribute('#conn', 'data-mode'), 'live');
  assert.deepEqual(unexpectedConsoleErrors(dash.consoleErrors), []);
});

/** Re-checks cond every 50 ms until true or ms pass. For conditions that only
 *  a count of recorded requests can show. */
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
