// page_logic.test.mjs - the dashboard's pure helpers, imported as the page
// imports them (no browser needed): converting a pasted client config to
// the API's server objects, the /mcp name of a tool, the latency percentile,
// the line diff of the quarantine review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromClientConfig } from '../../web/editor.js';
import { proxiedToolName } from '../../web/rpc.js';
import { percentile } from '../../web/detail.js';
import { clientSnippets } from '../../web/connect.js';
import { lineDiff } from '../../web/diff.js';

test('Claude Desktop / Cursor blocks: mcpServers keyed by name', () => {
  const { servers, notes } = fromClientConfig(JSON.stringify({
    mcpServers: {
      fs: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'], env: { A: '1' } },
      off: { command: 'x', disabled: true, cwd: '/srv', autoApprove: ['t'] },
    },
  }));
  assert.deepEqual(servers, [
    { name: 'fs', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'], env: { A: '1' } },
    { name: 'off', command: 'x', enabled: false, working_dir: '/srv' },
  ]);
  assert.deepEqual(notes, ['off: "autoApprove" ignored']);
});

test('VS Code: "servers" (mcp.json) and "mcp.servers" (settings); type stdio dropped silently', () => {
  const a = fromClientConfig('{"servers": {"git": {"type": "stdio", "command": "uvx", "args": ["mcp-server-git"]}}}');
  assert.deepEqual(a.servers, [{ name: 'git', command: 'uvx', args: ['mcp-server-git'] }]);
  assert.deepEqual(a.notes, []);
  const remote = fromClientConfig('{"servers": {"r": {"type": "http", "url": "https://x.test/mcp", "headers": {"A": "b"}}, "s": {"type": "sse", "url": "https://x.test/sse"}}}');
  assert.deepEqual(remote.servers, [
    { name: 'r', protocol: 'streamable-http', url: 'https://x.test/mcp', headers: { A: 'b' } },
    { name: 's', protocol: 'sse', url: 'https://x.test/sse' },
  ]);
  const b = fromClientConfig('{"mcp": {"servers": {"git": {"command": "uvx"}}}}');
  assert.deepEqual(b.servers, [{ name: 'git', command: 'uvx' }]);
});

test('a bare object keyed by name, or its lines without the braces', () => {
  assert.deepEqual(fromClientConfig('{"x": {"command": "a"}}').servers, [{ name: 'x', command: 'a' }]);
  assert.deepEqual(fromClientConfig('"x": {"command": "a"},\n"y": {"command": "b"},').servers,
    [{ name: 'x', command: 'a' }, { name: 'y', command: 'b' }]);
});

test('bad input says what is wrong', () => {
  assert.throws(() => fromClientConfig(''), /paste a JSON object/);
  assert.throws(() => fromClientConfig('{"mcpServers": '), /not JSON/);
  assert.throws(() => fromClientConfig('[1]'), /keyed by server name/);
  assert.throws(() => fromClientConfig('{"mcpServers": {"x": "npx"}}'), /"x": expected an object/);
  assert.throws(() => fromClientConfig('{"mcpServers": {}}'), /no servers/);
});

test('the /mcp name of a tool follows docs/PROTOCOL.md', () => {
  assert.equal(proxiedToolName('demo', 'add'), 'demo__add');
  assert.equal(proxiedToolName('my.server', 'echo'), 'my_server__echo');
});

test('p95 of call durations', () => {
  assert.equal(percentile([], 0.95), null);
  assert.equal(percentile([5], 0.95), 5);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95), 95);
});

test('client snippets without a key carry no header', () => {
  const s = Object.fromEntries(clientSnippets('http://127.0.0.1:8080/mcp', '').map((x) => [x.id, x.text]));
  assert.deepEqual(JSON.parse(s['claude-desktop']), { mcpServers: { mcpproxy: { command: 'npx', args: ['-y', 'mcp-remote', 'http://127.0.0.1:8080/mcp'] } } });
  assert.equal(s['claude-code'], 'claude mcp add --transport http mcpproxy http://127.0.0.1:8080/mcp');
});

test('lineDiff: common lines kept, removed and added ones marked, in order', () => {
  const ops = (a, b) => lineDiff(a, b).map(({ op, text }) => op + text);
  assert.deepEqual(ops('a\nb\nc', 'a\nb\nc'), [' a', ' b', ' c']);
  assert.deepEqual(ops('a\nb\nc', 'a\nx\nc\nd'), [' a', '-b', '+x', ' c', '+d']);
  assert.deepEqual(ops('old', 'new'), ['-old', '+new']);
  assert.deepEqual(ops('', 'x'), ['-', '+x']);
});
