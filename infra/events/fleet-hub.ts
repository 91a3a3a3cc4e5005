/**
 * The hub side of a fleet on NATS: the streams a hub holds for its sites, and a
 * reader that folds them into the fleet view (infra/events/fleet.ts).
 *
 * Each site runs a nats-server leaf node with its own JetStream domain (the site's
 * name), so its daemons publish to a stream and a KV bucket on the site's own server
 * and a failover never waits on the WAN. The hub (a nats-server cluster with domain
 * of its own) holds, per cluster of a site, two mirrors reached through the site's
 * API prefix `$JS.<site>.API`:
 *
 *   VIPFLOW_<cluster>             mirror of the site's event stream
 *   KV_vipflow-state-<cluster>    mirror of the site's state bucket (its stream)
 *
 * Mirrors, not sources, because nats-server 2.9 (Debian's 2.9.10) checked here:
 * a mirror is the same messages with the same sequence numbers, timestamps and
 * Nats-Msg-Id headers, resumed from the last sequence after a WAN cut, so the hub
 * has every event once and in order by construction; a source renumbers, and telling
 * sites apart in one sourced stream needs subject transforms (2.10). Named as on the
 * site, the mirrors are read at the hub by the same code as on a site: `vipflow
 * events`, `vipflow worker` (durable consumers on a mirror work in 2.9.10) and KV
 * readers. The price: cluster names are unique across the fleet.
 */
import { natsConnectionOptions, type NatsSecurity } from './nats-connect.js';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  DiscardPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from '../../core/logger.js';
import { FleetFold, isInstanceState, siteOfApiPrefix, type FleetOrigin } from './fleet.js';
import { CLUSTER_NAME, parseEvent } from './schema.js';
import { StreamFeed, type FeedMessage, type FeedStart } from './stream-feed.js';
import { decodeToken, kvBucketName, streamName, streamSubjects } from './subjects.js';

/** A site and the clusters its daemons publish (`vipflow fleet setup --site NAME=CLUSTER,...`). */
export interface SiteClusters {
  site: string;
  clusters: string[];
}

export interface HubStreamSettings {
  /** Copies of each mirror on the hub cluster (3 for a three-server hub). */
  replicas: number;
  /** Oldest event kept at the hub. Default 7 days, as on a site. */
  maxAgeMs?: number;
  maxBytes?: number;
}

const DAY_MS = 86_400_000;
const STREAM_PREFIX = streamName('');
export const kvStreamName = (cluster: string): string => `KV_${kvBucketName(cluster)}`;
const kvSubjects = (cluster: string): string => `$KV.${kvBucketName(cluster)}.>`;
export const apiPrefixOf = (site: string): string => `$JS.${site}.API`;

/**
 * Connects to NATS with the same credentials and TLS handling as every other
 * vipflow connection (nats-connect.ts); a bad secret file is an Error naming it.
 */
export function connectNats(servers: string[], name: string, security: NatsSecurity = {}): Promise<NatsConnection> {
  const checked = natsConnectionOptions({ servers, name, ...security });
  if (!checked.ok) return Promise.reject(new Error(checked.message));
  return connect(checked.options);
}

/** JetStream handles for the connection, in `domain` when given (e.g. the hub's domain, from a site). */
export async function jetStreamOf(nc: NatsConnection, domain?: string): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
  const opts = domain !== undefined ? { domain } : {};
  return { js: jetstream(nc, opts), jsm: await jetstreamManager(nc, opts) };
}

/** `NAME=CLUSTER[,CLUSTER...]` checked; a string is the reason it is not one. */
export function parseSiteSpec(spec: string): SiteClusters | string {
  const m = /^([^=]+)=(.+)$/.exec(spec);
  if (!m) return `'${spec}' is not SITE=CLUSTER[,CLUSTER...]`;
  const site = m[1]!.trim();
  const clusters = m[2]!
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (!CLUSTER_NAME.test(site)) return `site '${site}' needs a name of [A-Za-z0-9_-] (it is the site leaf node's JetStream domain)`;
  const bad = clusters.find((c) => !CLUSTER_NAME.test(c));
  if (bad !== undefined) return `cluster '${bad}' needs a name of [A-Za-z0-9_-]`;
  if (clusters.length === 0) return `site '${site}' names no cluster`;
  return { site, clusters };
}

/** The mirrors a hub holds for these sites (pure). Refuses a cluster named by two sites: the mirrors would collide. */
export function hubMirrorConfigs(sites: readonly SiteClusters[], s: HubStreamSettings): (Partial<StreamConfig> & { name: string })[] | string {
  const owner = new Map<string, string>();
  for (const { site, clusters } of sites)
    for (const c of clusters) {
      const other = owner.get(c);
      if (other !== undefined && other !== site)
        return `cluster '${c}' is named by sites '${other}' and '${site}': cluster names must be unique across a fleet`;
      owner.set(c, site);
    }
  const common = {
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    max_age: nanos(s.maxAgeMs ?? 7 * DAY_MS),
    max_bytes: s.maxBytes ?? 1 << 30,
  };
  return [...owner.entries()].flatMap(([cluster, site]) => {
    const external = { api: apiPrefixOf(site), deliver: '' };
    return [
      { ...common, name: streamName(cluster), mirror: { name: streamName(cluster), external } },
      // history 1, as the site's bucket: only each key's latest value matters.
      { ...common, name: kvStreamName(cluster), max_msgs_per_subject: 1, mirror: { name: kvStreamName(cluster), external } },
    ];
  });
}

export interface SetupResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** Streams that exist with another origin: left alone, with the reason. */
  conflicts: string[];
}

/** Creates the missing mirrors and brings existing ones to the settings (idempotent). */
export async function applyHubMirrors(jsm: JetStreamManager, wanted: readonly (Partial<StreamConfig> & { name: string })[]): Promise<SetupResult> {
  const r: SetupResult = { created: [], updated: [], unchanged: [], conflicts: [] };
  for (const want of wanted) {
    let have: StreamConfig | undefined;
    try {
      have = (await jsm.streams.info(want.name)).config;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!have) {
      await jsm.streams.add(want);
      r.created.push(want.name);
      continue;
    }
    const origin = (c: Partial<StreamConfig>) => `${c.mirror?.name ?? '-'} via ${c.mirror?.external?.api ?? 'this domain'}`;
    if (origin(have) !== origin(want)) {
      r.conflicts.push(`${want.name}: exists as ${have.mirror ? `a mirror of ${origin(have)}` : 'a stream of its own'}, not a mirror of ${origin(want)}`);
      continue;
    }
    if (have.num_replicas === want.num_replicas && have.max_age === want.max_age && have.max_bytes === want.max_bytes) {
      r.unchanged.push(want.name);
      continue;
    }
    await jsm.streams.update(want.name, { num_replicas: want.num_replicas, max_age: want.max_age, max_bytes: want.max_bytes });
    r.updated.push(want.name);
  }
  return r;
}

/** Every cluster whose event stream is in this domain, with its site: the mirror's domain, or `localSite` for a stream of its own. */
export async function discoverClusters(jsm: JetStreamManager, localSite: string): Promise<FleetOrigin[]> {
  const out: FleetOrigin[] = [];
  for await (const info of jsm.streams.list()) {
    const name = info.config.name;
    if (!name.startsWith(STREAM_PREFIX)) continue;
    const cluster = name.slice(STREAM_PREFIX.length);
    if (!CLUSTER_NAME.test(cluster)) continue;
    out.push({ site: siteOfApiPrefix(info.config.mirror?.external?.api) ?? localSite, cluster });
  }
  return out.sort((a, b) => a.site.localeCompare(b.site) || a.cluster.localeCompare(b.cluster));
}

export interface FleetReaderOptions {
  servers: string[];
  /** Credentials and TLS (nats-connect.ts). */
  security?: NatsSecurity;
  /** JetStream domain to read (default: the one the server answers for). */
  domain?: string;
  /** Events older than this are not folded (workflow runs, split-brain reports). Default 1 hour. */
  eventsSinceMs?: number;
  /** Look for new clusters this often. Default 5 s. */
  rediscoverMs?: number;
  heartbeatMs?: number;
  /** How often a watching reader checks each feed against its stream (stream-feed.ts). Default 2 s. */
  feedCheckMs?: number;
  /** How long a feed behind its stream may make no progress before it is reopened. Default 4 s. */
  stallMs?: number;
  log: Logger;
  /** Called after anything changed the view. */
  onChange?: () => void;
}

/**
 * Follows every cluster of a domain (KV mirror for state, event stream for
 * transitions, split-brain reports and workflow runs) into one FleetFold.
 */
export class FleetReader {
  readonly fold: FleetFold;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private readonly followed = new Set<string>();
  private readonly feeds: StreamFeed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopped = false;
  private localSite = 'local';

  constructor(private readonly o: FleetReaderOptions) {
    this.fold = new FleetFold(o.heartbeatMs);
  }

  /** Connects and reads every cluster up to now; resolves once all of it is folded. */
  async start(): Promise<void> {
    this.nc = await connectNats(this.o.servers, 'vipflow-fleet', this.o.security);
    const { js, jsm } = await jetStreamOf(this.nc, this.o.domain);
    this.js = js;
    this.jsm = jsm;
    this.localSite = (await jsm.getAccountInfo()).domain ?? this.o.domain ?? 'local';
    await this.discover();
    if (this.o.onChange) {
      this.timer = setInterval(
        () => void this.discover().catch((err: unknown) => this.o.log.warn({ err }, 'fleet: listing streams failed')),
        this.o.rediscoverMs ?? 5000,
      );
      this.timer.unref();
      this.watchdog = setInterval(() => this.checkFeeds(), this.o.feedCheckMs ?? 2000);
      this.watchdog.unref();
    }
  }

  /** Starts following clusters not followed yet; resolves once they are caught up. */
  private async discover(): Promise<void> {
    const origins = await discoverClusters(this.jsm!, this.localSite);
    const fresh = origins.filter((o) => !this.followed.has(o.cluster));
    for (const o of fresh) {
      this.followed.add(o.cluster);
      this.fold.addCluster(o);
    }
    await Promise.all(fresh.flatMap((o) => [this.followState(o), this.followEvents(o)]));
    if (fresh.length > 0) this.o.onChange?.();
  }

  private async followState(o: FleetOrigin): Promise<void> {
    const prefix = `$KV.${kvBucketName(o.cluster)}.`;
    await this.follow(kvStreamName(o.cluster), { filter_subjects: kvSubjects(o.cluster), deliver_policy: DeliverPolicy.LastPerSubject }, (m) => {
      const [inst = '', node = ''] = m.subject.slice(prefix.length).split('.');
      const op = m.headers?.get('KV-Operation');
      if (op === 'DEL' || op === 'PURGE') return this.fold.deleteState(o, decodeToken(inst), decodeToken(node));
      let v: unknown;
      try {
        v = m.json<unknown>();
      } catch {
        v = undefined;
      }
      if (isInstanceState(v)) return this.fold.applyState(o, v);
      this.o.log.warn({ subject: m.subject, site: o.site }, 'fleet: ignoring a state entry that is not a vipflow instance state');
      return false;
    });
  }

  private async followEvents(o: FleetOrigin): Promise<void> {
    const since = new Date(Date.now() - (this.o.eventsSinceMs ?? 3_600_000)).toISOString();
    await this.follow(
      streamName(o.cluster),
      { filter_subjects: streamSubjects(o.cluster), deliver_policy: DeliverPolicy.StartTime, opt_start_time: since },
      (m) => {
        const r = parseEvent(m.data);
        if (!r.ok) {
          this.o.log.warn({ subject: m.subject, reason: r.error.message }, 'fleet: ignoring a message that is not a valid vipflow event');
          return false;
        }
        return this.fold.applyEvent(o, r.event);
      },
    );
  }

  /** A StreamFeed on `stream` into `apply` (onChange when it changed the view); resolves once what existed at start is applied. */
  private async follow(stream: string, start: FeedStart, apply: (m: FeedMessage) => boolean): Promise<void> {
    const feed = new StreamFeed({
      js: this.js!,
      jsm: this.jsm!,
      stream,
      start,
      apply: (m) => {
        if (apply(m)) this.o.onChange?.();
      },
      log: this.o.log,
      ...(this.o.stallMs !== undefined ? { stallMs: this.o.stallMs } : {}),
    });
    if (this.stopped) return;
    this.feeds.push(feed);
    await feed.start();
  }

  /** The watchdog round of every feed (stream-feed.ts): a feed stuck behind its stream is reopened. */
  private checkFeeds(): void {
    for (const f of this.feeds) void f.check();
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.watchdog);
    await Promise.all(this.feeds.map((f) => f.stop()));
    await this.nc?.close().catch(() => undefined);
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || /not found/i.test(e?.message ?? '');
}
