// app.js - the dashboard: server table, activity feed, connection indicator,
// the server detail view (#/servers/NAME), and the dialogs.
//
// live.js delivers a snapshot and then single events; this file keeps one
// record per server and updates exactly the row an event is about, from the
// event's own fields. No request is made per event.
import { Live, readSettings } from './live.js';
import { RateChart } from './chart.js';
import { el, ago, clock, jsonText } from './dom.js';
import { DetailView } from './detail.js';
import { ServerEditor } from './editor.js';
import { openConnect } from './connect.js';
import { McpClient } from './rpc.js';

const $ = (id) => document.getElementById(id);
const settings = readSettings(new URLSearchParams(window.location.search));

// The API key lives in this browser (localStorage), not in the address bar:
// a key given as ?apikey= (what `mcpproxy gen-key` prints) is stored and
// removed from the URL, so it does not end up in history or screenshots.
const KEY_STORE = 'mcpproxy.apikey';
function storedKey() { try { return localStorage.getItem(KEY_STORE) || ''; } catch { return ''; } }
function storeKey(k) { try { if (k) localStorage.setItem(KEY_STORE, k); else localStorage.removeItem(KEY_STORE); } catch { /* private mode */ } }
if (settings.apikey) {
  storeKey(settings.apikey);
  const u = new URL(window.location.href);
  u.searchParams.delete('apikey');
  window.history.replaceState(null, '', u.pathname + (u.search || '') + u.hash);
} else {
  settings.apikey = storedKey();
}

const STATUS_CLASS = {
  'Ready': 'ready', 'Connecting': 'connecting', 'Discovering': 'discovering',
  'Disconnected': 'disconnected', 'Error': 'error', 'Disabled': 'disabled',
  'Auto-Disabled': 'auto-disabled', 'Login required': 'login-required', 'Quarantined': 'auto-disabled',
  'Unreachable': 'unreachable',
};
const FEED_MAX = 300;
const PER_SERVER_MAX = 200; // history and calls kept per server for the detail view
const UNGROUPED = '';

/** name -> server record (the status API's fields plus autoDisabled). */
const servers = new Map();
/** group name -> {name, enabled, folded} */
const groups = new Map();
const feed = []; // newest last; rendered newest first
/** name -> state-ish events (newest last), and name -> tool_called events. */
const stateHistory = new Map();
const calls = new Map();
/** This node's name in a cluster (from /healthz), null on a single node. A
 *  server whose record names another node runs there: it is shown, and acted
 *  on from that node. */
let selfNode = null;
let filterServer = '';
let filterType = '';

// ---- server records -------------------------------------------------------

function statusOf(s) {
  if (s.autoDisabled) return 'Auto-Disabled';
  if (!s.enabled) return 'Disabled';
  return s.state || 'Disconnected';
}

function recordFrom(api) {
  return {
    name: api.name,
    group: api.group || UNGROUPED,
    enabled: api.enabled !== false,
    protocol: api.protocol || '',
    command: api.command || '',
    url: api.url || '', // a remote server shows its url where a command would be
    state: api.state || api.status || 'Disconnected',
    status: api.status || null,
    autoDisabled: api.status === 'Auto-Disabled',
    tool_count: api.tool_count ?? null,
    retry_count: api.retry_count ?? 0,
    failure_count: api.failure_count ?? 0,
    last_error: api.last_error ?? null,
    connected_since: api.connected_since ?? null,
    pid: api.pid ?? null,
    node: api.node ?? null,
  };
}

/** The node that runs `s` when that is not this one, else null. */
function remoteNode(s) {
  return s && s.node && selfNode && s.node !== selfNode ? s.node : null;
}

function applySnapshot(status, why) {
  const seen = new Set();
  for (const api of status.servers) {
    const rec = recordFrom(api);
    seen.add(rec.name);
    const old = servers.get(rec.name);
    if (old) rec.pending = old.pending;
    servers.set(rec.name, rec);
    ensureGroup(rec.group);
    renderRow(rec);
  }
  for (const name of [...servers.keys()]) {
    if (!seen.has(name)) removeServer(name);
  }
  // Group enablement is its own setting in the config; /api/groups has it.
  // Not on every poll: the fallback costs one request per period, and member
  // rows already show Disabled from the status list.
  if (why !== 'polling' || !groupsLoaded) loadGroups();
  renderGroups();
  renderServerFilter();
  renderSummary();
}

let groupsLoaded = false;
async function loadGroups() {
  try {
    const r = await live.request('GET', '/api/groups');
    if (!r.ok || !r.json || !Array.isArray(r.json.groups)) return;
    groupsLoaded = true;
    for (const g of r.json.groups) {
      const grp = ensureGroup(g.name ?? g.group ?? UNGROUPED);
      grp.enabled = g.enabled !== false;
      grp.known = true;
    }
    renderGroups();
  } catch { /* the server list still works without group switches */ }
}

function ensureGroup(name) {
  let g = groups.get(name);
  if (!g) {
    g = { name, enabled: true, known: false, folded: false, pending: false };
    groups.set(name, g);
  }
  return g;
}

function removeServer(name) {
  servers.delete(name);
  const row = document.querySelector(`tr[data-server="${CSS.escape(name)}"]`);
  if (row) row.remove();
  if (detail.name === name) detail.renderHead(); // says it is gone
}

/** Applies one event to the server records. Returns true if it needs a full
 *  refetch because the event does not carry enough to render from. */
function applyEvent(ev) {
  const d = ev.data || {};
  const s = ev.server_name ? servers.get(ev.server_name) : null;
  switch (ev.type) {
    case 'server_state_changed':
    case 'state_change': {
      if (!s) return !!ev.server_name;
      const st = ev.new_state;
      if (st === 'Auto-Disabled') s.autoDisabled = true;
      else if (st === 'Disabled') s.enabled = false;
      else if (st) {
        s.state = st;
        if (st === 'Connecting' || st === 'Discovering' || st === 'Ready') s.autoDisabled = false;
        if (st !== 'Ready') s.connected_since = null;
        else if (!s.connected_since) s.connected_since = ev.timestamp;
        // The proxy clears the error once a server is Ready; the event
        // carries no last_error then, so clear it here too.
        if (st === 'Ready' && !('last_error' in d)) s.last_error = null;
      }
      if ('tool_count' in d) s.tool_count = d.tool_count;
      if ('retry_count' in d) s.retry_count = d.retry_count;
      if ('failure_count' in d) s.failure_count = d.failure_count;
      if ('last_error' in d) s.last_error = d.last_error;
      break;
    }
    case 'server_auto_disabled':
      if (!s) return !!ev.server_name;
      s.autoDisabled = true;
      s.connected_since = null;
      if ('failure_count' in d) s.failure_count = d.failure_count;
      if (d.reason) s.last_error = d.reason;
      break;
    case 'server_login_failed':
      // The state stays; the reason is the server's last_error now.
      if (!s) return !!ev.server_name;
      if (d.reason) s.last_error = d.reason;
      break;
    case 'server_config_changed':
    case 'config_change': {
      if (ev.type === 'config_change' && !ev.server_name) {
        // A whole-file reload: the per-server events that follow carry the
        // changes, so there is nothing to do here but show it in the feed.
        return false;
      }
      // The proxy sends {action, changed:[names], server:{...all fields}};
      // fields at the top level of data are accepted too (POST /api/events).
      const f = { ...d, ...(d.server && typeof d.server === 'object' ? d.server : {}) };
      const action = d.action || 'updated';
      if (action === 'deleted') {
        removeServer(ev.server_name);
        renderGroups();
        renderServerFilter();
        renderSummary();
        return false;
      }
      if (!s) {
        // Created: draw the row from the event's fields. Without an enabled
        // flag we cannot tell Disabled from starting: refetch instead.
        if (!ev.server_name || !('enabled' in f)) return true;
        const rec = recordFrom({ ...f, name: ev.server_name, status: f.status || undefined, node: ev.node });
        servers.set(rec.name, rec);
        ensureGroup(rec.group);
        renderRow(rec);
        renderGroups();
        renderServerFilter();
        renderSummary();
        return false;
      }
      if ('enabled' in f) {
        s.enabled = f.enabled !== false;
        if (s.enabled) s.autoDisabled = false;
        else s.connected_since = null;
      }
      if ('group' in f) {
        s.group = f.group || UNGROUPED;
        ensureGroup(s.group);
      }
      if ('protocol' in f) s.protocol = f.protocol;
      if ('command' in f) s.command = f.command;
      if ('url' in f) s.url = f.url;
      if ('url' in f && !('command' in f)) s.command = '';
      if ('command' in f && !('url' in f)) s.url = '';
      if (f.status === 'Auto-Disabled') s.autoDisabled = true;
      break;
    }
    case 'server_group_updated': {
      if (!d.group && d.group !== '') return false;
      const g = ensureGroup(d.group || UNGROUPED);
      if ('enabled' in d) { g.enabled = d.enabled !== false; g.known = true; }
      if (Array.isArray(d.servers)) {
        for (const name of d.servers) {
          const m = servers.get(name);
          if (m) m.group = g.name;
        }
      }
      for (const m of servers.values()) {
        if (m.group === g.name) { m.status = null; renderRow(m); }
      }
      renderGroups();
      renderSummary();
      return false;
    }
    case 'tools_updated':
      if (!s) return false;
      if ('tool_count' in d) s.tool_count = d.tool_count;
      break;
    case 'server_quarantined':
    case 'server_approved':
      if (!s) return false;
      s.quarantined = ev.type === 'server_quarantined';
      break;
    case 'connection_established':
      if (!s) return false;
      s.connected_since = ev.timestamp;
      break;
    case 'connection_lost':
      if (!s) return false;
      s.connected_since = null;
      break;
    case 'app_state_changed':
      // In a cluster every node's app states arrive: the badge is this node's.
      if (!ev.node || !selfNode || ev.node === selfNode) renderAppState(ev.new_state);
      return false;
    case 'cluster_state_changed':
      if (clusterLink && ev.node === clusterLink.node && ev.new_state) {
        clusterLink.state = ev.new_state;
        renderAppState();
      }
      return false;
    default:
      return false;
  }
  if (s) {
    s.status = null; // derived from now on
    renderRow(s);
    renderGroups();
    renderSummary();
  }
  return false;
}

// ---- rendering: server table ------------------------------------------------

function groupLabel(name) { return name === UNGROUPED ? 'ungrouped' : name; }

/** The <tbody> of a group, created in sorted position when missing. */
function groupBody(name) {
  const table = $('servers');
  let body = table.querySelector(`tbody[data-group="${CSS.escape(name)}"]`);
  if (body) return body;
  body = el('tbody', { 'data-group': name });
  const foldId = `grp-${Math.random().toString(36).slice(2, 8)}`;
  body.dataset.foldId = foldId;
  const head = el('tr', { class: 'group-row' },
    el('th', { colspan: '7', scope: 'rowgroup' },
      el('div', { class: 'group-head' },
        el('button', {
          class: 'fold', type: 'button', 'aria-expanded': 'true',
          'aria-label': `Fold group ${groupLabel(name)}`,
          onclick: () => toggleFold(name),
        }, el('span', { class: 'chev', 'aria-hidden': 'true', text: '▾' }),
        el('span', { class: 'group-name', text: groupLabel(name) })),
        el('span', { class: 'group-meta muted' }),
        name === UNGROUPED ? null : el('button', {
          class: 'switch', type: 'button', role: 'switch', 'aria-checked': 'true',
          'aria-label': `Group ${name} enabled`,
          onclick: () => toggleGroup(name),
        }, el('span', { class: 'knob', 'aria-hidden': 'true' }), el('span', { class: 'switch-text', text: 'on' })))));
  body.append(head);
  // Keep groups sorted by name, ungrouped last.
  const others = [...table.querySelectorAll('tbody[data-group]')];
  const after = others.find((b) => compareGroups(name, b.dataset.group) < 0);
  table.insertBefore(body, after || null);
  return body;
}

function compareGroups(a, b) {
  if (a === b) return 0;
  if (a === UNGROUPED) return 1;
  if (b === UNGROUPED) return -1;
  return a.localeCompare(b);
}

function renderRow(s) {
  // Quarantined: Ready, but its tools held from /mcp until approved.
  const status = s.quarantined ? 'Quarantined' : s.status || statusOf(s);
  let row = document.querySelector(`tr[data-server="${CSS.escape(s.name)}"]`);
  if (!row) {
    row = el('tr', { class: 'server', 'data-server': s.name },
      el('td', { class: 'name', 'data-label': 'Server' },
        el('a', { class: 'srv-name', href: `#/servers/${encodeURIComponent(s.name)}` }), el('span', { class: 'cmd muted' })),
      el('td', { 'data-field': 'status', 'data-label': 'Status' },
        el('span', { class: 'badge' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { class: 'st-text' }))),
      el('td', { class: 'num', 'data-field': 'tools', 'data-label': 'Tools' }),
      el('td', { class: 'num', 'data-field': 'failures', 'data-label': 'Failures' }),
      el('td', { 'data-field': 'since', 'data-label': 'Connected' }),
      el('td', { class: 'err', 'data-label': 'Last error' },
        // The whole error is one button away: it unfolds in place.
        el('button', { type: 'button', class: 'err-text', 'data-field': 'error', 'aria-expanded': 'false',
          onclick: (e) => { const b = e.currentTarget; const open = b.getAttribute('aria-expanded') !== 'true'; b.setAttribute('aria-expanded', String(open)); b.closest('td').classList.toggle('open', open); } })),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'btn toggle', 'data-action': 'toggle', onclick: () => toggleServer(s.name) }),
        el('button', { type: 'button', class: 'btn primary', 'data-action': 'login', hidden: true, onclick: () => logIn(s.name) }, 'Log in'),
        el('button', { type: 'button', class: 'btn', 'data-action': 'restart', onclick: () => serverAction(s.name, 'restart') }, 'Restart'),
        el('button', { type: 'button', class: 'btn primary', 'data-action': 'approve', hidden: true, onclick: () => serverAction(s.name, 'approve') }, 'Approve')));
  }
  // Move the row if its group changed (or it is new), keeping names sorted.
  const body = groupBody(s.group);
  if (row.parentElement !== body) {
    const rows = [...body.querySelectorAll('tr.server')];
    const after = rows.find((r) => r.dataset.server.localeCompare(s.name) > 0);
    body.insertBefore(row, after || null);
  }
  row.querySelector('.srv-name').textContent = s.name;
  const cmd = row.querySelector('.cmd');
  // The program's name (or a remote server's host) reads at a glance; the
  // full path or url is in the tooltip.
  let where = s.command.split('/').pop();
  if (s.url) {
    try { where = new URL(s.url).host; } catch { where = s.url; }
  }
  const remote = remoteNode(s);
  cmd.textContent = [remote ? `node ${remote}` : null, s.protocol, where].filter(Boolean).join(' · ');
  cmd.title = (s.url || s.command) + (s.pid ? ` (pid ${s.pid})` : '');

  row.dataset.status = status;
  const badge = row.querySelector('.badge');
  badge.className = `badge st-${STATUS_CLASS[status] || 'unknown'}`;
  row.querySelector('.st-text').textContent = status;
  row.querySelector('[data-field="status"]').dataset.status = status;

  row.querySelector('[data-field="tools"]').textContent = s.tool_count ?? '–';
  // Failures in a row: the number auto-disable counts, and the one its
  // message quotes. Retries (since the last stable Ready) are in the title.
  const failures = row.querySelector('[data-field="failures"]');
  failures.textContent = String(s.failure_count ?? 0);
  failures.title = `${s.failure_count ?? 0} consecutive failures; ${s.retry_count ?? 0} retries since the last stable Ready`;

  const since = row.querySelector('[data-field="since"]');
  since.dataset.since = s.connected_since || '';
  since.textContent = s.connected_since ? ago(s.connected_since) : '–';
  since.title = s.connected_since ? new Date(s.connected_since).toLocaleString() : '';

  const err = row.querySelector('[data-field="error"]');
  err.textContent = s.last_error || '';
  err.hidden = !s.last_error;
  err.setAttribute('aria-label', s.last_error ? `Last error of ${s.name}: ${s.last_error}` : `No error for ${s.name}`);
  if (!s.last_error) { err.setAttribute('aria-expanded', 'false'); err.closest('td').classList.remove('open'); }

  const toggle = row.querySelector('[data-action="toggle"]');
  const on = s.enabled && !s.autoDisabled;
  toggle.textContent = on ? 'Disable' : 'Enable';
  toggle.setAttribute('aria-label', `${on ? 'Disable' : 'Enable'} ${s.name}`);
  toggle.classList.toggle('primary', !on);
  // Without a live stream the row may be out of date: no action on it. A
  // server of another node is acted on from that node (this node's API
  // refuses with 409).
  const live = isLive() && !remote;
  const why = remote ? `Runs on node ${remote}: act on it from that node's dashboard` : '';
  for (const b of row.querySelectorAll('.actions .btn')) b.title = why;
  toggle.disabled = !!s.pending || !live;
  const restart = row.querySelector('[data-action="restart"]');
  restart.setAttribute('aria-label', `Restart ${s.name}`);
  restart.disabled = !!s.pending || !on || !live;
  const login = row.querySelector('[data-action="login"]');
  login.hidden = status !== 'Login required';
  login.setAttribute('aria-label', `Log in to ${s.name}`);
  login.disabled = !!s.pending || !live;
  const approve = row.querySelector('[data-action="approve"]');
  approve.hidden = !s.quarantined;
  approve.setAttribute('aria-label', `Approve ${s.name}`);
  approve.disabled = !!s.pending || !live;
  row.classList.toggle('pending', !!s.pending);
  if (detail.open && detail.name === s.name) detail.renderHead();
  $('empty').hidden = servers.size > 0;
}

function renderGroups() {
  for (const body of [...document.querySelectorAll('#servers tbody[data-group]')]) {
    const name = body.dataset.group;
    const members = [...servers.values()].filter((s) => s.group === name);
    if (!members.length) { body.remove(); continue; }
    const g = ensureGroup(name);
    // Without /api/groups, a group reads as on while all its members are
    // enabled, as the proxy defines it.
    // On means every member runs: an auto-disabled member is off too,
    // whatever the config's enabled flag says.
    const enabled = (g.known ? g.enabled : members.every((s) => s.enabled)) && members.every((s) => !s.autoDisabled);
    const ready = members.filter((s) => (s.status || statusOf(s)) === 'Ready').length;
    body.querySelector('.group-meta').textContent =
      `${members.length} server${members.length === 1 ? '' : 's'} · ${ready} ready`;
    body.classList.toggle('folded', g.folded);
    const anyOn = members.some((s) => s.enabled && !s.autoDisabled);
    body.classList.toggle('group-off', !anyOn);
    const fold = body.querySelector('.fold');
    fold.setAttribute('aria-expanded', String(!g.folded));
    fold.setAttribute('aria-label', `${g.folded ? 'Unfold' : 'Fold'} group ${groupLabel(name)}`);
    const sw = body.querySelector('.switch');
    if (sw) {
      // On means every member is enabled (the proxy's definition); a group
      // with some members off says so rather than pretending to be off.
      sw.setAttribute('aria-checked', String(enabled));
      sw.querySelector('.switch-text').textContent = enabled ? 'on' : anyOn ? 'partly' : 'off';
      sw.title = enabled ? `Disable every server in ${name}` : `Enable every server in ${name}`;
      sw.disabled = g.pending || !isLive();
    }
  }
}

function renderSummary() {
  const counts = {};
  for (const s of servers.values()) {
    const st = s.status || statusOf(s);
    counts[st] = (counts[st] || 0) + 1;
  }
  const parts = [`${servers.size} server${servers.size === 1 ? '' : 's'}`];
  for (const st of ['Ready', 'Connecting', 'Discovering', 'Error', 'Unreachable', 'Auto-Disabled', 'Disconnected', 'Disabled']) {
    if (counts[st]) parts.push(`${counts[st]} ${st.toLowerCase()}`);
  }
  $('summary').textContent = parts.join(' · ');
}

let appStateText = '';
let clusterLink = null; // {node, state} of this node's cluster link, null on a single node

function renderAppState(state) {
  if (state !== undefined) appStateText = state || '';
  const e = $('app-state');
  e.textContent = clusterLink ? `${appStateText} · node ${clusterLink.node} · cluster ${clusterLink.state}` : appStateText;
  e.dataset.state = appStateText;
  e.dataset.cluster = clusterLink ? clusterLink.state : '';
  e.title = clusterLink
    ? `Proxy state; this is node ${clusterLink.node}, its link to the cluster is ${clusterLink.state}` +
      (clusterLink.state === 'connected' ? '' : ': other nodes\' events do not reach this page meanwhile')
    : 'Proxy state';
}

function refreshAges() {
  // While the stream is down nobody knows whether a server is still
  // connected: the ages stop (the rows are greyed) rather than keep counting.
  if (!isLive()) return;
  for (const td of document.querySelectorAll('[data-field="since"]')) {
    if (td.dataset.since) td.textContent = ago(td.dataset.since);
  }
}

// ---- actions ------------------------------------------------------------------

function toggleFold(name) {
  const g = ensureGroup(name);
  g.folded = !g.folded;
  renderGroups();
}

async function toggleServer(name) {
  const s = servers.get(name);
  if (!s) return;
  await serverAction(name, s.enabled && !s.autoDisabled ? 'disable' : 'enable');
}

async function serverAction(name, action) {
  const s = servers.get(name);
  if (!s || s.pending) return;
  s.pending = true;
  renderRow(s);
  try {
    const r = await live.request('POST', `/api/servers/${encodeURIComponent(name)}/${action}`);
    if (!r.ok) showBanner(`${action} ${name} failed: ${(r.json && r.json.error) || `HTTP ${r.status}`}`);
  } catch (err) {
    showBanner(`${action} ${name} failed: ${err.message}`);
  }
  const now = servers.get(name);
  if (now) { now.pending = false; renderRow(now); }
  // The row changes when the resulting events arrive; only without a live
  // stream do we fetch the effect ourselves.
  live.refreshIfNotLive();
}

/** OAuth: asks the proxy for the authorization URL and opens it in a new tab
 * (opened before the request, so no popup blocker stops it); the server
 * goes Ready once the login comes back to /oauth/callback. */
async function logIn(name) {
  const s = servers.get(name);
  if (!s || s.pending) return;
  const tab = window.open('', '_blank');
  if (tab) tab.opener = null; // the authorization server's page gets no handle on the dashboard
  s.pending = true;
  renderRow(s);
  try {
    const r = await live.request('POST', `/api/servers/${encodeURIComponent(name)}/login`);
    if (r.ok && r.json && r.json.authorization_url) {
      if (tab) tab.location.href = r.json.authorization_url;
      else showBanner(`Open this URL to log in to ${name}: ${r.json.authorization_url}`, true);
    } else {
      if (tab) tab.close();
      showBanner(`log in ${name} failed: ${(r.json && r.json.error) || `HTTP ${r.status}`}`);
    }
  } catch (err) {
    if (tab) tab.close();
    showBanner(`log in ${name} failed: ${err.message}`);
  }
  const now = servers.get(name);
  if (now) { now.pending = false; renderRow(now); }
}

async function toggleGroup(name) {
  const g = ensureGroup(name);
  if (g.pending) return;
  const members = [...servers.values()].filter((s) => s.group === name);
  const enabled = (g.known ? g.enabled : members.every((s) => s.enabled)) && members.every((s) => !s.autoDisabled);
  const action = enabled ? 'disable' : 'enable';
  g.pending = true;
  renderGroups();
  try {
    const r = await live.request('POST', `/api/groups/${encodeURIComponent(name)}/${action}`);
    if (!r.ok) showBanner(`${action} group ${name} failed: ${(r.json && r.json.error) || `HTTP ${r.status}`}`);
  } catch (err) {
    showBanner(`${action} group ${name} failed: ${err.message}`);
  }
  g.pending = false;
  renderGroups();
  live.refreshIfNotLive();
}

let bannerTimer = 0;
function showBanner(text, sticky = false) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = false;
  clearTimeout(bannerTimer);
  if (!sticky) bannerTimer = setTimeout(() => { b.hidden = true; }, 8000);
}

// ---- activity feed --------------------------------------------------------------

const TYPE_CATEGORY = {
  server_state_changed: 'state', state_change: 'state', server_auto_disabled: 'state', server_login_failed: 'state',
  server_config_changed: 'config', config_change: 'config', server_group_updated: 'config',
  tool_called: 'tool', tools_updated: 'tools',
  connection_established: 'connection', connection_lost: 'connection',
  app_state_changed: 'app', notice: 'app', cluster_state_changed: 'app',
  server_quarantined: 'state', server_approved: 'state', tool_changed: 'tools',
};

function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case 'server_state_changed':
    case 'state_change': {
      let t = `${ev.old_state || '?'} → ${ev.new_state || '?'}`;
      if (d.last_error) t += ` — ${d.last_error}`;
      return t;
    }
    case 'server_login_failed':
      return d.reason || 'login failed';
    case 'server_auto_disabled':
      return `auto-disabled after ${d.failure_count ?? '?'} failures${d.reason ? ` — ${d.reason}` : ''}`;
    case 'server_config_changed': {
      const fields = Object.keys(d).filter((k) => k !== 'action' && k !== 'name');
      return `${d.action || 'changed'}${fields.length ? ` (${fields.join(', ')})` : ''}`;
    }
    case 'config_change': {
      const list = (k, sign) => (Array.isArray(d[k]) && d[k].length ? ` ${sign}${d[k].join(` ${sign}`)}` : '');
      return `config reloaded${list('servers_added', '+')}${list('servers_removed', '−')}${list('servers_changed', '~')}`;
    }
    case 'server_group_updated':
      return `group ${d.group ?? '?'}${'enabled' in d ? (d.enabled ? ' enabled' : ' disabled') : ' updated'}` +
        (Array.isArray(d.servers) ? ` (${d.servers.join(', ')})` : '');
    case 'app_state_changed':
      return `proxy ${ev.old_state || '?'} → ${ev.new_state || '?'}`;
    case 'cluster_state_changed':
      return `cluster link ${ev.old_state || '?'} → ${ev.new_state || '?'}${d.nats_url ? ` (${d.nats_url})` : ''}`;
    case 'tools_updated': {
      const n = (a) => (Array.isArray(a) ? a.length : a || 0);
      return `${d.tool_count ?? '?'} tools` + (d.added || d.removed ? ` (+${n(d.added)} −${n(d.removed)})` : '');
    }
    case 'tool_called':
      return `${d.tool || '?'} · ${d.duration_ms ?? '?'} ms · ${d.ok === false ? `failed${d.error ? `: ${d.error}` : ''}` : 'ok'}`;
    case 'connection_established': {
      const info = d.server_info ? [d.server_info.name, d.server_info.version].filter(Boolean).join(' ') : '';
      return `connected${info ? ` to ${info}` : ''}${d.protocol_version ? ` (MCP ${d.protocol_version})` : ''}`;
    }
    case 'connection_lost': {
      const how = d.signal ? `signal ${d.signal}` : d.exit_code !== undefined ? `exit ${d.exit_code}` : '';
      const tail = d.stderr_tail ? ` — ${String(d.stderr_tail).trim().split('\n').pop()}` : '';
      return `connection lost${how ? ` (${how})` : ''}${tail}`;
    }
    case 'notice':
      return ev.text;
    default:
      return JSON.stringify(d);
  }
}

function outcomeClass(ev) {
  const d = ev.data || {};
  if (ev.type === 'tool_called') return d.ok === false ? 'bad' : 'good';
  if (ev.type === 'server_state_changed' || ev.type === 'state_change') {
    return ev.new_state === 'Ready' ? 'good' : ev.new_state === 'Error' ? 'bad' : '';
  }
  if (ev.type === 'server_auto_disabled' || ev.type === 'connection_lost' || ev.type === 'server_login_failed') return 'bad';
  if (ev.type === 'notice') return 'warn';
  return '';
}

function feedMatches(ev) {
  if (filterServer && ev.server_name !== filterServer) return false;
  if (filterType && (TYPE_CATEGORY[ev.type] || 'app') !== filterType) return false;
  return true;
}

/** "1.8 KB" for 1834. */
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** What a feed item unfolds to. Tool calls: their arguments (when the
 *  proxy records them), outcome, result size, duration, client and session. */
function feedDetails(ev) {
  const d = ev.data || {};
  const box = el('div', { class: 'ev-details' });
  const dl = el('dl', { class: 'facts' });
  const fact = (k, v) => { if (v !== undefined && v !== null && v !== '') dl.append(el('dt', { text: k }), el('dd', { text: String(v) })); };
  if (ev.type === 'tool_called') {
    fact('Tool', d.tool);
    fact('Outcome', d.ok === false ? `failed${d.error ? `: ${d.error}` : ''}` : 'ok');
    fact('Duration', d.duration_ms !== undefined ? `${d.duration_ms} ms` : undefined);
    fact('Result', typeof d.response_bytes === 'number' ? `${formatBytes(d.response_bytes)} answered` : undefined);
    fact('Client', typeof d.client === 'string' ? d.client : d.client ? [d.client.name, d.client.version].filter(Boolean).join(' ') : undefined);
    fact('Session', d.session_id || 'none');
    box.append(dl);
    if ('arguments' in d) {
      box.append(el('p', { class: 'muted', text: 'Arguments' }), el('pre', { class: 'args', text: jsonText(d.arguments, 2000) }));
    } else {
      box.append(el('p', { class: 'muted', text: 'Arguments are not recorded: set "mcp": {"log_tool_arguments": true} in the config to see them here.' }));
    }
  } else if (ev.type !== 'notice') {
    box.append(el('pre', { text: jsonText(ev, 2000) }));
  }
  if (ev.server_name) box.append(el('a', { href: `#/servers/${encodeURIComponent(ev.server_name)}`, text: `Open ${ev.server_name}` }));
  return box;
}

function feedItem(ev) {
  const li = el('li', { class: `ev ${outcomeClass(ev)}`, 'data-type': ev.type, 'data-seq': ev.seq ?? '' });
  const line = el('button', {
    type: 'button', class: 'ev-line', 'aria-expanded': 'false',
    onclick: () => {
      const open = line.getAttribute('aria-expanded') !== 'true';
      line.setAttribute('aria-expanded', String(open));
      if (open) li.append(feedDetails(ev));
      else li.querySelector('.ev-details')?.remove();
    },
  },
  el('time', { datetime: ev.timestamp || new Date().toISOString(), text: clock(ev.timestamp) }),
  el('span', { class: `etype cat-${TYPE_CATEGORY[ev.type] || 'app'}`, text: ev.type === 'notice' ? 'stream' : ev.type }),
  // In a cluster, what another node published says so.
  el('span', { class: 'esrv', text: [ev.node && selfNode && ev.node !== selfNode ? `${ev.node}:` : '', ev.server_name || ''].join('') }),
  el('span', { class: 'emsg', text: describe(ev) }));
  li.append(line);
  return li;
}

function addToFeed(ev) {
  feed.push(ev);
  const list = $('feed');
  if (feed.length > FEED_MAX) {
    const gone = feed.shift();
    if (gone.li) gone.li.remove();
  }
  if (feedMatches(ev)) {
    ev.li = feedItem(ev);
    list.prepend(ev.li);
  }
  $('feed-empty').hidden = list.childElementCount > 0;
  if (ev.server_name && !serverFilterNames.has(ev.server_name)) renderServerFilter();
}

function renderFeed() {
  const list = $('feed');
  list.textContent = '';
  for (const ev of feed) ev.li = null;
  const frag = document.createDocumentFragment();
  for (let i = feed.length - 1; i >= 0; i--) {
    const ev = feed[i];
    if (!feedMatches(ev)) continue;
    ev.li = feedItem(ev);
    frag.append(ev.li);
  }
  list.append(frag);
  $('feed-empty').hidden = list.childElementCount > 0;
}

// ---- earlier calls: the activity log, paged back on request -------------------
// The live feed holds what happened since the page loaded; the activity log
// (GET /api/activity) holds every call, across restarts. Pages are fetched
// only when asked for, newest first, each from the cursor of the one before.

let historyCursor; // undefined: nothing fetched yet; null: the oldest page is shown

/** An activity row as the tool_called event it was, so the feed's renderer shows it. */
function eventFromActivity(row) {
  const data = {
    tool: row.tool, duration_ms: row.duration_ms, ok: row.outcome === 'ok',
    session_id: row.session_id, client: row.client_name || undefined,
  };
  if (row.error) data.error = row.error;
  if (row.outcome === 'ok') data.response_bytes = row.response_bytes;
  if (row.arguments !== undefined && row.arguments !== null) data.arguments = row.arguments;
  const type = row.method === 'tools/call' ? 'tool_called' : row.method;
  return { type, server_name: row.server || undefined, timestamp: row.timestamp, data };
}

async function loadEarlierCalls() {
  const button = $('history-more');
  const status = $('history-status');
  button.disabled = true;
  status.textContent = 'Loading…';
  const q = new URLSearchParams({ limit: '50' });
  if (historyCursor) q.set('cursor', String(historyCursor));
  if (filterServer) q.set('server', filterServer);
  try {
    const r = await live.request('GET', `/api/activity?${q}`);
    if (!r.ok || !r.json || !Array.isArray(r.json.rows)) {
      status.textContent = `The activity log could not be read${r.json?.error ? `: ${r.json.error}` : ` (HTTP ${r.status})`}.`;
      button.disabled = false;
      return;
    }
    const list = $('history');
    for (const row of r.json.rows) list.append(feedItem(eventFromActivity(row)));
    historyCursor = r.json.next_cursor;
    const shown = list.childElementCount;
    status.textContent = historyCursor === null
      ? (shown ? `${shown} earlier calls: the whole log.` : 'The activity log is empty.')
      : `${shown} earlier calls shown.`;
    button.hidden = historyCursor === null;
  } catch (e) {
    status.textContent = `The activity log could not be read: ${e.message}.`;
  }
  button.disabled = false;
}

/** A new server filter starts the history again from the newest call. */
function resetHistory() {
  historyCursor = undefined;
  $('history').textContent = '';
  $('history-status').textContent = '';
  $('history-more').hidden = false;
}

$('history-more').addEventListener('click', loadEarlierCalls);

let serverFilterNames = new Set();
function renderServerFilter() {
  const names = new Set([...servers.keys()]);
  for (const ev of feed) if (ev.server_name) names.add(ev.server_name);
  if (filterServer) names.add(filterServer);
  const sorted = [...names].sort();
  if (sorted.join('\0') === [...serverFilterNames].join('\0')) return;
  serverFilterNames = new Set(sorted);
  const sel = $('filter-server');
  sel.textContent = '';
  sel.append(el('option', { value: '', text: 'all' }));
  for (const n of sorted) sel.append(el('option', { value: n, text: n }));
  sel.value = filterServer;
}

// ---- connection indicator -----------------------------------------------------------

let modeInfo = null;
function renderMode() {
  const info = modeInfo;
  if (!info) return;
  const box = $('conn');
  let text;
  let mode = info.mode;
  const secs = info.nextTryAt ? Math.max(0, Math.ceil((info.nextTryAt - Date.now()) / 1000)) : 0;
  let detail = '';
  switch (info.mode) {
    case 'live':
      text = 'Live';
      break;
    case 'reconnecting':
      text = `Reconnecting (attempt ${info.attempt} of ${info.maxAttempts})`;
      detail = info.connecting ? 'connecting…' : `next try in ${secs} s`;
      break;
    case 'auth':
      text = 'API key needed';
      detail = 'enter it above';
      break;
    case 'polling':
      text = `Polling every ${info.pollMs < 1000 ? `${info.pollMs} ms` : `${Math.round(info.pollMs / 1000)} s`}` + (info.pollOk === false ? ' — server unreachable' : '');
      detail = info.connecting ? 'trying WebSocket…' : `WebSocket retry in ${secs} s`;
      break;
    default:
      text = 'Connecting…';
      mode = 'connecting';
  }
  box.dataset.mode = mode;
  setStale(mode !== 'live');
  box.title = mode === 'live' ? 'Receiving events as they happen' :
    mode === 'polling' ? 'The WebSocket is down; the server list is refreshed periodically' :
      'The WebSocket is down; what you see may be out of date';
  const t = $('conn-text');
  if (t.textContent !== text) t.textContent = text;
  const dt = $('conn-detail');
  if (dt.textContent !== detail) dt.textContent = detail;
}

/** Whether what the page shows is current: only with a live stream. */
function isLive() { return !modeInfo || modeInfo.mode === 'live'; }

let staleShown = null;
/** Greys the rows and disables every action while the stream is down; the
 *  snapshot taken on reconnect makes them true again. */
function setStale(stale) {
  if (staleShown === stale) return;
  staleShown = stale;
  document.body.classList.toggle('stale', stale);
  const table = $('servers');
  if (stale) table.setAttribute('aria-describedby', 'conn-text');
  else table.removeAttribute('aria-describedby');
  for (const s of servers.values()) renderRow(s);
  renderGroups();
  if (stale) refreshAges(); // ages freeze where they are
}

// ---- per-server history (the detail view) --------------------------------------------

const HISTORY_TYPES = new Set(['server_state_changed', 'state_change', 'server_auto_disabled', 'server_login_failed', 'connection_lost']);
function remember(ev) {
  if (!ev.server_name) return;
  const map = ev.type === 'tool_called' ? calls : HISTORY_TYPES.has(ev.type) ? stateHistory : null;
  if (!map) return;
  let list = map.get(ev.server_name);
  if (!list) { list = []; map.set(ev.server_name, list); }
  list.push(ev);
  if (list.length > PER_SERVER_MAX) list.shift();
}

// ---- actions from the detail view and the dialogs --------------------------------------

const mcp = new McpClient(() => settings.apikey);
const editor = new ServerEditor($('server-dialog'), (m, p, b) => live.request(m, p, b));

async function editServer(name) {
  const r = await live.request('GET', `/api/servers/${encodeURIComponent(name)}`);
  if (!r.ok) { showBanner(`cannot edit ${name}: ${(r.json && r.json.error) || `HTTP ${r.status}`}`); return; }
  editor.open(r.json);
}

async function deleteServer(name) {
  const r = await live.request('DELETE', `/api/servers/${encodeURIComponent(name)}`);
  if (!r.ok) { showBanner(`remove ${name} failed: ${(r.json && r.json.error) || `HTTP ${r.status}`}`); return; }
  if (detail.name === name) window.location.hash = '#/';
  live.refreshIfNotLive();
}

const detail = new DetailView({
  root: $('detail'),
  servers,
  historyOf: (n) => stateHistory.get(n) || [],
  callsOf: (n) => calls.get(n) || [],
  api: (m, p, b) => live.request(m, p, b),
  mcp,
  statusOf: (s) => s.status || statusOf(s),
  isLive,
  remoteNode,
  actions: {
    toggle: (n) => toggleServer(n),
    restart: (n) => serverAction(n, 'restart'),
    edit: (n) => editServer(n),
    remove: (n) => deleteServer(n),
    login: (n) => logIn(n),
    approve: (n) => serverAction(n, 'approve'),
  },
});

/** #/servers/NAME shows one server; anything else the overview. */
function route() {
  const m = window.location.hash.match(/^#\/servers\/(.+)$/);
  let name = null;
  if (m) { try { name = decodeURIComponent(m[1]); } catch { name = null; } }
  $('detail').hidden = !name;
  document.querySelector('main').hidden = !!name;
  if (name) {
    if (detail.name !== name) {
      detail.show(name);
      // A screen reader follows the view change to its heading.
      $('detail').querySelector('h1')?.focus({ preventScroll: true });
    }
  } else if (detail.open) {
    detail.hide();
    document.title = 'mcpproxy';
  }
}
window.addEventListener('hashchange', route);

$('open-add').addEventListener('click', () => editor.open());
$('open-connect').addEventListener('click', () => openConnect($('connect-dialog'), settings.apikey));
$('key-input').value = settings.apikey;
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $('key-input').value.trim();
  storeKey(key);
  $('key-form').hidden = true;
  $('banner').hidden = true;
  live.setKey(key);
});

// ---- wiring ---------------------------------------------------------------------

const chart = new RateChart($('rate-chart'));
chart.onDraw = ({ last, peak }) => {
  $('rate-now').textContent = `${last}/s now · peak ${peak}/s`;
};

const live = new Live(settings, {
  snapshot(status, why) {
    applySnapshot(status, why);
    // The stream had a gap (a restart, a resync, dropped events): what the
    // open detail view fetched and appended may be missing lines or calls.
    if (detail.open && ['new epoch', 'resync_required', 'events_dropped'].includes(why)) detail.show(detail.name);
  },
  event(ev, apply, past) {
    // History replayed on first load goes on the chart at its own time.
    chart.record(1, past ? Date.parse(ev.timestamp) : undefined);
    remember(ev);
    // stderr lines go to the server's detail view, not the feed.
    if (ev.type !== 'server_log') addToFeed(ev);
    // The status list does not carry the proxy's own state, so its events
    // always apply (in order, the last one wins).
    if ((apply || ev.type === 'app_state_changed' || ev.type === 'cluster_state_changed') && applyEvent(ev)) {
      // Counted in the report: only a created server whose event lacks its
      // fields lands here.
      live.fetchSnapshot(`${ev.type} without enough fields`);
    }
    if (!past) detail.onEvent(ev);
  },
  appState(state, cluster) {
    clusterLink = cluster && cluster.node ? { node: cluster.node, state: cluster.state } : null;
    const node = clusterLink ? clusterLink.node : null;
    if (node !== selfNode) {
      selfNode = node;
      for (const s of servers.values()) renderRow(s); // which rows are remote may have changed
    }
    renderAppState(state);
  },
  notice(kind, text) {
    addToFeed({ type: 'notice', kind, text, timestamp: new Date().toISOString() });
  },
  mode(info) {
    modeInfo = info;
    renderMode();
  },
  authError(status) {
    const hadKey = !!settings.apikey;
    showBanner(status === 401
      ? (hadKey ? 'The proxy refused this API key: enter the current one.' : 'The proxy requires an API key: enter it below.')
      : 'The proxy refused this page (403): check the API key, and allowed_origins in the config.', true);
    $('key-form').hidden = false;
    $('key-input').focus();
  },
});

$('filter-server').addEventListener('change', (e) => { filterServer = e.target.value; renderFeed(); resetHistory(); });
$('filter-type').addEventListener('change', (e) => { filterType = e.target.value; renderFeed(); });

// Countdown and ages: display only, no network.
setInterval(() => {
  if (modeInfo && modeInfo.mode !== 'live') renderMode();
}, 1000);
setInterval(refreshAges, 5000);

// For tests and the curious: a read-only view of what the page believes.
window.mcpproxyDashboard = { live, servers, groups, feed, stateHistory, calls, detail };

route();
live.start();
