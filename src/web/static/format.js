// @ts-check
// Numbers, times and the small building blocks every page shows (pills, tables).
import { h } from './dom.js';

export const fmtInt = new Intl.NumberFormat();

/** @param {number} x */
export const pct = (x) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/** @param {string} iso */
export function timeOf(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** @param {string | null | undefined} iso */
export function dateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${timeOf(iso)}`;
}

/** @param {string | null} iso */
export function ago(iso) {
  const ms = Date.now() - Date.parse(iso ?? '');
  if (!Number.isFinite(ms)) return '–';
  if (ms < 5000) return 'just now';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}

/** @param {number} ms */
export function duration(ms) {
  if (ms <= 0) return '0s';
  const sec = Math.ceil(ms / 1000);
  if (sec < 60) return `${sec}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${String(sec % 60).padStart(2, '0')}s`;
  const hr = Math.floor(m / 60);
  return `${hr}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * @param {string} status
 * @param {string} [label]
 */
export function pill(status, label) {
  return h('span', { class: `pill ${status}` }, label || status);
}

/** @typedef {{ status: string, detail?: string | null }} StatusOf */

/** @param {StatusOf} row */
export function statusLabel(row) {
  if (row.status === 'approval') return row.detail === 'requested' ? 'pending' : `approval ${row.detail}`;
  return row.status;
}

/** @param {StatusOf} row */
export function statusClass(row) {
  if (row.status !== 'approval') return row.status;
  return row.detail === 'approved' ? 'allowed' : row.detail === 'requested' ? 'approval' : 'denied';
}

/**
 * A table, or a line saying it is empty. A heading starting with # is a number column.
 * @param {string[]} head
 * @param {Node[]} rows
 * @param {string} empty
 * @param {string} [cls]
 */
export function table(head, rows, empty, cls = '') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: `table ${cls}` },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((c) => h('th', { class: c.startsWith('#') ? 'num' : '' }, c.replace(/^#/, ''))),
      ),
    ),
    h('tbody', {}, rows),
  );
}
