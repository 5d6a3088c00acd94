// editor.js - add, edit and remove servers from the page, and paste the
// mcpServers block of Claude Desktop, Cursor or VS Code. Every change goes
// through the REST API; the rows change when its events arrive. A refusal
// (the API's 400 message) is shown next to the field it names.
import { el, apiError } from './dom.js';

const FIELDS = ['name', 'command', 'args', 'env', 'url', 'headers', 'working_dir', 'group', 'enabled'];

/** Keys of client configs that have no meaning here; dropped with a note. */
const IGNORED = new Set(['type', 'autoApprove', 'alwaysAllow', 'disabledTools', 'timeout', 'transportType', 'description', 'icon', 'envFile']);

/**
 * Converts a pasted client config into the API's server objects.
 * Accepts {"mcpServers": {NAME: {...}}} (Claude Desktop, Cursor),
 * {"servers": {...}} (VS Code's mcp.json), {"mcp": {"servers": {...}}}
 * (VS Code settings), a bare object keyed by name, or the lines inside one
 * ("name": {...}, without the outer braces).
 * Returns {servers: [...], notes: [...]}; throws with a message on bad input.
 */
export function fromClientConfig(text) {
  let obj;
  const t = text.trim();
  if (!t) throw new Error('paste a JSON object');
  try {
    obj = JSON.parse(t);
  } catch (e) {
    try { obj = JSON.parse(`{${t.replace(/,\s*$/, '')}}`); } catch { throw new Error(`not JSON: ${e.message}`); }
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('expected a JSON object keyed by server name');
  const block = obj.mcpServers || obj.servers || (obj.mcp && obj.mcp.servers) || obj;
  if (!block || typeof block !== 'object' || Array.isArray(block)) throw new Error('"mcpServers" must be an object keyed by server name');
  const servers = [];
  const notes = [];
  for (const [name, def] of Object.entries(block)) {
    if (!def || typeof def !== 'object' || Array.isArray(def)) throw new Error(`"${name}": expected an object with "command"`);
    const s = { name };
    for (const [k, v] of Object.entries(def)) {
      if (k === 'command' || k === 'args' || k === 'env' || k === 'group' || k === 'working_dir' || k === 'enabled' || k === 'protocol') s[k] = v;
      else if (k === 'cwd') s.working_dir = v;
      else if (k === 'disabled') s.enabled = !v;
      else if (k === 'url' || k === 'serverUrl' || k === 'httpUrl') s.url = v; // remote: the API says whether it takes it
      else if (k === 'headers') s.headers = v;
      else if (k === 'type' && (v === 'http' || v === 'streamable-http' || v === 'sse')) s.protocol = v === 'sse' ? 'sse' : 'streamable-http';
      else if (IGNORED.has(k)) { if (!(k === 'type' && v === 'stdio')) notes.push(`${name}: "${k}" ignored`); }
      else s[k] = v; // unknown: the API names it in its refusal
    }
    servers.push(s);
  }
  if (!servers.length) throw new Error('no servers in the pasted block');
  return { servers, notes };
}

/** The field a refusal is about, from the API's message. */
function fieldOf(message) {
  const m = message.replace(/\(known:[^)]*\)/, '');
  if (/server name|"name"/.test(m)) return 'name';
  if (/group name/.test(m)) return 'group';
  for (const f of FIELDS) if (m.includes(`"${f}"`)) return f;
  return null;
}

let seq = 0;

export class ServerEditor {
  /** api(method, path, body) → {status, ok, json}; onDone(name) after a save. */
  constructor(dialog, api) {
    this.dialog = dialog;
    this.api = api;
  }

  /** Opens the dialog to add a server (server undefined) or edit one. */
  open(server) {
    const d = this.dialog;
    d.textContent = '';
    const editing = !!server;
    const id = (f) => `srv-${f}-${++seq}`;
    this.inputs = {};
    this.errors = {};
    const field = (f, label, input, hint) => {
      input.id = id(f);
      const err = el('span', { class: 'field-error', id: `${input.id}-err`, role: 'alert' });
      input.setAttribute('aria-describedby', `${input.id}-err`);
      this.inputs[f] = input;
      this.errors[f] = err;
      return el('div', { class: `field field-${f}` }, el('label', { for: input.id, text: label }), input,
        hint ? el('span', { class: 'hint muted', text: hint }) : null, err);
    };
    const s = server || { enabled: true };
    const name = el('input', { type: 'text', required: true, spellcheck: 'false', value: s.name || '' });
    if (editing) name.readOnly = true;
    const command = el('input', { type: 'text', spellcheck: 'false', value: s.command || '' });
    const url = el('input', { type: 'text', spellcheck: 'false', value: s.url || '', placeholder: 'https://example.com/mcp' });
    const headers = el('textarea', { rows: '2', spellcheck: 'false' });
    headers.value = Object.entries(s.headers || {}).map(([k, v]) => `${k}=${v}`).join('\n');
    const args = el('textarea', { rows: '3', spellcheck: 'false' });
    args.value = (s.args || []).join('\n');
    const env = el('textarea', { rows: '2', spellcheck: 'false' });
    env.value = Object.entries(s.env || {}).map(([k, v]) => `${k}=${v}`).join('\n');
    const wd = el('input', { type: 'text', spellcheck: 'false', value: s.working_dir || '' });
    const group = el('input', { type: 'text', spellcheck: 'false', value: s.group || '' });
    const enabled = el('input', { type: 'checkbox' });
    enabled.checked = s.enabled !== false;
    this.general = el('p', { class: 'field-error', role: 'alert' });

    // novalidate: the API's own message, next to its field, says what to fix.
    const form = el('form', { class: 'editor', method: 'dialog', novalidate: true },
      el('h2', { id: 'server-dialog-h', text: editing ? `Edit ${s.name}` : 'Add a server' }),
      field('name', 'Name', name, editing ? 'A server cannot be renamed; remove it and add it again.' : '1-64 of A-Z a-z 0-9 _ - .'),
      field('command', 'Command', command, 'A server the proxy starts; or give a URL instead.'),
      field('args', 'Arguments (one per line)', args),
      field('env', 'Environment (NAME=value per line)', env, editing ? 'Values shown as *** are kept as they are.' : null),
      field('url', 'URL', url, 'A remote server (Streamable HTTP or SSE), instead of a command.'),
      field('headers', 'Headers (Name=value per line)', headers, editing ? 'Values shown as *** are kept as they are.' : null),
      field('working_dir', 'Working directory', wd),
      field('group', 'Group', group),
      field('enabled', 'Enabled', enabled),
      this.general,
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'submit', class: 'btn primary', text: editing ? 'Save' : 'Add server' }),
        el('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() })));
    form.addEventListener('submit', (e) => { e.preventDefault(); this.save(server); });
    d.append(form);

    if (!editing) {
      const paste = el('textarea', { id: id('paste'), rows: '7', spellcheck: 'false', placeholder: '{"mcpServers": {"name": {"command": "npx", "args": [...]}}}' });
      this.pasteErr = el('div', { class: 'field-error', id: `${paste.id}-err`, role: 'alert' });
      paste.setAttribute('aria-describedby', `${paste.id}-err`);
      this.paste = paste;
      const pform = el('form', { class: 'editor paste' },
        el('h3', { text: 'Or paste from Claude Desktop, Cursor or VS Code' }),
        el('div', { class: 'field' }, el('label', { for: paste.id, text: 'mcpServers JSON' }), paste, this.pasteErr),
        el('div', { class: 'dialog-actions' }, el('button', { type: 'submit', class: 'btn primary', text: 'Add pasted servers' })));
      pform.addEventListener('submit', (e) => { e.preventDefault(); this.addPasted(); });
      d.append(pform);
    }
    d.showModal();
    (editing ? command : name).focus();
  }

  clearErrors() {
    for (const f of Object.keys(this.errors)) {
      this.errors[f].textContent = '';
      this.inputs[f].removeAttribute('aria-invalid');
    }
    this.general.textContent = '';
  }

  showError(message) {
    const f = fieldOf(message);
    if (f && this.errors[f]) {
      this.errors[f].textContent = message;
      this.inputs[f].setAttribute('aria-invalid', 'true');
      this.inputs[f].focus();
    } else {
      this.general.textContent = message;
    }
  }

  /** The form as the API's server object. */
  /** The form as the API's server object: a stdio server's fields, or a
   *  remote server's when a URL is given (the API takes exactly one kind). */
  read() {
    const i = this.inputs;
    const pairs = (f) => {
      const out = {};
      for (const line of i[f].value.split('\n')) {
        if (!line.trim()) continue;
        const eq = line.indexOf('=');
        if (eq <= 0) throw new Error(`"${f}": "${line}" is not NAME=value`);
        out[line.slice(0, eq).trim()] = line.slice(eq + 1);
      }
      return out;
    };
    const body = { name: i.name.value.trim() };
    const url = i.url.value.trim();
    if (url) {
      body.url = url;
      body.headers = pairs('headers');
    } else {
      body.command = i.command.value.trim();
      body.args = i.args.value.split('\n').filter((l) => l !== '');
      body.env = pairs('env');
      body.working_dir = i.working_dir.value.trim();
    }
    body.group = i.group.value.trim();
    body.enabled = i.enabled.checked;
    return body;
  }

  async save(server) {
    this.clearErrors();
    let body;
    try { body = this.read(); } catch (e) { this.showError(e.message); return; }
    let r;
    try {
      if (server) {
        const { name, ...changes } = body;
        r = await this.api('PATCH', `/api/servers/${encodeURIComponent(name)}`, changes);
      } else {
        r = await this.api('POST', '/api/servers', body);
      }
    } catch (e) {
      this.general.textContent = `The proxy could not be reached: ${e.message}`;
      return;
    }
    if (!r.ok) { this.showError(apiError(r)); return; }
    this.dialog.close();
  }

  async addPasted() {
    this.pasteErr.textContent = '';
    this.paste.removeAttribute('aria-invalid');
    let parsed;
    try { parsed = fromClientConfig(this.paste.value); } catch (e) {
      this.pasteErr.textContent = e.message;
      this.paste.setAttribute('aria-invalid', 'true');
      return;
    }
    const failed = [];
    const added = [];
    for (const s of parsed.servers) {
      let r;
      try { r = await this.api('POST', '/api/servers', s); } catch (e) { r = { ok: false, status: 0, json: { error: e.message } }; }
      if (r.ok) added.push(s.name);
      else failed.push(`${s.name}: ${apiError(r)}`);
    }
    if (!failed.length) { this.dialog.close(); return; }
    this.paste.setAttribute('aria-invalid', 'true');
    this.pasteErr.textContent = '';
    if (added.length) this.pasteErr.append(el('p', { class: 'muted', text: `Added: ${added.join(', ')}` }));
    for (const f of [...failed, ...parsed.notes]) this.pasteErr.append(el('p', { text: f }));
  }
}
