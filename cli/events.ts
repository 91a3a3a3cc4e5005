/**
 * `vipflow events [--nats URL] [--cluster NAME] [--follow] [--since T] [--type T]... [--instance NAME] [--json]`
 *
 * Prints the cluster's events from its JetStream stream: everything retained (or
 * from --since) and exits, or keeps printing new ones with --follow until
 * interrupted. Human lines by default; --json prints each event as one JSON line.
 * Exit status: 0 done, 1 NATS unreachable or the stream is missing, 2 bad usage.
 */
import { createLogger } from '../core/logger.js';
import type { StartAt } from '../infra/events/bus.js';
import { NatsBus } from '../infra/events/nats-bus.js';
import { CLUSTER_NAME, EVENT_TYPES, instanceOf, type EventType, type VipflowEvent } from '../infra/events/schema.js';
import { streamName } from '../infra/events/subjects.js';

const USAGE =
  'usage: vipflow events [--nats URL] [--cluster NAME] [--follow] [--since TIME|DURATION] [--type TYPE]... [--instance NAME] [--json]\n' +
  '  --nats      NATS server (default $VIPFLOW_NATS_URL or nats://127.0.0.1:4222)\n' +
  '  --cluster   cluster name (default $VIPFLOW_CLUSTER or "default")\n' +
  '  --since     ISO time (2026-11-26T08:00:00Z) or a duration back from now (90s, 15m, 2h, 1d)\n' +
  `  --type      one of: ${EVENT_TYPES.join(', ')} (repeatable, or comma-separated)\n`;

interface Args {
  nats: string;
  cluster: string;
  follow: boolean;
  since: Date | undefined;
  types: EventType[];
  instance: string | undefined;
  json: boolean;
}

/** A duration back from `now`, or an absolute time; undefined when neither. */
export function parseSince(s: string, now = Date.now()): Date | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (m) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(m[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = {
    nats: process.env.VIPFLOW_NATS_URL ?? 'nats://127.0.0.1:4222',
    cluster: process.env.VIPFLOW_CLUSTER ?? 'default',
    follow: false,
    since: undefined,
    types: [],
    instance: undefined,
    json: false,
  };
  for (let k = 0; k < argv.length; k++) {
    let opt = argv[k]!;
    let value: string | undefined;
    const eq = opt.indexOf('=');
    if (opt.startsWith('--') && eq > 0) {
      value = opt.slice(eq + 1);
      opt = opt.slice(0, eq);
    }
    const need = (): string | undefined => value ?? argv[++k];
    switch (opt) {
      case '--json':
        a.json = true;
        break;
      case '--follow':
      case '-f':
        a.follow = true;
        break;
      case '--nats': {
        const v = need();
        if (!v) return '--nats needs a URL';
        a.nats = v;
        break;
      }
      case '--cluster': {
        const v = need();
        if (!v || !CLUSTER_NAME.test(v)) return '--cluster needs a name of [A-Za-z0-9_-]';
        a.cluster = v;
        break;
      }
      case '--instance': {
        const v = need();
        if (!v) return '--instance needs a name';
        a.instance = v;
        break;
      }
      case '--since': {
        const v = need();
        const t = v === undefined ? undefined : parseSince(v);
        if (!t) return `--since needs an ISO time or a duration like 15m (got '${v ?? ''}')`;
        a.since = t;
        break;
      }
      case '--type': {
        const v = need();
        for (const t of (v ?? '').split(',')) {
          if (!(EVENT_TYPES as string[]).includes(t)) return `unknown event type '${t}'`;
          a.types.push(t as EventType);
        }
        break;
      }
      case '-h':
      case '--help':
        return '';
      default:
        return `unexpected argument '${argv[k]}'`;
    }
  }
  return a;
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

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write((args ? `vipflow events: ${args}\n` : '') + USAGE);
    return args ? 2 : 0;
  }
  // Logs go to stderr so that stdout stays one event per line.
  const log = createLogger({ level: process.env.VIPFLOW_LOG_LEVEL ?? 'error', destination: process.stderr });
  const bus = new NatsBus({ servers: args.nats, cluster: args.cluster, log, manageStream: false });
  try {
    if (!(await bus.connected(5000))) {
      process.stderr.write(`vipflow events: cannot reach NATS at ${args.nats}\n`);
      return 1;
    }
    const start: StartAt = args.since ? { from: 'time', time: args.since } : { from: 'all' };
    const print = (e: VipflowEvent) => void process.stdout.write((args.json ? JSON.stringify(e) : formatEvent(e)) + '\n');
    let sub;
    try {
      sub = await bus.subscribe({ cluster: args.cluster, instance: args.instance, types: args.types }, print, { start });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`vipflow events: cannot read stream ${streamName(args.cluster)}: ${msg}\n`);
      return 1;
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
