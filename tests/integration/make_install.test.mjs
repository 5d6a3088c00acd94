// make_install.test.mjs - `make install DESTDIR=... PREFIX=...` puts the two
// binaries side by side, the man page and the systemd user unit (pointing
// at the installed binary) under DESTDIR, and the installed mcpproxy runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, buildDir, startProxy } from './harness.mjs';
import { recordEvents, isState, demo, serverStatus } from './upstream_helpers.mjs';

test('make install DESTDIR=tmp PREFIX=/opt/mcp installs binaries, man page and user unit', async () => {
  const dest = mkdtempSync(path.join(tmpdir(), 'mcpproxy-install-'));
  try {
    // BUILD is this build directory: built as configured, not reconfigured.
    const make = spawnSync('make', ['--no-print-directory', 'install', `DESTDIR=${dest}`, 'PREFIX=/opt/mcp', `BUILD=${buildDir}`],
      { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(make.status, 0, make.stdout + make.stderr);
    const root = path.join(dest, 'opt/mcp');
    for (const bin of ['mcpproxy', 'mcpproxy-exec']) {
      const st = statSync(path.join(root, 'bin', bin));
      assert.equal(st.mode & 0o777, 0o755, bin);
    }
    const man = readFileSync(path.join(root, 'share/man/man1/mcpproxy.1'), 'utf8');
    assert.match(man, /^\.TH MCPPROXY "1"/m);
    for (const s of ['import', 'gen\\-key', 'events', '\\-\\-listen', 'SIGHUP']) assert.ok(man.includes(s), `man page mentions ${s}`);
    const unit = readFileSync(path.join(root, 'lib/systemd/user/mcpproxy.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/opt\/mcp\/bin\/mcpproxy /m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.doesNotMatch(unit, /@BINDIR@/);
    const run = spawnSync(path.join(root, 'bin/mcpproxy'), ['--version'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^mcpproxy \d+\.\d+\.\d+/);

    // The installed proxy runs its servers under the installed supervisor,
    // found next to itself (the server's pid is the supervisor's).
    const proxy = await startProxy({ bin: path.join(root, 'bin/mcpproxy'), config: { mcpServers: [demo('demo')] } });
    try {
      const rec = await recordEvents(proxy);
      await rec.until(isState('demo', 'Ready'), 20000, 'demo Ready');
      const { pid } = await serverStatus(proxy, 'demo');
      assert.equal(readlinkSync(`/proc/${pid}/exe`), path.join(root, 'bin/mcpproxy-exec'));
      rec.close();
    } finally {
      await proxy.stop();
    }

    // uninstall removes exactly what install put there.
    const un = spawnSync('make', ['--no-print-directory', 'uninstall', `DESTDIR=${dest}`, 'PREFIX=/opt/mcp', `BUILD=${buildDir}`],
      { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(un.status, 0, un.stderr);
    const left = spawnSync('find', [dest, '-type', 'f'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '');
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
