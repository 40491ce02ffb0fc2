// @ts-check
// The quotas page: counters in their current windows, grouped by grant, with
// the quota a policy sets; and the grants. Reloaded every 3 s.
import { api, loadFailed } from './api.js';
import { $, h } from './dom.js';
import { dateTime, duration, fmtInt, pill, table } from './format.js';

/**
 * What GET api/counters sends (src/web/counters.ts: CounterView, GrantView).
 * @typedef {{
 *   key: string, counter: string, partition: string, grant: string | null, session: string | null, window: string,
 *   window_start: string, window_end: string, value: number, limit: number | null
 * }} Counter
 * @typedef {{ name: string, status: string, policy: string, token_hint: string, created_at: string, expires_at: string | null }} Grant
 */

export const quotas = {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  timer: undefined,
  enter() {
    this.load();
    this.timer = setInterval(() => this.load(), 3000);
  },
  leave() {
    clearInterval(this.timer);
  },
  async load() {
    /** @type {{ counters: Counter[], grants: Grant[], now: string }} */
    let res;
    try {
      res = await api('api/counters');
    } catch (err) {
      loadFailed(err, 'Could not load counters');
      return;
    }
    /** @type {Map<string, Counter[]>} */
    const groups = new Map();
    for (const c of res.counters) {
      const g = c.partition === 'identity' ? `grant ${c.grant || '(anonymous)'}` : c.partition === 'session' ? 'per session' : 'shared by all callers';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)?.push(c);
    }
    if (groups.size === 0) {
      $('quotas').replaceChildren(
        h(
          'div',
          { class: 'empty-state' },
          h('strong', {}, 'No counters in their current window'),
          'Rate limits and quotas in a policy count calls here as they happen.',
        ),
      );
    } else {
      $('quotas').replaceChildren(
        ...[...groups].map(([name, list]) =>
          h(
            'div',
            { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, name), h('span', { class: 'muted small' }, `${list.length} counter${list.length === 1 ? '' : 's'}`)),
            table(
              ['Counter', 'Window', '#Value', '#Quota', 'Usage', 'Resets'],
              list.map((c) => {
                const frac = c.limit ? Math.min(1, c.value / c.limit) : 0;
                const bar = h('div', { class: `bar ${frac >= 1 ? 'full' : frac >= 0.8 ? 'warn' : ''}` }, h('span'));
                /** @type {HTMLElement} */ (bar.firstChild).style.width = `${Math.round(frac * 100)}%`;
                return h(
                  'tr',
                  {},
                  h('td', {}, h('code', {}, c.counter), c.session ? h('div', { class: 'muted small mono' }, `session ${c.session.slice(0, 8)}`) : null),
                  h('td', {}, c.window),
                  h('td', { class: 'num' }, fmtInt.format(c.value)),
                  h('td', { class: 'num' }, c.limit === null ? h('span', { class: 'muted' }, '–') : fmtInt.format(c.limit)),
                  h('td', {}, c.limit === null ? h('span', { class: 'muted small' }, 'no quota known') : bar),
                  h('td', { class: 'muted', title: c.window_end }, `in ${duration(Date.parse(c.window_end) - Date.parse(res.now))}`),
                );
              }),
              '',
              'fixed',
            ),
          ),
        ),
      );
    }
    $('grants').replaceChildren(
      table(
        ['Grant', 'Status', 'Policy', 'Token', 'Created', 'Expires'],
        res.grants.map((g) =>
          h(
            'tr',
            {},
            h('td', {}, h('strong', {}, g.name)),
            h('td', {}, pill(g.status === 'active' ? 'allowed' : 'denied', g.status)),
            h('td', {}, h('code', {}, g.policy)),
            h('td', { class: 'mono muted' }, `${g.token_hint}…`),
            h('td', { class: 'muted' }, dateTime(g.created_at)),
            h('td', { class: 'muted' }, g.expires_at ? dateTime(g.expires_at) : 'never'),
          ),
        ),
        'No grants in this state directory (toolgate grant create NAME).',
      ),
    );
  },
};
