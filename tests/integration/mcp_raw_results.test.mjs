// mcp_raw_results.test.mjs - a stdio server's tool result reaches the /mcp
// client as the server wrote it (spliced, not parsed and written again),
// but only when it is valid JSON: what jansson would refuse never reaches a
// client (the call times out as for any unreadable line), and lines the
// fast path leaves alone (escaped or repeated keys, failed results, huge
// numbers) are answered the tree way, as before. Ids echo the client's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy } from './harness.mjs';
import { recordEvents, isState } from './upstream_helpers.mjs';
import { mcpPost, jsonHeaders, rawInitialize, sseMessages } from './mcp_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const server = { name: 'raw', protocol: 'stdio', command: process.execPath,
  args: [path.join(here, 'fixtures', 'raw_answer_server.mjs')] };
const TIMED_OUT = -32001;

let proxy, rec, session;
before(async () => {
  proxy = await startProxy({ config: { mcpServers: [server], mcp: { call_timeout_ms: 1500 } } });
  rec = await recordEvents(proxy);
  await rec.until(isState('raw', 'Ready'), 30000, 'raw to be Ready');
  session = await rawInitialize(proxy, '2025-03-26');
});
after(async () => {
  await rec.close();
  const { code } = await proxy.stop();
  assert.equal(code, 0);
});

const hex = (s) => Buffer.from(s, 'latin1').toString('hex');
const HEAD = '{"jsonrpc":"2.0","id":';

/** The text of one tools/call request with the raw id text `idText`, whose
 * upstream answers HEAD + its id + `tail` (latin1: one char, one byte). */
const callText = (idText, tail, head = HEAD) => `{"jsonrpc":"2.0","id":${idText},"method":"tools/call",` +
  `"params":{"name":"raw__say","arguments":{"head":"${hex(head)}","tail":"${hex(tail)}"}}}`;

async function call(idText, tail, { head, accept } = {}) {
  const headers = jsonHeaders(session, accept ? { accept } : {});
  return mcpPost(proxy, callText(idText, tail, head), headers);
}

test('a plain result is passed on byte for byte, with the client id as sent', async () => {
  const result = '{"content":[{"type":"text","text":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \u00c3\u00a9"}] , ' +
    '"structuredContent" : {"n":-1.5e3,"big":123456789012345678,"deep":[[{}],[]]}}';
  for (const id of ['7', '"a \\"quoted\\" id"', '-12345678901234567', '9007199254740993', '0', '"\\u00e9"',
    '1234567890123456789', '-9223372036854775808', '""']) {
    const res = await call(id, ` , "result" :${result} }`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(Buffer.from(res.text, 'utf8').toString('latin1'),
      `{"jsonrpc":"2.0","id":${id === '"\\u00e9"' ? '"\u00c3\u00a9"' : id},"result":${result}}`, `id ${id}`);
    assert.deepEqual(JSON.parse(res.text).result, JSON.parse(Buffer.from(result, 'latin1').toString('utf8')));
  }
});

test('a stream answer carries the same bytes as its event data', async () => {
  const result = '{"content":[{"type":"text","text":"streamed"}]}';
  const res = await call('"s1"', `,"result":${result}}`, { accept: 'text/event-stream' });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.ok(res.text.includes(`data: {"jsonrpc":"2.0","id":"s1","result":${result}}\n`), res.text);
});

test('a batch answered as one JSON array holds each result', async () => {
  const body = `[${callText('1', ',"result":{"content":[],"x":1}}')},${callText('"two"', ',"result":{"content":[],"x":2}}')}]`;
  const res = await mcpPost(proxy, body, jsonHeaders(session, { accept: 'application/json' }));
  assert.equal(res.status, 200, res.text);
  const answers = Object.fromEntries(res.json.map((a) => [a.id, a.result.x]));
  assert.deepEqual(answers, { 1: 1, two: 2 });
});

test('lines the fast path leaves to jansson are answered as before', async () => {
  // An escaped key that spells "result", a repeated result (the last one
  // counts, as in jansson and JSON.parse), a 19-digit integer.
  const cases = [
    [',"r\\u0065sult":{"content":[],"k":"escaped"}}', { content: [], k: 'escaped' }],
    [',"result":{"k":"first"},"result":{"content":[],"k":"last"}}', { content: [], k: 'last' }],
    [',"result":{"content":[],"k":1234567890123456789}}', null],
  ];
  for (const [tail, want] of cases) {
    const res = await call('5', tail);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, 5);
    if (want) assert.deepEqual(res.json.result, want, tail);
    else assert.match(res.text, /"k":1234567890123456789\}/);
  }
});

test('a failed tool result is passed on and its text is the event error', async () => {
  const res = await call('"f"', ',"result":{"content":[{"type":"text","text":"it broke"}],"isError":true}}');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.result, { content: [{ type: 'text', text: 'it broke' }], isError: true });
  const ev = await rec.until((e) => e.type === 'tool_called' && e.data.error === 'it broke', 10000, 'tool_called');
  assert.equal(ev.data.ok, false);
});

test('an answer that is not valid JSON never reaches the client: the call times out', async () => {
  const bad = [
    ',"result":{"content":[{"type":"text","text":"\xff"}]}}', // invalid UTF-8
    ',"result":{"content":[{"type":"text","text":"\xed\xa0\x80"}]}}', // an encoded surrogate
    ',"result":{"content":[{"type":"text","text":"\\ud800"}]}}', // a lone surrogate escape
    ',"result":{"content":[{"type":"text","text":"a\\u0000b"}]}}', // NUL
    ',"result":{"content":[],"n":1e999}}', // past a double
    ',"result":{"content":[{"type":"text","text":"tab\there"}]}}', // a raw control character
    ',"result":{"content":[]},}', // a trailing comma
    ',"result":{"content":[]}} {}', // two values
  ];
  const answers = await Promise.all(bad.map((tail, i) => call(`"bad${i}"`, tail)));
  answers.forEach((res, i) => {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, `bad${i}`);
    assert.equal(res.json.error?.code, TIMED_OUT, `${JSON.stringify(bad[i])}: ${res.text}`);
    assert.equal(res.json.result, undefined);
  });
  const ok = await call('"after"', ',"result":{"content":[]}}');
  assert.deepEqual(ok.json.result, { content: [] }, 'the server is still served');
});

test('a plain call reaches the server with its arguments as written, the tool renamed, newlines made spaces', async () => {
  const args = '{ "echo" :\n  [1, "two\\nlines", {"x":"caf\\u00e9"}],\r\n  "z": -0.5e-3 }';
  const body = `{"jsonrpc":"2.0","id":"e1","method":"tools/call","params":{"name":"raw__say","arguments":${args}}}`;
  const res = await mcpPost(proxy, body, jsonHeaders(session));
  assert.equal(res.status, 200, res.text);
  const line = res.json.result.content[0].text;
  assert.ok(!line.includes('\n') && !line.includes('\r'), line);
  const sent = JSON.parse(line);
  assert.equal(sent.method, 'tools/call');
  assert.equal(sent.params.name, 'say');
  assert.ok(line.includes(`"arguments":${args.replace(/[\r\n]/g, ' ')}`), line);
  assert.deepEqual(sent.params.arguments, JSON.parse(args));
});

test('plain calls the fast path leaves alone are answered the general way', async () => {
  const plain = (name, id = 1) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}"}}`;
  const unknown = await mcpPost(proxy, plain('raw__nope'), jsonHeaders(session));
  assert.equal(unknown.json.error.code, -32602, unknown.text);
  assert.match(unknown.json.error.message, /unknown tool "raw__nope"/);
  const noSession = await mcpPost(proxy, plain('raw__say'), jsonHeaders('not-a-session'));
  assert.equal(noSession.status, 404, noSession.text);
  const badVersion = await mcpPost(proxy, plain('raw__say'), jsonHeaders(session, { 'mcp-protocol-version': '1999-01-01' }));
  assert.equal(badVersion.status, 400, badVersion.text);
  const fractional = await mcpPost(proxy, plain('raw__say', '1.5'), jsonHeaders(session));
  assert.equal(fractional.json.error.code, -32600, fractional.text);
  const notJson = await mcpPost(proxy, plain('raw__say'), { ...jsonHeaders(session), 'content-type': 'text/plain' });
  assert.equal(notJson.status, 415, notJson.text);
});
