/**
 * `vipflow fleet [--nats URLS] [--domain D] [--watch [--refresh MS]] [--json] [--since DURATION] [--http ADDR:PORT [--http-auth-file FILE]]`
 * `vipflow fleet setup --site NAME=CLUSTER[,CLUSTER...]... [--replicas N] [--max-age DURATION]`
 * (options: cli/definitions.ts)
 *
 * The fleet view read at a hub (infra/events/fleet-hub.ts folds its mirrors into
 * infra/events/fleet.ts's model), served as a live page with --http (cli/fleet-http.ts),
 * and the one-time creation of those mirrors.
 * Exit status: 0 done, 1 NATS unreachable (or a setup conflict, or the HTTP endpoint cannot start), 2 bad usage.
 */
import { natsSecurityFrom } from '../infra/events/nats-settings.js';
import { createLogger } from '../core/logger.js';
import type { FleetModel, FleetRouter } from '../infra/events/fleet.js';
import { FleetReader, applyHubMirrors, connectNats, hubMirrorConfigs, jetStreamOf, parseSiteSpec, type SiteClusters } from '../infra/events/fleet-hub.js';
import type { FleetOptions, FleetSetupOptions } from './definitions.js';
import { parseDuration } from './events.js';
import { EXIT } from './exit-codes.js';
import { formatListenAddress } from '../config/http-listen.js';
import { httpEndpointSettings, readHttpAuth } from '../daemon/http-endpoint.js';
import type { FleetEndpoint } from './fleet-http.js';

const serversOf = (nats: string): string[] =>
  nats
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function usage(cmd: string, error: string): number {
  process.stderr.write(`vipflow ${cmd}: ${error} (see 'vipflow ${cmd} --help')\n`);
  return EXIT.usage;
}

/** An age as people read it: 850ms, 12s, 4m, 3h, 2d. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}

function routerLine(r: FleetRouter): string {
  const master = r.master === null ? 'NO MASTER' : `master ${r.master} prio ${r.priority}`;
  const last = r.lastTransition
    ? `  last ${r.lastTransition.node}→${r.lastTransition.to.toUpperCase()} (${r.lastTransition.reason}) ${formatAge(r.lastTransition.ageMs)} ago`
    : '';
  const flags = [
    ...(r.splitBrain ? [`SPLIT BRAIN: ${r.masters.join(', ')}`] : []),
    ...(r.splitBrainReportedAt !== null && !r.splitBrain ? [`split brain reported ${r.splitBrainReportedAt}`] : []),
  ];
  const nodes = r.nodes.map((n) => `${n.node} ${n.state.toUpperCase()} ${n.effectivePriority}${n.stale ? ' (stale)' : ''}`).join(', ');
  return `    ${r.instance} vrid ${r.vrid} ${r.family}: ${master}${last}${flags.length ? `  [${flags.join('; ')}]` : ''}\n      ${nodes}`;
}

/** The model as text: a summary line, then site, cluster, router (pure). */
export function formatFleet(m: FleetModel): string {
  const t = m.totals;
  const lines = [
    `fleet at ${m.generatedAt}: ${t.sites} site(s), ${t.clusters} cluster(s), ${t.routers} router(s), ${t.withoutMaster} without Master, ${t.splitBrains} split brain(s), ${t.running} workflow run(s)`,
  ];
  for (const s of m.sites) {
    lines.push(`site ${s.site}`);
    for (const c of s.clusters) {
      lines.push(`  cluster ${c.cluster}${c.routers.length === 0 ? ' (no state yet)' : ''}`);
      for (const r of c.routers) lines.push(routerLine(r));
      for (const w of c.running)
        lines.push(`    running ${w.workflow} (${w.runId})${w.instance ? ` for ${w.instance}` : ''} on ${w.node} for ${formatAge(w.ageMs)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function showFleet(o: FleetOptions): Promise<number> {
  const since = parseDuration(o.since);
  if (since === undefined) return usage('fleet', `--since needs a duration like 15m (got '${o.since}')`);
  const http =
    o.http === undefined && o.httpAuthFile === undefined
      ? undefined
      : httpEndpointSettings(
          { ...(o.http !== undefined ? { http: o.http } : {}), ...(o.httpAuthFile !== undefined ? { authFile: o.httpAuthFile } : {}) },
          undefined,
          null,
        );
  if (typeof http === 'string') return usage('fleet', http);
  const auth = http === undefined ? null : readHttpAuth(http);
  if (typeof auth === 'string') {
    process.stderr.write(`vipflow fleet: ${auth}\n`);
    return EXIT.failed;
  }
  const log = createLogger({ level: o.logLevel, destination: process.stderr });
  const watch = o.watch === true;
  // Served or watched, the reader follows the hub until interrupted; otherwise it reads once.
  const follow = watch || http !== undefined;
  const print = (m: FleetModel) => {
    if (o.json) process.stdout.write(JSON.stringify(m) + '\n');
    else process.stdout.write((watch && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '') + formatFleet(m) + (watch && !process.stdout.isTTY ? '\n' : ''));
  };
  // Redraws are bounded: a burst of changes becomes one redraw per --refresh interval.
  let timer: NodeJS.Timeout | undefined;
  let ready = false;
  let endpoint: FleetEndpoint | undefined;
  const reader: FleetReader = new FleetReader({
    servers: serversOf(o.nats),
    security: natsSecurityFrom(o, undefined),
    ...(o.domain !== undefined ? { domain: o.domain } : {}),
    eventsSinceMs: since,
    log,
    ...(follow
      ? {
          onChange: () => {
            endpoint?.changed();
            if (!watch || !ready || timer) return;
            timer = setTimeout(() => {
              timer = undefined;
              print(reader.fold.view(Date.now()));
            }, o.refresh);
          },
        }
      : {}),
  });
  try {
    const started = await Promise.race([reader.start().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000).unref())]);
    if (!started) {
      process.stderr.write(`vipflow fleet: cannot reach NATS JetStream at ${o.nats}\n`);
      return EXIT.failed;
    }
    if (http !== undefined) {
      const { startFleetEndpoint } = await import('./fleet-http.js');
      const served = await startFleetEndpoint(http, auth, () => reader.fold.view(Date.now()), o.refresh, log);
      if (!served.ok) {
        process.stderr.write(`vipflow fleet: ${served.message}\n`);
        return EXIT.failed;
      }
      endpoint = served.endpoint;
      process.stderr.write(`vipflow fleet: serving the fleet page on http://${formatListenAddress(served.address)}/\n`);
    }
    if (watch || http === undefined) print(reader.fold.view(Date.now()));
    if (!follow) return EXIT.ok;
    ready = true;
    // Ages move without events: redraw now and then even when nothing changed.
    const tick = watch ? setInterval(() => print(reader.fold.view(Date.now())), 5000) : undefined;
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(tick);
    clearTimeout(timer);
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`vipflow fleet: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  } finally {
    await endpoint?.close();
    await reader.close();
  }
}

export async function setupFleet(o: FleetSetupOptions): Promise<number> {
  if (o.site.length === 0) return usage('fleet setup', 'name at least one --site NAME=CLUSTER[,CLUSTER...]');
  const sites: SiteClusters[] = [];
  for (const spec of o.site) {
    const s = parseSiteSpec(spec);
    if (typeof s === 'string') return usage('fleet setup', s);
    sites.push(s);
  }
  const maxAgeMs = parseDuration(o.maxAge);
  if (maxAgeMs === undefined) return usage('fleet setup', `--max-age needs a duration like 7d (got '${o.maxAge}')`);
  const wanted = hubMirrorConfigs(sites, { replicas: o.replicas, maxAgeMs });
  if (typeof wanted === 'string') return usage('fleet setup', wanted);
  let nc;
  try {
    nc = await connectNats(serversOf(o.nats), 'vipflow-fleet-setup', natsSecurityFrom(o, undefined));
  } catch (err) {
    process.stderr.write(`vipflow fleet setup: cannot reach NATS at ${o.nats}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  }
  try {
    const { jsm } = await jetStreamOf(nc, o.domain);
    const r = await applyHubMirrors(jsm, wanted);
    for (const n of r.created) process.stdout.write(`created ${n}\n`);
    for (const n of r.updated) process.stdout.write(`updated ${n}\n`);
    for (const n of r.unchanged) process.stdout.write(`unchanged ${n}\n`);
    for (const c of r.conflicts) process.stderr.write(`vipflow fleet setup: ${c}\n`);
    return r.conflicts.length > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The usual cause is a reader's credentials: say which role the hub must grant rather than leave a bare subject.
    const hint = /Permissions Violation/i.test(message)
      ? ' (these credentials may not create or update streams at the hub: fleet setup needs a role like FLEET_ADMIN in infra/nats/hub-secured.conf)'
      : '';
    process.stderr.write(`vipflow fleet setup: ${message}${hint}\n`);
    return EXIT.failed;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
