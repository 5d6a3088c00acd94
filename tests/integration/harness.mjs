// harness.mjs - start the real mcpproxy binary and talk to it with real clients.
//
// Every test gets its own process on a port the OS picks (--listen 127.0.0.1:0)
// and its own temporary config file. Readiness is the "listening" log line on
// stderr, the one place that names the port. Later server-side moments are
// awaited through what clients see - events on the stream (recordEvents in
// upstream_helpers.mjs), the REST API - and through a log line only where
// nothing else tells; never through sleeps. `exited` resolves once stderr has
// been read to its end, so every line the process wrote is in `logs`.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const buildDir = process.env.MCPPROXY_BUILD_DIR || path.join(repoRoot, 'build');
export const proxyBin = path.join(buildDir, 'mcpproxy');
export const demoServerBin = path.join(buildDir, 'mcp-demo-server');

// Fast settings so timeouts can be exercised in a test run; a test overrides
// what it is about.
export const testWebsocketSettings = {
  ping_interval_ms: 54000,
  pong_timeout_ms: 60000,
  write_timeout_ms: 10000,
  max_message_bytes: 524288,
  send_queue: 256,
  max_clients: 10000,
  history: 4096,
};

/** Resolves when pred(value) holds for a value pushed later, or rejects after ms. */
class Waiters {
  constructor() { this.list = []; }
  add(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.list = this.list.filter((x) => x !== w);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.list.push(w);
    });
  }
  push(value) {
    for (const w of [...this.list]) {
      if (w.pred(value)) {
        clearTimeout(w.timer);
        this.list = this.list.filter((x) => x !== w);
        w.resolve(value);
      }
    }
  }
}

/**
 * Starts mcpproxy. `config` is merged over a minimal config; `websocket` keys are
 * merged over testWebsocketSettings; `cwd` is the directory it runs in, `bin`
 * the binary (an installed copy). Resolves once the proxy logs "listening".
 */
export async function startProxy({ config = {}, args = [], env = {}, configPath, keepConfig = false, wrapper = [], readyMs = 15000, cwd, bin = proxyBin } = {}) {
  let dir = null;
  if (!configPath) {
    dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-test-'));
    configPath = path.join(dir, 'mcp_config.json');
    // Quarantine is off unless a test is about it: tests add servers
    // through the API and call their tools at once.
    const full = {
      mcpServers: [],
      ...config,
      websocket: { ...testWebsocketSettings, ...(config.websocket || {}) },
      quarantine: { new_servers: false, changed_tools: false, ...(config.quarantine || {}) },
    };
    writeFileSync(configPath, JSON.stringify(full, null, 2));
  }
  // `wrapper` runs the proxy under another program, e.g. valgrind.
  const argv = [bin, '--config', configPath, '--listen', '127.0.0.1:0',
    '--log-format', 'json', '--log-level', 'debug', ...args];
  const proc = spawn(wrapper.length ? wrapper[0] : argv[0], [...wrapper.slice(1), ...argv].slice(wrapper.length ? 0 : 1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd, // undefined: this process's
  });
  const logs = [];
  const logWaiters = new Waiters();
  let stderrTail = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    stderrTail += chunk;
    let nl;
    while ((nl = stderrTail.indexOf('\n')) >= 0) {
      const line = stderrTail.slice(0, nl);
      stderrTail = stderrTail.slice(nl + 1);
      let entry;
      try { entry = JSON.parse(line); } catch { entry = { msg: line, raw: true }; }
      logs.push(entry);
      if (process.env.MCPPROXY_TEST_VERBOSE) process.stderr.write(line + '\n');
      logWaiters.push(entry);
    }
  });
  proc.stdout.resume();
  // 'close', not 'exit': it comes after the last stderr line has been read.
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));

  const proxy = {
    proc, logs, configPath, dir, exited,
    /** Waits for a log entry matching pred (entries already logged count too). */
    waitForLog(pred, ms = 10000, what = 'a log line') {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return logWaiters.add(pred, ms, what);
    },
    /** Waits for the next log entry matching pred, ignoring those already logged. */
    nextLog(pred, ms = 10000, what = 'a log line') {
      return logWaiters.add(pred, ms, what);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const result = await exited;
      if (dir && !keepConfig) rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };

  const ready = proxy.waitForLog((e) => e.msg === 'listening', readyMs, '"listening" log line');
  const early = exited.then(({ code, signal }) => {
    throw new Error(`mcpproxy exited before listening (code ${code}, signal ${signal}):\n` +
      logs.map((e) => JSON.stringify(e)).join('\n'));
  });
  const line = await Promise.race([ready, early]);
  proxy.url = line.url;               // "http://127.0.0.1:PORT"
  proxy.wsUrl = line.url.replace(/^http/, 'ws');
  return proxy;
}

/** fetch() relative to the proxy; JSON bodies are encoded for you. */
export async function api(proxy, method, urlPath, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(proxy.url + urlPath, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * Opens a WebSocket (the `ws` package) and queues every message it receives.
 * `client.next()` resolves with the next parsed message, in order.
 */
export function connect(proxy, urlPath, options = {}) {
  const ws = new WebSocket(proxy.wsUrl + urlPath, options);
  const queue = [];
  const waiters = [];
  const client = {
    ws,
    messages: [],
    closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    opened: new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
      ws.on('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    }),
    next(ms = 10000) {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const w = { resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no message within ${ms} ms`));
        }, ms);
        waiters.push(w);
      });
    },
    /** Collects the next n messages. */
    async take(n, ms = 10000) {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await client.next(ms));
      return out;
    },
    close() { ws.close(); return client.closed; },
  };
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    client.messages.push(msg);
    const w = waiters.shift();
    if (w) { clearTimeout(w.timer); w.resolve(msg); } else queue.push(msg);
  });
  ws.on('error', () => { /* surfaced through opened/closed */ });
  return client;
}

/** Connects and consumes the hello message; resolves with [client, hello]. */
export async function connectReady(proxy, urlPath, options) {
  const client = connect(proxy, urlPath, options);
  await client.opened;
  const hello = await client.next();
  if (hello.type !== 'hello') throw new Error(`expected hello first, got ${JSON.stringify(hello)}`);
  return [client, hello];
}
