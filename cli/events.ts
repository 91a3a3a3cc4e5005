/**
 * `vipflow events [--nats URL] [--cluster NAME] [--follow] [--since T] [--type T]... [--instance NAME] [--json]` (options: cli/definitions.ts)
 *
 * Prints the cluster's events from its JetStream stream: everything retained (or
 * from --since) and exits, or keeps printing new ones with --follow until
 * interrupted. Human lines by default; --json prints each event as one JSON line.
 * Exit status: 0 done, 1 NATS unreachable or the stream is missing, 2 bad usage.
 */
import { createLogger } from '../core/logger.js';
import type { StartAt } from '../infra/events/bus.js';
import { isJetStreamSettling, NatsBus } from '../infra/events/nats-bus.js';
import { CLUSTER_NAME, EVENT_TYPES, instanceOf, type EventType, type VipflowEvent } from '../infra/events/schema.js';
import { streamName } from '../infra/events/subjects.js';
import { natsConnectionOptions, redactServers, type NatsSecurity } from '../infra/events/nats-connect.js';
import { natsSecurityFrom } from '../infra/events/nats-settings.js';
import type { EventsOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';

interface Args {
  nats: string;
  security: NatsSecurity;
  domain: string | undefined;
  cluster: string;
  follow: boolean;
  since: Date | undefined;
  types: EventType[];
  instance: string | undefined;
  json: boolean;
}

/** Milliseconds of a duration like 90s, 15m, 2h, 1d; undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** A duration back from `now`, or an absolute time; undefined when neither. */
export function parseSince(s: string, now = Date.now()): Date | undefined {
  const d = parseDuration(s);
  if (d !== undefined) return new Date(now - d);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** The options checked and typed; a string is a usage error. */
function checkArgs(o: EventsOptions): Args | string {
  if (!CLUSTER_NAME.test(o.cluster)) return `--cluster needs a name of [A-Za-z0-9_-] (got '${o.cluster}')`;
  const since = o.since === undefined ? undefined : parseSince(o.since);
  if (o.since !== undefined && since === undefined) return `--since needs an ISO time or a duration like 15m (got '${o.since}')`;
  const types: EventType[] = [];
  for (const t of o.type.flatMap((v) => v.split(','))) {
    if (!(EVENT_TYPES as string[]).includes(t)) return `unknown event type '${t}' (one of: ${EVENT_TYPES.join(', ')})`;
    types.push(t as EventType);
  }
  return {
    nats: o.nats,
    security: natsSecurityFrom(o, undefined),
    domain: o.domain,
    cluster: o.cluster,
    follow: o.follow === true,
    since,
    types,
    instance: o.instance,
    json: o.json === true,
  };
}

/** One human line: time, node, instance, then what happened. */
export function formatEvent(e: VipflowEvent): string {
  const head = `${e.time} ${e.node} ${instanceOf(e) ?? '-'}`;
  if (e.type === 'instance.transition') {
    const d = e.data;
    const prio = d.effectivePriority === d.basePriority ? `${d.basePriority}` : `${d.effectivePriority}/${d.basePriority}`;
    return `${head} ${d.from}→${d.to} (${d.reason}) vrid ${d.vrid} ${d.family} ${d.interface} prio ${prio}${d.masterSeen ? ` master ${d.masterSeen}` : ''}`;
  }
  const { instance: _omit, ...rest } = e.data as Record<string, unknown>;
  void _omit;
  return `${head} ${e.type} ${JSON.stringify(rest)}`;
}

/**
 * `a,b,c` as three servers: nats.js takes one string as one server, so with a list in one string a dead first
 * server failed the connect instead of the next one being tried.
 */
const serverList = (nats: string): string[] =>
  nats
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export async function printEvents(opts: EventsOptions): Promise<number> {
  const args = checkArgs(opts);
  if (typeof args === 'string') {
    process.stderr.write(`vipflow events: ${args} (see 'vipflow events --help')\n`);
    return EXIT.usage;
  }
  // Files are checked before anything connects: a missing or world-readable secret is named with its fix.
  const checked = natsConnectionOptions({ servers: args.nats, name: 'vipflow-events', ...args.security });
  if (!checked.ok) {
    process.stderr.write(`vipflow events: ${checked.message}\n`);
    return 1;
  }
  // Logs go to stderr so that stdout stays one event per line.
  const log = createLogger({ level: opts.logLevel, destination: process.stderr });
  const bus = new NatsBus({
    servers: serverList(args.nats),
    security: args.security,
    ...(args.domain !== undefined ? { domain: args.domain } : {}),
    cluster: args.cluster,
    log,
    manageStream: false,
  });
  try {
    // A dead server is given up on after 5 s; a live one whose JetStream is electing leaders (a cluster server
    // just lost) is waited for longer, since it answers within seconds.
    const settleBy = Date.now() + JETSTREAM_SETTLE_MS;
    const up = await connectedOrRefused(bus, 5000, settleBy);
    if (up !== true) {
      const at = redactServers(args.nats).join(',');
      // A refusal (credentials, TLS) is named as such; anything else is "cannot reach", with the client's reason.
      process.stderr.write(
        `vipflow events: ${up && up.kind !== 'unreachable' ? `${up.message} at ${at}` : `cannot reach NATS at ${at}${up ? ` (${up.message})` : ''}`}\n`,
      );
      return 1;
    }
    const start: StartAt = args.since ? { from: 'time', time: args.since } : { from: 'all' };
    const print = (e: VipflowEvent) => void process.stdout.write((args.json ? JSON.stringify(e) : formatEvent(e)) + '\n');
    let sub;
    for (let attempt = 1; ; attempt++) {
      try {
        sub = await bus.subscribe({ cluster: args.cluster, instance: args.instance, types: args.types }, print, { start });
        break;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (isJetStreamSettling(err) && Date.now() < settleBy) {
          log.warn({ stream: streamName(args.cluster), attempt, reason: msg }, 'JetStream did not answer (a leader election?); retrying');
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        process.stderr.write(`vipflow events: cannot read stream ${streamName(args.cluster)}: ${msg}\n`);
        return 1;
      }
    }
    if (args.follow) {
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } else await sub.caughtUp;
    await sub.close();
    if (sub.stats.invalid > 0) process.stderr.write(`vipflow events: skipped ${sub.stats.invalid} message(s) that were not valid events\n`);
    return 0;
  } finally {
    await bus.close();
  }
}

/**
 * true once connected; the failure as soon as the server refuses the credentials or
 * TLS fails (waiting longer would not help); undefined when still unreachable at the bound.
 */
async function connectedOrRefused(bus: NatsBus, timeoutMs: number, settleBy: number): Promise<true | { kind: string; message: string } | undefined> {
  const end = Date.now() + timeoutMs;
  // Once a server has answered (its JetStream may still be electing), a dead one tried next (nats.js picks at
  // random) does not end the wait.
  let settling: { kind: string; message: string } | undefined;
  for (;;) {
    if (await bus.connected(50)) return true;
    const e = bus.lastConnectError;
    if (e?.kind === 'jetstream') settling = e;
    if (e && e.kind !== 'unreachable' && e.kind !== 'jetstream') return e;
    if (Date.now() >= (bus.serverAnswered ? settleBy : end)) return settling ?? e;
  }
}

/** How long `vipflow events` waits for a JetStream that answers "timeout" (leaders being elected) before giving up. */
const JETSTREAM_SETTLE_MS = 30_000;
