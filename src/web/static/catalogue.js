// @ts-check
// The catalogue page: pinned tools per server, their risk class and catalogue
// page, and the rules of the policy that guards them.
import { api, loadFailed } from './api.js';
import { $, h } from './dom.js';
import { ago, pill } from './format.js';

/**
 * What GET api/catalogue sends (src/web/catalogue.ts: ServerView, ToolView, RuleView).
 * @typedef {{
 *   name: string, pointer: string, action: string, conditions: string[], identities: string[] | null,
 *   counter: { key: string, window: string, limit: number | null, partition: string } | null
 * }} Rule
 * @typedef {{ visibility: 'visible' | 'hidden' | 'unlisted', summary: string, rules: Rule[] }} ToolPolicy
 * @typedef {{
 *   name: string, description: string | null, category: string, risk: string, confidence: number, reasons: string[],
 *   page: {
 *     rule: { yaml: string, json: unknown }, attack_patterns: Array<{ name: string, what: string }>,
 *     attack_pages: Array<{ title: string, href: string }>, how_to: { rate_limit: string, deny: string, approval: string }
 *   },
 *   hash: string, pinned_at: string, changed: { hash: string, seen_at: string } | null, policy: ToolPolicy | null
 * }} Tool
 * @typedef {{
 *   server: string, policy_file: string | null, policy_hash: string | null, policy_error: string | null,
 *   last_started: string | null, tools: Tool[]
 * }} Server
 */

/** @param {Rule} r */
function ruleLine(r) {
  const what =
    r.action === 'require_approval'
      ? 'approval'
      : r.counter
        ? `limit ${r.counter.limit ?? '?'}/${r.counter.window}${r.counter.partition !== 'global' ? ` per ${r.counter.partition}` : ''}`
        : r.action === 'evaluate'
          ? 'require'
          : r.action;
  const cls = r.action === 'deny' ? 'denied' : r.action === 'require_approval' ? 'approval' : r.action === 'allow' ? 'allowed' : 'plain';
  return h(
    'li',
    {},
    pill(cls, what),
    ' ',
    h('strong', {}, r.name),
    r.conditions.length ? h('span', { class: 'muted' }, ` when ${r.conditions.join(' and ')}`) : null,
    r.identities ? h('span', { class: 'muted' }, ` (for ${r.identities.join(', ')})`) : null,
    ' ',
    h('code', {}, r.pointer),
  );
}

/**
 * @param {Tool} t
 * @param {Server} server
 */
function policyCell(t, server) {
  if (!t.policy) return h('span', { class: 'muted' }, server.policy_file ? 'policy unreadable' : 'policy unknown');
  const p = t.policy;
  if (p.visibility === 'hidden') return pill('denied', 'hidden');
  if (p.visibility === 'unlisted') return pill('denied', 'not listed · default deny');
  if (p.rules.length === 0) return h('span', { class: 'muted' }, p.summary);
  return h('ul', { class: 'rules' }, p.rules.map(ruleLine));
}

/** The catalogue page of one tool, folded under its name: reasons, recommended rule, attacks, controls. */
/** @param {Tool} t */
function toolPageView(t) {
  const p = t.page;
  const block = (/** @type {string} */ title, /** @type {string} */ text) => h('div', { class: 'page-block' }, h('h4', {}, title), h('pre', {}, text));
  return h(
    'details',
    { class: 'tool-page', 'data-tool': t.name },
    h('summary', {}, h('span', { class: 'tool-name' }, t.name)),
    t.description ? h('div', { class: 'tool-desc' }, t.description) : null,
    h(
      'div',
      { class: 'page-body' },
      h('p', { class: 'page-class' }, `${t.category} · risk ${t.risk} · confidence ${t.confidence.toFixed(2)}${t.confidence < 0.5 ? ' (review by hand)' : ''}`),
      h(
        'ul',
        { class: 'page-reasons' },
        t.reasons.map((r) => h('li', {}, r)),
      ),
      h(
        'div',
        { class: 'page-rule' },
        block('Recommended rule (what toolgate scan writes)', p.rule.yaml),
        block('As PolicyLayer JSON', JSON.stringify({ [t.name]: p.rule.json }, null, 2)),
      ),
      h('h4', {}, `Attack patterns of ${t.category} tools`),
      h(
        'ul',
        { class: 'page-attacks' },
        p.attack_patterns.map((a) => h('li', {}, h('strong', {}, a.name), `: ${a.what}`)),
      ),
      h('h4', {}, 'How toolgate stops them (attack library)'),
      h(
        'ul',
        { class: 'page-attack-pages' },
        p.attack_pages.map((a) => h('li', {}, h('a', { href: a.href, target: '_blank', rel: 'noopener' }, a.title))),
      ),
      h(
        'div',
        { class: 'page-howto' },
        block('Rate-limit it', p.how_to.rate_limit),
        block('Deny it', p.how_to.deny),
        block('Require approval', p.how_to.approval),
      ),
    ),
  );
}

export const catalogue = {
  async enter() {
    /** @type {Server[]} */
    let servers;
    try {
      servers = (await api('api/catalogue')).servers;
    } catch (err) {
      loadFailed(err, 'Could not load the catalogue');
      return;
    }
    if (servers.length === 0) {
      $('catalogue').replaceChildren(
        h(
          'div',
          { class: 'empty-state' },
          h('strong', {}, 'No pinned tools yet'),
          'A gateway pins every tool the first time it lists it (toolgate pins, or the first tools/list).',
        ),
      );
      return;
    }
    /** @type {Record<string, number>} */
    const order = { Critical: 0, High: 1, Medium: 2, Low: 3 };
    $('catalogue').replaceChildren(
      ...servers.map((srv) =>
        h(
          'div',
          { class: 'card' },
          h(
            'div',
            { class: 'server-head' },
            h('h2', {}, srv.server),
            h(
              'span',
              { class: 'muted small' },
              srv.policy_file
                ? ['policy ', h('code', {}, srv.policy_file), srv.policy_hash ? ` · ${srv.policy_hash.slice(0, 12)}` : '']
                : 'no policy known for this server',
              srv.last_started ? ` · started ${ago(srv.last_started)}` : '',
            ),
          ),
          srv.policy_error ? h('p', { class: 'alert' }, srv.policy_error) : null,
          h(
            'table',
            { class: 'table' },
            h(
              'thead',
              {},
              h('tr', {}, h('th', {}, 'Tool'), h('th', {}, 'Class'), h('th', {}, 'Risk'), h('th', {}, 'Policy'), h('th', { class: 'hide-sm' }, 'Pin')),
            ),
            h(
              'tbody',
              {},
              srv.tools
                .slice()
                .sort((a, b) => order[a.risk] - order[b.risk] || a.name.localeCompare(b.name))
                .map((t) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, toolPageView(t)),
                    h('td', {}, h('span', { class: 'cat', title: t.reasons.join('\n') }, t.category)),
                    h('td', {}, h('span', { class: `risk ${t.risk}`, title: t.reasons.join('\n') }, t.risk)),
                    h('td', {}, policyCell(t, srv)),
                    h(
                      'td',
                      { class: 'hide-sm' },
                      t.changed ? pill('approval', 'changed') : h('span', { class: 'muted mono', title: `pinned ${t.pinned_at}` }, t.hash.slice(0, 10)),
                    ),
                  ),
                ),
            ),
          ),
        ),
      ),
    );
  },
};
