// @ts-check
// The overview page: totals, the two charts, top deny rules, gateways, the
// servers behind `toolgate serve`, and recent denials; reloaded every 5 s.
import { api, loadFailed } from './api.js';
import { drawCallsChart, drawDenyChart } from './charts.js';
import { $, h } from './dom.js';
import { ago, fmtInt, pct, pill, table, timeOf } from './format.js';
import { currentPage, setPending } from './shell.js';

let range = Number(localStorage.getItem('toolgate.range')) || 60;
/**
 * GET api/status (src/audit/report.ts, StatusReport) and GET api/servers (src/serve/supervisor.ts).
 * @typedef {{
 *   instances: Array<{ instance: string, server?: string | null, state: string, last_seen_ts?: string | null }>,
 *   top_deny_rules: Array<{ rule: string, count: number }>,
 *   recent_denials: Array<{ ts: string, tool: string | null, identity: string | null, rule: string | null, message: string | null }>
 * }} Status
 * @typedef {{
 *   server: string, start: string, target: string, state: string, connections: number, restarts: number,
 *   last_error: string | null, last_error_at: string | null
 * }} ServerHealth
 */

/** The stats last drawn (redrawn on resize). @type {import('./charts.js').Stats | undefined} */
let lastStats;

/**
 * @param {string} label
 * @param {string} value
 * @param {string} [sub]
 * @param {string} [cls]
 */
function kpi(label, value, sub, cls = '') {
  return h(
    'div',
    { class: `kpi ${cls}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null,
  );
}

export const overview = {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  timer: undefined,
  enter() {
    for (const b of document.querySelectorAll('#range button')) b.classList.toggle('on', Number(/** @type {HTMLElement} */ (b).dataset.range) === range);
    this.load();
    this.timer = setInterval(() => this.load(), 5000);
  },
  leave() {
    clearInterval(this.timer);
  },
  async load() {
    try {
      /** @type {[import('./charts.js').Stats, Status, { approvals: unknown[] }]} */
      const [stats, status, pending] = await Promise.all([api(`api/stats?range=${range}`), api('api/status?since=60'), api('api/approvals?status=pending')]);
      lastStats = stats;
      const t = stats.totals;
      const alive = status.instances.filter((i) => i.state === 'alive').length;
      const label = range < 60 ? `${range} min` : range === 60 ? 'last hour' : `${range / 60} h`;
      $('kpis').replaceChildren(
        kpi('Calls', fmtInt.format(t.calls), label, 'accent'),
        kpi('Allowed', fmtInt.format(t.allowed), t.calls ? pct(t.allowed / t.calls) : '–', 'allowed'),
        kpi('Denied', fmtInt.format(t.denied), t.errors ? `${fmtInt.format(t.errors)} errors` : 'no errors', 'denied'),
        kpi('Deny rate', t.calls ? pct(t.deny_rate) : '–', label, 'denied'),
        kpi('Pending approvals', fmtInt.format(pending.approvals.length), `${fmtInt.format(t.approvals)} requested`, 'pending'),
        kpi('Gateways alive', `${alive}`, `${status.instances.length} known`),
      );
      drawCallsChart($('chart-calls'), stats);
      drawDenyChart($('chart-deny'), stats);
      $('top-rules').replaceChildren(
        table(
          ['Rule', '#Denials'],
          status.top_deny_rules.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.rule)), h('td', { class: 'num' }, fmtInt.format(r.count)))),
          'No denials in the last hour.',
        ),
      );
      $('inst-count').textContent = `${alive} alive · ${status.instances.length} known`;
      $('instances').replaceChildren(
        table(
          ['Instance', 'Server', 'State', 'Last seen'],
          status.instances
            .slice()
            .reverse()
            .slice(0, 12)
            .map((i) =>
              h(
                'tr',
                {},
                h('td', {}, h('code', {}, i.instance)),
                h('td', {}, i.server || '–'),
                h('td', {}, pill(i.state === 'alive' ? 'allowed' : i.state === 'dead' ? 'denied' : 'plain', i.state)),
                h('td', { class: 'muted' }, i.last_seen_ts ? ago(i.last_seen_ts) : '–'),
              ),
            ),
          'No gateway has written to this state directory yet.',
        ),
      );
      $('recent-denials').replaceChildren(
        table(
          ['Time', 'Tool', 'Identity', 'Rule', 'Message'],
          status.recent_denials.map((d) =>
            h(
              'tr',
              {},
              h('td', { class: 'muted mono' }, timeOf(d.ts)),
              h('td', {}, h('strong', {}, d.tool || '–')),
              h('td', {}, d.identity || '–'),
              h('td', {}, d.rule ? h('code', {}, d.rule) : '–'),
              h('td', { class: 'muted' }, d.message || ''),
            ),
          ),
          'Nothing denied in the last hour.',
        ),
      );
      setPending(pending.approvals.length);
      await loadServers();
    } catch (err) {
      loadFailed(err, 'Could not load the overview');
    }
  },
};

/** The servers behind `toolgate serve` (the panel stays hidden for a dashboard running on its own). */
async function loadServers() {
  /** @type {{ servers: ServerHealth[] | null }} */
  const { servers } = await api('api/servers');
  $('servers-card').hidden = !Array.isArray(servers);
  if (!Array.isArray(servers)) return;
  /** @type {Record<string, string>} */
  const cls = { up: 'allowed', idle: 'plain', starting: 'approval', restarting: 'approval', down: 'denied' };
  $('servers').replaceChildren(
    table(
      ['Server', 'Upstream', 'State', 'Connections', 'Restarts', 'Last error'],
      servers.map((s) =>
        h(
          'tr',
          {},
          h('td', {}, h('strong', {}, s.server), h('div', { class: 'muted small' }, s.start)),
          h('td', {}, h('code', {}, s.target)),
          h('td', {}, pill(cls[s.state] || 'plain', s.state)),
          h('td', { class: 'num' }, fmtInt.format(s.connections)),
          h('td', { class: 'num' }, fmtInt.format(s.restarts)),
          h('td', { class: 'muted' }, s.last_error ? `${s.last_error} (${ago(s.last_error_at)})` : '–'),
        ),
      ),
      'No servers configured.',
    ),
  );
}

$('range').addEventListener('click', (e) => {
  const b = /** @type {HTMLElement | null} */ (e.target instanceof Element ? e.target.closest('button') : null);
  if (!b) return;
  range = Number(b.dataset.range);
  localStorage.setItem('toolgate.range', String(range));
  for (const x of document.querySelectorAll('#range button')) x.classList.toggle('on', x === b);
  overview.load();
});
/** @type {ReturnType<typeof setTimeout> | undefined} */
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (currentPage() === 'overview' && lastStats) {
      drawCallsChart($('chart-calls'), lastStats);
      drawDenyChart($('chart-deny'), lastStats);
    }
  }, 120);
});
