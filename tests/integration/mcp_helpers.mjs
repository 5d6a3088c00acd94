// mcp_helpers.mjs - helpers for the mcp_*.test.mjs files: the official MCP
// TypeScript SDK client connected to mcpproxy's /mcp, and raw HTTP requests
// for what a well-behaved client never sends.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const callSignalServer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'call_signal_server.mjs');

/**
 * Connects the SDK client; `onListChanged` gets each tools/list_changed.
 * `onResponse(init, res)` sees every HTTP response the SDK gets, as soon as
 * its headers are in (init is the request: method, headers, body): the
 * moment the proxy has taken a request on, e.g. opened a session's GET
 * stream or forwarded a call whose answer streams.
 */
export async function mcpConnect(proxy, { headers = {}, onListChanged, onResponse } = {}) {
  const observed = onResponse && (async (url, init) => {
    const res = await fetch(url, init);
    onResponse(init ?? {}, res);
    return res;
  });
  const transport = new StreamableHTTPClientTransport(new URL(proxy.url + '/mcp'), {
    requestInit: { headers },
    ...(observed ? { fetch: observed } : {}),
  });
  const client = new Client({ name: 'mcpproxy-test', version: '1.0.0' });
  if (onListChanged) client.setNotificationHandler(ToolListChangedNotificationSchema, onListChanged);
  await client.connect(transport);
  return { client, transport };
}

export const jsonHeaders = (sessionId, extra = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  ...extra,
});

/** A raw POST /mcp; resolves with status, headers, text and parsed JSON. */
export async function mcpPost(proxy, body, headers) {
  const res = await fetch(proxy.url + '/mcp', {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* SSE or empty */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** Parses the data lines of an SSE body into JSON messages. */
export function sseMessages(text) {
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
}

/** A raw initialize; resolves with the new session id. */
export async function rawInitialize(proxy, protocolVersion = '2025-06-18', headers = {}) {
  const res = await mcpPost(proxy, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  }, jsonHeaders(null, headers));
  if (res.status !== 200) throw new Error(`initialize: ${res.status} ${res.text}`);
  return res.headers.get('mcp-session-id');
}

/**
 * A Unix socket that fixtures/call_signal_server.mjs reports its tools/calls
 * to. `path` goes on the server's command line; `next(pred)` resolves with
 * the first reported call ({tool, arguments}) matching pred that has not
 * been taken yet, as soon as the server has it. close() when done.
 */
export async function callSignals() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-calls-'));
  const sockPath = path.join(dir, 'calls.sock');
  const calls = [];
  const waiters = [];
  const take = (call) => {
    const w = waiters.find((x) => x.pred(call));
    if (!w) return calls.push(call);
    waiters.splice(waiters.indexOf(w), 1);
    clearTimeout(w.timer);
    w.resolve(call);
  };
  const server = createServer((sock) => {
    createInterface({ input: sock }).on('line', (line) => take(JSON.parse(line)));
  });
  await new Promise((resolve) => server.listen(sockPath, resolve));
  return {
    path: sockPath,
    next(pred = () => true, ms = 20000) {
      const i = calls.findIndex(pred);
      if (i >= 0) return Promise.resolve(calls.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching tools/call reached the server in ${ms} ms`));
        }, ms);
        waiters.push(w);
      });
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An upstream entry running fixtures/call_signal_server.mjs. */
export function signalServer(name, signals, extra = {}) {
  return { name, protocol: 'stdio', command: process.execPath, args: [callSignalServer, signals.path, name], ...extra };
}
