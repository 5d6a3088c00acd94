// browser.mjs - a real headless Chromium (Debian's) driven by playwright-core,
// pointed at a real mcpproxy started by the integration harness.
//
// openDashboard() records every HTTP request the page makes and every console
// error, so tests can prove what the page does and does not fetch.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildDir } from '../integration/harness.mjs';

export const chromiumPath = process.env.MCPPROXY_CHROMIUM || '/usr/bin/chromium';
export const screenshotDir = path.join(buildDir, 'screenshots');

export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Opens the dashboard of `proxy` (or of `baseUrl`) with URL parameters `params`.
 * Resolves once the indicator says "live" (unless waitLive is false).
 * Returns { page, context, requests, consoleErrors, url }.
 *   requests: [{time, method, url, resourceType}] for every HTTP request (not WebSockets)
 *   consoleErrors: console.error messages and uncaught page errors
 */
export async function openDashboard(browser, base, params = {}, { colorScheme = 'light', viewport = { width: 1280, height: 800 }, waitLive = true } = {}) {
  const context = await browser.newContext({ colorScheme, viewport });
  const page = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'websocket') return;
    requests.push({ time: Date.now(), method: r.method(), url: r.url(), resourceType: r.resourceType() });
  });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const q = new URLSearchParams(params).toString();
  const url = `${base}/${q ? '?' + q : ''}`;
  await page.goto(url);
  if (waitLive) await waitMode(page, 'live');
  return { page, context, requests, consoleErrors, url };
}

/** Waits until the connection indicator is in `mode` (live, reconnecting, polling). */
export async function waitMode(page, mode, timeout = 15000) {
  await page.waitForFunction((m) => document.getElementById('conn')?.dataset.mode === m, mode, { timeout });
}

/** The status text the page shows for each server: {name: status}. */
export async function pageStatuses(page) {
  return page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('tr[data-server]')].map((r) => [r.dataset.server, r.querySelector('[data-field="status"]').textContent.trim()])));
}

/** Waits until the row of `server` shows `status`. */
export async function waitRowStatus(page, server, status, timeout = 15000) {
  await page.waitForFunction(([n, s]) => {
    const row = document.querySelector(`tr[data-server="${CSS.escape(n)}"]`);
    return row && row.querySelector('[data-field="status"]').textContent.trim() === s;
  }, [server, status], { timeout });
}

/** Waits until every server's row shows what /api/servers/status says, and
 *  no extra rows exist. Returns the matching statuses. */
export async function waitPageMatchesApi(page, fetchStatus, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let api, shown;
  for (;;) {
    api = Object.fromEntries((await fetchStatus()).servers.map((s) => [s.name, s.status]));
    shown = await pageStatuses(page);
    if (JSON.stringify(sortKeys(api)) === JSON.stringify(sortKeys(shown))) return shown;
    if (Date.now() > deadline) {
      throw new Error(`page never matched the API:\n api:  ${JSON.stringify(api)}\n page: ${JSON.stringify(shown)}`);
    }
    // Both sides move while servers connect; look again shortly.
    await new Promise((r) => setTimeout(r, 100));
  }
}

function sortKeys(o) { return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))); }

export function ensureScreenshotDir() {
  mkdirSync(screenshotDir, { recursive: true });
  return screenshotDir;
}

/** Console errors the browser itself prints for refused connections while the
 *  proxy is down on purpose; anything else is a bug in the page. */
export function unexpectedConsoleErrors(errors) {
  return errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|Failed to load resource/.test(e));
}
