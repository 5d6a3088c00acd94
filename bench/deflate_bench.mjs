// deflate_bench — what permessage-deflate saves on the wire and costs the
// proxy, for the typical event mix (the same events as ws-bench --mix,
// bench/publisher.c). Node's `ws` clients, because ws-bench's lws 4.1 clients
// do not get through the extension (bench/ws_bench.c).
//
//   node bench/deflate_bench.mjs --url http://HOST:PORT --pid PID [--clients 100] [--events 2000] [--rate 200]
//
// Runs twice on the same proxy: clients without the extension, then clients
// that offer it as a browser does. Prints one JSON line per run: TCP payload
// bytes the clients read per event (socket.bytesRead, handshakes excluded),
// the proxy's CPU per delivery (/proc/PID/stat), and whether every client
// got every event intact.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const url = args.url;
const pid = Number(args.pid);
const clients = Number(args.clients || 100);
const events = Number(args.events || 2000);
const rate = Number(args.rate || 200);
if (!url || !pid) {
  console.error('usage: node bench/deflate_bench.mjs --url http://HOST:PORT --pid PID [--clients N] [--events N] [--rate N]');
  process.exit(2);
}

const TOOLS = ['search_repositories', 'get_file_contents', 'create_issue', 'list_issues', 'update_issue', 'add_issue_comment',
  'create_pull_request', 'list_pull_requests', 'merge_pull_request', 'get_pull_request_diff', 'list_commits', 'get_commit',
  'create_branch', 'list_branches', 'push_files', 'search_code', 'search_issues', 'get_me', 'list_notifications', 'fork_repository'];

// Of every 10 events: 6 tool calls, 3 state changes, one tool list (as publisher.c).
function mixEvent(i) {
  const t = Date.now() * 1000;
  switch (i % 10) {
    case 1: case 5: case 8:
      return { type: 'server_state_changed', server_name: 'github', old_state: 'Connecting', new_state: 'Ready', data: { tool_count: 20, pid: 41000 + (i % 977), t, i } };
    case 9:
      return { type: 'tools_updated', server_name: 'github', data: { tool_count: 20, added: 1, removed: 0, tools: TOOLS, t, i } };
    default:
      return { type: 'tool_called', server_name: 'github', data: { tool: 'search_code', duration_ms: 12 + (i % 300), ok: true, arguments: { q: 'repo:acme/widgets language:c uv_prepare_start', per_page: 30, page: 1 + (i % 5) }, t, i } };
  }
}

function cpuUs() {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000; // clock ticks of 10 ms
}

async function run(deflate) {
  const wsUrl = url.replace(/^http/, 'ws') + '/ws/events';
  const socks = await Promise.all(Array.from({ length: clients }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: deflate ? { clientMaxWindowBits: true } : false });
    const c = { ws, got: 0, bad: 0, hello: false };
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'hello') { c.hello = true; c.base = ws._socket.bytesRead; resolve(c); return; }
      if (m.data && m.data.i === c.got) c.got++; else c.bad++;
    });
    ws.on('error', reject);
  })));
  const negotiated = socks.filter((c) => c.ws.extensions.includes('permessage-deflate')).length;
  const cpu0 = cpuUs();
  const t0 = Date.now();
  for (let i = 0; i < events; i += rate / 10) {
    const body = [];
    for (let k = i; k < Math.min(events, i + rate / 10); k++) body.push(mixEvent(k));
    const r = await fetch(url + '/api/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status !== 200) throw new Error(`POST answered ${r.status}`);
    await new Promise((res) => setTimeout(res, Math.max(0, t0 + ((i + rate / 10) / rate) * 1000 - Date.now())));
  }
  while (socks.some((c) => c.got + c.bad < events) && Date.now() - t0 < events / rate * 1000 + 10000) await new Promise((res) => setTimeout(res, 20));
  const cpu = cpuUs() - cpu0;
  const bytes = socks.reduce((a, c) => a + c.ws._socket.bytesRead - c.base, 0);
  const got = socks.reduce((a, c) => a + c.got, 0);
  const bad = socks.reduce((a, c) => a + c.bad, 0);
  await Promise.all(socks.map((c) => new Promise((res) => { c.ws.on('close', res); c.ws.close(); })));
  return { mode: 'deflate', deflate, clients, negotiated, events, expected: events * clients, received: got, out_of_order: bad,
    wire_bytes: bytes, wire_bytes_per_event: +(bytes / Math.max(got, 1)).toFixed(1), proxy_cpu_us: cpu, cpu_us_per_delivery: +(cpu / Math.max(got, 1)).toFixed(3) };
}

for (const deflate of [false, true]) console.log(JSON.stringify(await run(deflate)));
