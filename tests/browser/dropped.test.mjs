// dropped.test.mjs - when the proxy tells the page it dropped events for it
// (more arrived in one loop turn than its socket and its queue could take),
// the page refetches the status list once and ends up showing the truth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startProxy, api, demoServerBin } from '../integration/harness.mjs';
import { launchBrowser, openDashboard, waitRowStatus, waitPageMatchesApi } from './browser.mjs';

let proxy, browser;
const status = async () => (await api(proxy, 'GET', '/api/servers/status')).json;

before(async () => {
  proxy = await startProxy({
    config: {
      websocket: { send_queue: 16, send_queue_bytes: 65536, history: 64 },
      limits: { max_body_bytes: 16 * 1024 * 1024 },
      mcpServers: [
        { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], enabled: true },
      ],
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('events_dropped: one refetch, then the page matches the API', async () => {
  const dash = await openDashboard(browser, proxy.url);
  await waitRowStatus(dash.page, 'alpha', 'Ready');
  const mark = dash.requests.length;
  // The page stops reading: its main thread is paused in the debugger (at the
  // next statement it runs, at the latest the first message handler), so
  // Chromium stops taking frames off the socket once its own small buffer is
  // full. 200 events of 48 KiB in one loop turn (about 10 MB) are then more
  // than the socket's buffers and the 64 KiB queue hold, whatever the speed
  // of this machine: the proxy must drop some and say so.
  const cdp = await dash.context.newCDPSession(dash.page);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  // The padding is random: Chromium negotiates permessage-deflate, which
  // would shrink repeated bytes to almost nothing (random base64 keeps three
  // quarters of its size).
  const pad = crypto.randomBytes(36 * 1024).toString('base64');
  const burst = [];
  for (let i = 0; i < 200; i++) {
    burst.push({ type: 'tool_called', server_name: 'alpha', data: { tool: 'echo', duration_ms: i, ok: true, pad } });
  }
  const res = await api(proxy, 'POST', '/api/events', burst);
  assert.equal(res.status, 200, res.text);
  const pageClient = async () => (await api(proxy, 'GET', '/api/realtime/stats')).json.clients.find((c) => c.endpoint === '/ws/events');
  for (const deadline = Date.now() + 10000; !((await pageClient())?.dropped > 0);) {
    assert.ok(Date.now() < deadline, `no drop while the page was paused: ${JSON.stringify(await pageClient())}`);
    await new Promise((r) => setImmediate(r));
  }
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
  await dash.page.waitForSelector('#feed li[data-type="notice"]');
  assert.match(await dash.page.textContent('#feed li[data-type="notice"]'), /events dropped/);
  await waitPageMatchesApi(dash.page, status);
  const refetches = dash.requests.slice(mark).filter((r) => new URL(r.url).pathname === '/api/servers/status');
  // One per drop notice (the proxy reports a burst once), never one per event.
  assert.ok(refetches.length >= 1 && refetches.length <= 2, `${refetches.length} status refetches`);
  assert.equal(await dash.page.getAttribute('#conn', 'data-mode'), 'live');
  assert.deepEqual(dash.consoleErrors, []);
});
