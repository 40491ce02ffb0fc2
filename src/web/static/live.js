// @ts-check
// The live calls page: the newest calls, then every new one as the audit log
// streams it (Server-Sent Events), filtered by server, tool, identity, decision.
import { api, messageOf, toast } from './api.js';
import { $, h } from './dom.js';
import { pill, statusClass, statusLabel, timeOf } from './format.js';
import { currentPage } from './shell.js';

/**
 * A call as GET api/calls and the stream send it (src/web/calls.ts, CallRow).
 * @typedef {{
 *   seq: number | null, ts: string, instance: string, server: string | null, tool: string | null, identity: string | null,
 *   session: string | null, status: string, detail: string | null, reason: string | null, rule: string | null,
 *   rule_pointer: string | null, message: string | null, latency_ms: number | null, approval_id: string | null,
 *   decided_by: string | null, args_sha256: string | null, args: unknown
 * }} CallRow
 */

const MAX_ROWS = 500;
export const live = {
  /** @type {EventSource | undefined} */
  source: undefined,
  paused: false,
  /** @type {CallRow[]} */
  buffered: [],
  count: 0,
  filter() {
    const fd = new FormData(/** @type {HTMLFormElement} */ ($('filters')));
    const q = new URLSearchParams();
    for (const [k, v] of fd) if (String(v).trim()) q.set(k, String(v).trim());
    return q;
  },
  /**
   * @param {string} state
   * @param {string} text
   */
  setState(state, text) {
    $('live-dot').className = `pulse ${state}`;
    $('live-text').textContent = text;
  },
  enter() {
    this.start();
  },
  leave() {
    this.stop();
  },
  stop() {
    if (this.source) this.source.close();
    this.source = undefined;
  },
  async start() {
    this.stop();
    const q = this.filter();
    const body = $('calls');
    try {
      q.set('limit', '150');
      q.set('facets', '1');
      const res = await api(`api/calls?${q}`);
      body.replaceChildren();
      this.count = 0;
      for (const row of res.calls) this.add(row, false);
      fillList('dl-servers', res.facets?.servers);
      fillList('dl-tools', res.facets?.tools);
      fillList('dl-identities', res.facets?.identities);
      q.delete('limit');
      q.delete('facets');
      q.set('after', String(res.last_seq));
    } catch (err) {
      if (messageOf(err) === 'signed out') return;
      toast(`Could not load calls: ${messageOf(err)}`, true);
    }
    this.updateEmpty();
    if (currentPage() !== 'live') return;
    const src = new EventSource(`api/stream?${q}`);
    this.source = src;
    src.addEventListener('open', () => this.setState(this.paused ? 'paused' : 'on', this.paused ? 'paused' : 'live'));
    src.addEventListener('error', () => this.setState('off', 'reconnecting…'));
    src.addEventListener('call', (e) => {
      const row = JSON.parse(e.data);
      if (this.paused) {
        this.buffered.push(row);
        $('live-text').textContent = `paused · ${this.buffered.length} new`;
        return;
      }
      this.add(row, true);
      this.updateEmpty();
    });
  },
  /**
   * @param {CallRow} row
   * @param {boolean} fresh
   */
  add(row, fresh) {
    const body = /** @type {HTMLTableSectionElement} */ ($('calls'));
    const cls = statusClass(row);
    const detail =
      row.status === 'allowed'
        ? row.detail || 'ok'
        : row.status === 'approval'
          ? [row.decided_by ? `by ${row.decided_by}` : '', row.message || ''].filter(Boolean).join(': ')
          : [row.rule, row.message].filter(Boolean).join(' — ');
    const tr = h(
      'tr',
      { class: fresh ? 'fresh' : '', 'data-status': row.status },
      h('td', { class: 'time', title: row.ts }, timeOf(row.ts)),
      h('td', {}, pill(cls, statusLabel(row))),
      h('td', { class: 'tool' }, row.tool || '–'),
      h('td', { class: 'hide-sm muted' }, row.server || '–'),
      h('td', {}, row.identity || h('span', { class: 'muted' }, '–')),
      h('td', { class: 'hide-sm detail' }, detail),
      h(
        'td',
        { class: 'num hide-sm muted' },
        row.latency_ms === null || row.latency_ms === undefined ? '' : `${row.latency_ms < 10 ? row.latency_ms.toFixed(1) : Math.round(row.latency_ms)} ms`,
      ),
    );
    tr.addEventListener('click', () => toggleDetails(tr, row));
    body.prepend(tr);
    this.count++;
    while (body.rows.length > MAX_ROWS) body.lastElementChild?.remove();
  },
  updateEmpty() {
    $('calls-empty').hidden = /** @type {HTMLTableSectionElement} */ ($('calls')).rows.length > 0;
  },
};

/**
 * @param {HTMLTableRowElement} tr
 * @param {CallRow} row
 */
function toggleDetails(tr, row) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains('details')) {
    next.remove();
    return;
  }
  const kv = h('dl', { class: 'kv' });
  const items = [
    ['time', row.ts],
    ['instance', row.instance],
    ['session', row.session],
    ['reason', row.reason],
    ['rule', row.rule_pointer ? `${row.rule || ''} (${row.rule_pointer})` : row.rule],
    ['message', row.message],
    ['approval', row.approval_id],
    ['decided by', row.decided_by],
    ['args sha256', row.args_sha256],
    ['args', row.args === null || row.args === undefined ? null : JSON.stringify(row.args)],
    ['seq', row.seq],
  ];
  for (const [k, v] of items) if (v !== null && v !== undefined && v !== '') kv.append(h('dt', {}, k), h('dd', {}, String(v)));
  tr.after(h('tr', { class: 'details' }, h('td', { colspan: 7 }, kv)));
}

/**
 * @param {string} id
 * @param {string[] | undefined} values
 */
function fillList(id, values) {
  if (!values) return;
  $(id).replaceChildren(...values.map((v) => h('option', { value: v })));
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let filterTimer;
$('filters').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => live.start(), 300);
});
$('filters').addEventListener('reset', () => setTimeout(() => live.start(), 0));
$('filters').addEventListener('submit', (e) => e.preventDefault());
$('pause').addEventListener('click', () => {
  live.paused = !live.paused;
  $('pause').textContent = live.paused ? 'Resume' : 'Pause';
  if (!live.paused) {
    for (const row of live.buffered) live.add(row, true);
    live.buffered = [];
    live.updateEmpty();
  }
  live.setState(live.paused ? 'paused' : 'on', live.paused ? 'paused' : 'live');
});
