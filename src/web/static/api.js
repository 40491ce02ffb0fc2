// @ts-check
// Talking to the dashboard's API (relative URLs, so any base path works), who
// the caller is, and the toast that tells a person what went wrong.
import { $ } from './dom.js';

/** @typedef {{ role: 'admin' | 'viewer', via?: string, state_dir?: string, audit?: string, poll_ms?: number }} Me */

/** The signed-in caller (GET api/me), filled in at start. @type {Me} */
export const me = { role: 'viewer' };

/** An answer other than 2xx: the server's message and the status. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/**
 * GET or send JSON; a 401 sends the browser to the sign-in page (and throws "signed out").
 * @param {string} path
 * @param {RequestInit} [opts]
 * @returns {Promise<any>}
 */
export async function api(path, opts = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(opts.body ? { 'content-type': 'application/json' } : {}) },
    ...opts,
  });
  if (res.status === 401) {
    location.href = 'login';
    throw new Error('signed out');
  }
  /** @type {any} */
  let body = {};
  try {
    body = await res.json();
  } catch {
    // empty body
  }
  if (!res.ok) throw new ApiError(body.message || `${res.status} ${res.statusText}`, res.status);
  return body;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;

/**
 * Show a short message at the bottom of the page.
 * @param {string} message
 * @param {boolean} [bad]
 */
export function toast(message, bad = false) {
  const t = $('toast');
  t.textContent = message;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 3500);
}

/**
 * The message of a thrown value.
 * @param {unknown} err
 */
export const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/**
 * Tell the person a load failed (`what: message`), unless the failure is that they were signed out.
 * @param {unknown} err
 * @param {string} what
 */
export function loadFailed(err, what) {
  if (messageOf(err) !== 'signed out') toast(`${what}: ${messageOf(err)}`, true);
}
