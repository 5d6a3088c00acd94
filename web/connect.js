// connect.js - "Connect a client": ready-to-paste settings that point
// Claude Desktop, Cursor, VS Code and Claude Code at this proxy's /mcp,
// with the API key when the page has one.
import { el } from './dom.js';

export function clientSnippets(mcpUrl, key) {
  const headers = key ? { 'X-API-Key': key } : undefined;
  const j = (o) => JSON.stringify(o, null, 2);
  return [
    {
      id: 'claude-desktop', name: 'Claude Desktop', where: 'claude_desktop_config.json (Settings → Developer → Edit Config); it starts stdio servers, so mcp-remote bridges to HTTP',
      text: j({ mcpServers: { mcpproxy: { command: 'npx', args: ['-y', 'mcp-remote', mcpUrl, ...(key ? ['--header', `X-API-Key:${key}`] : [])] } } }),
    },
    { id: 'cursor', name: 'Cursor', where: '~/.cursor/mcp.json', text: j({ mcpServers: { mcpproxy: { url: mcpUrl, ...(headers ? { headers } : {}) } } }) },
    { id: 'vscode', name: 'VS Code', where: '.vscode/mcp.json', text: j({ servers: { mcpproxy: { type: 'http', url: mcpUrl, ...(headers ? { headers } : {}) } } }) },
    {
      id: 'claude-code', name: 'Claude Code', where: 'a shell',
      text: `claude mcp add --transport http mcpproxy ${mcpUrl}${key ? ` --header "X-API-Key: ${key}"` : ''}`,
    },
  ];
}

async function copy(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    status.textContent = 'Copying was refused by the browser: select the text and copy it.';
  }
}

/** Fills and opens the dialog. */
export function openConnect(dialog, key) {
  const url = `${window.location.origin}/mcp`;
  dialog.textContent = '';
  const status = el('p', { class: 'muted', role: 'status' });
  dialog.append(
    el('h2', { id: 'connect-dialog-h', text: 'Connect a client' }),
    el('p', { class: 'muted', text: `Every MCP client can use this proxy at ${url} (Streamable HTTP). It sees the tools of every Ready server as <server>__<tool>.${key ? ' The snippets carry the API key this page uses.' : ''}` }),
    ...clientSnippets(url, key).map((s) => {
      const pre = el('pre', { class: 'snippet', id: `snippet-${s.id}`, tabindex: '0', 'aria-label': `${s.name} settings`, text: s.text });
      return el('section', { class: 'client' },
        el('h3', { text: s.name }),
        el('p', { class: 'muted', text: `In ${s.where}:` }),
        pre,
        el('button', { type: 'button', class: 'btn', 'aria-label': `Copy the ${s.name} settings`, text: 'Copy', onclick: () => copy(s.text, status) }));
    }),
    status,
    el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'btn primary', text: 'Close', onclick: () => dialog.close() })));
  dialog.showModal();
}
