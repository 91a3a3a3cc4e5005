// `vipflow fleet --http` without NATS: the endpoint of cli/fleet-http.ts on
// loopback (real sockets, port chosen by the kernel) over a fleet fold fed by hand.
// The page, its script, the model as `fleet --json` prints it, the feed pushing a
// change, the credentials. The same endpoint with a real hub and a browser:
// test/lab/fleet-page.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { FleetFold } from '../../infra/events/fleet.js';
import type { InstanceState } from '../../infra/events/nats-bus.js';
import { httpAuthOf } from '../../infra/http/auth.js';
import { startFleetEndpoint } from '../../cli/fleet-http.js';

const T0 = Date.parse('2026-12-02T10:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const site = { site: 'paris', cluster: 'dc1' };
const state = (node: string, to: string, prio: number, atMs: number): InstanceState => ({
  instance: 'VI_1',
  node,
  vrid: 51,
  family: 'ipv4',
  state: to,
  effectivePriority: prio,
  basePriority: prio,
  masterSeen: null,
  reason: 'priority',
  lastChange: iso(atMs),
  eventId: `${node}:x:${atMs}`,
  heartbeatAt: iso(atMs),
});

async function serve(fold: FleetFold, auth: ReturnType<typeof httpAuthOf> | null = null) {
  const view = () => fold.view(T0 + 1000);
  const r = await startFleetEndpoint({ listen: { host: '127.0.0.1', port: 0 } }, auth, view, 50, silentLogger());
  assert.ok(r.ok);
  return { ...r, view, url: (path: string) => `http://127.0.0.1:${r.address.port}${path}` };
}

/** Reads server-sent-events messages until `want` of them arrived (bounded). */
async function messages(res: Response, want: number): Promise<string[]> {
  const reader = res.body!.getReader();
  let text = '';
  for (let i = 0; i < 50 && text.split('\n\n').length - 1 < want; i++) text += new TextDecoder().decode((await reader.read()).value);
  return text
    .split('\n\n')
    .filter((m) => m !== '')
    .map((m) => m.replace(/^data: /, ''));
}

describe('vipflow fleet --http endpoint', () => {
  test('the page and its script, self-contained; /api/v1/fleet is what fleet --json prints; /healthz', async () => {
    const fold = new FleetFold();
    fold.applyState(site, state('lb1', 'master', 150, 0));
    const s = await serve(fold);
    try {
      const page = await fetch(s.url('/'));
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
      const html = await page.text();
      assert.match(html, /<script src="app.js"><\/script>/);
      const js = await (await fetch(s.url('/app.js'))).text();
      assert.match(js, /new EventSource\('api\/v1\/fleet\/live'\)/);
      assert.doesNotMatch(html + js, /https?:\/\//, 'nothing from the internet');
      assert.doesNotMatch(js, /innerHTML/, 'text only through textContent');
      const model = await fetch(s.url('/api/v1/fleet'));
      assert.equal(model.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(await model.text(), JSON.stringify(s.view()) + '\n', 'the line `vipflow fleet --json` prints for the same model');
      const health = (await (await fetch(s.url('/healthz'))).json()) as Record<string, unknown>;
      assert.deepEqual([health.status, health.sites, health.clusters, health.routers, health.pages], ['ok', 1, 1, 1, 0]);
    } finally {
      await s.endpoint.close();
    }
  });

  test('the feed: the model at once, then the next one after a change', async () => {
    const fold = new FleetFold();
    fold.applyState(site, state('lb1', 'master', 150, 0));
    fold.applyState(site, state('lb2', 'backup', 100, 0));
    const s = await serve(fold);
    const controller = new AbortController();
    try {
      const res = await fetch(s.url('/api/v1/fleet/live'), { signal: controller.signal });
      assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const masterOf = (m: string) => (JSON.parse(m) as ReturnType<typeof s.view>).sites[0]!.clusters[0]!.routers[0]!.master;
      const reader = messages(res, 2);
      await new Promise((r) => setTimeout(r, 20));
      fold.applyState(site, state('lb2', 'master', 100, 500));
      fold.applyState(site, state('lb1', 'backup', 90, 500));
      s.endpoint.changed();
      s.endpoint.changed();
      const got = await reader;
      assert.deepEqual(got.map(masterOf), ['lb1', 'lb2']);
    } finally {
      controller.abort();
      await s.endpoint.close();
    }
  });

  test('with credentials: 401 on every path without them, the model with them', async () => {
    const fold = new FleetFold();
    fold.applyState(site, state('lb1', 'master', 150, 0));
    const s = await serve(fold, httpAuthOf('fleet-token'));
    try {
      for (const path of ['/', '/app.js', '/api/v1/fleet', '/api/v1/fleet/live', '/healthz']) assert.equal((await fetch(s.url(path))).status, 401, path);
      const ok = await fetch(s.url('/api/v1/fleet'), { headers: { authorization: 'Bearer fleet-token' } });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as ReturnType<typeof s.view>).totals.routers, 1);
    } finally {
      await s.endpoint.close();
    }
  });
});
