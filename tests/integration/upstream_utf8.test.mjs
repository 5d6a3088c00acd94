// upstream_utf8.test.mjs - an upstream that writes bytes that are not valid
// UTF-8, and characters that straddle mcpproxy's cuts (the 4,096-byte stderr
// line, the 400 bytes of the last line quoted in last_error, the 120 bytes of
// an unusable stdout line quoted in the log). Nothing may vanish: invalid
// bytes read as U+FFFD (as a browser's decoder reads them), a cut drops a
// whole character, and every line of the JSON log is valid UTF-8 and JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy, api } from './harness.mjs';
import { recordEvents, isState, isType, serverStatus, fastUpstream } from './upstream_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bytesServer = path.join(here, 'fixtures', 'bytes_server.mjs');
const stderrTap = path.join(here, 'fixtures', 'stderr_tap.mjs');

const b = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
// The WHATWG decoder (what browsers use): invalid bytes become U+FFFD.
const decode = (bytes) => new TextDecoder().decode(bytes);

// Each class of invalid UTF-8, the last one cut short by the end of the line.
const invalidLine = b('invalid: ', [0xff], ' stray: ', [0x80], ' overlong: ', [0xc0, 0xaf],
  ' surrogate: ', [0xed, 0xa0, 0x80], ' too big: ', [0xf4, 0x90, 0x80, 0x80], ' truncated: ', [0xe2, 0x82]);
// '€' (3 bytes) at bytes 4095-4097: straddles the 4,096-byte line cut.
const longLine = b('x'.repeat(4095), '€', ' past the cut');
// The last line: '😀' (4 bytes) at bytes 399-402 straddles the 400 bytes
// that last_error quotes.
const lastLine = b('y'.repeat(399), '😀', 'z'.repeat(200));
// Not JSON, and '€' at bytes 119-121 straddles the 120 bytes the log quotes.
const stdoutLine = b([0xff], ' not json ', 'n'.repeat(108), '€', ' more');

test('bytes that are not UTF-8 and cut characters reach the logs API, status, events and the log intact', async () => {
  const rawDir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-utf8-'));
  const rawLog = path.join(rawDir, 'stderr.bin');
  const args = [bytesServer, '3', `out:${b(stdoutLine, '\n').toString('hex')}`,
    ...[invalidLine, longLine, lastLine].map((line) => `err:${b(line, '\n').toString('hex')}`)];
  const proxy = await startProxy({
    config: {
      auto_disable_threshold: 1,
      upstream: fastUpstream,
      mcpServers: [{ name: 'utf8', protocol: 'stdio', command: process.execPath, args }],
    },
    wrapper: [process.execPath, stderrTap, rawLog],
  });
  try {
    const rec = await recordEvents(proxy);
    const disabled = await rec.until(isType('utf8', 'server_auto_disabled'), 20000, 'server_auto_disabled');

    const expectedLines = [decode(invalidLine), 'x'.repeat(4095), decode(lastLine)];
    assert.ok(expectedLines[0].includes('\uFFFD'), 'the oracle replaces invalid bytes');
    const logs = await api(proxy, 'GET', '/api/servers/utf8/logs');
    assert.equal(logs.status, 200, logs.text);
    assert.deepEqual(logs.json.lines, expectedLines);

    const lastError = `exited with code 3: ${'y'.repeat(399)}`;
    const s = await serverStatus(proxy, 'utf8');
    assert.equal(s.status, 'Auto-Disabled');
    assert.equal(s.last_error, lastError);

    assert.deepEqual(disabled.data, { reason: `1 consecutive failures; last: ${lastError}`, failure_count: 1 });
    const error = await rec.until(isState('utf8', 'Error'));
    assert.equal(error.data.last_error, lastError);
    const lost = await rec.until(isType('utf8', 'connection_lost'));
    assert.equal(lost.data.exit_code, 3);
    assert.equal(lost.data.stderr_tail, expectedLines.join('\n'));

    const unusable = await proxy.waitForLog((e) => e.msg === 'upstream sent an unusable line; ignored');
    assert.equal(unusable.line, decode(stdoutLine.subarray(0, 119)));
    await rec.close();
  } finally {
    const { code } = await proxy.stop();
    assert.equal(code, 0);
  }

  // Every line the proxy wrote is valid UTF-8 (a fatal decoder throws on
  // anything else) and parses as JSON.
  const raw = readFileSync(rawLog);
  rmSync(rawDir, { recursive: true, force: true });
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lines = [];
  let start = 0;
  for (let nl = raw.indexOf(0x0a); nl >= 0; start = nl + 1, nl = raw.indexOf(0x0a, start)) {
    const bytes = raw.subarray(start, nl);
    let text;
    assert.doesNotThrow(() => { text = strict.decode(bytes); }, `log line ${lines.length + 1} is not valid UTF-8: ${bytes.toString('hex')}`);
    lines.push(JSON.parse(text));
  }
  assert.equal(start, raw.length, 'the log ends with a complete line');
  // The lines that quote the server are among them, as the API showed them.
  const quoted = lines.find((e) => e.msg === 'upstream sent an unusable line; ignored');
  assert.equal(quoted.line, decode(stdoutLine.subarray(0, 119)));
  const autoDisabled = lines.find((e) => e.msg === 'server auto-disabled');
  assert.equal(autoDisabled.reason, `1 consecutive failures; last: exited with code 3: ${'y'.repeat(399)}`);
});
