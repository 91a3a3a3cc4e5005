/**
 * The daemon's read-only HTTP endpoint (`vipflow run --http`, `vipflow.http`):
 * / (the live status page), /metrics (Prometheus, daemon/metrics.ts), /api/v1/status (the document
 * `vipflow status --json` shows) and /healthz. Everything is read from the
 * status when asked: a scrape costs nothing between scrapes, and nothing on
 * the VRRP path.
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { HttpSettings } from '../config/model.js';
import { isLoopbackHost, parseListenAddress, type ListenAddress } from '../config/http-listen.js';
import { loadHttpAuth, type HttpAuth } from '../infra/http/auth.js';
import type { HttpListenResult, HttpStream } from '../infra/http/endpoint.js';
import type { LiveFeed } from '../infra/http/live-feed.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';
import type { Registry } from 'prom-client';
import type { DaemonStatus } from './daemon.js';
import type { liveView as LiveView } from './live-view.js';

/** What the endpoint reads of the daemon. */
export interface StatusSource {
  status(): DaemonStatus;
  statusWithCounters(): Promise<DaemonStatus>;
  onTransition(listener: (t: TransitionRecord) => void): void;
  /** Histograms observed as things happen, served after the status metrics. */
  readonly metricRegistries?: readonly Registry[];
}

export interface HttpEndpointSettings {
  listen: ListenAddress;
  /** Absolute path; absent: no credentials (loopback only). */
  authFile?: string;
}

/**
 * The command line's --http / --http-auth-file over the config's vipflow.http
 * (whose authFile is relative to the config file). undefined: no endpoint; a
 * string: why these settings are refused. `configPath` null: the command has
 * no config file (worker, fleet), so only --http can turn the endpoint on.
 */
export function httpEndpointSettings(
  cli: { http?: string; authFile?: string },
  config: HttpSettings | undefined,
  configPath: string | null,
): HttpEndpointSettings | undefined | string {
  const text = cli.http ?? config?.listen;
  if (text === undefined)
    return cli.authFile !== undefined ? `--http-auth-file needs --http${configPath === null ? '' : ' (or vipflow.http.listen)'}` : undefined;
  const listen = parseListenAddress(text);
  if (typeof listen === 'string') return `--http: ${listen}`;
  const authFile =
    cli.authFile !== undefined
      ? resolve(cli.authFile)
      : config?.authFile !== undefined && configPath !== null
        ? resolve(dirname(configPath), config.authFile)
        : undefined;
  if (authFile === undefined && !isLoopbackHost(listen.host))
    return `refusing to serve HTTP on ${text} without credentials: give --http-auth-file (a file holding a bearer token or user:password), or listen on loopback`;
  return { listen, ...(authFile !== undefined ? { authFile } : {}) };
}

/** Reads the credentials (when there are any); a string says why they cannot be used. */
export function readHttpAuth(settings: HttpEndpointSettings): HttpAuth | null | string {
  if (settings.authFile === undefined) return null;
  const loaded = loadHttpAuth(settings.authFile);
  return loaded.ok ? loaded.auth : loaded.message;
}

const json = (body: unknown, status = 200) => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) + '\n' });

/** The endpoint's server, metrics (prom-client) and page: imported only for an endpoint, so a daemon without one never loads them. */
const endpointModules = () =>
  Promise.all([
    import('../infra/http/endpoint.js'),
    import('./metrics.js'),
    import('./live-view.js'),
    import('./status-page.js'),
    import('../infra/http/live-feed.js'),
  ]);

/** Imports the endpoint's modules ahead (Daemon.start's prepareEndpoint), so it listens as soon after 'vipflow running' as with static imports. */
export async function preloadStatusEndpoint(): Promise<void> {
  await endpointModules();
}

/** Starts counting transitions (from those the status still holds) and serves the endpoint. */
export async function startStatusEndpoint(source: StatusSource, listen: ListenAddress, auth: HttpAuth | null, log: Logger): Promise<HttpListenResult> {
  const [
    { HttpEndpoint },
    { METRIC_FAMILIES, StatusMetrics, TransitionTally },
    { liveView },
    { STATUS_PAGE_CSP, STATUS_PAGE_HTML, STATUS_PAGE_JS },
    { LiveFeed },
  ] = await endpointModules();
  const tally = new TransitionTally();
  // The daemon has run its instances before the endpoint starts: the first transitions are in its recent list.
  for (const t of source.status().recentTransitions) tally.add(t);
  source.onTransition((t) => tally.add(t));
  const metrics = new StatusMetrics(METRIC_FAMILIES, source.metricRegistries ?? []);
  const live = liveFeed(source, liveView, LiveFeed);
  return HttpEndpoint.listen({
    listen,
    auth,
    log,
    streams: { '/api/v1/live': live },
    routes: {
      '/': () => ({ status: 200, contentType: 'text/html; charset=utf-8', body: STATUS_PAGE_HTML, headers: { 'content-security-policy': STATUS_PAGE_CSP } }),
      '/app.js': () => ({ status: 200, contentType: 'text/javascript; charset=utf-8', body: STATUS_PAGE_JS }),
      '/metrics': async () => ({
        status: 200,
        contentType: metrics.contentType,
        body: await metrics.renderStatus(await source.statusWithCounters(), tally),
      }),
      '/api/v1/status': async () => json(await source.statusWithCounters()),
      '/healthz': () => {
        const s = source.status();
        return json({ status: 'ok', pid: s.pid, uptimeMs: s.uptimeMs, instances: s.instances.length });
      },
    },
  });
}

// Counters and uptime move without transitions: open pages get a fresh view this often.
const LIVE_TICK_MS = 1000;

/**
 * The status page's feed: the view at once, then again after each transition
 * (on the next turn of the loop, never inside the VRRP call) and every
 * LIVE_TICK_MS, only while a page is open (infra/http/live-feed.ts).
 */
function liveFeed(source: StatusSource, liveView: typeof LiveView, LiveFeedClass: typeof LiveFeed): HttpStream {
  const feed = new LiveFeedClass({ render: () => JSON.stringify(liveView(source.status())), tickMs: LIVE_TICK_MS });
  source.onTransition(() => feed.changed());
  return feed.stream;
}
