// mcp_search_relevance.test.mjs - how well retrieve_tools finds the tool a
// request means: a fixed set of plain-language queries
// (fixtures/search_queries.json) over the tools of server-everything, the
// demo server and 336 synthetic look-alikes (fixtures/catalog_server.mjs),
// each with the one tool it should find. The expected tool must be in the
// top 5 for at least 90% of the queries. The table it prints is the one in
// docs/BENCHMARKS.md ("Search relevance").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy } from './harness.mjs';
import { recordEvents, isState, demo, everythingArgs } from './upstream_helpers.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const queries = JSON.parse(readFileSync(path.join(here, 'fixtures', 'search_queries.json'), 'utf8'));

test('relevance: the expected tool is in the top 5 for at least 90% of the queries', async () => {
  const proxy = await startProxy({ config: { mcpServers: [
    demo('demo'),
    { name: 'everything', command: process.execPath, args: everythingArgs },
    { name: 'catalog', command: process.execPath, args: [path.join(here, 'fixtures', 'catalog_server.mjs')] },
  ] } });
  const client = new Client({ name: 'relevance', version: '1.0.0' });
  try {
    const rec = await recordEvents(proxy);
    for (const s of ['demo', 'everything', 'catalog']) await rec.until(isState(s, 'Ready'), 30000);
    rec.close();
    await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url + '/mcp/search')));
    const rows = [];
    for (const { query, expected } of queries) {
      const res = await client.callTool({ name: 'retrieve_tools', arguments: { query, limit: 5 } });
      const names = res.structuredContent.tools.map((t) => t.name);
      const rank = names.indexOf(expected) + 1;
      rows.push({ query, expected, rank, top: names[0] });
    }
    const top1 = rows.filter((r) => r.rank === 1).length;
    const top5 = rows.filter((r) => r.rank >= 1).length;
    const table = ['| query | expected | rank | first hit |', '|---|---|---|---|',
      ...rows.map((r) => `| ${r.query} | \`${r.expected}\` | ${r.rank || 'not in top 5'} | \`${r.top ?? '-'}\` |`),
      '', `top 1: ${top1}/${rows.length}; top 5: ${top5}/${rows.length} (${(100 * top5 / rows.length).toFixed(1)}%)`].join('\n');
    console.log(table);
    assert.ok(top5 / rows.length >= 0.9, `only ${top5} of ${rows.length} queries found their tool in the top 5:\n${table}`);
  } finally {
    await client.close();
    await proxy.stop();
  }
});
