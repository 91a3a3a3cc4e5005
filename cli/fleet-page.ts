/**
 * The fleet page at `/` of `vipflow fleet --http`: one HTML document and one
 * script, no library and nothing from the internet, with the status page's look
 * (daemon/status-page.ts). The script follows /api/v1/fleet/live (server-sent
 * events, one fleet model of infra/events/fleet.ts per message) and redraws; ages
 * count on between messages from the model's own ageMs. Text from the hub only
 * ever goes through textContent, never into markup.
 */
import { PAGE_CSS } from '../daemon/status-page.js';

export { STATUS_PAGE_CSP as FLEET_PAGE_CSP } from '../daemon/status-page.js';

// Additions to the shared look: a split brain is the one thing that must be seen from across the room.
const FLEET_CSS = `  h3 { font-size: 0.9rem; margin: 0.9rem 0 0.35rem; color: #424a53; }
  .card.split { border: 2px solid #b42318; background: #fff5f5; }
  .flag { margin-top: 0.35rem; padding: 0.2rem 0.45rem; border-radius: 4px; font-size: 0.8rem; font-weight: 700; color: #fff; background: #b42318; }
  .flag.reported { background: #bc4c00; }
  .state.none { background: #b42318; }
  .card table { margin-top: 0.35rem; }
  .counter.bad { border-color: #b42318; color: #b42318; }
  .empty { color: #57606a; font-size: 0.85rem; }
`;

export const FLEET_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vipflow fleet</title>
<style>
${PAGE_CSS}${FLEET_CSS}</style>
</head>
<body>
<h1>vipflow fleet</h1>
<div class="meta"><span id="conn" class="conn"></span><span id="connText">connecting…</span> · <span id="generated"></span></div>
<h2>Totals</h2>
<div id="totals" class="counters"></div>
<div id="sites"></div>
<script src="app.js"></script>
</body>
</html>
`;

export const FLEET_PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; };
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const age = (ms) => ms < 1000 ? Math.round(ms) + 'ms' : ms < 60000 ? Math.round(ms / 1000) + 's' : ms < 3600000 ? Math.round(ms / 60000) + 'm' : ms < 86400000 ? Math.round(ms / 3600000) + 'h' : Math.round(ms / 86400000) + 'd';
let model = null;
let receivedAt = 0;

function routerCard(site, cluster, r, since) {
  const c = el('div', 'card' + (r.splitBrain ? ' split' : ''));
  c.dataset.site = site; c.dataset.cluster = cluster; c.dataset.instance = r.instance;
  const head = el('div');
  head.append(el('span', 'name', r.instance + ' '), el('span', 'state ' + (r.master === null ? 'none' : 'master'), r.master === null ? 'NO MASTER' : 'MASTER ' + r.master));
  c.append(head, el('div', 'kv who', 'Master: ' + (r.master === null ? 'none' : r.master + ' · priority ' + r.priority)), el('div', 'kv', 'VRID ' + r.vrid + ' ' + r.family));
  if (r.lastTransition) {
    const t = r.lastTransition;
    c.append(el('div', 'kv last', 'last: ' + t.node + ' → ' + t.to.toUpperCase() + ' (' + t.reason + ') ' + age(t.ageMs + since) + ' ago, at ' + clock(t.time)));
  }
  if (r.splitBrain) c.append(el('div', 'flag split-brain', 'SPLIT BRAIN: ' + r.masters.join(', ') + ' are Master'));
  else if (r.splitBrainReportedAt !== null) c.append(el('div', 'flag reported split-brain', 'split brain reported at ' + clock(r.splitBrainReportedAt)));
  const table = el('table');
  const body = el('tbody');
  for (const n of r.nodes) {
    const row = el('tr', n.stale ? 'stale' : '');
    row.dataset.node = n.node;
    const state = el('td');
    state.append(el('span', 'state ' + n.state, n.state.toUpperCase()));
    row.append(el('td', '', n.node + (n.stale ? ' (stale)' : '')), state, el('td', '', n.effectivePriority), el('td', '', clock(n.lastChange)));
    body.append(row);
  }
  table.append(body);
  c.append(table);
  return c;
}

function render() {
  if (model === null) return;
  const since = Date.now() - receivedAt;
  const t = model.totals;
  $('generated').textContent = 'read ' + clock(model.generatedAt);
  const totals = [['sites', t.sites, false], ['clusters', t.clusters, false], ['routers', t.routers, false], ['without Master', t.withoutMaster, t.withoutMaster > 0], ['split brains', t.splitBrains, t.splitBrains > 0], ['workflow runs', t.running, false]];
  $('totals').replaceChildren(...totals.map(([name, n, bad]) => { const c = el('span', 'counter' + (bad ? ' bad' : '')); c.dataset.total = name; c.append(el('b', '', n), ' ' + name); return c; }));
  const sites = model.sites.map((s) => {
    const block = el('section');
    block.dataset.site = s.site;
    block.append(el('h2', '', 'site ' + s.site));
    for (const c of s.clusters) {
      block.append(el('h3', '', 'cluster ' + c.cluster));
      if (c.routers.length === 0) block.append(el('div', 'empty', 'no state yet'));
      const cards = el('div', 'cards');
      cards.append(...c.routers.map((r) => routerCard(s.site, c.cluster, r, since)));
      block.append(cards);
      if (c.running.length > 0) {
        const table = el('table', 'runs');
        const body = el('tbody');
        for (const w of c.running) {
          const row = el('tr');
          row.append(el('td', '', w.workflow + ' (' + w.runId + ')' + (w.instance ? ' for ' + w.instance : '') + ' on ' + w.node + ', running ' + age(w.ageMs + since)));
          body.append(row);
        }
        table.append(body);
        block.append(el('h3', '', 'running workflows'), table);
      }
    }
    return block;
  });
  $('sites').replaceChildren(...(sites.length ? sites : [el('div', 'empty', 'no cluster on this hub yet')]));
}

function connect() {
  const source = new EventSource('api/v1/fleet/live');
  source.onopen = () => { $('conn').className = 'conn live'; $('connText').textContent = 'live'; };
  source.onerror = () => { $('conn').className = 'conn'; $('connText').textContent = 'reconnecting…'; };
  source.onmessage = (m) => { model = JSON.parse(m.data); receivedAt = Date.now(); render(); };
}
connect();
// Ages move between messages: count them on from the last model.
setInterval(render, 1000);
`;
