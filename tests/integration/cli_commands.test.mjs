// cli_commands.test.mjs - the client commands (status, servers, groups,
// tools, call, logs, help) against a real proxy with real demo servers:
// what they print, what they change (checked through the API and the event
// stream), and their exit codes: 0 ok, 1 error, 2 usage, 3 no proxy, 4 key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, proxyBin } from './harness.mjs';
import { recordEvents, isState, demo } from './upstream_helpers.mjs';
import { startEverything } from './remote_helpers.mjs';

// The commands read defaults from ~/.mcpproxy/mcp_config.json: an empty
// HOME keeps whatever this machine has there out of the tests.
const home = mkdtempSync(path.join(tmpdir(), 'mcpproxy-cli-home-'));
after(() => rmSync(home, { recursive: true, force: true }));
const cleanEnv = () => ({ ...process.env, HOME: home, MCPPROXY_API_KEY: '' });

/** Runs `mcpproxy ARGS` to its end; MCPPROXY_API_KEY cleared unless given. */
function run(args, { env = {}, ms = 30000, input } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(proxyBin, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...cleanEnv(), ...env } });
    if (input !== undefined) proc.stdin.end(input);
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`mcpproxy ${args.join(' ')}: still running after ${ms} ms\n${stderr}`)); }, ms);
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Starts a long-running command; `until(pred)` waits for a stdout line. */
function follow(argv0, args) {
  const proc = spawn(argv0, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  const out = [];
  const err = [];
  let tail = '';
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = (w.stderr ? err.join('').split('\n') : out).find(w.pred);
      if (hit !== undefined) { clearTimeout(w.timer); waiters.splice(waiters.indexOf(w), 1); w.resolve(hit); }
    }
  };
  proc.stdout.setEncoding('utf8').on('data', (c) => {
    // A terminal's output carries escape sequences and \r: lines are what
    // is between them.
    tail += c;
    const parts = tail.split(/\r?\n|\r|\x1b\[[0-9;]*[A-Za-z]/);
    tail = parts.pop();
    out.push(...parts.filter((p) => p.length));
    check();
  });
  proc.stderr.setEncoding('utf8').on('data', (c) => { err.push(c); check(); });
  const exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  return {
    proc, out, exited,
    /** Resolves with the first stdout line (stderr with { stderr: true }) that matches. */
    until(pred, ms = 20000, { stderr = false } = {}) {
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, stderr };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching line in ${ms} ms; stdout:\n${out.join('\n')}\nstderr:\n${err.join('')}`));
        }, ms);
        waiters.push(w);
        check();
      });
    },
    async stop() { proc.kill('SIGINT'); return exited; },
  };
}

/** A proxy with two demo servers in group "g", both Ready. */
async function demoProxy(config = {}) {
  const proxy = await startProxy({ config: { mcpServers: [demo('demo', [], { group: 'g' }), demo('other', [], { group: 'g' })], ...config } });
  const rec = await recordEvents(proxy, config.api_key ? { headers: { 'X-API-Key': config.api_key } } : undefined);
  await rec.until(isState('demo', 'Ready'));
  await rec.until(isState('other', 'Ready'));
  return { proxy, rec };
}

async function freePort() {
  const p = await startProxy();
  const port = new URL(p.url).port;
  await p.stop();
  return port;
}

test('help: the overview, each command with examples, --help on every command, exit codes documented', async () => {
  const overview = await run(['help']);
  assert.equal(overview.code, 0, overview.stderr);
  for (const cmd of ['serve', 'status', 'servers', 'groups', 'tools', 'call', 'logs', 'events', 'gen-key']) {
    assert.match(overview.stdout, new RegExp(`^  ${cmd} `, 'm'), `help lists ${cmd}`);
    const a = await run(['help', cmd]);
    const b = await run([cmd, '--help']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, new RegExp(`^Usage: mcpproxy (\\[)?${cmd}`, 'm'));
    assert.match(a.stdout, /^Examples?:$/m, `${cmd} has examples`);
    assert.match(a.stdout, /Exit codes:/, `${cmd} documents its exit codes`);
  }
  assert.match(overview.stdout, /0 ok, 1 error.*\n2 usage.*3 proxy not reachable,\n4 refused/);
  assert.equal((await run(['--help'])).stdout, overview.stdout);
  const unknown = await run(['help', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no command "nope"/);
});

test('usage errors exit 2 and name the problem', async () => {
  for (const [args, re] of [
    [['bogus'], /unknown command "bogus"/],
    [['servers', 'frobnicate'], /unknown subcommand "frobnicate"/],
    [['servers', 'add', 'only-a-name'], /add needs a COMMAND \(a local server\) or --server-url URL/],
    [['servers', 'add'], /add needs a NAME/],
    [['servers', 'add', 'r', '--server-url', 'http://h/mcp', 'cmd'], /either a COMMAND \(a local server\) or --server-url \(a remote one\), not both/],
    [['servers', 'add', 'r', '--url', 'http://127.0.0.1:1/mcp'], /--url is the proxy's address: a remote server's goes in --server-url/],
    [['servers', 'add', 'r', '--server-url', 'http://h/mcp', '--env', 'A=1'], /--env is for a local server/],
    [['servers', 'add', 'r', '--header', 'A=1', 'cmd'], /--header is for a remote server: give --server-url URL instead of a COMMAND/],
    [['servers', 'add', 'r', '--server-url', 'http://h/mcp', '--header', 'NoValue'], /--header needs NAME=VALUE or "NAME: VALUE"/],
    [['servers', 'edit', 'r', '--server-url', 'http://h/mcp', '--command', 'c'], /either --command \(a local server\) or --server-url \(a remote one\), not both/],
    [['servers', 'edit', 'r', '--tls-skip-verify', '--tls-verify'], /either --tls-skip-verify or --tls-verify, not both/],
    [['servers', 'rm'], /rm needs one server NAME/],
    [['servers', 'edit', 'x'], /say what to change/],
    [['servers', 'add', 'x', '--env', 'NOEQUALS', 'cmd'], /--env needs NAME=VALUE/],
    [['groups', 'add', 'g'], /add needs a GROUP and at least one SERVER/],
    [['call'], /needs SERVER__TOOL/],
    [['call', 'demo__add', '[1,2]'], /must be one JSON object/],
    [['call', 'demo__add', '{oops'], /must be one JSON object/],
    [['logs'], /needs one SERVER/],
    [['logs', 'demo', '--tail', 'x'], /--tail needs a number/],
    [['status', '--frobnicate'], /unknown option "--frobnicate"/],
    [['status', '--url', 'ftp://x:1'], /--url must look like http:\/\/127\.0\.0\.1:8080/],
    [['tools', 'a', 'b'], /one SERVER at most/],
    [['status', '--url', ''], /--url needs a value/],
    [['status', '--watch=yes'], /--watch takes no value/],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('no proxy at the address: exit 3 with the next step', async () => {
  const port = await freePort();
  for (const args of [['status'], ['servers'], ['groups'], ['tools'], ['call', 'demo__add', '{}'], ['logs', 'demo'], ['servers', 'disable', 'demo']]) {
    const r = await run([...args, '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 3, `${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`is mcpproxy running on 127\\.0\\.0\\.1:${port}\\? start it with \`mcpproxy\``));
  }
});

test('a proxy with a key: exit 4 without it or with a wrong one; the key from --api-key, the env or the config works', async () => {
  const key = 'k3y-for-the-cli-test';
  const proxy = await startProxy({ config: { api_key: key } });
  try {
    const none = await run(['status', '--url', proxy.url]);
    assert.equal(none.code, 4, none.stderr);
    assert.match(none.stderr, /this proxy needs a key: pass --api-key or set MCPPROXY_API_KEY/);
    for (const args of [['status'], ['servers', 'rm', 'x'], ['call', 'a__b', '{}'], ['logs', 'x'], ['groups', 'enable', 'g']]) {
      const wrong = await run([...args, '--url', proxy.url, '--api-key', 'wrong']);
      assert.equal(wrong.code, 4, `${args.join(' ')}: ${wrong.stderr}`);
      assert.match(wrong.stderr, /refused this API key/);
    }
    assert.equal((await run(['status', '--url', proxy.url, '--api-key', key])).code, 0);
    assert.equal((await run(['status', '--url', proxy.url], { env: { MCPPROXY_API_KEY: key } })).code, 0);
    // No --url, no --api-key: both from the config file's listen and api_key.
    const clientConfig = path.join(proxy.dir, 'client.json');
    writeFileSync(clientConfig, JSON.stringify({ listen: new URL(proxy.url).host, api_key: key }));
    const fromConfig = await run(['status', '--json', '--config', clientConfig]);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.deepEqual(JSON.parse(fromConfig.stdout).servers, []);
    writeFileSync(clientConfig, '{"listen": ');
    const broken = await run(['status', '--config', clientConfig]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /cannot read the proxy's address and key from the config: .*client\.json/);
  } finally {
    await proxy.stop();
  }
});

test('status prints the table; --json is the API answer', async () => {
  const { proxy, rec } = await demoProxy();
  try {
    const r = await run(['status', '--url', proxy.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+TOOLS\s+RETRIES\s+LAST ERROR$/);
    assert.match(r.stdout, /^demo\s+Ready\s+4\s+0\s+-$/m);
    assert.match(r.stdout, /^other\s+Ready\s+4\s+0\s+-$/m);
    const j = await run(['status', '--url', proxy.url, '--json']);
    const body = JSON.parse(j.stdout);
    const live = (await api(proxy, 'GET', '/api/servers/status')).json;
    assert.deepEqual(body.servers.map((s) => [s.name, s.status, s.tool_count]), live.servers.map((s) => [s.name, s.status, s.tool_count]));
    assert.equal(body.epoch, live.epoch);
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('status --watch in a terminal redraws when a server is disabled; in a pipe it prints one line per change', async () => {
  const { proxy, rec } = await demoProxy();
  // script(1) gives the command a pseudo-terminal; its output is the terminal's.
  const tty = follow('script', ['-qfec', `${proxyBin} status --watch --url ${proxy.url}`, '/dev/null']);
  const pipe = follow(proxyBin, ['status', '--watch', '--url', proxy.url]);
  try {
    await tty.until((l) => /^demo\s+Ready\s+4/.test(l));
    await pipe.until((l) => /^demo\s+Ready\s+4/.test(l));
    const before = tty.out.length;
    assert.equal((await api(proxy, 'POST', '/api/servers/demo/disable')).status, 200);
    await tty.until((l) => /^demo\s+Disabled\s+0/.test(l));
    assert.ok(tty.out.slice(before).some((l) => /^mcpproxy at http:/.test(l)), 'the terminal view was redrawn with its header');
    const change = await pipe.until((l) => /^\d\d:\d\d:\d\d demo Disabled tools=0 retries=0$/.test(l));
    assert.ok(change);
    assert.ok(!pipe.out.join('\n').includes('\x1b'), 'no escape sequences into a pipe');
    assert.ok(!pipe.out.some((l) => /^\d\d:\d\d:\d\d other /.test(l)), 'an unchanged server prints nothing');
  } finally {
    assert.equal(await pipe.stop(), 0);
    await tty.stop();
    rec.close();
    await proxy.stop();
  }
});

test('status --watch waits for a proxy that is not running yet', async () => {
  const port = await freePort();
  const pipe = follow(proxyBin, ['status', '--watch', '--url', `http://127.0.0.1:${port}`]);
  let proxy;
  try {
    await pipe.until((l) => l.includes(`waiting for mcpproxy on 127.0.0.1:${port}`), 20000, { stderr: true });
    proxy = await startProxy({ args: ['--listen', `127.0.0.1:${port}`], config: { mcpServers: [demo('late')] } });
    await pipe.until((l) => /^\d\d:\d\d:\d\d late Ready tools=4|^late\s+Ready\s+4/.test(l), 30000);
  } finally {
    assert.equal(await pipe.stop(), 0);
    await proxy?.stop();
  }
});

test('servers add, list, edit, disable, enable, restart, rm change the proxy', async () => {
  const { proxy, rec } = await demoProxy();
  const url = ['--url', proxy.url];
  try {
    const add = await run(['servers', 'add', 'added', ...url, '--group', 'new', '--env', 'SECRET=s3', demo('x').command, '--name', 'added']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^added added \(starting\)/);
    await rec.until(isState('added', 'Ready'));
    const server = (await api(proxy, 'GET', '/api/servers/added')).json;
    assert.deepEqual([server.group, server.args, server.env], ['new', ['--name', 'added'], { SECRET: '***' }]);

    const list = await run(['servers', 'list', ...url]);
    assert.match(list.stdout, /^added\s+yes\s+new\s+Ready\s+4\s+\S*mcp-demo-server --name added$/m);
    const listJson = JSON.parse((await run(['servers', '--json', ...url])).stdout);
    assert.deepEqual(listJson.servers.map((s) => s.name), ['demo', 'other', 'added']);

    const dup = await run(['servers', 'add', 'added', ...url, 'true']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /a server named 'added' already exists/);

    const edit = await run(['servers', 'edit', 'added', ...url, '--env', 'MORE=1', '--arg', '--name', '--arg', 'renamed']);
    assert.equal(edit.code, 0, edit.stderr);
    const edited = (await api(proxy, 'GET', '/api/servers/added')).json;
    assert.deepEqual([edited.args, Object.keys(edited.env).sort()], [['--name', 'renamed'], ['MORE', 'SECRET']]);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8'));
    assert.equal(saved.mcpServers.find((s) => s.name === 'added').env.SECRET, 's3', 'the masked secret kept its value');

    assert.equal((await run(['servers', 'edit', 'added', '--group', '', ...url])).code, 0);
    assert.equal((await api(proxy, 'GET', '/api/servers/added')).json.group, '', '--group "" is a value: no group');

    const disable = await run(['servers', 'disable', 'added', ...url]);
    assert.equal(disable.stdout, 'added: Disabled\n');
    const beforeEnable = (await api(proxy, 'GET', '/api/servers/status')).json.seq;
    const enable = await run(['servers', 'enable', 'added', ...url]);
    assert.equal(enable.code, 0);
    await rec.until((e) => isState('added', 'Ready')(e) && e.seq > beforeEnable);
    const pidBefore = (await api(proxy, 'GET', '/api/servers/added')).json.pid;
    const seq = (await api(proxy, 'GET', '/api/servers/status')).json.seq;
    assert.equal((await run(['servers', 'restart', 'added', ...url])).code, 0);
    await rec.until((e) => isState('added', 'Ready')(e) && e.seq > seq);
    assert.notEqual((await api(proxy, 'GET', '/api/servers/added')).json.pid, pidBefore);

    const rm = await run(['servers', 'rm', 'added', ...url]);
    assert.equal(rm.stdout, 'removed added\n');
    assert.equal((await api(proxy, 'GET', '/api/servers/added')).status, 404);
    const gone = await run(['servers', 'rm', 'added', ...url]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no server named 'added'/);
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('servers add --server-url: a remote server (everything over Streamable HTTP) goes Ready, its tools listed and called; headers never printed', async () => {
  const ev = await startEverything('streamableHttp');
  const { proxy, rec } = await demoProxy();
  const url = ['--url', proxy.url];
  try {
    const add = await run(['servers', 'add', 'everything', ...url, '--server-url', ev.url, '--protocol', 'streamable-http',
      '--header', 'X-Api-Token=tok-secret-1', '--header', 'Authorization: Bearer tok-secret-2']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^added everything \(starting\)/);
    const ready = await rec.until(isState('everything', 'Ready'), 30000);
    assert.ok(ready.data.tool_count > 0, JSON.stringify(ready));
    const server = (await api(proxy, 'GET', '/api/servers/everything')).json;
    assert.deepEqual([server.url, server.protocol, server.command, server.headers],
      [ev.url, 'streamable-http', undefined, { 'X-Api-Token': '***', Authorization: '***' }]);
    const saved = JSON.parse(readFileSync(proxy.configPath, 'utf8')).mcpServers.find((s) => s.name === 'everything');
    assert.deepEqual(saved.headers, { 'X-Api-Token': 'tok-secret-1', Authorization: 'Bearer tok-secret-2' }, '"K: V" and K=V both taken');

    // The URL stands where a command would; no header value is printed.
    const list = await run(['servers', 'list', ...url]);
    assert.match(list.stdout, new RegExp(`^everything\\s+yes\\s+-\\s+Ready\\s+${ready.data.tool_count}\\s+${ev.url.replace(/[.]/g, '\\.')}$`, 'm'));
    const listJson = await run(['servers', '--json', ...url]);
    for (const out of [list.stdout, listJson.stdout, add.stdout]) assert.doesNotMatch(out, /tok-secret/);
    assert.match(listJson.stdout, /"X-Api-Token": "\*\*\*"/);

    const tools = await run(['tools', 'everything', ...url]);
    assert.equal(tools.code, 0, tools.stderr);
    assert.match(tools.stdout, /^everything__get-sum\(a, b\)  Returns the sum of two numbers/m);
    const sum = await run(['call', 'everything__get-sum', '{"a":2,"b":3}', ...url]);
    assert.equal(sum.code, 0, sum.stderr);
    assert.equal(sum.stdout, 'The sum of 2 and 3 is 5.\n');

    // edit: one header changed, one removed; the masked one keeps its value.
    const edit = await run(['servers', 'edit', 'everything', ...url, '--header', 'X-Other=o', '--unset-header', 'Authorization', '--tls-skip-verify']);
    assert.equal(edit.code, 0, edit.stderr);
    const edited = JSON.parse(readFileSync(proxy.configPath, 'utf8')).mcpServers.find((s) => s.name === 'everything');
    assert.deepEqual([edited.headers, edited.tls_skip_verify], [{ 'X-Api-Token': 'tok-secret-1', 'X-Other': 'o' }, true]);
    const wrongKind = await run(['servers', 'edit', 'everything', ...url, '--env', 'A=1']);
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /--env is for a local server, and everything is a remote one/);

    // A local server made remote (the PATCH empties its command), and back.
    let seq = (await api(proxy, 'GET', '/api/servers/status')).json.seq;
    const toRemote = await run(['servers', 'edit', 'other', ...url, '--server-url', ev.url, '--header', 'X-Api-Token=t3']);
    assert.equal(toRemote.code, 0, toRemote.stderr);
    const remote = (await api(proxy, 'GET', '/api/servers/other')).json;
    assert.deepEqual([remote.url, remote.protocol, remote.command, remote.headers], [ev.url, 'auto', undefined, { 'X-Api-Token': '***' }]);
    await rec.until((e) => isState('other', 'Ready')(e) && e.seq > seq && e.data.tool_count === ready.data.tool_count, 30000);
    seq = (await api(proxy, 'GET', '/api/servers/status')).json.seq;
    const toLocal = await run(['servers', 'edit', 'other', ...url, '--command', demo('x').command]);
    assert.equal(toLocal.code, 0, toLocal.stderr);
    const local = (await api(proxy, 'GET', '/api/servers/other')).json;
    assert.deepEqual([local.url, local.protocol, local.command], [undefined, 'stdio', demo('x').command]);
    await rec.until((e) => isState('other', 'Ready')(e) && e.seq > seq && e.data.tool_count === 4);
  } finally {
    rec.close();
    await proxy.stop();
    await ev.stop();
  }
});

test('groups list, add, disable, enable, rm', async () => {
  const { proxy, rec } = await demoProxy();
  const url = ['--url', proxy.url];
  try {
    assert.match((await run(['groups', ...url])).stdout, /^g\s+yes\s+demo other$/m);
    assert.equal((await run(['groups', 'add', 'solo', 'other', ...url])).code, 0);
    let groups = (await api(proxy, 'GET', '/api/groups')).json.groups;
    assert.deepEqual(groups.map((g) => [g.name, g.servers]), [['g', ['demo']], ['solo', ['other']]]);
    assert.equal((await run(['groups', 'disable', 'solo', ...url])).stdout, 'group solo disabled\n');
    assert.equal((await api(proxy, 'GET', '/api/servers/other')).json.enabled, false);
    assert.equal((await run(['groups', 'enable', 'solo', ...url])).code, 0);
    assert.equal((await api(proxy, 'GET', '/api/servers/other')).json.enabled, true);
    const rm = await run(['groups', 'rm', 'solo', ...url]);
    assert.equal(rm.code, 0, rm.stderr);
    groups = (await api(proxy, 'GET', '/api/groups')).json.groups;
    assert.deepEqual(groups.map((g) => g.name), ['g']);
    assert.equal((await api(proxy, 'GET', '/api/servers/other')).json.group, '', 'the server stays, in no group');
    const missing = await run(['groups', 'enable', 'nope', ...url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no group named 'nope'/);
    assert.equal((await run(['groups', 'rm', 'nope', ...url])).code, 1);
    assert.equal((await run(['groups', 'add', 'g', 'ghost', ...url])).code, 1);
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('tools lists SERVER__TOOL(args); call demo__add prints 5; a tool error exits 1 with its text', async () => {
  const { proxy, rec } = await demoProxy();
  const url = ['--url', proxy.url];
  try {
    const tools = await run(['tools', 'demo', ...url]);
    assert.equal(tools.code, 0, tools.stderr);
    assert.match(tools.stdout, /^demo__add\(a, b\)  Adds two numbers/m);
    assert.match(tools.stdout, /^demo__fail\(message\?\)/m);
    const all = await run(['tools', ...url]);
    assert.match(all.stdout, /^other__echo\(text\)/m);
    const json = JSON.parse((await run(['tools', '--json', ...url])).stdout);
    assert.deepEqual(json.servers.map((s) => [s.server, s.tool_count]), [['demo', 4], ['other', 4]]);

    const add = await run(['call', 'demo__add', '{"a":2,"b":3}', ...url]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, '5\n');
    const addJson = JSON.parse((await run(['call', 'demo__add', '{"a":2,"b":3}', '--json', ...url])).stdout);
    assert.equal(addJson.content[0].text, '5');

    const piped = await run(['call', 'demo__echo', '-', ...url], { input: '{"text": "from stdin"}\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'from stdin\n');

    const fail = await run(['call', 'demo__fail', '{"message":"it broke"}', ...url]);
    assert.equal(fail.code, 1);
    assert.equal(fail.stdout, '');
    assert.match(fail.stderr, /demo__fail failed: it broke/);
    const unknown = await run(['call', 'demo__nope', '{}', ...url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown tool "demo__nope".*JSON-RPC error -32602/);
    // Five calls reached the tools; each opened a session and ended it (only
    // the log tells of sessions).
    const calls = () => rec.events.filter((e) => e.type === 'tool_called');
    await rec.until(() => calls().length === 5);
    assert.deepEqual(calls().map((e) => [e.data.tool, e.data.ok]),
      [['add', true], ['add', true], ['echo', true], ['fail', false], ['nope', false]]);
    const startedIds = () => proxy.logs.filter((e) => e.msg === 'mcp session started').map((e) => e.session_id);
    await proxy.waitForLog(() => startedIds().length === 5);
    const started = startedIds();
    for (const id of started) await proxy.waitForLog((e) => e.msg === 'mcp session ended' && e.session_id === id);
  } finally {
    rec.close();
    await proxy.stop();
  }
});

test('logs prints the stderr lines; logs -f follows the event stream: every new line once, in order, across a proxy restart', async () => {
  const { proxy, rec } = await demoProxy();
  const url = ['--url', proxy.url];
  const port = new URL(proxy.url).port;
  let f, second;
  try {
    const logs = await run(['logs', 'demo', ...url]);
    assert.equal(logs.code, 0, logs.stderr);
    const ready = logs.stdout.split('\n').filter((l) => /^demo: ready: MCP over stdio, pid \d+$/.test(l));
    assert.equal(ready.length, 1, logs.stdout);
    const tail = await run(['logs', 'demo', '--tail', '1', ...url]);
    assert.equal(tail.stdout.split('\n').filter(Boolean).length, 1);

    f = follow(proxyBin, ['logs', 'demo', '-f', ...url]);
    await f.until((l) => l === ready[0]);
    await f.until((l) => l.includes('connected to'), 20000, { stderr: true });
    // It follows the stream (this server's server_log events), not a poll.
    const { clients } = (await api(proxy, 'GET', '/api/realtime/stats')).json;
    assert.ok(clients.some((c) => c.filters.server === 'demo' && JSON.stringify(c.filters.types) === '["server_log"]'), JSON.stringify(clients));

    // The server again, now writing 800 lines at once: over the 50 a
    // second the events carry, within the 1,000 the proxy keeps. Each
    // must show exactly once, in order, and the new "ready" line after.
    const seq = (await api(proxy, 'GET', '/api/servers/status')).json.seq;
    assert.equal((await api(proxy, 'PATCH', '/api/servers/demo', { args: demo('demo', ['--stderr-lines', '800']).args })).status, 200);
    await rec.until((e) => isState('demo', 'Ready')(e) && e.seq > seq);
    await f.until((l) => /^demo: ready: MCP over stdio, pid \d+$/.test(l) && l !== ready[0]);
    await f.until((l) => l === 'demo: stderr line 800 of 800');
    const numbered = (of) => f.out.map((l) => l.match(new RegExp(`^demo: stderr line (\\d+) of ${of}$`))).filter(Boolean).map((m) => Number(m[1]));
    const oneTo = (n) => Array.from({ length: n }, (_, i) => i + 1);
    assert.deepEqual(numbered(800), oneTo(800), 'no line repeated, none missing');
    assert.equal(f.out.filter((l) => l === ready[0]).length, 1, 'lines already shown are not repeated');

    // A new proxy on the same port (a new epoch): it numbers its lines
    // from 1 again, and all 900 of its server's are new to the follower.
    rec.close();
    await proxy.stop();
    await f.until((l) => l.includes('disconnected'), 20000, { stderr: true });
    second = await startProxy({ config: { mcpServers: [demo('demo', ['--stderr-lines', '900'])] }, args: ['--listen', `127.0.0.1:${port}`] });
    await f.until((l) => l === 'demo: stderr line 900 of 900', 30000);
    assert.deepEqual(numbered(900), oneTo(900), 'the new proxy\'s lines, each once');
    assert.deepEqual(numbered(800), oneTo(800));

    const since = (await api(second, 'GET', '/api/servers/demo/logs')).json;
    const after = (await api(second, 'GET', `/api/servers/demo/logs?since=${since.total - 1}`)).json;
    assert.deepEqual(after.lines, since.lines.slice(-1));
    assert.deepEqual((await api(second, 'GET', `/api/servers/demo/logs?since=${since.total}`)).json.lines, []);
    assert.equal((await api(second, 'GET', '/api/servers/demo/logs?since=-1')).status, 400);
  } finally {
    if (f) assert.equal(await f.stop(), 0);
    rec.close();
    await proxy.stop();
    await second?.stop();
  }
});
