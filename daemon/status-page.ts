/**
 * The live status page at `/`: one HTML document and one script, no library
 * and nothing from the internet. The script follows /api/v1/live (server-sent
 * events, daemon/live-view.ts) and redraws; the browser reconnects by itself
 * when the daemon restarts. Text from the daemon only ever goes through
 * textContent, never into markup.
 */

/** Only our own script, inline styles, and connections back to this endpoint. */
export const STATUS_PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'";

/** The pages' look, shared by the fleet page (cli/fleet-page.ts): system fonts, cards that stack on a phone. */
export const PAGE_CSS = `  :root { font-family: system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
  body { margin: 0 auto; max-width: 60rem; padding: 0.75rem; }
  h1 { font-size: 1.2rem; margin: 0 0 0.25rem; }
  h2 { font-size: 1rem; margin: 1.25rem 0 0.4rem; }
  .meta { color: #57606a; font-size: 0.85rem; }
  .conn { display: inline-block; width: 0.6rem; height: 0.6rem; border-radius: 50%; background: #b42318; margin-right: 0.3rem; }
  .conn.live { background: #1a7f37; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.6rem; }
  .card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6rem 0.75rem; }
  .card .name { font-weight: 600; }
  .state { display: inline-block; padding: 0 0.45rem; border-radius: 1rem; font-size: 0.8rem; font-weight: 600; color: #fff; background: #57606a; }
  .state.master { background: #1a7f37; } .state.backup { background: #0969da; } .state.fault { background: #b42318; }
  .kv { font-size: 0.85rem; color: #424a53; margin-top: 0.2rem; overflow-wrap: anywhere; }
  table { width: 100%; border-collapse: collapse; font-size: 0.85rem; background: #fff; }
  td, th { text-align: left; padding: 0.25rem 0.4rem; border-bottom: 1px solid #eaeef2; }
  .counters { display: flex; flex-wrap: wrap; gap: 0.5rem; }
  .counter { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.3rem 0.6rem; font-size: 0.85rem; }
  .counter b { font-size: 1rem; }
  tr.self td { font-weight: 600; } tr.stale td { color: #8c959f; text-decoration: line-through; }
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vipflow</title>
<style>
${PAGE_CSS}</style>
</head>
<body>
<h1>vipflow <span id="node"></span></h1>
<div class="meta"><span id="conn" class="conn"></span><span id="connText">connecting…</span> · <span id="uptime"></span></div>
<h2>Instances</h2>
<div id="instances" class="cards"></div>
<h2>Counters</h2>
<div id="counters" class="counters"></div>
<div id="clusterBlock" hidden><h2>Cluster</h2><table><thead><tr><th>instance</th><th>node</th><th>state</th><th>priority</th><th>since</th></tr></thead><tbody id="cluster"></tbody></table></div>
<div id="vsBlock" hidden><h2>Virtual servers</h2><table><thead><tr><th>virtual server</th><th>quorum</th><th>real servers up</th></tr></thead><tbody id="vs"></tbody></table></div>
<h2>Recent transitions</h2>
<table><thead><tr><th>time</th><th>instance</th><th>transition</th><th>reason</th></tr></thead><tbody id="transitions"></tbody></table>
<script src="app.js"></script>
</body>
</html>
`;

export const STATUS_PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; };
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const duration = (ms) => { const s = Math.floor(ms / 1000); const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60); return (d ? d + 'd ' : '') + (h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's'; };

function render(v) {
  $('node').textContent = v.node;
  document.title = 'vipflow ' + v.node;
  $('uptime').textContent = 'pid ' + v.pid + ', up ' + duration(v.uptimeMs);
  const cards = v.instances.map((i) => {
    const c = el('div', 'card');
    c.dataset.instance = i.name;
    const head = el('div');
    head.append(el('span', 'name', i.name + ' '), el('span', 'state ' + i.state, i.state.toUpperCase()));
    const master = i.master === 'self' ? 'this node' : i.master === null ? 'unknown' : i.master;
    c.append(
      head,
      el('div', 'kv who', 'Master: ' + master + (i.since ? ' (' + i.state + ' since ' + clock(i.since) + ')' : '')),
      el('div', 'kv', 'VRID ' + i.vrid + ' on ' + i.interface + ' · priority ' + i.effectivePriority + (i.effectivePriority !== i.basePriority ? ' (base ' + i.basePriority + ')' : '')),
      el('div', 'kv', i.vips.join(', ')),
    );
    return c;
  });
  $('instances').replaceChildren(...cards);
  const k = v.counters;
  const counters = [['drops', k.drops], ['late timers', k.lateTimers], ['loop delay p99', k.loopDelayP99Ms + ' ms'], ['events', k.eventsPublished], ['reloads', k.reloads], ['split brains', k.splitBrains]];
  $('counters').replaceChildren(...counters.map(([name, n]) => { const c = el('span', 'counter'); c.append(el('b', '', n), ' ' + name); return c; }));
  $('clusterBlock').hidden = v.cluster === null;
  $('cluster').replaceChildren(...(v.cluster || []).map((m) => {
    const r = el('tr', (m.self ? 'self' : '') + (m.stale ? ' stale' : ''));
    r.dataset.node = m.node;
    const state = el('td');
    state.append(el('span', 'state ' + m.state, m.state.toUpperCase()));
    r.append(el('td', '', m.instance), el('td', '', m.node + (m.self ? ' (this node)' : '')), state, el('td', '', m.priority), el('td', '', clock(m.since)));
    return r;
  }));
  $('vsBlock').hidden = v.virtualServers.length === 0;
  $('vs').replaceChildren(...v.virtualServers.map((s) => { const r = el('tr'); r.append(el('td', '', s.id), el('td', '', s.quorumUp ? 'up' : 'DOWN'), el('td', '', s.alive + ' / ' + s.total)); return r; }));
  $('transitions').replaceChildren(...v.transitions.map((t) => { const r = el('tr'); r.append(el('td', '', clock(t.time)), el('td', '', t.instance), el('td', '', t.from + ' → ' + t.to), el('td', '', t.reason)); return r; }));
}

function connect() {
  const source = new EventSource('api/v1/live');
  source.onopen = () => { $('conn').className = 'conn live'; $('connText').textContent = 'live'; };
  source.onerror = () => { $('conn').className = 'conn'; $('connText').textContent = 'reconnecting…'; };
  source.onmessage = (m) => render(JSON.parse(m.data));
}
connect();
`;
