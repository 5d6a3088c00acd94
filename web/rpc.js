// rpc.js - a minimal MCP client for the tool tester: the page talks to this
// proxy's own /mcp exactly as an MCP client does (initialize, then
// tools/call), so what it shows is what a client gets.
//
// /mcp may answer a request with application/json or with a
// text/event-stream carrying the answer as an SSE "message" event; both are
// read. The session is opened on first use and opened again if the proxy
// forgot it (404: it expired or the proxy restarted).
//
// Not named mcp*.js: every path that starts with /mcp is the MCP endpoint's
// (and needs the API key), so the page could not load it.

const PROTOCOL_VERSION = '2025-06-18';

/** The name /mcp gives a server's tool (docs/PROTOCOL.md, "Tools"): other
 *  characters become "_". Longer names are hashed by the proxy; those are
 *  looked up in tools/list instead. */
export function proxiedToolName(server, tool) {
  return `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The JSON-RPC message with `id` in an SSE body. */
function fromEventStream(text, id) {
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) continue;
    let msg;
    try { msg = JSON.parse(data); } catch { continue; }
    for (const m of Array.isArray(msg) ? msg : [msg]) if (m && m.id === id) return m;
  }
  return null;
}

export class McpClient {
  /** getKey() returns the API key to send (or ''). */
  constructor(getKey) {
    this.getKey = getKey;
    this.session = null;
    this.nextId = 1;
    this.opening = null;
  }

  async post(msg) {
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': PROTOCOL_VERSION,
    };
    if (this.session) headers['Mcp-Session-Id'] = this.session;
    const key = this.getKey();
    if (key) headers['X-API-Key'] = key;
    const res = await fetch('/mcp', { method: 'POST', headers, body: JSON.stringify(msg), cache: 'no-store' });
    const type = res.headers.get('content-type') || '';
    const text = await res.text();
    let answer = null;
    if (type.startsWith('text/event-stream')) answer = fromEventStream(text, msg.id);
    else if (text) {
      try { answer = JSON.parse(text); } catch { /* not JSON */ }
    }
    return { status: res.status, answer, session: res.headers.get('mcp-session-id') };
  }

  async open() {
    this.session = null;
    const r = await this.post({
      jsonrpc: '2.0', id: this.nextId++, method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpproxy-dashboard', version: '1' } },
    });
    if (r.status !== 200 || !r.session) {
      throw new Error(`initialize failed: ${(r.answer && r.answer.error && r.answer.error.message) || `HTTP ${r.status}`}`);
    }
    this.session = r.session;
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async ensureOpen() {
    if (this.session) return;
    if (!this.opening) this.opening = this.open().finally(() => { this.opening = null; });
    await this.opening;
  }

  /** Sends one request; resolves to the JSON-RPC answer ({result} or {error}). */
  async request(method, params) {
    for (let attempt = 0; ; attempt++) {
      await this.ensureOpen();
      const r = await this.post({ jsonrpc: '2.0', id: this.nextId++, method, params });
      if (r.status === 404 && attempt === 0) { this.session = null; continue; }
      if (r.answer) return r.answer;
      throw new Error(`HTTP ${r.status} without a JSON-RPC answer`);
    }
  }

  /** The /mcp name of a server's tool. */
  async toolName(server, tool) {
    const name = proxiedToolName(server, tool);
    if (name.length <= 64) return name;
    const list = await this.request('tools/list', {});
    const prefix = name.slice(0, 55);
    const found = (list.result?.tools || []).find((t) => t.name.startsWith(prefix));
    return found ? found.name : name;
  }

  async callTool(server, tool, args) {
    return this.request('tools/call', { name: await this.toolName(server, tool), arguments: args });
  }
}
