// deflate.test.mjs - a real browser negotiates permessage-deflate and reads
// the proxy's compressed events (one copy per event, RSV1 frames of our own).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, api } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';

let proxy, browser;

before(async () => {
  proxy = await startProxy();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('Chromium gets permessage-deflate and reads compressed events intact', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(proxy.url + '/');
  // A plain `new WebSocket(url)`, as the dashboard opens it; the page keeps
  // what arrives until the test asks.
  const extensions = await page.evaluate((wsUrl) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    window.received = [];
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'hello') resolve(ws.extensions);
      else window.received.push(msg);
    };
    ws.onerror = () => reject(new Error('WebSocket error'));
  }), proxy.wsUrl + '/ws/events?server=b');
  assert.match(extensions, /permessage-deflate/);

  const text = 'all work and no play makes a dull event; '.repeat(100); // 4 KB: compressed
  const events = [
    { type: 'tool_called', server_name: 'b', data: { text } },
    { type: 'tool_called', server_name: 'b' }, // small: plain
    { type: 'tool_called', server_name: 'b', data: { text: text.repeat(30) } }, // 123 KB: written in chunks
  ];
  const res = await api(proxy, 'POST', '/api/events', events);
  assert.equal(res.status, 200, res.text);
  await page.waitForFunction(() => window.received.length === 3, null, { timeout: 10000 });
  const received = await page.evaluate(() => window.received);
  assert.deepEqual(received.map((m) => m.seq), res.json.seqs);
  assert.deepEqual(received.map((m) => m.data), events.map((e) => e.data || {}));
});
