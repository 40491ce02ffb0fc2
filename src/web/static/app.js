// toolgate dashboard front end: vanilla JavaScript, no framework, no build step.
// Every URL is relative, so the dashboard works under any base path.
'use strict';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

/** Create an element: h('td', { class: 'x', onclick: fn }, 'text', child). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  setProps(el, attrs);
  append(el, children);
  return el;
}
function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}
function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// ---- API ----------------------------------------------------------------------

let me = { role: 'viewer' };

async function api(path, opts = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(opts.body ? { 'content-type': 'application/json' } : {}) },
    ...opts,
  });
  if (res.status === 401) {
    location.href = 'login';
    throw new Error('signed out');
  }
  let body = {};
  try {
    body = await res.json();
  } catch {
    // empty body
  }
  if (!res.ok) {
    const err = new Error(body.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

function toast(message, bad = false) {
  const t = $('toast');
  t.textContent = message;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 3500);
}

// ---- formatting ---------------------------------------------------------------

const fmtInt = new Intl.NumberFormat();
const pct = (x) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
function timeOf(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}
function dateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${timeOf(iso)}`;
}
function ago(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  if (ms < 5000) return 'just now';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}
function duration(ms) {
  if (ms <= 0) return '0s';
  const sec = Math.ceil(ms / 1000);
  if (sec < 60) return `${sec}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${String(sec % 60).padStart(2, '0')}s`;
  const hr = Math.floor(m / 60);
  return `${hr}h ${String(m % 60).padStart(2, '0')}m`;
}
function pill(status, label) {
  return h('span', { class: `pill ${status}` }, label || status);
}
function statusLabel(row) {
  if (row.status === 'approval') return row.detail === 'requested' ? 'pending' : `approval ${row.detail}`;
  return row.status;
}
function statusClass(row) {
  if (row.status !== 'approval') return row.status;
  return row.detail === 'approved' ? 'allowed' : row.detail === 'requested' ? 'approval' : 'denied';
}

// ---- router -------------------------------------------------------------------

const pages = {};
let current;

function route() {
  const name = (location.hash.replace(/^#\/?/, '') || 'overview').split('?')[0];
  const page = pages[name] ? name : 'overview';
  if (current && current !== page) pages[current].leave?.();
  for (const sec of document.querySelectorAll('.page')) sec.hidden = sec.id !== `page-${page}`;
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('on', a.dataset.page === page);
  if (current !== page) {
    current = page;
    pages[page].enter();
  }
}

// ---- charts (inline SVG) ---------------------------------------------------------

/** A top for a 4-gridline axis whose ticks are round numbers (1, 2, 5 times a power of ten). */
function niceMax(v) {
  const raw = Math.max(v, 0.4) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of p >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]) if (m * p >= raw - 1e-9) return 4 * m * p;
  return 40 * p;
}
function fmtTick(v) {
  if (v >= 1000) return `${fmtInt.format(Math.round(v / 100) / 10)}k`;
  return Number.isInteger(Math.round(v * 1000) / 1000) ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
}
function bucketLabel(iso, bucketMinutes, rangeMinutes) {
  const d = new Date(iso);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return rangeMinutes > 1440 ? `${d.toLocaleDateString([], { weekday: 'short' })} ${hm}` : hm;
}

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

function chartFrame(el) {
  const width = Math.max(280, el.clientWidth || 600);
  const height = 220;
  const pad = { l: 40, r: 10, t: 10, b: 26 };
  return { width, height, pad, iw: width - pad.l - pad.r, ih: height - pad.t - pad.b };
}

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

function tipText(b, stats) {
  const span = stats.bucket_minutes === 1 ? 'minute' : `${stats.bucket_minutes} minutes`;
  return `${dateTime(b.t)} (${span})\n${fmtInt.format(b.calls)} calls · ${b.per_minute}/min\n${fmtInt.format(b.allowed)} allowed · ${fmtInt.format(b.denied)} denied · ${fmtInt.format(b.errors)} errors\ndeny rate ${b.calls ? pct(b.deny_rate) : '–'}${b.approvals ? `\n${b.approvals} approval request(s)` : ''}`;
}

function drawCallsChart(el, stats) {
  const f = chartFrame(el);
  const bm = stats.bucket_minutes;
  const rate = (x) => x / bm;
  const max = niceMax(Math.max(...stats.buckets.map((b) => rate(b.calls)), 1));
  const svg = s('svg', { viewBox: `0 0 ${f.width} ${f.height}`, role: 'img', 'aria-label': 'Calls per minute' });
  svg.append(axes(f, stats.buckets, max, fmtTick, stats));
  const n = stats.buckets.length;
  const slot = f.iw / n;
  const bw = Math.max(1, Math.min(28, slot * 0.72));
  const scale = (v) => (f.ih * v) / max;
  stats.buckets.forEach((b, i) => {
    const x = f.pad.l + slot * i + (slot - bw) / 2;
    const col = s('g', { class: 'col' });
    col.append(s('rect', { class: 'hover', x: f.pad.l + slot * i, y: f.pad.t, width: slot, height: f.ih }));
    let y = f.pad.t + f.ih;
    for (const [key, cls] of [
      ['allowed', 'b-allowed'],
      ['errors', 'b-error'],
      ['denied', 'b-denied'],
    ]) {
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

function drawDenyChart(el, stats) {
  const f = chartFrame(el);
  const svg = s('svg', { viewBox: `0 0 ${f.width} ${f.height}`, role: 'img', 'aria-label': 'Deny rate' });
  svg.append(axes(f, stats.buckets, 1, (v) => `${Math.round(v * 100)}%`, stats));
  const n = stats.buckets.length;
  const xOf = (i) => f.pad.l + (f.iw * (i + 0.5)) / n;
  const yOf = (v) => f.pad.t + f.ih - f.ih * v;
  // One path per run of buckets that had calls: no calls is no rate, not 0%.
  const runs = [];
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

// ---- overview -------------------------------------------------------------------

let range = Number(localStorage.getItem('toolgate.range')) || 60;
let lastStats;

function kpi(label, value, sub, cls = '') {
  return h(
    'div',
    { class: `kpi ${cls}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null,
  );
}

function table(head, rows, empty, cls = '') {
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

pages.overview = {
  timer: undefined,
  enter() {
    for (const b of document.querySelectorAll('#range button')) b.classList.toggle('on', Number(b.dataset.range) === range);
    this.load();
    this.timer = setInterval(() => this.load(), 5000);
  },
  leave() {
    clearInterval(this.timer);
  },
  async load() {
    try {
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
      if (err.message !== 'signed out') toast(`Could not load the overview: ${err.message}`, true);
    }
  },
};

/** The servers behind `toolgate serve` (the panel stays hidden for a dashboard running on its own). */
async function loadServers() {
  const { servers } = await api('api/servers');
  $('servers-card').hidden = !Array.isArray(servers);
  if (!Array.isArray(servers)) return;
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
  const b = e.target.closest('button');
  if (!b) return;
  range = Number(b.dataset.range);
  localStorage.setItem('toolgate.range', String(range));
  for (const x of document.querySelectorAll('#range button')) x.classList.toggle('on', x === b);
  pages.overview.load();
});
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (current === 'overview' && lastStats) {
      drawCallsChart($('chart-calls'), lastStats);
      drawDenyChart($('chart-deny'), lastStats);
    }
  }, 120);
});

// ---- live calls -------------------------------------------------------------------

const MAX_ROWS = 500;
const live = {
  source: undefined,
  paused: false,
  buffered: [],
  count: 0,
  filter() {
    const fd = new FormData($('filters'));
    const q = new URLSearchParams();
    for (const [k, v] of fd) if (String(v).trim()) q.set(k, String(v).trim());
    return q;
  },
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
      if (err.message === 'signed out') return;
      toast(`Could not load calls: ${err.message}`, true);
    }
    this.updateEmpty();
    if (current !== 'live') return;
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
  add(row, fresh) {
    const body = $('calls');
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
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  },
  updateEmpty() {
    $('calls-empty').hidden = $('calls').rows.length > 0;
  },
};
pages.live = live;

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

function fillList(id, values) {
  if (!values) return;
  $(id).replaceChildren(...values.map((v) => h('option', { value: v })));
}

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

// ---- approvals ------------------------------------------------------------------

function setPending(n) {
  const c = $('pending-count');
  c.textContent = String(n);
  c.hidden = n === 0;
  document.title = n > 0 ? `(${n}) toolgate dashboard` : 'toolgate dashboard';
}

const actingAs = $('acting-as');
actingAs.value = localStorage.getItem('toolgate.actingAs') || 'dashboard';
actingAs.addEventListener('change', () => localStorage.setItem('toolgate.actingAs', actingAs.value.trim() || 'dashboard'));

pages.approvals = {
  timer: undefined,
  tick: undefined,
  busy: new Set(),
  enter() {
    this.load();
    this.timer = setInterval(() => this.load(), 1500);
    this.tick = setInterval(() => {
      for (const el of document.querySelectorAll('[data-expires]')) el.textContent = `expires in ${duration(Date.parse(el.dataset.expires) - Date.now())}`;
    }, 1000);
  },
  leave() {
    clearInterval(this.timer);
    clearInterval(this.tick);
  },
  async load() {
    let list;
    try {
      list = (await api('api/approvals?limit=100')).approvals;
    } catch (err) {
      if (err.message !== 'signed out') toast(`Could not load approvals: ${err.message}`, true);
      return;
    }
    const pending = list.filter((a) => a.status === 'pending');
    setPending(pending.length);
    const box = $('pending');
    // Keep cards being typed into; replace the rest.
    const keep = new Map([...box.querySelectorAll('.approval-card')].map((el) => [el.dataset.id, el]));
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
  async decide(a, approve, reason) {
    this.busy.add(a.id);
    const by = actingAs.value.trim() || 'dashboard';
    try {
      const body = JSON.stringify(approve ? { by, ...(reason ? { reason } : {}) } : { by, reason });
      await api(`api/approvals/${encodeURIComponent(a.id)}/${approve ? 'approve' : 'deny'}`, { method: 'POST', body });
      toast(`${approve ? 'Approved' : 'Denied'}: ${a.tool}${a.identity ? ` for ${a.identity}` : ''}`);
    } catch (err) {
      if (err.message !== 'signed out')
        toast(
          err.status === 403 && me.role !== 'admin'
            ? 'Viewer keys are read-only: sign in with the admin key to decide.'
            : `Could not ${approve ? 'approve' : 'deny'}: ${err.message}`,
          true,
        );
    } finally {
      this.busy.delete(a.id);
      this.load();
    }
  },
};

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
    pages.approvals.decide(a, true);
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
    pages.approvals.decide(a, false, text);
  };
  sendDeny.addEventListener('click', confirmDeny);
  reason.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') confirmDeny();
  });
  return card;
}

// ---- catalogue ----------------------------------------------------------------------

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

function policyCell(t, server) {
  if (!t.policy) return h('span', { class: 'muted' }, server.policy_file ? 'policy unreadable' : 'policy unknown');
  const p = t.policy;
  if (p.visibility === 'hidden') return pill('denied', 'hidden');
  if (p.visibility === 'unlisted') return pill('denied', 'not listed · default deny');
  if (p.rules.length === 0) return h('span', { class: 'muted' }, p.summary);
  return h('ul', { class: 'rules' }, p.rules.map(ruleLine));
}

/** The catalogue page of one tool, folded under its name: reasons, recommended rule, attacks, controls. */
function toolPageView(t) {
  const p = t.page;
  const block = (title, text) => h('div', { class: 'page-block' }, h('h4', {}, title), h('pre', {}, text));
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

pages.catalogue = {
  async enter() {
    let servers;
    try {
      servers = (await api('api/catalogue')).servers;
    } catch (err) {
      if (err.message !== 'signed out') toast(`Could not load the catalogue: ${err.message}`, true);
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

// ---- quotas ------------------------------------------------------------------------

pages.quotas = {
  timer: undefined,
  enter() {
    this.load();
    this.timer = setInterval(() => this.load(), 3000);
  },
  leave() {
    clearInterval(this.timer);
  },
  async load() {
    let res;
    try {
      res = await api('api/counters');
    } catch (err) {
      if (err.message !== 'signed out') toast(`Could not load counters: ${err.message}`, true);
      return;
    }
    const groups = new Map();
    for (const c of res.counters) {
      const g = c.partition === 'identity' ? `grant ${c.grant || '(anonymous)'}` : c.partition === 'session' ? 'per session' : 'shared by all callers';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(c);
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
                bar.firstChild.style.width = `${Math.round(frac * 100)}%`;
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

// ---- start --------------------------------------------------------------------------

async function start() {
  try {
    me = await api('api/me');
  } catch {
    return;
  }
  const badge = $('role-badge');
  badge.textContent = me.role;
  badge.className = `role ${me.role}`;
  badge.title = me.role === 'admin' ? 'Admin: you can approve and deny' : 'Viewer: read only';
  window.addEventListener('hashchange', route);
  route();
  // Keep the pending badge fresh on every page.
  setInterval(async () => {
    if (current === 'approvals' || current === 'overview') return;
    try {
      setPending((await api('api/approvals?status=pending')).approvals.length);
    } catch {
      // shown when the page itself loads
    }
  }, 3000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
