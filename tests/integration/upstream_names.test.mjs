// upstream_names.test.mjs - one rule for server and group names, so that a
// name the API accepts is one it can reach: every name is a single URL path
// segment that no client rewrites. Names that break it are refused with the
// rule in the message - through the API (400) and in the config file (start
// fails with the file, line and column) - and every name that follows it,
// dots inside included, answers at each of its URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, api, proxyBin } from './harness.mjs';
import { readConfig } from './upstream_helpers.mjs';

const RULE = '1-64 characters of A-Z a-z 0-9 _ - . (not "." or "..")';
const off = (name, extra = {}) => ({ name, command: '/bin/true', enabled: false, ...extra });

test('bad names are refused with the rule, good ones are reachable at every URL', async () => {
  const proxy = await startProxy({ config: { mcpServers: [off('keep')] } });
  try {
    const badNames = ['.', '..', 'a/b', '/', 'a b', '%2e', 'a+b', 'a?b', 'caf\u00e9', 'x'.repeat(65), ''];
    for (const name of badNames) {
      const res = await api(proxy, 'POST', '/api/servers', off(name));
      assert.equal(res.status, 400, `server ${JSON.stringify(name)}: ${res.text}`);
      assert.ok(res.json.error.includes(RULE), res.json.error);
    }
    for (const group of ['.', '..', 'a/b', '%2e%2e']) {
      let res = await api(proxy, 'POST', '/api/servers', off('g', { group }));
      assert.equal(res.status, 400, `group ${group} on create: ${res.text}`);
      assert.ok(res.json.error.includes(RULE), res.json.error);
      res = await api(proxy, 'PATCH', '/api/servers/keep', { group });
      assert.equal(res.status, 400, `group ${group} by PATCH: ${res.text}`);
      assert.ok(res.json.error.includes(RULE), res.json.error);
      res = await api(proxy, 'POST', '/api/groups', { name: group, servers: ['keep'] });
      assert.equal(res.status, 400, `group ${group} by assignment: ${res.text}`);
      assert.ok(res.json.error.includes(RULE), res.json.error);
    }
    assert.deepEqual(readConfig(proxy).mcpServers.map((s) => [s.name, s.group ?? '']), [['keep', '']]);

    const goodNames = ['my.server', '...', '.hidden', 'trailing.', 'x..y', 'A-b_9', 'n'.repeat(64)];
    for (const name of goodNames) {
      const url = `/api/servers/${name}`;
      let res = await api(proxy, 'POST', '/api/servers', off(name));
      assert.equal(res.status, 201, `${name}: ${res.text}`);
      res = await api(proxy, 'GET', url);
      assert.equal(res.status, 200, `GET ${url}: ${res.text}`);
      assert.equal(res.json.name, name);
      res = await api(proxy, 'PATCH', url, { args: ['1'] });
      assert.equal(res.status, 200, `PATCH ${url}: ${res.text}`);
      assert.deepEqual(res.json.args, ['1']);
      for (const sub of ['tools', 'logs']) {
        res = await api(proxy, 'GET', `${url}/${sub}`);
        assert.equal(res.status, 200, `GET ${url}/${sub}: ${res.text}`);
        assert.equal(res.json.server, name);
      }
      for (const action of ['enable', 'restart', 'disable']) {
        res = await api(proxy, 'POST', `${url}/${action}`);
        assert.equal(res.status, 200, `POST ${url}/${action}: ${res.text}`);
        assert.equal(res.json.name, name);
      }
      assert.equal(res.json.status, 'Disabled');
    }
    for (const group of ['g.1', '...', '.g', 'G-_9']) {
      let res = await api(proxy, 'POST', '/api/groups', { name: group, servers: ['my.server'] });
      assert.equal(res.status, 200, `group ${group}: ${res.text}`);
      for (const action of ['enable', 'disable']) {
        res = await api(proxy, 'POST', `/api/groups/${group}/${action}`);
        assert.equal(res.status, 200, `POST /api/groups/${group}/${action}: ${res.text}`);
        assert.deepEqual(res.json.groups.find((g) => g.name === group).servers, ['my.server']);
      }
    }
    for (const name of goodNames) {
      let res = await api(proxy, 'DELETE', `/api/servers/${name}`);
      assert.equal(res.status, 200, `DELETE ${name}: ${res.text}`);
      res = await api(proxy, 'GET', `/api/servers/${name}`);
      assert.equal(res.status, 404, `GET ${name} after DELETE: ${res.text}`);
    }
    assert.deepEqual(readConfig(proxy).mcpServers.map((s) => s.name), ['keep']);
  } finally {
    await proxy.stop();
  }
});

test('a config file with a name that breaks the rule does not start, naming the rule, file, line and column', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcpproxy-names-'));
  try {
    const file = path.join(dir, 'mcp_config.json');
    const cases = [
      ['{\n  "mcpServers": [\n    {"name": "..", "command": "/bin/true"}\n  ]\n}\n', ':3:6:'],
      ['{\n  "mcpServers": [\n    {"name": "a", "command": "/bin/true",\n     "group": "a/b"}\n  ]\n}\n', ':4:6:'],
    ];
    for (const [text, where] of cases) {
      writeFileSync(file, text);
      const run = spawnSync(proxyBin, ['--config', file, '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 10000 });
      assert.equal(run.status, 1, run.stderr);
      assert.ok(run.stderr.includes(RULE), run.stderr);
      assert.ok(run.stderr.includes(file + where), run.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
