// detail.js - one server up close (#/servers/NAME): its state and history,
// its tools with their schemas and a tester, its stderr as it is written,
// the calls made to it, its settings, and the actions.
//
// Opening the view fetches what the stream does not carry (the tool list,
// the stderr kept so far, the settings); from then on the stream keeps it
// current: server_log appends lines, tool_called adds calls, tools_updated
// refetches the tool list (the event says it changed), server_config_changed
// carries the new settings.
//
// What quarantine holds of the server (GET /api/quarantine) is shown in a
// review panel above the tools: a new server's tools, or per held tool its
// approved and its current description and input schema as a line diff,
// with the Approve action. It is fetched on opening and again when an event
// says it may have changed (server_quarantined, tool_changed,
// server_approved, and tools_updated, since a tool changed back to what was
// approved is no longer held); never polled.
import { el, ago, clock, jsonText, apiError } from './dom.js';
import { toolTester } from './tester.js';
import { lineDiff } from './diff.js';

const REVIEW_EVENTS = new Set(['server_quarantined', 'tool_changed', 'server_approved', 'tools_updated']);

/** A <pre> of lineDiff(a, b): removed lines as <del>, added as <ins>. */
function diffBlock(label, a, b) {
  const pre = el('pre', { class: 'diff', 'aria-label': label });
  for (const { op, text } of lineDiff(a, b)) {
    const tag = op === '-' ? 'del' : op === '+' ? 'ins' : 'span';
    pre.append(el(tag, { class: `diff-line${op === ' ' ? '' : op === '-' ? ' diff-del' : ' diff-add'}`, text: `${op} ${text}\n` }));
  }
  return pre;
}

const LOG_MAX = 500;
const CALLS_SHOWN = 50;

/** The appended part of `incoming` that `have` does not already end with. */
function newPart(have, incoming) {
  const max = Math.min(have.length, incoming.length);
  for (let k = max; k > 0; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = have[have.length - k + i] === incoming[i];
    if (same) return incoming.slice(k);
  }
  return incoming;
}

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

export class DetailView {
  /**
   * ctx: { root, servers: Map, historyOf(name), callsOf(name), api(m, p, b),
   *        mcp, statusOf(s), actions: {toggle, restart, edit, remove, login, approve}, isLive(),
   *        remoteNode(s): the other cluster node that runs s, or null }
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.name = null;
    this.gen = 0; // bumps on every show(): answers for an older view are dropped
    this.reviewSeq = 0; // bumps on every review fetch: only the newest answer is shown
  }

  get open() { return this.name !== null; }

  show(name) {
    this.name = name;
    this.gen += 1;
    const gen = this.gen;
    const root = this.ctx.root;
    root.textContent = '';
    this.logLines = [];
    this.logBuffer = null;
    const h = (t, id) => el('h2', { id, text: t });
    this.head = el('div', { class: 'detail-head' });
    this.summary = el('dl', { class: 'facts' });
    this.errorBox = el('div', { class: 'detail-error' });
    this.actionsBox = el('div', { class: 'detail-actions' });
    this.historyList = el('ol', { class: 'history', 'aria-label': 'State history, newest first' });
    this.tools = null;
    this.review = null;
    this.reviewBox = el('section', { class: 'panel review', 'aria-labelledby': 'review-h', 'data-field': 'review', hidden: true });
    this.toolsBox = el('div', { class: 'tools', 'aria-busy': 'true' }, el('p', { class: 'muted', text: 'Loading tools…' }));
    this.logBox = el('pre', { class: 'logs', tabindex: '0', 'aria-label': `stderr of ${name}`, 'aria-live': 'off' });
    this.logNote = el('p', { class: 'muted' });
    this.callsStats = el('p', { class: 'call-stats' });
    this.callsBody = el('tbody');
    this.configBox = el('pre', { class: 'config', 'aria-label': 'Settings' });
    root.append(
      el('nav', { class: 'crumbs' }, el('a', { href: '#/', text: '← All servers' })),
      el('section', { class: 'panel detail-main', 'aria-labelledby': 'detail-h' },
        this.head, this.summary, this.errorBox, this.actionsBox),
      this.reviewBox,
      el('section', { class: 'panel', 'aria-labelledby': 'tools-h' }, el('div', { class: 'section-head' }, h('Tools', 'tools-h')), this.toolsBox),
      el('section', { class: 'panel', 'aria-labelledby': 'logs-h' },
        el('div', { class: 'section-head' }, h('Logs (stderr, live)', 'logs-h'), this.logNote), this.logBox),
      el('section', { class: 'panel', 'aria-labelledby': 'calls-h' },
        el('div', { class: 'section-head' }, h('Recent calls', 'calls-h'), this.callsStats),
        el('div', { class: 'table-wrap' }, el('table', { class: 'calls' },
          el('thead', {}, el('tr', {}, ...['Time', 'Tool', 'Duration', 'Outcome', 'Session'].map((t) => el('th', { scope: 'col', text: t })))),
          this.callsBody))),
      el('section', { class: 'panel', 'aria-labelledby': 'hist-h' }, el('div', { class: 'section-head' }, h('State history', 'hist-h')), this.historyList),
      el('section', { class: 'panel', 'aria-labelledby': 'config-h' }, el('div', { class: 'section-head' }, h('Settings', 'config-h'),
        el('span', { class: 'muted', text: 'environment and header values are masked' })), this.configBox));
    this.renderHead();
    this.renderHistory();
    this.renderCalls();
    this.loadTools(gen);
    this.loadReview(gen);
    this.loadLogs(gen);
    this.loadConfig(gen);
    document.title = `${name} · mcpproxy`;
  }

  hide() {
    this.name = null;
    this.gen += 1;
    this.ctx.root.textContent = '';
  }

  server() { return this.ctx.servers.get(this.name); }

  renderHead() {
    if (!this.open) return;
    const s = this.server();
    this.head.textContent = '';
    this.summary.textContent = '';
    this.errorBox.textContent = '';
    this.actionsBox.textContent = '';
    if (!s) {
      this.head.append(el('h1', { id: 'detail-h', tabindex: '-1', text: this.name }));
      this.errorBox.append(el('p', { class: 'muted', text: 'This server is not in the configuration (it was removed, or never existed).' }));
      return;
    }
    const status = this.ctx.statusOf(s);
    this.head.append(el('h1', { id: 'detail-h', tabindex: '-1', text: s.name }),
      el('span', { class: `badge st-${status.toLowerCase().replace(/[^a-z]+/g, '-')}`, 'data-field': 'detail-status' },
        el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { text: status })));
    const fact = (k, v) => { if (v !== null && v !== undefined && v !== '') this.summary.append(el('dt', { text: k }), el('dd', { text: String(v) })); };
    const remote = this.ctx.remoteNode(s);
    fact('Node', s.node);
    if (s.url) fact('URL', s.url);
    else fact('Command', [s.command, ...(s.args || [])].join(' '));
    fact('Group', s.group || 'none');
    fact('Tools', s.tool_count ?? '–');
    fact('Failures in a row', s.failure_count ?? 0);
    fact('Retries since the last stable Ready', s.retry_count ?? 0);
    fact('Connected', s.connected_since ? `${ago(s.connected_since)} (since ${new Date(s.connected_since).toLocaleString()})` : null);
    fact('Process', s.pid ? `pid ${s.pid}` : null);
    if (s.last_error) {
      this.errorBox.append(el('p', { class: 'err-full', text: s.last_error }));
    }
    const on = s.enabled && !s.autoDisabled;
    // Another node's server is acted on from that node (this one refuses).
    const live = this.ctx.isLive() && !remote;
    const a = this.ctx.actions;
    if (remote) this.actionsBox.append(el('p', { class: 'muted', 'data-field': 'remote-node', text: `Runs on node ${remote}: act on it from that node's dashboard.` }));
    // Login required: the same Log in as the table row's (the URL opens in a new tab).
    if (status === 'Login required') {
      this.actionsBox.append(el('button', { type: 'button', class: 'btn primary', 'data-action': 'login', text: 'Log in',
        disabled: !live || s.pending, onclick: () => a.login(s.name) }));
    }
    this.actionsBox.append(
      el('button', { type: 'button', class: `btn${on ? '' : ' primary'}`, text: on ? 'Disable' : 'Enable', disabled: !live || s.pending, onclick: () => a.toggle(s.name) }),
      el('button', { type: 'button', class: 'btn', text: 'Restart', disabled: !live || !on || s.pending, onclick: () => a.restart(s.name) }),
      el('button', { type: 'button', class: 'btn', text: 'Edit', disabled: !live, onclick: () => a.edit(s.name) }),
      el('button', { type: 'button', class: 'btn danger', text: 'Remove', disabled: !live, onclick: (e) => this.confirmRemove(e.currentTarget) }));
  }

  /** Remove asks once more, in place (no blocking confirm()). */
  confirmRemove(btn) {
    if (btn.dataset.armed) {
      this.ctx.actions.remove(this.name);
      return;
    }
    btn.dataset.armed = '1';
    btn.textContent = `Really remove ${this.name}?`;
    setTimeout(() => { if (btn.isConnected) { delete btn.dataset.armed; btn.textContent = 'Remove'; } }, 5000);
  }

  renderHistory() {
    if (!this.open) return;
    this.historyList.textContent = '';
    const events = this.ctx.historyOf(this.name);
    if (!events.length) {
      this.historyList.append(el('li', { class: 'muted', text: 'No state changes seen since this page opened.' }));
      return;
    }
    for (let i = events.length - 1; i >= 0; i--) {
      const ev = events[i];
      const d = ev.data || {};
      let text;
      if (ev.type === 'server_auto_disabled') text = `Auto-disabled after ${d.failure_count ?? '?'} failures`;
      else if (ev.type === 'server_login_failed') text = 'login failed';
      else if (ev.type === 'connection_lost') text = `connection lost${d.exit_code !== undefined ? ` (exit ${d.exit_code})` : d.signal ? ` (${d.signal})` : ''}`;
      else text = `${ev.old_state || '?'} → ${ev.new_state || '?'}`;
      const err = d.last_error || d.reason || '';
      this.historyList.append(el('li', {},
        el('time', { datetime: ev.timestamp, text: clock(ev.timestamp) }), ' ', el('span', { text }),
        err ? el('span', { class: 'err-full', text: ` — ${err}` }) : null));
    }
  }

  async loadTools(gen) {
    let r;
    try { r = await this.ctx.api('GET', `/api/servers/${encodeURIComponent(this.name)}/tools`); } catch (e) { r = { ok: false, status: 0, json: { error: e.message } }; }
    if (gen !== this.gen) return;
    this.toolsBox.removeAttribute('aria-busy');
    this.toolsBox.textContent = '';
    if (!r.ok) { this.toolsBox.append(el('p', { class: 'muted', text: `Tools unavailable: ${apiError(r)}` })); return; }
    const tools = r.json.tools || [];
    this.tools = tools;
    this.renderReview();
    if (!tools.length) {
      this.toolsBox.append(el('p', { class: 'muted', text: 'No tools: the server is not Ready, or offers none.' }));
      return;
    }
    for (const t of tools) {
      const det = el('details', { class: 'tool', 'data-tool': t.name },
        el('summary', {}, el('span', { class: 'tool-name', text: t.name }), el('span', { class: 'tool-desc muted', text: t.description || '' })));
      det.addEventListener('toggle', () => {
        if (!det.open || det.dataset.built) return;
        det.dataset.built = '1';
        det.append(
          el('h3', { text: 'Try it' }),
          toolTester(this.name, t, this.ctx.mcp),
          el('h3', { text: 'Input schema' }),
          el('pre', { class: 'schema', text: jsonText(t.inputSchema || {}) }),
          t.outputSchema ? el('h3', { text: 'Output schema' }) : null,
          t.outputSchema ? el('pre', { class: 'schema', text: jsonText(t.outputSchema) }) : null);
      });
      this.toolsBox.append(det);
    }
  }

  /** Fetches what quarantine holds and shows this server's part of it. */
  async loadReview(gen) {
    const seq = ++this.reviewSeq;
    let r;
    try { r = await this.ctx.api('GET', '/api/quarantine'); } catch (e) { r = { ok: false, status: 0, json: { error: e.message } }; }
    if (gen !== this.gen || seq !== this.reviewSeq) return;
    if (!r.ok) {
      this.review = { error: apiError(r) };
    } else {
      this.review = {
        quarantined: (r.json.servers || []).some((q) => q.name === this.name),
        held: (r.json.tools || []).filter((t) => t.server === this.name),
      };
    }
    this.renderReview();
  }

  renderReview() {
    if (!this.open || !this.review) return;
    const box = this.reviewBox;
    const { error, quarantined, held = [] } = this.review;
    box.textContent = '';
    box.hidden = !error && !quarantined && !held.length;
    if (box.hidden) return;
    const s = this.server();
    const approve = el('button', { type: 'button', class: 'btn primary', 'data-action': 'review-approve', text: 'Approve',
      'aria-label': `Approve ${this.name} as reviewed`, disabled: !this.ctx.isLive() || !!s?.pending,
      onclick: () => this.ctx.actions.approve(this.name) });
    box.append(el('div', { class: 'section-head' }, el('h2', { id: 'review-h', text: 'Waiting for approval' }), error ? null : approve));
    if (error) {
      box.append(el('p', { class: 'muted', text: `What quarantine holds is unavailable: ${error}` }));
      return;
    }
    if (quarantined) {
      box.append(el('p', { text: 'A new server: none of its tools, prompts or resources is offered through /mcp until it is approved. Its tools:' }));
      const list = el('ul', { class: 'review-tools' });
      if (!this.tools) list.append(el('li', { class: 'muted', text: 'Loading tools…' }));
      else if (!this.tools.length) list.append(el('li', { class: 'muted', text: 'none listed yet (the server is not Ready)' }));
      for (const t of this.tools || []) {
        list.append(el('li', { 'data-review-tool': t.name }, el('span', { class: 'tool-name', text: t.name }), ' ',
          el('span', { class: 'muted', text: t.description || '(no description)' })));
      }
      box.append(list);
    }
    if (held.length) {
      box.append(el('p', { text: `Changed since approval, held from /mcp (calls refused) until approved again: ${held.length} tool${held.length === 1 ? '' : 's'}. Approve accepts every change shown.` }));
    }
    for (const t of held) {
      const pretty = (v) => JSON.stringify(v ?? {}, null, 2);
      box.append(el('article', { class: 'held-tool', 'data-held-tool': t.tool },
        el('h3', {}, el('span', { class: 'tool-name', text: t.tool }), ' ', el('span', { class: 'badge st-auto-disabled', 'data-field': 'held', text: 'held' })),
        el('h4', { text: 'Description (approved → now)' }),
        diffBlock(`description of ${t.tool}, approved and now`, t.pinned?.description ?? '', t.current?.description ?? ''),
        el('h4', { text: 'Input schema (approved → now)' }),
        diffBlock(`input schema of ${t.tool}, approved and now`, pretty(t.pinned?.inputSchema), pretty(t.current?.inputSchema))));
    }
  }

  async loadLogs(gen) {
    this.logBuffer = []; // server_log lines that arrive while the fetch is out
    let r;
    try { r = await this.ctx.api('GET', `/api/servers/${encodeURIComponent(this.name)}/logs?tail=${LOG_MAX}`); } catch (e) { r = { ok: false, status: 0, json: { error: e.message } }; }
    if (gen !== this.gen) return;
    const buffered = this.logBuffer;
    this.logBuffer = null;
    const lines = r.ok ? r.json.lines || [] : [];
    if (!r.ok) this.logNote.textContent = `earlier lines unavailable: ${apiError(r)}`;
    this.appendLog(lines);
    // Lines in both the answer and the stream are shown once.
    this.appendLog(newPart(this.logLines, buffered));
  }

  appendLog(lines, skipped = 0) {
    if (!lines.length && !skipped) return;
    const box = this.logBox;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    if (skipped) box.append(el('span', { class: 'log-skip', text: `… ${skipped} lines not sent live (the server writes faster than 50 a second; all are in the logs API)\n` }));
    for (const l of lines) {
      this.logLines.push(l);
      box.append(el('span', { class: 'log-line', text: `${l}\n` }));
    }
    while (box.childElementCount > LOG_MAX) box.firstElementChild.remove();
    if (this.logLines.length > LOG_MAX) this.logLines.splice(0, this.logLines.length - LOG_MAX);
    if (atEnd) box.scrollTop = box.scrollHeight;
  }

  renderCalls() {
    if (!this.open) return;
    const calls = this.ctx.callsOf(this.name);
    this.callsBody.textContent = '';
    const n = calls.length;
    if (!n) {
      this.callsStats.textContent = 'No calls seen since this page opened.';
    } else {
      const failed = calls.filter((c) => c.data?.ok === false).length;
      const ms = calls.map((c) => c.data?.duration_ms).filter((x) => typeof x === 'number').sort((a, b) => a - b);
      const avg = ms.length ? Math.round(ms.reduce((a, b) => a + b, 0) / ms.length) : null;
      this.callsStats.textContent = `${n} call${n === 1 ? '' : 's'} · ${failed} failed · average ${avg ?? '–'} ms · p95 ${percentile(ms, 0.95) ?? '–'} ms`;
    }
    for (const ev of calls.slice(-CALLS_SHOWN).reverse()) {
      const d = ev.data || {};
      this.callsBody.append(el('tr', { class: d.ok === false ? 'bad' : 'good' },
        el('td', {}, el('time', { datetime: ev.timestamp, text: clock(ev.timestamp) })),
        el('td', { text: d.tool || '?' }),
        el('td', { class: 'num', text: `${d.duration_ms ?? '?'} ms` }),
        el('td', { class: 'outcome', text: d.ok === false ? `failed${d.error ? `: ${d.error}` : ''}` : 'ok' }),
        el('td', { class: 'mono', text: d.session_id ? String(d.session_id).slice(0, 8) : '–', title: d.session_id || '' })));
    }
  }

  async loadConfig(gen) {
    let r;
    try { r = await this.ctx.api('GET', `/api/servers/${encodeURIComponent(this.name)}`); } catch (e) { r = { ok: false, status: 0, json: { error: e.message } }; }
    if (gen !== this.gen) return;
    if (!r.ok) { this.configBox.textContent = `Settings unavailable: ${apiError(r)}`; return; }
    this.showConfig(r.json);
  }

  showConfig(s) {
    const keys = ['name', 'protocol', 'command', 'url', 'headers', 'tls_skip_verify', 'args', 'env', 'working_dir', 'enabled', 'group'];
    const shown = {};
    for (const k of keys) if (k in s) shown[k] = s[k];
    this.config = shown;
    this.configBox.textContent = jsonText(shown);
  }

  /** Every event the page receives (after app.js applied it). */
  onEvent(ev) {
    if (!this.open || ev.server_name !== this.name) return;
    const d = ev.data || {};
    if (REVIEW_EVENTS.has(ev.type)) this.loadReview(this.gen);
    switch (ev.type) {
      case 'server_log':
        if (this.logBuffer) this.logBuffer.push(...(d.lines || []));
        else this.appendLog(d.lines || [], d.skipped || 0);
        return;
      case 'tool_called':
        this.renderCalls();
        return;
      case 'tools_updated':
        this.loadTools(this.gen);
        this.renderHead();
        return;
      case 'server_config_changed':
        if (d.server && typeof d.server === 'object') this.showConfig(d.server);
        this.renderHead();
        return;
      default:
        this.renderHead();
        this.renderHistory();
        // Tools are offered only while Ready: leaving or reaching it changes the list.
        if ((ev.type === 'server_state_changed' || ev.type === 'state_change') && (ev.old_state === 'Ready') !== (ev.new_state === 'Ready')) {
          this.loadTools(this.gen);
        }
    }
  }
}
