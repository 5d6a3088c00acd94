// upstream_helpers.mjs - helpers for the tests that run upstream servers
// (upstream_*, mcp_*, security_*): an event recorder on /ws/events, status
// lookups, process liveness, a direct MCP client for counting a server's
// tools. Everything talks to real processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { api, connectReady, repoRoot, demoServerBin } from './harness.mjs';

export { demoServerBin };
export const everythingArgs = [path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'];

// Fast retries so crash loops finish in a test's time.
/** Quick retries, as the config's `upstream` object. */
export const fastUpstream = { backoff_base_ms: 100, backoff_max_ms: 400 };

export function demo(name, args = [], extra = {}) {
  return { name, protocol: 'stdio', command: demoServerBin, args: ['--name', name, ...args], ...extra };
}

/**
 * Records every event of /ws/events. `until(pred)` resolves with the first
 * event that matches, awaiting new ones as they arrive. `options` go to the
 * WebSocket (e.g. { headers: { 'X-API-Key': key } } when an api_key is set).
 */
export async function recordEvents(proxy, options) {
  // since=0 replays the history ring first: the record starts at seq 1, so
  // events published before the client connected are in it too.
  const [client] = await connectReady(proxy, '/ws/events?since=0', options);
  const rec = {
    client,
    events: [],
    waiters: [],
    async until(pred, ms = 20000, what = 'an event') {
      const found = rec.events.find(pred);
      if (found) return found;
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          rec.waiters = rec.waiters.filter((x) => x !== w);
          reject(new Error(`timed out waiting for ${what}; saw:\n` +
            rec.events.map((e) => JSON.stringify(e)).join('\n')));
        }, ms);
        rec.waiters.push(w);
      });
    },
    of(server, type) {
      return rec.events.filter((e) => e.server_name === server && (!type || e.type === type));
    },
    close() { return client.close(); },
  };
  // A listener of our own (not client.next()) so no timer keeps Node alive
  // once the test is done.
  const take = (m) => {
    for (const one of Array.isArray(m) ? m : [m]) {
      if (one.seq === undefined) continue; // control messages
      rec.events.push(one);
      for (const w of [...rec.waiters]) {
        if (w.pred(one)) {
          clearTimeout(w.timer);
          rec.waiters = rec.waiters.filter((x) => x !== w);
          w.resolve(one);
        }
      }
    }
  };
  // Messages that arrived with the hello are already in client.messages;
  // take them, then every later one, in the same tick (no gap, no overlap).
  for (const m of client.messages) take(m);
  client.ws.on('message', (data) => take(JSON.parse(data.toString())));
  return rec;
}

export const isState = (server, state) => (e) =>
  e.type === 'server_state_changed' && e.server_name === server && e.new_state === state;
export const isType = (server, type, extra = () => true) => (e) =>
  e.type === type && e.server_name === server && extra(e);

export async function status(proxy) {
  const res = await api(proxy, 'GET', '/api/servers/status');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

export async function serverStatus(proxy, name) {
  const s = (await status(proxy)).servers.find((x) => x.name === name);
  assert.ok(s, `server ${name} missing from /api/servers/status`);
  return s;
}

export function readConfig(proxy) {
  return JSON.parse(readFileSync(proxy.configPath, 'utf8'));
}

/** Whether a pid is a live (non-zombie) process. */
export function alive(pid) {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const text = readFileSync(stat, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch { return false; }
}

/** Waits (polling /proc, bounded) until none of the pids is alive. */
export async function waitAllDead(pids, ms = 10000) {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`still alive after ${ms} ms: ${pids.filter(alive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pids of every process whose parent is `ppid` (from /proc). */
export function childrenOf(ppid) {
  const out = [];
  const tasks = `/proc/${ppid}/task`;
  if (!existsSync(tasks)) return out;
  for (const t of readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim().split(/\s+/)) {
    if (t) out.push(Number(t));
  }
  return out;
}

/**
 * Runs an MCP stdio server directly and returns what tools/list says (all
 * pages), asking with the same capabilities mcpproxy sends ({}).
 */
export async function listToolsDirect(command, args) {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = createInterface({ input: proc.stdout });
  const pending = new Map();
  lines.on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.id !== undefined && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  let id = 0;
  const request = (method, params) => new Promise((resolve) => {
    id += 1;
    pending.set(id, resolve);
    proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  });
  try {
    const init = await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } });
    assert.ok(init.result, `initialize failed: ${JSON.stringify(init)}`);
    proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    const tools = [];
    let cursor;
    do {
      const res = await request('tools/list', cursor ? { cursor } : {});
      tools.push(...res.result.tools);
      cursor = res.result.nextCursor;
    } while (cursor);
    return tools;
  } finally {
    proc.stdin.end();
    proc.kill('SIGTERM');
  }
}

/**
 * Every process below `root` (its children, theirs, ...) as /proc's ppid
 * links say now, in no particular order.
 */
export function descendantsOf(root) {
  const parentOf = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const below = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!below.has(pid) && below.has(ppid)) { below.add(pid); grew = true; }
    }
  }
  below.delete(root);
  return [...below];
}
