// The init page: plain HTML, CSS and JavaScript, no external assets, served from these strings
// (no files to copy into dist). Every text that comes from a server or a config file (tool
// names, descriptions, commands) is set with textContent, never parsed as HTML.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>toolgate init</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><h1>toolgate init</h1>
<p>Choose what each tool may do. Saving writes one policy per server and rewrites the client config so every server runs through toolgate (a backup is kept: <code>toolgate init --undo</code> restores it).</p></header>
<main>
<p id="status" role="status">Loading…</p>
<div id="files"></div>
<div id="servers"></div>
<p><button id="save" type="button" disabled>Save</button></p>
<div id="result" role="status"></div>
</main>
</body>
</html>
`;

export const PAGE_CSS = `body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px;color:#111}
h1{font-size:22px}h2{font-size:18px;margin:28px 0 4px}code,.cmd{font-family:ui-monospace,monospace;font-size:13px}
.cmd{color:#444;word-break:break-all}.error{color:#a00}.note{color:#555}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px 4px;text-align:left;vertical-align:top}
td.desc{color:#444;max-width:420px}input[type=number]{width:80px}button{font-size:15px;padding:6px 18px}
.risk-High,.risk-Critical{color:#a00;font-weight:600}`;

export const PAGE_JS = `'use strict';
(function () {
  const token = new URLSearchParams(location.search).get('token') || '';
  // The token is in the address only to reach this page: take it out of the history.
  history.replaceState(null, '', location.pathname);
  const LABELS = { allow: 'Allow', rate_limit: 'Rate limit', approval: 'Require approval', deny: 'Deny', hide: 'Hide' };
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  let plan;

  async function api(path, body) {
    const res = await fetch(path, {
      method: body ? 'POST' : 'GET',
      headers: body ? { 'x-toolgate-token': token, 'content-type': 'application/json' } : { 'x-toolgate-token': token },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({ message: res.statusText }));
    if (!res.ok) throw new Error(data.message || ('HTTP ' + res.status));
    return data;
  }

  function render() {
    for (const f of plan.files) {
      const p = el('p', f.client + ': ' + f.file + (f.error ? '' : ' (' + f.servers + ' servers)'), f.error ? 'error' : 'note');
      if (f.error) p.textContent = f.client + ': ' + f.error;
      $('files').appendChild(p);
    }
    if (plan.files.length === 0) $('files').appendChild(el('p', 'No MCP client configuration found.', 'error'));
    for (const s of plan.servers) {
      const box = el('section');
      box.dataset.server = s.id;
      box.appendChild(el('h2', s.name + ' — ' + s.client));
      box.appendChild(el('div', s.file, 'note'));
      if (s.commandLine) box.appendChild(el('div', s.commandLine, 'cmd'));
      if (s.note) box.appendChild(el('p', s.note, 'note'));
      if (s.error) box.appendChild(el('p', 'Could not list its tools: ' + s.error, 'error'));
      if (s.tools) {
        const include = el('input');
        include.type = 'checkbox'; include.checked = true; include.className = 'include';
        const label = el('label'); label.appendChild(include); label.appendChild(document.createTextNode(' run this server through toolgate'));
        box.appendChild(label);
        const table = el('table');
        const head = el('tr');
        for (const h of ['Tool', 'What it does', 'Risk', 'Choice', 'Calls/minute']) head.appendChild(el('th', h));
        table.appendChild(head);
        for (const t of s.tools) {
          const tr = el('tr');
          tr.dataset.tool = t.name;
          tr.appendChild(el('td', t.name, 'cmd'));
          tr.appendChild(el('td', t.description || '', 'desc'));
          const risk = el('td', t.category + ', ' + t.risk, 'risk-' + t.risk);
          risk.title = t.why || '';
          tr.appendChild(risk);
          const sel = el('select');
          sel.className = 'action';
          sel.setAttribute('aria-label', 'choice for ' + t.name);
          for (const a of plan.actions) { const o = el('option', LABELS[a]); o.value = a; sel.appendChild(o); }
          sel.value = t.action;
          const rate = el('input');
          rate.type = 'number'; rate.min = '1'; rate.max = String(plan.maxPerMinute); rate.className = 'rate';
          rate.value = String(t.perMinute || plan.defaultPerMinute);
          rate.disabled = t.action !== 'rate_limit';
          sel.addEventListener('change', () => { rate.disabled = sel.value !== 'rate_limit'; });
          const td = el('td'); td.appendChild(sel); tr.appendChild(td);
          const td2 = el('td'); td2.appendChild(rate); tr.appendChild(td2);
          table.appendChild(tr);
        }
        box.appendChild(table);
      }
      $('servers').appendChild(box);
    }
    const any = plan.servers.some((s) => s.tools);
    $('save').disabled = !any;
    $('status').textContent = any ? 'Review the choices, then save.' : 'Nothing to save.';
  }

  function collect() {
    const servers = [];
    for (const box of document.querySelectorAll('section[data-server]')) {
      const include = box.querySelector('input.include');
      if (!include || !include.checked) continue;
      const tools = [];
      for (const tr of box.querySelectorAll('tr[data-tool]')) {
        const action = tr.querySelector('select.action').value;
        const t = { name: tr.dataset.tool, action };
        if (action === 'rate_limit') t.perMinute = Number(tr.querySelector('input.rate').value);
        tools.push(t);
      }
      servers.push({ id: box.dataset.server, tools });
    }
    return { servers };
  }

  async function save() {
    $('save').disabled = true;
    $('result').textContent = 'Saving…';
    try {
      const r = await api('/api/save', collect());
      const out = $('result');
      out.textContent = '';
      out.appendChild(el('h2', 'Saved'));
      for (const p of r.policies) out.appendChild(el('p', 'Policy for ' + p.server + ': ' + p.file, 'policy'));
      for (const f of r.rewritten) out.appendChild(el('p', 'Rewritten: ' + f.file + ' (' + f.servers.join(', ') + ')', 'rewritten'));
      for (const e of r.errors) out.appendChild(el('p', e, 'error'));
      out.appendChild(el('p', 'Restart your MCP clients to use the new configuration. You can close this page.'));
      $('status').textContent = 'Saved.';
    } catch (err) {
      $('result').textContent = '';
      $('result').appendChild(el('p', 'Not saved: ' + err.message, 'error'));
      $('save').disabled = false;
    }
  }

  $('save').addEventListener('click', save);
  api('/api/plan').then((p) => { plan = p; render(); }).catch((err) => { $('status').textContent = 'Could not load: ' + err.message; $('status').className = 'error'; });
})();
`;
