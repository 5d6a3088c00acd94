// chart.js - events per second over the last few minutes, drawn on a canvas.
//
// One counter per wall-clock second in a ring; the canvas is redrawn once a
// second (and on resize). Colours come from CSS custom properties, so the
// chart follows the light/dark theme without code of its own.

export class RateChart {
  constructor(canvas, seconds = 300) {
    this.canvas = canvas;
    this.seconds = seconds;
    this.counts = new Uint32Array(seconds);
    this.head = Math.floor(Date.now() / 1000); // the second counts[head % seconds] belongs to
    this.onDraw = null;
    this.frame = 0;
    new ResizeObserver(() => this.draw()).observe(canvas);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.draw());
    setInterval(() => { this.advance(); this.draw(); }, 1000);
  }

  /** Moves the ring forward to the current second, zeroing skipped seconds. */
  advance() {
    const now = Math.floor(Date.now() / 1000);
    const steps = Math.min(now - this.head, this.seconds);
    for (let i = 1; i <= steps; i++) this.counts[(this.head + i) % this.seconds] = 0;
    if (now > this.head) this.head = now;
  }

  /** Counts n events now, or at time `atMs` (ms since the epoch) if that is
   *  inside the window; later than now counts as now. */
  record(n = 1, atMs = undefined) {
    this.advance();
    let sec = this.head;
    if (atMs !== undefined && Number.isFinite(atMs)) {
      sec = Math.min(this.head, Math.floor(atMs / 1000));
      if (sec <= this.head - this.seconds) return;
    }
    this.counts[sec % this.seconds] += n;
    // Redraw at the next frame, once however many events arrive before it.
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  /** Events in the last completed second, and the peak over the window. */
  stats() {
    let peak = 0;
    for (const c of this.counts) if (c > peak) peak = c;
    const last = this.counts[(this.head - 1 + this.seconds) % this.seconds];
    return { last, peak };
  }

  draw() {
    if (document.hidden) return;
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = c.clientWidth, cssH = c.clientHeight;
    if (!cssW || !cssH) return;
    if (c.width !== Math.round(cssW * dpr) || c.height !== Math.round(cssH * dpr)) {
      c.width = Math.round(cssW * dpr);
      c.height = Math.round(cssH * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);

    const css = getComputedStyle(c);
    const bar = css.getPropertyValue('--chart-bar').trim() || '#3b82f6';
    const grid = css.getPropertyValue('--chart-grid').trim() || '#ddd';
    const text = css.getPropertyValue('--chart-text').trim() || '#666';

    const { peak } = this.stats();
    const top = Math.max(1, niceCeil(peak));
    const padL = 28, padB = 14, padT = 4;
    const w = cssW - padL, h = cssH - padB - padT;

    g.font = '10px system-ui, sans-serif';
    g.fillStyle = text;
    g.strokeStyle = grid;
    g.lineWidth = 1;
    g.textBaseline = 'middle';
    g.textAlign = 'right';
    for (const frac of [0, 0.5, 1]) {
      const y = Math.round(padT + h - frac * h) + 0.5;
      g.beginPath(); g.moveTo(padL, y); g.lineTo(cssW, y); g.stroke();
      const label = frac === 0.5 ? top / 2 : frac * top;
      g.fillText(Number.isInteger(label) ? String(label) : label.toFixed(1), padL - 4, y);
    }
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    g.fillText(`−${Math.round(this.seconds / 60)} min`, padL, cssH - 2);
    g.textAlign = 'right';
    g.fillText('now', cssW, cssH - 2);

    g.fillStyle = bar;
    const step = w / this.seconds;
    for (let i = 0; i < this.seconds; i++) {
      const sec = this.head - (this.seconds - 1 - i);
      const v = this.counts[((sec % this.seconds) + this.seconds) % this.seconds];
      if (!v) continue;
      const bh = Math.max(1, (v / top) * h);
      g.fillRect(padL + i * step, padT + h - bh, Math.max(1, step - 0.5), bh);
    }
    if (this.onDraw) this.onDraw(this.stats());
  }
}

/** 1, 2, 5, 10, 20, 50... at or above v, so axis labels stay round. */
function niceCeil(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
