// security_helpers.mjs - raw HTTP and WebSocket requests for the security
// suites: they need headers fetch() will not send (Host), upgrades whose
// answer must be inspected before any 101, and a look at the proxy's fds
// and memory through /proc.
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/**
 * One HTTP request with exactly the given headers (Host included).
 * Resolves with { status, headers, text, json }; an upgrade (101) resolves
 * with status 101 so a test can fail on it.
 */
export function rawRequest(proxy, method, urlPath, { headers = {}, body } = {}) {
  const url = new URL(proxy.url);
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method, path: urlPath, agent: false,
      headers: {
        Connection: 'close', ...headers,
        ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
      },
      setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host'),
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: 101, headers: res.headers }); });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`no answer to ${method} ${urlPath}`)));
    if (payload) req.write(payload);
    req.end();
  });
}

/** A WebSocket upgrade request (GET with the RFC 6455 headers) plus `headers`. */
export function rawUpgrade(proxy, urlPath, headers = {}) {
  return rawRequest(proxy, 'GET', urlPath, {
    headers: {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers,
    },
  });
}

/** Opens a TCP connection to the proxy; resolves once connected. */
export function tcpConnect(proxy) {
  const url = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed by the peer (or errors); with the bytes it received. */
export function untilClosed(socket, ms = 30000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    const t = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    const done = () => { clearTimeout(t); resolve(Buffer.concat(chunks)); };
    socket.once('close', done);
    socket.on('error', () => { /* close follows */ });
  });
}

/** Number of open fds of a process. */
export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process, in KiB. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * Polls until pred() holds; for conditions nothing pushes (fd counts in
 * /proc after the peer's close has been processed, an HTTP answer that
 * changes). Not a sleep for synchronization: it re-checks a condition, and
 * fails after `ms`.
 */
export async function eventually(pred, ms = 15000, what = 'a condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const last = await pred();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A masked client frame (RFC 6455 5.2). */
export function clientFrame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (data.length < 126) head.push(maskBit | data.length);
  else if (data.length < 65536) head.push(maskBit | 126, data.length >> 8, data.length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((data.length >>> 24) & 0xff, (data.length >>> 16) & 0xff, (data.length >>> 8) & 0xff, data.length & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i % 4];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/**
 * Completes a WebSocket handshake on a raw socket and returns
 * { socket, frames } where frames() parses what the server sent so far.
 */
export async function rawWebSocket(proxy, urlPath = '/ws/events', headers = {}) {
  const socket = await tcpConnect(proxy);
  const url = new URL(proxy.url);
  const key = randomBytes(16).toString('base64');
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
  let buf = Buffer.alloc(0);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('error', () => { /* close follows */ });
  await new Promise((resolve, reject) => {
    const onData = (c) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
      socket.off('data', onData);
      if (!/^HTTP\/1\.1 101/.test(head)) reject(new Error(`no upgrade: ${head}`));
      else resolve();
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during handshake')));
  });
  socket.on('data', (c) => { buf = Buffer.concat([buf, c]); });
  return {
    socket,
    closed,
    /** Parses the complete server frames received so far. */
    frames() {
      const out = [];
      let off = 0;
      while (off + 2 <= buf.length) {
        const b0 = buf[off], b1 = buf[off + 1];
        let len = b1 & 0x7f, p = off + 2;
        if (len === 126) { if (p + 2 > buf.length) break; len = buf.readUInt16BE(p); p += 2; }
        else if (len === 127) { if (p + 8 > buf.length) break; len = Number(buf.readBigUInt64BE(p)); p += 8; }
        if (p + len > buf.length) break;
        out.push({ fin: !!(b0 & 0x80), opcode: b0 & 0x0f, payload: buf.subarray(p, p + len) });
        off = p + len;
      }
      return out;
    },
    /** The close code the server sent, or null. */
    closeCode() {
      const close = this.frames().find((f) => f.opcode === 8);
      return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
    },
  };
}
