// live.js - keeps the page's copy of the proxy's state current.
//
// List-then-watch: GET /api/servers/status gives a snapshot with {seq, epoch};
// /ws/events?since=seq&epoch=epoch then streams every later event, and each
// event updates the page in place. The status list is fetched again only when
// the stream says it cannot be trusted (events_dropped, resync_required, a new
// epoch), never per event and never on a timer while the WebSocket is healthy:
// the server's ping/pong already proves the connection is alive.
//
// When the WebSocket closes: reconnect with exponential backoff (by default 5
// attempts, 2 s doubling to 32 s, never more than reconnect_max_ms), resuming
// from the last seq seen. After the
// last attempt fails: poll the status list (30 s) and keep trying the WebSocket
// (60 s); the moment a WebSocket says hello, polling stops.

/** Timing knobs. URL parameters override the defaults so tests need not wait
 *  minutes. */
export function readSettings(params) {
  const num = (name, dflt, min) => {
    const raw = params.get(name);
    const v = raw === null ? NaN : Number(raw);
    return Number.isFinite(v) && v >= min ? v : dflt;
  };
  return {
    reconnectBaseMs: num('reconnect_base_ms', 2000, 10),
    reconnectAttempts: Math.floor(num('reconnect_attempts', 5, 1)),
    reconnectMaxMs: num('reconnect_max_ms', 32000, 10),
    pollMs: num('poll_ms', 30000, 100),
    wsRetryMs: num('ws_retry_ms', 60000, 100),
    helloTimeoutMs: num('hello_timeout_ms', 10000, 100),
    // On first load, replay this many past events from the proxy's history
    // ring into the activity feed (they are already in the snapshot, so they
    // are shown, not applied).
    backlog: Math.floor(num('backlog', 100, 0)),
    // The key comes from the key field (kept in localStorage by app.js);
    // ?apikey= (what `mcpproxy gen-key` prints) is taken once and then
    // removed from the address bar.
    apikey: params.get('apikey') || '',
    debug: params.get('debug') === '1',
  };
}

export class Live {
  /**
   * handlers: {
   *   snapshot(status, why)     a full /api/servers/status answer to render from scratch
   *   event(ev, apply, past)    one event; apply=false when a snapshot already covers it,
   *                             past=true for history replayed on first load
   *   notice(kind, text)        a stream-level happening worth a feed line (resync, drops)
   *   mode(info)                connection indicator state changed
   *   authError(status)         the API refused us (401/403); the page stops trying
   *                             until setKey() is called
   *   appState(state, cluster)  the proxy's own state, and {node, state} of its
   *                             cluster link (null on a single node), from
   *                             /healthz on every hello
   * }
   */
  constructor(settings, handlers, loc = window.location) {
    this.s = settings;
    this.h = handlers;
    this.loc = loc;
    this.log = settings.debug ? (...a) => console.log(...a) : () => {};
    this.logError = settings.debug ? (...a) => console.error(...a) : () => {};

    this.epoch = null;        // epoch of the stream/snapshot we hold
    this.seq = 0;             // highest seq received (applied or buffered)
    this.snapshotSeq = 0;     // events at or below this are already in the snapshot
    this.ws = null;
    this.helloSeen = false;
    this.mode = 'connecting'; // connecting | live | reconnecting | polling
    this.attempt = 0;         // reconnect attempt number (1-based) while reconnecting
    this.nextTryAt = 0;       // when the next WebSocket attempt is due (ms epoch), 0 = in flight
    this.replayUntil = 0;     // events up to here (first load's epoch) happened before the page opened
    this.refetching = false;  // a status fetch is in flight; events are buffered meanwhile
    this.buffer = [];
    this.pollOk = null;       // last poll succeeded? (polling mode)
    this.timers = { reconnect: 0, poll: 0, wsRetry: 0, hello: 0 };
    this.authBlocked = false; // a 401/403: nothing is retried until a new key
    this.started = false;
  }

  start() {
    if (!this.started) this.watchWake();
    this.started = true;
    this.authBlocked = false;
    this.setMode('connecting');
    this.fetchSnapshot('initial load').then((ok) => {
      if (this.authBlocked) return;
      if (!ok) { this.wsFailed(); return; }
      this.replayUntil = this.snapshotSeq;
      this.seq = Math.max(0, this.snapshotSeq - this.s.backlog);
      this.openWs();
    });
  }

  // ---- HTTP ---------------------------------------------------------------

  headers(extra = {}) {
    const h = { ...extra };
    if (this.s.apikey) h['X-API-Key'] = this.s.apikey;
    return h;
  }

  /** fetch() with the API key; resolves to {status, json} or rejects on network error. */
  async request(method, path, body) {
    const init = { method, headers: this.headers(), cache: 'no-store' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(path, init);
    let json = null;
    try { json = await res.json(); } catch { /* not JSON */ }
    if (res.status === 401 || res.status === 403) this.blockOnAuth(res.status);
    return { status: res.status, ok: res.ok, json };
  }

  /** A refused key is not a network problem: retrying cannot help, and
   *  "Reconnecting" would be a lie. Stop everything until setKey(). */
  blockOnAuth(status) {
    if (this.authBlocked) return;
    this.authBlocked = true;
    for (const t of Object.keys(this.timers)) this.clearTimer(t);
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    this.helloSeen = false;
    this.setMode('auth');
    this.h.authError(status);
  }

  /** A new API key (from the key field): start over with it. */
  setKey(key) {
    this.s.apikey = key;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    for (const t of Object.keys(this.timers)) this.clearTimer(t);
    this.epoch = null;
    this.seq = 0;
    this.snapshotSeq = 0;
    this.attempt = 0;
    this.start();
  }

  /** The proxy's own state: the status list does not carry it and the
   *  history replayed on load may not reach back to its last change. */
  async fetchAppState() {
    try {
      const r = await this.request('GET', '/healthz');
      if (r.ok && r.json && r.json.state) this.h.appState(r.json.state, r.json.cluster || null);
    } catch { /* the stream says the rest */ }
  }

  /** Fetches the status list; events that arrive meanwhile are buffered and
   *  replayed on top of it. Resolves true on success. */
  async fetchSnapshot(why) {
    if (this.refetching) return true; // the one in flight is fresh enough: it started after the trigger
    this.refetching = true;
    this.log('Fetching /api/servers/status:', why);
    let status = null;
    try {
      const r = await this.request('GET', '/api/servers/status');
      if (r.ok && r.json && Array.isArray(r.json.servers)) status = r.json;
    } catch (err) {
      this.logError('Status fetch failed:', err);
    }
    this.refetching = false;
    const buffered = this.buffer;
    this.buffer = [];
    if (!status) {
      // Keep what was buffered: it is still newer than the page.
      for (const ev of buffered) this.h.event(ev, true);
      return false;
    }
    const sameEpoch = status.epoch === this.epoch;
    if (!sameEpoch) this.replayUntil = 0;
    this.epoch = status.epoch;
    this.snapshotSeq = status.seq;
    // While no stream is running the snapshot is the newest thing we know, so
    // the next WebSocket resumes from it. With a live stream the stream decides.
    if (!this.helloSeen || !sameEpoch) this.seq = Math.max(sameEpoch ? this.seq : 0, status.seq);
    this.h.snapshot(status, why);
    for (const ev of buffered) this.h.event(ev, ev.seq > status.seq);
    return true;
  }

  // ---- WebSocket ------------------------------------------------------------

  wsUrl() {
    const scheme = this.loc.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams();
    if (this.epoch) {
      q.set('since', String(this.seq));
      q.set('epoch', this.epoch);
    }
    if (this.s.apikey) q.set('apikey', this.s.apikey);
    const qs = q.toString();
    return `${scheme}//${this.loc.host}/ws/events${qs ? '?' + qs : ''}`;
  }

  openWs() {
    this.clearTimer('reconnect');
    this.clearTimer('wsRetry');
    if (this.ws) return;
    this.nextTryAt = 0;
    this.helloSeen = false;
    const url = this.wsUrl();
    this.log('Connecting to WebSocket:', this.s.apikey ? url.replace(/apikey=[^&]*/, 'apikey=***') : url);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.logError('WebSocket error:', err);
      this.wsFailed();
      return;
    }
    this.ws = ws;
    this.emitMode();
    // A server that accepts the TCP connection but never says hello is as
    // good as down.
    this.timers.hello = setTimeout(() => {
      this.log('No hello within', this.s.helloTimeoutMs, 'ms; closing');
      ws.close();
    }, this.s.helloTimeoutMs);
    ws.onopen = () => this.log('WebSocket connected');
    ws.onerror = (err) => this.logError('WebSocket error:', err);
    ws.onmessage = (msg) => this.onMessage(ws, msg);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.log('WebSocket disconnected', e.code, e.reason || '');
      this.ws = null;
      this.clearTimer('hello');
      const wasLive = this.helloSeen;
      this.helloSeen = false;
      if (wasLive) {
        this.attempt = 0;
        this.setMode('reconnecting');
      }
      this.wsFailed();
    };
  }

  onMessage(ws, msg) {
    if (this.ws !== ws) return;
    let data;
    try { data = JSON.parse(msg.data); } catch { this.logError('Bad WebSocket message:', msg.data); return; }
    const list = Array.isArray(data) ? data : [data]; // batch=1 sends arrays
    for (const m of list) this.onOne(m);
  }

  onOne(m) {
    this.log('WebSocket event received:', m.type, m);
    switch (m.type) {
      case 'hello':
        this.onHello(m);
        return;
      case 'resync_required':
        this.h.notice('resync', `resync required (${m.reason || 'no reason given'}); reloading the server list`);
        if (m.epoch && m.epoch !== this.epoch) { this.epoch = m.epoch; this.replayUntil = 0; }
        this.seq = typeof m.seq === 'number' ? m.seq : this.seq;
        this.fetchSnapshot('resync_required');
        return;
      case 'events_dropped':
        this.h.notice('dropped', `${m.count} events dropped (seq ${m.first_seq}–${m.last_seq}); reloading the server list`);
        this.fetchSnapshot('events_dropped');
        return;
      default:
        break;
    }
    if (typeof m.seq !== 'number') return; // unknown control message: ignore
    if (m.seq <= this.seq) return;         // already seen (resume seam, or a replay)
    this.seq = m.seq;
    if (this.refetching) { this.buffer.push(m); return; }
    this.h.event(m, m.seq > this.snapshotSeq, m.seq <= this.replayUntil);
  }

  onHello(m) {
    this.clearTimer('hello');
    this.helloSeen = true;
    this.attempt = 0;
    this.stopPolling();
    this.setMode('live');
    this.fetchAppState();
    if (m.epoch !== this.epoch) {
      // We have no snapshot of this run (first load failed, or the proxy
      // restarted). The stream is live from hello.seq; take a snapshot and
      // let the buffer bridge the seam. A resync_required that follows is
      // covered by the fetch in flight.
      this.epoch = m.epoch;
      this.seq = m.seq;
      this.snapshotSeq = 0;
      this.replayUntil = 0;
      this.fetchSnapshot('new epoch');
    }
  }

  /** The WebSocket could not be opened or closed: schedule what comes next. */
  wsFailed() {
    if (this.authBlocked) return;
    if (this.mode === 'polling') {
      this.scheduleWs('wsRetry', this.s.wsRetryMs);
      return;
    }
    if (this.mode !== 'reconnecting') this.setMode('reconnecting');
    if (this.attempt >= this.s.reconnectAttempts) {
      this.logError('Max reconnection attempts reached, falling back to polling');
      this.enterPolling();
      return;
    }
    this.attempt += 1;
    const delay = Math.min(this.s.reconnectMaxMs, this.s.reconnectBaseMs * 2 ** (this.attempt - 1));
    this.log(`Reconnecting in ${delay}ms (attempt ${this.attempt}/${this.s.reconnectAttempts})`);
    this.scheduleWs('reconnect', delay);
  }

  scheduleWs(timer, delay) {
    this.clearTimer(timer);
    this.nextTryAt = Date.now() + delay;
    this.timers[timer] = setTimeout(() => this.openWs(), delay);
    this.emitMode();
  }

  /** A laptop that slept, or a network that changed, can leave a WebSocket
   *  that looks open but is dead, and the browser would only notice at the
   *  TCP timeout. The page cannot see the server's pings, so it watches for
   *  the two things that cause this: the clock jumping (the machine slept)
   *  and the browser going back online. Then it reconnects at once, resuming
   *  from the last seq (no refetch). A jump is counted only past 2 minutes:
   *  Chrome throttles timers in hidden tabs to once a minute. */
  watchWake() {
    let last = Date.now();
    setInterval(() => {
      const now = Date.now();
      if (now - last > 120000) this.reconnectNow('the clock jumped (sleep?)');
      last = now;
    }, 5000);
    window.addEventListener('online', () => this.reconnectNow('the browser is back online'));
  }

  reconnectNow(why) {
    if (this.authBlocked) return;
    this.log('Reconnecting now:', why);
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      this.clearTimer('hello');
      old.onclose = null;
      old.close();
    }
    this.helloSeen = false;
    if (this.mode === 'live') this.setMode('reconnecting');
    if (this.mode === 'reconnecting') this.attempt = Math.max(this.attempt, 1);
    this.openWs();
  }

  // ---- polling fallback -----------------------------------------------------

  enterPolling() {
    this.setMode('polling');
    this.poll();
    this.timers.poll = setInterval(() => this.poll(), this.s.pollMs);
    this.scheduleWs('wsRetry', this.s.wsRetryMs);
  }

  async poll() {
    if (this.mode !== 'polling' || this.authBlocked) return;
    const ok = await this.fetchSnapshot('polling');
    if (this.mode !== 'polling') return;
    this.pollOk = ok;
    this.lastPollAt = Date.now();
    this.emitMode();
  }

  stopPolling() {
    if (this.timers.poll) this.log('Polling stopped: WebSocket is back');
    this.clearTimer('poll');
    this.pollOk = null;
  }

  /** After an action while the stream is down, show its effect now rather
   *  than at the next poll. With a live stream the events do that. */
  refreshIfNotLive() {
    if (this.mode !== 'live') this.fetchSnapshot('action while not live');
  }

  // ---- indicator --------------------------------------------------------------

  setMode(mode) {
    this.mode = mode;
    this.emitMode();
  }

  emitMode() {
    this.h.mode({
      mode: this.mode,
      attempt: this.attempt,
      maxAttempts: this.s.reconnectAttempts,
      connecting: this.ws !== null && !this.helloSeen,
      nextTryAt: this.nextTryAt,
      pollMs: this.s.pollMs,
      pollOk: this.pollOk,
    });
  }

  clearTimer(name) {
    if (!this.timers[name]) return;
    clearTimeout(this.timers[name]); // also clears intervals
    this.timers[name] = 0;
  }
}
