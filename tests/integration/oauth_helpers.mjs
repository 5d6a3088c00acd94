// oauth_helpers.mjs - MCP servers behind OAuth for the OAuth tests
// (integration and browser): the MCP TypeScript SDK's example server with
// --oauth, and fixtures/oauth_short_server.mjs (short-lived tokens with
// refresh). Each runs on two free ports (MCP_PORT, MCP_AUTH_PORT) and is
// ready when its own output says it listens.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './harness.mjs';
import { freePort } from './remote_helpers.mjs';

const sdkExample = path.join(repoRoot, 'node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js');
const shortServer = path.join(repoRoot, 'tests/integration/fixtures/oauth_short_server.mjs');

/** Starts a node server on two free ports; ready when its stdout says `readyRe` for each. */
async function startNode(script, args, readyRes, env = {}) {
  const mcpPort = await freePort();
  const authPort = await freePort();
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let pending = [...readyRes];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${lines.join('\n')}`)), 20000);
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        pending = pending.filter((re) => !re.test(line));
        if (!pending.length) { clearTimeout(timer); resolve(); }
      });
    }
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}:\n${lines.join('\n')}`)); });
  });
  return {
    url: `http://localhost:${mcpPort}/mcp`,
    authUrl: `http://localhost:${authPort}`,
    lines,
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((r) => { proc.on('exit', r); proc.kill('SIGKILL'); });
    },
  };
}

export const startSdkExample = () => startNode(sdkExample, ['--oauth'],
  [/MCP Streamable HTTP Server listening on port/, /OAuth Authorization Server listening on port/]);
export const startShortServer = (env) => startNode(shortServer, [], [/^READY$/], env);

/** Follows an authorization URL as a browser would: every redirect, to the proxy's callback. */
export async function followLogin(url) {
  const res = await fetch(url, { redirect: 'follow' });
  return { status: res.status, url: res.url, headers: res.headers, json: null, text: await res.text() };
}

