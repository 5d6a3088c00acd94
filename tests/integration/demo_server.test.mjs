// demo_server.test.mjs - tools/mcp-demo-server speaks MCP correctly and its
// misbehaviour flags do what they say.
//
// Each test starts its own server and talks newline-delimited JSON-RPC over
// its stdio. Every wait is for an event (a message, a stderr line, the exit);
// nothing sleeps to synchronise. Needs only Node's standard library.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const buildDir = process.env.MCPPROXY_BUILD_DIR || path.join(repoRoot, 'build');
const serverBin = path.join(buildDir, 'mcp-demo-server');

const LATEST = '2025-06-18';
const BASE_TOOLS = ['echo', 'add', 'sleep', 'fail'];
// A bound on any single test, so a lost answer fails instead of hanging.
const TEST_TIMEOUT = 10_000;

// Every server still running. A test that times out never reaches its
// finally block, so these are also killed when the test is aborted and after
// the last test; otherwise a hung server would keep node from exiting.
const running = new Set();
after(() => {
  for (const server of running) server.kill();
});

/** One running server and the messages it has sent, in arrival order. */
class DemoServer {
  constructor(args = []) {
    this.proc = spawn(serverBin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(this);
    this.messages = [];
    this.stderr = '';
    this.waiters = new Set();
    this.nextId = 1;
    this.exit = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        running.delete(this);
        this.exited = { code, signal };
        this.check();
        resolve(this.exited);
      });
    });
    // Writing to a server that already exited (crash tests) must not throw.
    this.proc.stdin.on('error', () => {});
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { unparsable: line };
      }
      this.messages.push(msg);
      this.check();
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      this.check();
    });
  }

  check() {
    for (const w of this.waiters) w.poll();
  }

  /** Resolves with test() once it returns something; rejects if the server
   *  exits first. test() sees the state, so past messages count too. */
  until(test, what) {
    return new Promise((resolve, reject) => {
      const w = {
        poll: () => {
          const value = test();
          if (value !== undefined && value !== false) {
            this.waiters.delete(w);
            resolve(value);
          } else if (this.exited) {
            this.waiters.delete(w);
            reject(new Error(`server exited (${JSON.stringify(this.exited)}) before ${what}; ` +
              `stderr:\n${this.stderr}`));
          }
        },
      };
      this.waiters.add(w);
      w.poll();
    });
  }

  waitMessage(pred, what) {
    return this.until(() => this.messages.find(pred), what);
  }

  send(obj) {
    this.proc.stdin.write(JSON.stringify(obj) + '\n');
  }

  sendRaw(text) {
    this.proc.stdin.write(text);
  }

  /** Sends a request; resolves with its response (result or error). */
  request(method, params) {
    const id = this.nextId++;
    const msg = { jsonrpc: '2.0', id, method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
    return this.response(id);
  }

  response(id) {
    return this.waitMessage((m) => m.id === id && !('method' in m), `the answer to request ${id}`);
  }

  notify(method, params) {
    const msg = { jsonrpc: '2.0', method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
  }

  async initialize(protocolVersion = LATEST) {
    const answer = await this.request('initialize', {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: 'demo_server.test', version: '1' },
    });
    this.notify('notifications/initialized');
    return answer;
  }

  callTool(name, args) {
    return this.request('tools/call', { name, arguments: args });
  }

  async toolNames() {
    const answer = await this.request('tools/list');
    assert.ok(answer.result, `tools/list failed: ${JSON.stringify(answer)}`);
    return answer.result.tools.map((t) => t.name);
  }

  /** Closes stdin and resolves with how the server exited. */
  close() {
    this.proc.stdin.end();
    return this.exit;
  }

  kill() {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

/** Runs body with a fresh server, and never leaves a process behind. */
function withServer(args, body) {
  return async (t) => {
    const server = new DemoServer(args);
    t?.signal?.addEventListener('abort', () => server.kill());
    try {
      await body(server);
    } finally {
      server.kill();
    }
  };
}

/** Runs the binary with args and stdin empty; resolves with its exit and output. */
function runToExit(args) {
  return new Promise((resolve) => {
    const proc = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: TEST_TIMEOUT });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    proc.stderr.on('data', (c) => { stderr += c; });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const textOf = (answer) => answer.result.content.map((c) => c.text).join('');

test('initialize, initialized and tools/list have the MCP shape', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    const init = await server.initialize(LATEST);
    assert.equal(init.jsonrpc, '2.0');
    assert.equal(init.result.protocolVersion, LATEST);
    assert.deepEqual(init.result.capabilities, { tools: { listChanged: true } });
    assert.equal(init.result.serverInfo.name, 'mcp-demo-server');
    assert.equal(typeof init.result.serverInfo.version, 'string');

    const list = await server.request('tools/list');
    assert.equal(list.result.nextCursor, undefined);
    assert.deepEqual(list.result.tools.map((t) => t.name), BASE_TOOLS);
    for (const tool of list.result.tools) {
      assert.equal(typeof tool.description, 'string', `${tool.name} has a description`);
      assert.equal(tool.inputSchema.type, 'object', `${tool.name} has an object schema`);
      assert.equal(typeof tool.inputSchema.properties, 'object');
    }
    const byName = Object.fromEntries(list.result.tools.map((t) => [t.name, t]));
    assert.deepEqual(byName.echo.inputSchema.required, ['text']);
    assert.equal(byName.echo.inputSchema.properties.text.type, 'string');
    assert.deepEqual(byName.add.inputSchema.required, ['a', 'b']);
    assert.equal(byName.add.inputSchema.properties.a.type, 'number');
    assert.equal(byName.sleep.inputSchema.properties.ms.type, 'integer');
    assert.equal(byName.fail.inputSchema.required, undefined, 'fail.message is optional');

    assert.deepEqual((await server.request('ping')).result, {});
    // Only the answers to our three requests: "initialized" got no reply.
    assert.equal(server.messages.length, 3);
  }));

test('initialize negotiates the protocol version', { timeout: TEST_TIMEOUT }, async (t) => {
  for (const [asked, expected] of [['2025-03-26', '2025-03-26'], ['2024-11-05', '2024-11-05'],
    ['1999-01-01', LATEST]]) {
    await withServer([], async (server) => {
      assert.equal((await server.initialize(asked)).result.protocolVersion, expected);
    })(t);
  }
  await withServer(['--name', 'custom-name'], async (server) => {
    assert.equal((await server.initialize()).result.serverInfo.name, 'custom-name');
  })(t);
});

test('echo, add and fail give their results', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();

    const echo = await server.callTool('echo', { text: 'hello, wörld' });
    assert.deepEqual(echo.result.content, [{ type: 'text', text: 'hello, wörld' }]);
    assert.notEqual(echo.result.isError, true);

    const add = await server.callTool('add', { a: 2, b: 40 });
    assert.equal(textOf(add), '42');
    assert.deepEqual(add.result.structuredContent, { sum: 42 });
    const addReal = await server.callTool('add', { a: 1.5, b: -0.25 });
    assert.deepEqual(addReal.result.structuredContent, { sum: 1.25 });

    const fail = await server.callTool('fail', { message: 'it broke' });
    assert.equal(fail.result.isError, true);
    assert.equal(textOf(fail), 'it broke');
    const failDefault = await server.callTool('fail', {});
    assert.equal(failDefault.result.isError, true);
    assert.ok(textOf(failDefault).length > 0);
  }));

test('bad requests get the JSON-RPC error codes', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    assert.equal((await server.request('no/such/method')).error.code, -32601);
    assert.equal((await server.callTool('echo', { text: 7 })).error.code, -32602);
    assert.equal((await server.callTool('add', { a: 1 })).error.code, -32602);
    assert.equal((await server.callTool('sleep', { ms: -1 })).error.code, -32602);
    assert.equal((await server.callTool('no_such_tool', {})).error.code, -32602);
    assert.equal((await server.request('tools/call', [1, 2])).error.code, -32602);
  }));

test('notifications never get an answer', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    const before = server.messages.length;
    server.notify('ping');
    server.notify('no/such/notification');
    server.notify('tools/call', { name: 'echo', arguments: { text: 'x' } });
    const ping = await server.request('ping');
    // Answers come in order, so anything sent for the notifications would
    // have arrived before the ping's answer.
    assert.deepEqual(server.messages.slice(before), [ping]);
  }));

test('a sleep does not delay an echo sent after it', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    // Long enough that, if the server served requests one at a time, the
    // echo's answer would certainly come after the sleep's.
    const sleeping = server.callTool('sleep', { ms: 1500 });
    const echo = await server.callTool('echo', { text: 'not blocked' });
    assert.equal(textOf(echo), 'not blocked');
    assert.equal(server.messages.some((m) => m.id === echo.id - 1), false,
      'the echo was answered before the sleep');
    const slept = await sleeping;
    assert.match(textOf(slept), /1500/);
    assert.ok(server.messages.indexOf(echo) < server.messages.indexOf(slept));
  }));

test('a cancelled sleep is never answered', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    const cancelledId = server.nextId;
    server.callTool('sleep', { ms: 100 }).catch(() => {});
    server.notify('notifications/cancelled', { requestId: cancelledId, reason: 'test' });
    // Timers fire in due order: an uncancelled 100 ms sleep would be answered
    // before this 300 ms one.
    await server.callTool('sleep', { ms: 300 });
    assert.equal(server.messages.some((m) => m.id === cancelledId), false);
  }));

test('tools/list pages with --page-size 2', { timeout: TEST_TIMEOUT },
  withServer(['--page-size', '2'], async (server) => {
    await server.initialize();
    const first = await server.request('tools/list');
    assert.deepEqual(first.result.tools.map((t) => t.name), ['echo', 'add']);
    assert.equal(typeof first.result.nextCursor, 'string');

    const second = await server.request('tools/list', { cursor: first.result.nextCursor });
    assert.deepEqual(second.result.tools.map((t) => t.name), ['sleep', 'fail']);
    assert.equal(second.result.nextCursor, undefined, 'the last page has no nextCursor');

    const bad = await server.request('tools/list', { cursor: 'not-a-cursor' });
    assert.equal(bad.error.code, -32602);
  }));

test('--crash-after 0.2 exits with status 3', { timeout: TEST_TIMEOUT },
  withServer(['--crash-after', '0.2'], async (server) => {
    await server.initialize();
    // stdin stays open: only the crash timer can end the process.
    const { code } = await server.exit;
    assert.equal(code, 3);
    assert.match(server.stderr, /crash/);
  }));

test('--fail-handshake answers initialize with an error and exits 1', { timeout: TEST_TIMEOUT },
  withServer(['--fail-handshake'], async (server) => {
    const init = await server.request('initialize', {
      protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 't', version: '1' },
    });
    assert.equal(init.result, undefined);
    assert.equal(typeof init.error.code, 'number');
    assert.equal(typeof init.error.message, 'string');
    assert.equal((await server.exit).code, 1);
  }));

test('--tools-change-every 0.2 sends list_changed and the list changes', { timeout: TEST_TIMEOUT },
  withServer(['--tools-change-every', '0.2'], async (server) => {
    const isListChanged = (m) => m.method === 'notifications/tools/list_changed';
    const changesSoFar = () => server.messages.filter(isListChanged).length;
    await server.initialize();

    const baselineAnswer = await server.request('tools/list');
    const baseline = baselineAnswer.result.tools.map((t) => t.name);
    // Counted up to the answer's place in the stream: stdout is ordered.
    const changesAtBaseline = server.messages.slice(0, server.messages.indexOf(baselineAnswer))
      .filter(isListChanged).length;

    // Each list_changed is one toggle of extra_<k>; keep going until a
    // tools/list shows an extra tool (the first toggle may remove one the
    // baseline had).
    let answer, names, extras;
    for (;;) {
      const seen = changesSoFar();
      await server.until(() => changesSoFar() > seen, 'a tools/list_changed notification');
      answer = await server.request('tools/list');
      names = answer.result.tools.map((t) => t.name);
      const toggles = server.messages.slice(0, server.messages.indexOf(answer))
        .filter(isListChanged).length - changesAtBaseline;
      assert.deepEqual(names.slice(0, 4), BASE_TOOLS);
      extras = names.slice(4);
      assert.ok(extras.length <= 1 && extras.every((n) => /^extra_\d+$/.test(n)), names.join());
      // An odd number of toggles since the baseline flips the extra tool.
      assert.equal(extras.length !== (baseline.length - 4), toggles % 2 === 1,
        `after ${toggles} toggles: [${baseline}] -> [${names}]`);
      if (extras.length === 1) break;
    }
    // At least one toggle came after the baseline: the list changed.
    assert.notDeepEqual(names, baseline);

    // The listed extra tool is callable and names itself - unless the next
    // toggle removed it first. stdout is ordered, so a list_changed before
    // the call's answer says which of the two must have happened.
    const call = await server.callTool(extras[0], {});
    const togglesBefore = server.messages.slice(server.messages.indexOf(answer), server.messages.indexOf(call))
      .filter(isListChanged).length;
    if (togglesBefore === 0) assert.equal(textOf(call), extras[0], JSON.stringify(call));
    else assert.equal(call.error?.code, -32602, `removed before the call: ${JSON.stringify(call)}`);
  }));

test('malformed JSON gets -32700 and the server goes on', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    server.sendRaw('{"jsonrpc": "2.0", "id": 99, "method": \n');
    const parseError = await server.waitMessage((m) => m.error?.code === -32700, 'a parse error');
    assert.equal(parseError.id, null);
    assert.deepEqual((await server.request('ping')).result, {});

    server.sendRaw('42\n');
    const invalid = await server.waitMessage((m) => m.error?.code === -32600, 'an invalid request');
    assert.equal(invalid.id, null);

    // A line over 1 MiB is refused as a whole, and the next line still works.
    const before = server.messages.length;
    server.sendRaw(`{"jsonrpc":"2.0","id":"big","method":"ping","params":{"pad":"${'x'.repeat(2 << 20)}"}}\n`);
    const ping = await server.request('ping');
    assert.deepEqual(ping.result, {});
    const between = server.messages.slice(before, server.messages.indexOf(ping));
    assert.equal(between.length, 1, JSON.stringify(between).slice(0, 300));
    assert.equal(between[0].error.code, -32700);
    assert.equal(between[0].id, null);
  }));

test('end of input exits 0 promptly, even with a sleep pending', { timeout: TEST_TIMEOUT },
  withServer([], async (server) => {
    await server.initialize();
    server.callTool('sleep', { ms: 3_600_000 }).catch(() => {});
    assert.deepEqual((await server.request('ping')).result, {});
    const { code, signal } = await server.close();
    assert.equal(signal, null);
    assert.equal(code, 0);
  }));

test('SIGTERM exits 0', { timeout: TEST_TIMEOUT }, withServer([], async (server) => {
  await server.initialize();
  server.proc.kill('SIGTERM');
  const { code, signal } = await server.exit;
  assert.equal(signal, null);
  assert.equal(code, 0);
}));

test('--stderr-lines writes numbered lines to stderr only', { timeout: TEST_TIMEOUT },
  withServer(['--stderr-lines', '3'], async (server) => {
    await server.until(() => /line 3 of 3/.test(server.stderr), 'the third stderr line');
    for (const n of [1, 2, 3]) assert.match(server.stderr, new RegExp(`line ${n} of 3`));
    assert.equal((await server.close()).code, 0);
    assert.equal(server.messages.length, 0, 'nothing on stdout');
  }));

test('bad flags exit 2 with an error; --help explains every flag', { timeout: TEST_TIMEOUT },
  async () => {
    for (const args of [['--no-such-flag'], ['--crash-after', 'soon'], ['--crash-after', '-1'],
      ['--page-size', '2x'], ['--page-size'], ['--tools-change-every', '0'], ['stray']]) {
      const { code, stderr, stdout } = await runToExit(args);
      assert.equal(code, 2, `${args.join(' ')} exits 2`);
      assert.match(stderr, /mcp-demo-server: .+/, `${args.join(' ')} says why`);
      assert.equal(stdout, '');
    }
    const help = await runToExit(['--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--crash-after', '--fail-handshake', '--tools-change-every',
      '--page-size', '--name', '--stderr-lines', '--help']) {
      assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });
