// @ts-check
// The overview's two charts, drawn as inline SVG (no library): calls per
// minute as stacked bars, and the deny rate as a line broken where no calls were.
import { $, s } from './dom.js';
import { dateTime, fmtInt, pct } from './format.js';

/**
 * @typedef {{ t: string, calls: number, allowed: number, denied: number, errors: number, approvals: number, per_minute: number, deny_rate: number }} Bucket
 * @typedef {{ calls: number, allowed: number, denied: number, errors: number, approvals: number, deny_rate: number }} Totals
 * @typedef {{ bucket_minutes: number, range_minutes: number, buckets: Bucket[], totals: Totals }} Stats GET api/stats (src/web/stats.ts)
 * @typedef {{ width: number, height: number, pad: { l: number, r: number, t: number, b: number }, iw: number, ih: number }} Frame
 */

/** A top for a 4-gridline axis whose ticks are round numbers (1, 2, 5 times a power of ten). */
/** @param {number} v */
function niceMax(v) {
  const raw = Math.max(v, 0.4) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of p >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]) if (m * p >= raw - 1e-9) return 4 * m * p;
  return 40 * p;
}
/** @param {number} v */
function fmtTick(v) {
  if (v >= 1000) return `${fmtInt.format(Math.round(v / 100) / 10)}k`;
  return Number.isInteger(Math.round(v * 1000) / 1000) ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
}
/**
 * @param {string} iso
 * @param {number} bucketMinutes
 * @param {number} rangeMinutes
 */
function bucketLabel(iso, bucketMinutes, rangeMinutes) {
  const d = new Date(iso);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return rangeMinutes > 1440 ? `${d.toLocaleDateString([], { weekday: 'short' })} ${hm}` : hm;
}

/**
 * @param {MouseEvent} evt
 * @param {string} text
 */
function showTip(evt, text) {
  const t = $('tooltip');
  t.textContent = text;
  t.hidden = false;
  const x = Math.min(evt.clientX + 14, window.innerWidth - t.offsetWidth - 8);
  const y = Math.max(8, evt.clientY - t.offsetHeight - 12);
  t.style.left = `${x}px`;
  t.style.top = `${y}px`;
}
function hideTip() {
  $('tooltip').hidden = true;
}

/**
 * @param {HTMLElement} el
 * @returns {Frame}
 */
function chartFrame(el) {
  const width = Math.max(280, el.clientWidth || 600);
  const height = 220;
  const pad = { l: 40, r: 10, t: 10, b: 26 };
  return { width, height, pad, iw: width - pad.l - pad.r, ih: height - pad.t - pad.b };
}

/**
 * @param {Frame} f
 * @param {Bucket[]} buckets
 * @param {number} yMax
 * @param {(v: number) => string} yFmt
 * @param {Stats} stats
 */
function axes(f, buckets, yMax, yFmt, stats) {
  const g = s('g', { class: 'axis grid' });
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = f.pad.t + f.ih - (f.ih * i) / 4;
    g.append(s('line', { x1: f.pad.l, x2: f.pad.l + f.iw, y1: y, y2: y }));
    g.append(s('text', { x: f.pad.l - 8, y: y + 4, 'text-anchor': 'end' }, yFmt(v)));
  }
  const n = buckets.length;
  const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(f.iw / 80))));
  for (let i = 0; i < n; i += every) {
    const x = f.pad.l + (f.iw * (i + 0.5)) / n;
    g.append(s('text', { x, y: f.height - 6, 'text-anchor': 'middle' }, bucketLabel(buckets[i].t, stats.bucket_minutes, stats.range_minutes)));
  }
  return g;
}

/**
 * @param {Bucket} b
 * @param {Stats} stats
 */
function tipText(b, stats) {
  const span = stats.bucket_minutes === 1 ? 'minute' : `${stats.bucket_minutes} minutes`;
  return `${dateTime(b.t)} (${span})\n${fmtInt.format(b.calls)} calls · ${b.per_minute}/min\n${fmtInt.format(b.allowed)} allowed · ${fmtInt.format(b.denied)} denied · ${fmtInt.format(b.errors)} errors\ndeny rate ${b.calls ? pct(b.deny_rate) : '–'}${b.approvals ? `\n${b.approvals} approval request(s)` : ''}`;
}

/**
 * @param {HTMLElement} el
 * @param {Stats} stats
 */
export function drawCallsChart(el, stats) {
  const f = chartFrame(el);
  const bm = stats.bucket_minutes;
  const rate = (/** @type {number} */ x) => x / bm;
  const max = niceMax(Math.max(...stats.buckets.map((b) => rate(b.calls)), 1));
  const svg = s('svg', { viewBox: `0 0 ${f.width} ${f.height}`, role: 'img', 'aria-label': 'Calls per minute' });
  svg.append(axes(f, stats.buckets, max, fmtTick, stats));
  const n = stats.buckets.length;
  const slot = f.iw / n;
  const bw = Math.max(1, Math.min(28, slot * 0.72));
  const scale = (/** @type {number} */ v) => (f.ih * v) / max;
  stats.buckets.forEach((b, i) => {
    const x = f.pad.l + slot * i + (slot - bw) / 2;
    const col = s('g', { class: 'col' });
    col.append(s('rect', { class: 'hover', x: f.pad.l + slot * i, y: f.pad.t, width: slot, height: f.ih }));
    let y = f.pad.t + f.ih;
    /** @type {Array<['allowed' | 'errors' | 'denied', string]>} */
    const layers = [
      ['allowed', 'b-allowed'],
      ['errors', 'b-error'],
      ['denied', 'b-denied'],
    ];
    for (const [key, cls] of layers) {
      const hgt = scale(rate(b[key]));
      if (hgt <= 0) continue;
      y -= hgt;
      col.append(s('rect', { class: cls, x, y, width: bw, height: Math.max(hgt, 1), rx: Math.min(2, bw / 4) }));
    }
    col.addEventListener('mousemove', (e) => showTip(e, tipText(b, stats)));
    col.addEventListener('mouseleave', hideTip);
    svg.append(col);
  });
  el.replaceChildren(svg);
}

/**
 * @param {HTMLElement} el
 * @param {Stats} stats
 */
export function drawDenyChart(el, stats) {
  const f = chartFrame(el);
  const svg = s('svg', { viewBox: `0 0 ${f.width} ${f.height}`, role: 'img', 'aria-label': 'Deny rate' });
  svg.append(axes(f, stats.buckets, 1, (v) => `${Math.round(v * 100)}%`, stats));
  const n = stats.buckets.length;
  const xOf = (/** @type {number} */ i) => f.pad.l + (f.iw * (i + 0.5)) / n;
  const yOf = (/** @type {number} */ v) => f.pad.t + f.ih - f.ih * v;
  // One path per run of buckets that had calls: no calls is no rate, not 0%.
  /** @type {Array<Array<[number, number]>>} */
  const runs = [];
  /** @type {Array<[number, number]>} */
  let run = [];
  stats.buckets.forEach((b, i) => {
    if (b.calls > 0) run.push([xOf(i), yOf(b.deny_rate)]);
    else if (run.length) {
      runs.push(run);
      run = [];
    }
  });
  if (run.length) runs.push(run);
  for (const r of runs) {
    const line = r.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
    const base = yOf(0).toFixed(1);
    svg.append(s('path', { class: 'area', d: `${line}L${r[r.length - 1][0].toFixed(1)},${base}L${r[0][0].toFixed(1)},${base}Z` }));
    svg.append(s('path', { class: 'line', d: line }));
  }
  const slot = f.iw / n;
  stats.buckets.forEach((b, i) => {
    const col = s('g', { class: 'col' });
    col.append(s('rect', { class: 'hover', x: f.pad.l + slot * i, y: f.pad.t, width: slot, height: f.ih }));
    if (b.calls > 0 && n <= 120) col.append(s('circle', { class: 'pt', cx: xOf(i), cy: yOf(b.deny_rate), r: n > 60 ? 2 : 3 }));
    col.addEventListener('mousemove', (e) => showTip(e, tipText(b, stats)));
    col.addEventListener('mouseleave', hideTip);
    svg.append(col);
  });
  if (runs.length === 0)
    svg.append(
      s('text', { x: f.pad.l + f.iw / 2, y: f.pad.t + f.ih / 2, 'text-anchor': 'middle', class: 'axis', fill: 'currentColor' }, 'no calls in this range'),
    );
  el.replaceChildren(svg);
}
