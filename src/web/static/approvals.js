// @ts-check
// The approvals page: calls held for a human, with Approve and Deny (admin
// only; the server checks the role too), and the recent decisions.
import { ApiError, api, loadFailed, me, messageOf, toast } from './api.js';
import { h, $ } from './dom.js';
import { ago, dateTime, duration, pill, table } from './format.js';
import { setPending } from './shell.js';

/**
 * A held call as GET api/approvals lists it (src/approval/types.ts, approvalJson).
 * @typedef {{
 *   id: string, status: string, tool: string, identity: string | null, rule: string, rule_pointer: string,
 *   message: string | null, approvers: string[], args_preview: unknown, created_at: string, expires_at: string,
 *   decided_at: string | null, decided_by: string | null, reason: string | null
 * }} Approval
 */

const actingAs = /** @type {HTMLInputElement} */ ($('acting-as'));
actingAs.value = localStorage.getItem('toolgate.actingAs') || 'dashboard';
actingAs.addEventListener('change', () => localStorage.setItem('toolgate.actingAs', actingAs.value.trim() || 'dashboard'));

export const approvals = {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  timer: undefined,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  tick: undefined,
  /** Ids being decided now: their cards stay as they are. @type {Set<string>} */
  busy: new Set(),
  enter() {
    this.load();
    this.timer = setInterval(() => this.load(), 1500);
    this.tick = setInterval(() => {
      for (const el of document.querySelectorAll('[data-expires]'))
        el.textContent = `expires in ${duration(Date.parse(/** @type {HTMLElement} */ (el).dataset.expires ?? '') - Date.now())}`;
    }, 1000);
  },
  leave() {
    clearInterval(this.timer);
    clearInterval(this.tick);
  },
  async load() {
    /** @type {Approval[]} */
    let list;
    try {
      list = (await api('api/approvals?limit=100')).approvals;
    } catch (err) {
      loadFailed(err, 'Could not load approvals');
      return;
    }
    const pending = list.filter((a) => a.status === 'pending');
    setPending(pending.length);
    const box = $('pending');
    // Keep cards being typed into; replace the rest.
    const keep = new Map([...box.querySelectorAll('.approval-card')].map((el) => [/** @type {HTMLElement} */ (el).dataset.id, el]));
    const cards = pending.map((a) => {
      const old = keep.get(a.id);
      if (old && (this.busy.has(a.id) || old.querySelector('.deny-box:not([hidden])'))) return old;
      return approvalCard(a);
    });
    if (cards.length === 0)
      box.replaceChildren(
        h('div', { class: 'empty-state' }, h('strong', {}, 'Nothing is waiting for you'), 'Calls that a policy holds with require_approval show up here.'),
      );
    else box.replaceChildren(...cards);
    const decided = list.filter((a) => a.status !== 'pending').slice(0, 25);
    $('decided').replaceChildren(
      table(
        ['Decided', 'Status', 'Tool', 'Identity', 'By', 'Reason'],
        decided.map((a) =>
          h(
            'tr',
            {},
            h('td', { class: 'muted mono' }, a.decided_at ? dateTime(a.decided_at) : '–'),
            h('td', {}, pill(a.status === 'approved' ? 'allowed' : a.status === 'denied' ? 'denied' : 'plain', a.status)),
            h('td', {}, h('strong', {}, a.tool)),
            h('td', {}, a.identity || '–'),
            h('td', {}, a.decided_by || '–'),
            h('td', { class: 'muted' }, a.reason || ''),
          ),
        ),
        'No decisions yet.',
      ),
    );
  },
  /**
   * @param {Approval} a
   * @param {boolean} approve
   * @param {string} [reason]
   */
  async decide(a, approve, reason) {
    this.busy.add(a.id);
    const by = actingAs.value.trim() || 'dashboard';
    try {
      const body = JSON.stringify(approve ? { by, ...(reason ? { reason } : {}) } : { by, reason });
      await api(`api/approvals/${encodeURIComponent(a.id)}/${approve ? 'approve' : 'deny'}`, { method: 'POST', body });
      toast(`${approve ? 'Approved' : 'Denied'}: ${a.tool}${a.identity ? ` for ${a.identity}` : ''}`);
    } catch (err) {
      if (messageOf(err) !== 'signed out')
        toast(
          err instanceof ApiError && err.status === 403 && me.role !== 'admin'
            ? 'Viewer keys are read-only: sign in with the admin key to decide.'
            : `Could not ${approve ? 'approve' : 'deny'}: ${messageOf(err)}`,
          true,
        );
    } finally {
      this.busy.delete(a.id);
      this.load();
    }
  },
};

/** @param {Approval} a */
function approvalCard(a) {
  const admin = me.role === 'admin';
  const reason = h('input', { type: 'text', placeholder: 'Reason (sent to the agent)', maxlength: 500, 'aria-label': 'Reason for denying' });
  const sendDeny = h('button', { type: 'button', class: 'btn btn-deny btn-sm', 'data-action': 'confirm-deny' }, 'Deny call');
  const denyBox = h('div', { class: 'deny-box', hidden: true }, reason, sendDeny);
  const approveBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-approve',
      'data-action': 'approve',
      disabled: !admin,
      title: admin ? 'Release this exact call' : 'Viewer keys are read-only',
    },
    'Approve',
  );
  const denyBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-deny',
      'data-action': 'deny',
      disabled: !admin,
      title: admin ? 'Refuse this call, with a reason' : 'Viewer keys are read-only',
    },
    'Deny…',
  );
  const card = h(
    'article',
    { class: 'approval-card', 'data-id': a.id },
    h(
      'div',
      {},
      h('h3', {}, h('span', { class: 'tool-name' }, a.tool), pill('approval', 'pending')),
      h(
        'div',
        { class: 'meta' },
        h('span', {}, 'identity ', h('strong', {}, a.identity || 'anonymous')),
        h('span', {}, 'rule ', h('strong', {}, a.rule), ' ', h('code', {}, a.rule_pointer)),
        h('span', { title: a.created_at }, `requested ${ago(a.created_at)}`),
        a.approvers && a.approvers.length ? h('span', {}, `approvers: ${a.approvers.join(', ')}`) : null,
        h('span', { class: 'mono' }, a.id),
      ),
      a.message ? h('p', { class: 'message' }, a.message) : null,
      h('pre', {}, JSON.stringify(a.args_preview ?? {}, null, 2)),
    ),
    h(
      'div',
      { class: 'actions' },
      h('div', { class: 'expires', 'data-expires': a.expires_at }, `expires in ${duration(Date.parse(a.expires_at) - Date.now())}`),
      approveBtn,
      denyBtn,
      denyBox,
    ),
  );
  approveBtn.addEventListener('click', () => {
    approveBtn.disabled = denyBtn.disabled = true;
    card.classList.add('done');
    approvals.decide(a, true);
  });
  denyBtn.addEventListener('click', () => {
    denyBox.hidden = !denyBox.hidden;
    if (!denyBox.hidden) reason.focus();
  });
  const confirmDeny = () => {
    const text = reason.value.trim();
    if (!text) {
      reason.focus();
      toast('A denial needs a reason: the agent will see it.', true);
      return;
    }
    sendDeny.disabled = approveBtn.disabled = denyBtn.disabled = true;
    card.classList.add('done');
    approvals.decide(a, false, text);
  };
  sendDeny.addEventListener('click', confirmDeny);
  reason.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') confirmDeny();
  });
  return card;
}
