// traffic.test.mjs - what an idle dashboard costs the proxy. Ten pages stay
// open for 60 s with nothing happening; every HTTP request they make after
// loading is counted. Polling every 5 s would cost 120 requests a minute
// per page, WebSocket plus a 30 s fallback poll 20; with ping/pong proving
// liveness we expect none. The numbers are written to
// <build>/dashboard-traffic.json and recorded in docs/BENCHMARKS.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProxy, api, demoServerBin, buildDir } from '../integration/harness.mjs';
import { launchBrowser, openDashboard, waitRowStatus } from './browser.mjs';

const CLIENTS = 10;
const IDLE_MS = Number(process.env.MCPPROXY_IDLE_MS || 60000);

let proxy, browser;

before(async () => {
  proxy = await startProxy({
    config: {
      mcpServers: [
        { name: 'alpha', protocol: 'stdio', command: demoServerBin, args: ['--name', 'alpha'], enabled: true, group: 'core' },
        { name: 'beta', protocol: 'stdio', command: demoServerBin, args: ['--name', 'beta'], enabled: true, group: 'core' },
      ],
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test(`${CLIENTS} idle dashboards for ${IDLE_MS / 1000} s make no HTTP requests`, { timeout: IDLE_MS + 120000 }, async () => {
  const pages = [];
  for (let i = 0; i < CLIENTS; i++) {
    // Default timings, exactly what a user gets.
    const d = await openDashboard(browser, proxy.url);
    d.sockets = 0;
    d.frames = 0;
    d.page.on('websocket', (ws) => {
      d.sockets += 1;
      ws.on('framereceived', () => { d.frames += 1; });
    });
    await waitRowStatus(d.page, 'alpha', 'Ready');
    await waitRowStatus(d.page, 'beta', 'Ready');
    pages.push(d);
  }
  const loadRequests = pages.map((d) => d.requests.length);
  const marks = [...loadRequests];
  const stats0 = (await api(proxy, 'GET', '/api/realtime/stats')).json;

  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, IDLE_MS)); // the measurement window itself
  const seconds = (Date.now() - t0) / 1000;

  const idleRequests = pages.map((d, i) => d.requests.slice(marks[i]));
  const total = idleRequests.reduce((n, r) => n + r.length, 0);
  const perMinute = total * 60 / seconds;
  const stats1 = (await api(proxy, 'GET', '/api/realtime/stats')).json;
  const result = {
    clients: CLIENTS,
    idle_seconds: Math.round(seconds * 10) / 10,
    load_requests_per_client: loadRequests[0],
    idle_http_requests_total: total,
    idle_http_requests_per_minute: Math.round(perMinute * 100) / 100,
    reconnects: pages.reduce((n, d) => n + d.sockets, 0),
    websocket_messages_received: pages.reduce((n, d) => n + d.frames, 0),
    reference_polling_5s_per_minute: 120,
    reference_websocket_plus_30s_poll_per_minute: 20,
    ws_clients_at_proxy: stats1?.connections?.ws_events ?? null,
    delivered_during_idle: stats0 && stats1 ? stats1.delivered - stats0.delivered : null,
    modes: await Promise.all(pages.map((d) => d.page.getAttribute('#conn', 'data-mode'))),
  };
  writeFileSync(path.join(buildDir, 'dashboard-traffic.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(`# ${JSON.stringify(result)}`);

  assert.deepEqual(idleRequests.flat().map((r) => r.url), [], 'no HTTP request while idle');
  assert.equal(result.reconnects, 0, 'no WebSocket was reopened');
  assert.ok(result.modes.every((m) => m === 'live'), `modes ${result.modes}`);
  for (const d of pages) assert.deepEqual(d.consoleErrors, []);
});
