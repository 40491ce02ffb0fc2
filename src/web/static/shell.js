// @ts-check
// The frame around the pages: which page shows (the hash names it), and the
// pending-approvals badge in the tabs.
import { $ } from './dom.js';

/** @typedef {{ enter(): void, leave?(): void }} Page */

/** @type {Record<string, Page>} */
let pages = {};
/** @type {string | undefined} */
let current;

/** The page showing now (undefined before the first route). */
export const currentPage = () => current;

function route() {
  const name = (location.hash.replace(/^#\/?/, '') || 'overview').split('?')[0] ?? '';
  const page = pages[name] ? name : 'overview';
  if (current && current !== page) pages[current]?.leave?.();
  for (const sec of document.querySelectorAll('.page')) /** @type {HTMLElement} */ (sec).hidden = sec.id !== `page-${page}`;
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('on', /** @type {HTMLElement} */ (a).dataset.page === page);
  if (current !== page) {
    current = page;
    pages[page]?.enter();
  }
}

/**
 * Show the page the hash names, and follow the hash from now on.
 * @param {Record<string, Page>} all
 */
export function startRouter(all) {
  pages = all;
  window.addEventListener('hashchange', route);
  route();
}

/**
 * The number of calls waiting for a decision, in the tab and the window title.
 * @param {number} n
 */
export function setPending(n) {
  const c = $('pending-count');
  c.textContent = String(n);
  c.hidden = n === 0;
  document.title = n > 0 ? `(${n}) toolgate dashboard` : 'toolgate dashboard';
}
