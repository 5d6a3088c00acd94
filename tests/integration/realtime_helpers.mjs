// realtime_helpers.mjs - small helpers shared by the realtime_*.test.mjs files
// (the security suites borrow the stats and log-count waits). Everything here
// talks to the real proxy started by harness.mjs; nothing is mocked.
import http from 'node:http';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { api } from './harness.mjs';

export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const EPOCH_RE = /^[0-9a-f]{16}$/;

export const EVENT_TYPES = [
  'server_state_changed', 'server_config_changed', 'server_auto_disabled',
  'server_group_updated', 'state_change', 'config_change', 'app_state_changed',
  'tools_updated', 'tool_called', 'connection_established', 'connection_lost',
  'server_log', 'server_login_failed', 'server_quarantined', 'tool_changed', 'server_approved',
  'cluster_state_changed',
];

/** POSTs one event or an array to /api/events; returns the assigned seq(s). */
export async function publish(proxy, events) {
  const res = await api(proxy, 'POST', '/api/events', events);
  assert.equal(res.status, 200, `POST /api/events: ${res.status} ${res.text}`);
  if (Array.isArray(events)) {
    assert.ok(Array.isArray(res.json?.seqs), `expected {"seqs":[...]}, got ${res.text}`);
    return res.json.seqs;
  }
  assert.equal(typeof res.json?.seq, 'number', `expected {"seq":N}, got ${res.text}`);
  return res.json.seq;
}

/** `n` tool_called events for server `server` with a `pad`-byte payload. */
export function makeEvents(n, { server = 'bulk', pad = 0, type = 'tool_called', tag = '' } = {}) {
  const blob = 'x'.repeat(pad);
  return Array.from({ length: n }, (_, i) => ({
    type, server_name: server, data: { i, tag, ...(pad ? { blob } : {}) },
  }));
}

export async function stats(proxy) {
  const res = await api(proxy, 'GET', '/api/realtime/stats');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

export async function head(proxy) {
  const res = await api(proxy, 'GET', '/healthz');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Waits until pred(stats) holds, re-reading /api/realtime/stats every 50 ms
 *  (stats are not pushed, so this polls, bounded by ms). For the moments only
 *  the stats tell: a client unregistered, an event dropped. */
export async function waitForStats(proxy, pred, ms = 10000, what = 'stats') {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await stats(proxy);
    if (pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads messages from a harness client until pred(msg) holds; returns all read. */
export async function readUntil(client, pred, ms = 15000) {
  const out = [];
  for (;;) {
    const m = await client.next(ms);
    out.push(m);
    if (pred(m)) return out;
  }
}

/** Only the events (messages with a seq and a type that is an event type). */
export function eventsOnly(msgs) {
  return msgs.flat().filter((m) => EVENT_TYPES.includes(m.type));
}

/**
 * A raw WebSocket handshake (or plain GET) with node:http. Resolves with
 * {status, headers, body}; status 101 means the server upgraded.
 */
export function rawRequest(proxy, urlPath, headers = {}, { method = 'GET' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(proxy.url + urlPath, { method, headers, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function upgradeHeaders(extra = {}) {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
  };
}

/**
 * Sends raw bytes on a TCP connection and resolves with the first response
 * line: { statusLine, raw, closed, timedOut }. `closed`: the server ended the
 * connection (statusLine is null if it sent nothing); `timedOut`: neither a
 * line nor the end came within ms.
 */
export function rawExchange(proxy, text, ms = 5000) {
  const { hostname, port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ statusLine: null, raw: buf, closed: false, timedOut: true });
    }, ms);
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(text));
    sock.on('data', (c) => {
      buf += c;
      const end = buf.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve({ statusLine: buf.slice(0, end), raw: buf, closed: false, timedOut: false });
      }
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve({ statusLine: buf ? buf.split('\r\n')[0] : null, raw: buf, closed: true, timedOut: false });
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Asserts `seqs` is exactly lo..hi, in order. */
export function assertRange(seqs, lo, hi, what = 'seqs') {
  const want = [];
  for (let s = lo; s <= hi; s++) want.push(s);
  if (seqs.length !== want.length || seqs.some((s, i) => s !== want[i])) {
    const firstBad = seqs.findIndex((s, i) => s !== want[i]);
    assert.fail(`${what}: expected ${lo}..${hi} (${want.length}), got ${seqs.length} items; ` +
      `first difference at index ${firstBad}: got ${seqs[firstBad]}, want ${want[firstBad]}`);
  }
}

/** Resolves once at least n log entries (already logged or later) match pred. */
export async function waitForLogCount(proxy, pred, n, ms = 20000, what = 'log lines') {
  let count = proxy.logs.filter(pred).length;
  if (count >= n) return;
  await proxy.nextLog((e) => pred(e) && ++count >= n, ms, `${n} ${what}`);
}
