// dom.js - small helpers every view of the dashboard shares.

/** el('div', {class, text, onclick, ...attrs}, ...children) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** "3m 4s" since an ISO time. */
export function ago(iso) {
  const ms = Date.now() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** HH:MM:SS.mmm of an ISO time (local). */
export function clock(iso) {
  const t = iso ? new Date(iso) : new Date();
  return t.toLocaleTimeString([], { hour12: false }) + '.' + String(t.getMilliseconds()).padStart(3, '0');
}

/** Pretty JSON, cut at `max` characters with a note saying so: a page must
 *  not freeze on a 4 MB argument. */
export function jsonText(v, max = 4000) {
  let t;
  try { t = JSON.stringify(v, null, 2); } catch { t = String(v); }
  if (t === undefined) t = String(v);
  return t.length > max ? `${t.slice(0, max)}\n… (${t.length - max} more characters)` : t;
}

/** The JSON error message of an API answer, or its status. */
export function apiError(r) {
  return (r.json && r.json.error) || `HTTP ${r.status}`;
}
