// remote_helpers.mjs - remote MCP servers for the upstream_remote tests: the
// npm `everything` server in its HTTP modes, and a small Streamable HTTP
// server of our own whose misbehaviour each test picks (refuse, 401, 500,
// cut a stream, never answer, forget the session, cut the GET stream).
// Everything is a real HTTP server on a real port; only the MCP it speaks
// is small.
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './harness.mjs';

const everythingIndex = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/** A port nobody listens on right now. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Starts server-everything in `mode` ('streamableHttp' or 'sse') on a free
 * port. Ready when it logs that it listens (its only readiness signal).
 * Resolves with { url, port, proc, lines, stop() }.
 */
export async function startEverything(mode) {
  const port = await freePort();
  const proc = spawn(process.execPath, [everythingIndex, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`everything ${mode} did not start:\n${lines.join('\n')}`)), 20000);
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (/listening on port|running on port/i.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    proc.on('exit', (code) => reject(new Error(`everything ${mode} exited with ${code}:\n${lines.join('\n')}`)));
  });
  await ready;
  const url = `http://127.0.0.1:${port}${mode === 'sse' ? '/sse' : '/mcp'}`;
  return {
    url, port, proc, lines,
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((r) => { proc.on('exit', r); proc.kill('SIGKILL'); });
    },
  };
}

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * A Streamable HTTP MCP server with one tool, `work`, whose behaviour
 * `opts` choose:
 *   status401        every request gets 401
 *   status500        every request gets 500 with a short body
 *   cutList          tools/list is answered with an event stream cut mid-event
 *   hangCall         tools/call is never answered (the request stays open)
 *   forgetOnCall     tools/call gets 404: the session is forgotten
 *   sseAnswers       answers come as event streams (with a ping request first)
 *   getStream        a GET stream is offered (else 405)
 *   bigList          tools/list answers carry about this many bytes more
 * It records what it saw: requests (method, path, headers, body), sessions
 * created, open sockets, DELETEs. `server.changeTools()` adds a tool and
 * sends tools/list_changed on the open GET stream(s). `server.cutGet()` cuts
 * every GET stream after sending a primed event.
 */
export async function startFakeServer(opts = {}) {
  const seen = { requests: [], sessions: [], deletes: 0, cancelled: [], getHeaders: [], pings: 0 };
  const sockets = new Set();
  const gets = new Set();
  let tools = [{ name: 'work', description: 'works', inputSchema: { type: 'object' } }];
  let sessionCount = 0;
  let eventId = 0;
  let lastGetId = null; // the last event id written on a GET stream
  const forgotten = new Set();
  const hanging = new Set();

  const send = (res, msg, viaSse) => {
    if (!viaSse) return json(res, 200, msg);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // A request of the server's own first, as the transport allows.
    res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: `ping-${++eventId}`, method: 'ping' })}\n\n`);
    res.write(`id: ${++eventId}\ndata: ${JSON.stringify(msg)}\n\n`);
    res.end();
  };

  const handler = (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const sid = req.headers['mcp-session-id'];
      seen.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (opts.status401) return json(res, 401, { error: 'no token' });
      if (opts.status500) { res.writeHead(500, { 'content-type': 'text/plain' }); return res.end('database is down'); }
      if (req.method === 'DELETE') { seen.deletes++; res.writeHead(200); return res.end(); }
      if (req.method === 'GET') {
        seen.getHeaders.push(req.headers);
        if (!opts.getStream) { res.writeHead(405); return res.end(); }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        lastGetId = String(++eventId);
        res.write(`id: ${lastGetId}\ndata:\n\n`); // priming event (2025-11-25)
        gets.add(res);
        res.on('close', () => gets.delete(res));
        return;
      }
      let msg;
      try { msg = JSON.parse(body); } catch { return json(res, 400, { error: 'bad json' }); }
      if (sid && forgotten.has(sid)) { res.writeHead(404); return res.end(); }
      if (msg.method === 'initialize') {
        const id = `session-${++sessionCount}`;
        seen.sessions.push(id);
        return json(res, 200, {
          jsonrpc: '2.0', id: msg.id,
          result: { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'fake', version: '1' } },
        }, { 'mcp-session-id': id });
      }
      if (msg.id === undefined || msg.method === undefined) {
        // A notification or a response (to our ping).
        if (msg.method === 'notifications/cancelled') seen.cancelled.push(msg.params);
        if (msg.method === undefined && String(msg.id).startsWith('ping-')) seen.pings++;
        res.writeHead(202);
        return res.end();
      }
      if (msg.method === 'tools/list') {
        if (opts.cutList) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`id: 1\ndata: {"jsonrpc":"2.0","id":${msg.id},"res`);
          setTimeout(() => res.socket.destroy(), 50);
          return;
        }
        // bigList: a tool whose description makes the answer that many bytes.
        const listed = opts.bigList ? [...tools, { name: 'big', description: 'x'.repeat(opts.bigList), inputSchema: { type: 'object' } }] : tools;
        return send(res, { jsonrpc: '2.0', id: msg.id, result: { tools: listed } }, opts.sseAnswers);
      }
      if (msg.method === 'tools/call') {
        if (opts.forgetOnCall) { forgotten.add(sid); res.writeHead(404); return res.end(); }
        if (opts.hangCall) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return; // never answered
        }
        return send(res, { jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: `worked in ${sid}` }] } },
          opts.sseAnswers);
      }
      return json(res, 200, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'unknown method' } });
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  server.on(opts.tls ? 'secureConnection' : 'connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/mcp`,
    port,
    seen,
    openSockets: () => sockets.size,
    hanging: () => hanging.size,
    getStreams: () => gets.size,
    changeTools() {
      tools = [...tools, { name: `extra${tools.length}`, inputSchema: { type: 'object' } }];
      for (const res of gets) {
        lastGetId = String(++eventId);
        res.write(`id: ${lastGetId}\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' })}\n\n`);
      }
    },
    lastEventId: () => lastGetId,
    cutGet() { for (const res of gets) res.socket.destroy(); },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (openssl), as { key, cert }. */
export function selfSignedCert() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-tls-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
