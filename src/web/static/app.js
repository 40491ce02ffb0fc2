// @ts-check
// toolgate dashboard front end: vanilla JavaScript as ES modules, one per view,
// no framework, no build step. Every URL is relative, so the dashboard works
// under any base path. This module starts it: who is signed in, then the pages.
import { api, me } from './api.js';
import { approvals } from './approvals.js';
import { catalogue } from './catalogue.js';
import { $ } from './dom.js';
import { live } from './live.js';
import { overview } from './overview.js';
import { quotas } from './quotas.js';
import { currentPage, setPending, startRouter } from './shell.js';

async function start() {
  try {
    Object.assign(me, await api('api/me'));
  } catch {
    return;
  }
  const badge = $('role-badge');
  badge.textContent = me.role;
  badge.className = `role ${me.role}`;
  badge.title = me.role === 'admin' ? 'Admin: you can approve and deny' : 'Viewer: read only';
  startRouter({ overview, live, approvals, catalogue, quotas });
  // Keep the pending badge fresh on every page.
  setInterval(async () => {
    if (currentPage() === 'approvals' || currentPage() === 'overview') return;
    try {
      setPending((await api('api/approvals?status=pending')).approvals.length);
    } catch {
      // shown when the page itself loads
    }
  }, 3000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
