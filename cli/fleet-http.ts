/**
 * `vipflow fleet --http ADDR:PORT`: the fleet's read-only endpoint, with the
 * daemon's credentials rules (daemon/http-endpoint.ts, infra/http/): / (the fleet
 * page, cli/fleet-page.ts), /api/v1/fleet/live (server-sent events, one fleet model
 * per change), /api/v1/fleet (the model `vipflow fleet --json` prints) and /healthz.
 */
import type { Logger } from '../core/logger.js';
import type { FleetModel } from '../infra/events/fleet.js';
import { HttpEndpoint, type HttpListenResult } from '../infra/http/endpoint.js';
import type { HttpAuth } from '../infra/http/auth.js';
import { LiveFeed } from '../infra/http/live-feed.js';
import type { HttpEndpointSettings } from '../daemon/http-endpoint.js';
import { FLEET_PAGE_CSP, FLEET_PAGE_HTML, FLEET_PAGE_JS } from './fleet-page.js';

// Staleness (3 heartbeats of 5 s) moves without events: open pages get a fresh model this often. Ages count on in the page.
const FLEET_TICK_MS = 5000;

export interface FleetEndpoint {
  /** Tell open pages the model changed (pushed at most once per refresh interval; nothing happens while no page is open). */
  changed(): void;
  close(): Promise<void>;
}

const json = (body: unknown, status = 200) => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) + '\n' });

/** Serves the fleet endpoint; `view` is the model now (read per request and per push). */
export async function startFleetEndpoint(
  settings: HttpEndpointSettings,
  auth: HttpAuth | null,
  view: () => FleetModel,
  refreshMs: number,
  log: Logger,
): Promise<{ ok: true; endpoint: FleetEndpoint; address: HttpEndpoint['address'] } | Extract<HttpListenResult, { ok: false }>> {
  const startedAt = Date.now();
  const feed = new LiveFeed({ render: () => JSON.stringify(view()), tickMs: FLEET_TICK_MS, minGapMs: refreshMs });
  const r = await HttpEndpoint.listen({
    listen: settings.listen,
    auth,
    log,
    streams: { '/api/v1/fleet/live': feed.stream },
    routes: {
      '/': () => ({ status: 200, contentType: 'text/html; charset=utf-8', body: FLEET_PAGE_HTML, headers: { 'content-security-policy': FLEET_PAGE_CSP } }),
      '/app.js': () => ({ status: 200, contentType: 'text/javascript; charset=utf-8', body: FLEET_PAGE_JS }),
      '/api/v1/fleet': () => json(view()),
      '/healthz': () => {
        const t = view().totals;
        return json({
          status: 'ok',
          pid: process.pid,
          uptimeMs: Date.now() - startedAt,
          sites: t.sites,
          clusters: t.clusters,
          routers: t.routers,
          pages: feed.size,
        });
      },
    },
  });
  if (!r.ok) return r;
  const http = r.endpoint;
  return {
    ok: true,
    address: http.address,
    endpoint: {
      changed: () => feed.changed(),
      close: async () => {
        feed.close();
        await http.close();
      },
    },
  };
}
