/**
 * The status document (`vipflow status --json`, GET /api/v1/status, the
 * SIGUSR1 dump) as a zod schema, and from it a JSON Schema (draft 2020-12)
 * shipped as schemas/vipflow.status.v1.json (`npm run schemas`; a test keeps
 * the file equal to this), so consumers in other languages can validate it.
 *
 * The schema follows DaemonStatus (the compile-time check at the end) and
 * allows no property it does not describe, so a field added to the status
 * without the schema fails the tests that validate live documents. Counters
 * and drop reasons are maps: new reasons are added over time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { repoRoot } from '../core/paths.js';
import { EVENT_TYPES } from '../infra/events/schema.js';
import type { DaemonStatus } from './daemon.js';

export const STATUS_SCHEMA_ID = 'vipflow.status/v1';

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const time = z.string().describe('ISO 8601 time');
const state = z.enum(['initialize', 'backup', 'master', 'fault', 'stopped']);
const o = z.object;

const instance = o({
  name: z.string(),
  vrid: z.number().int().min(1).max(255),
  family: z.union([z.literal(4), z.literal(6)]),
  version: z.union([z.literal(2), z.literal(3)]),
  interface: z.string(),
  vmac: z.string().optional(),
  mode: z.enum(['multicast', 'unicast']),
  source: z.string(),
  state,
  fault: z.string().optional(),
  basePriority: z.number().int(),
  effectivePriority: z.number().int(),
  advertIntervalCs: count,
  masterAdvertIntervalCs: count,
  lastMaster: z.string().nullable(),
  lastMasterPriority: z.number().int().nullable(),
  masterDownInMs: ms.nullable(),
  peerChecksumVariant: z.string().nullable(),
  counters: z.record(z.string(), count).describe('advertsSent, advertsReceived, becameMaster, ...'),
  drops: z.record(z.string(), count).describe('received adverts dropped before the state machine, by reason'),
  authHmac: o({ mode: z.string(), activeKey: z.number().int(), keyIds: z.array(z.number().int()) }).nullable(),
  announcements: o({ framesSent: count, sendErrors: count, sinceMaster: count }),
  vips: z.array(z.string()).describe('`ADDRESS/PREFIX dev IFACE`'),
});

const transition = o({
  instance: z.string(),
  vrid: z.number().int(),
  family: z.enum(['ipv4', 'ipv6']),
  interface: z.string(),
  from: state,
  to: state,
  reason: z.string(),
  effectivePriority: z.number().int(),
  basePriority: z.number().int(),
  masterSeen: z.string().nullable(),
  advertIntervalCs: count,
  at: z.number().describe('monotonic ms on the instance clock'),
  time,
});

const clusterMember = o({
  instance: z.string(),
  node: z.string(),
  vrid: z.number().int(),
  family: z.string(),
  state: z.string(),
  effectivePriority: z.number().int(),
  basePriority: z.number().int(),
  masterSeen: z.string().nullable(),
  source: z.string().optional(),
  reason: z.string(),
  lastChange: time,
  eventId: z.string(),
  heartbeatAt: time,
  stale: z.boolean().describe('no heartbeat for 3 heartbeat periods: the node may be gone'),
});

const events = o({
  bus: z.enum(['in-process', 'nats']),
  cluster: z.string(),
  node: z.string(),
  published: count,
  delivered: count,
  outbox: o({ inMemory: count, spilled: count, delivered: count, corrupt: count, failures: count }).optional(),
  nats: o({
    state: z.enum(['connecting', 'connected', 'disconnected', 'refused']),
    auth: z.string().describe('the authentication method and its file, never the secret'),
    signer: z.string().optional().describe('the public nkey events are signed with'),
    lastError: o({ kind: z.enum(['auth', 'tls', 'unreachable', 'jetstream', 'settings']), message: z.string(), at: time }).optional(),
  })
    .optional()
    .describe('with NATS: the connection, and why the last attempt failed (refused credentials show here while VRRP runs on)'),
  recent: z.array(o({ type: z.enum(EVENT_TYPES as [string, ...string[]]), id: z.string(), time, instance: z.string().optional() })),
  splitBrain: o({ policy: z.enum(['page', 'fence']), fenced: z.array(z.string()), detected: count }),
  members: z.array(clusterMember).optional().describe("with NATS: every instance of every node, from the cluster's KV bucket"),
});

const checker = o({
  id: z.string(),
  type: z.string(),
  state: z.enum(['up', 'down', 'unsupported']),
  probes: count,
  lastFailure: o({ reason: z.string(), detail: z.string(), at: z.number(), time }).optional(),
});

const checks = o({
  virtualServers: z.array(
    o({
      id: z.string(),
      quorumUp: z.boolean(),
      liveWeight: z.number(),
      sorryActive: z.boolean(),
      suspended: z.boolean(),
      realServers: z.array(o({ id: z.string(), alive: z.boolean(), weight: z.number(), checkers: z.array(checker) })),
    }),
  ),
  issues: z.array(o({ virtualServer: z.string(), message: z.string() })),
});

const traffic = { packets: count, bytes: count, connections: count.optional() };
const lb = o({
  backend: z.enum(['nftables', 'ipvs', 'none']),
  services: count,
  destinations: count,
  applies: o({ ok: count, failed: count }),
  last: o({
    ok: z.boolean(),
    time,
    ms: ms.optional(),
    added: count,
    removed: count,
    changed: count,
    error: z.string().optional(),
  }).optional(),
  refused: z.array(o({ service: z.string(), why: z.string() })),
  table: z.array(
    o({
      id: z.string(),
      virtualServer: z.string(),
      scheduler: z.string(),
      lbKind: z.string(),
      destinations: z.array(o({ address: z.string(), port: z.number().int().optional(), weight: z.number() })),
    }),
  ),
  counters: z
    .array(o({ id: z.string(), ...traffic, destinations: z.array(o({ address: z.string(), port: z.number().int().optional(), ...traffic })) }))
    .optional(),
});

export const daemonStatusSchema = o({
  pid: z.number().int().positive(),
  configPath: z.string(),
  startedAt: time,
  uptimeMs: ms,
  instances: z.array(instance),
  groups: z.array(o({ name: z.string(), state, members: z.array(o({ name: z.string(), state: z.string() })) })),
  wire: o({
    sockets: count,
    received: count,
    absorbed: count
      .optional()
      .describe("of `received`, repeats of a Backup's plain advert the addon counted without handing them to JavaScript (wire/socket RepeatAbsorber)"),
    malformed: count,
    unknownVrid: count,
    dropped: z.record(z.string(), count).describe('drops in the wire hub, by reason (wire/hub/screen.ts)'),
    shed: count.describe('datagrams the kernel dropped for a full receive queue (SO_RXQ_OVFL)'),
    fullBatches: count,
    moderation: o({
      held: count.describe('sockets held by receive moderation now (wire/socket/receive-moderation.ts)'),
      holds: count.describe('holds begun: each one saved the wake-ups of the adverts read together at its end'),
      drains: count.describe('held sockets read before a takeover timer acted'),
    })
      // Older daemons do not report it.
      .optional(),
  }),
  dropped: z.record(z.string(), count).describe('received packets dropped or not acted on, by reason, over the hub and every instance'),
  strangers: o({
    sightings: count,
    tracked: count,
    overBudget: count,
    recent: z.array(
      o({
        sender: z.string(),
        reason: z.string(),
        vrid: z.number().int().min(0).max(255),
        priority: z.number().int().nullable(),
        interface: z.string(),
        family: z.union([z.literal(4), z.literal(6)]),
        instance: z.string().optional(),
        detail: z.string(),
        suppressed: count,
        mac: z.string().nullable(),
      }),
    ),
  }),
  eventLoop: o({ delayP50Ms: ms, delayP99Ms: ms, delayMaxMs: ms, recentMaxMs: ms, lateTimers: count, worstLateMs: ms, scavengesBeforeTakeover: count }),
  recentTransitions: z.array(transition),
  reloads: o({ ok: count, refused: count }),
  events,
  notify: o({ pending: count, fifos: z.array(o({ path: z.string(), written: count, dropped: count })) }),
  trackScripts: z.array(
    o({
      name: z.string(),
      health: z.enum(['unknown', 'up', 'down']),
      checks: count,
      failures: count,
      timeouts: count,
      skipped: count,
      lastExit: z.union([z.number(), z.string()]).nullable(),
    }),
  ),
  trackFiles: z.array(o({ name: z.string(), file: z.string(), value: z.number(), reads: count, ignored: count, watching: z.boolean() })),
  trackProcesses: z.array(o({ name: z.string(), count, quorum: z.boolean(), pids: z.array(z.number().int()) })),
  checks,
  lb,
  notActedOn: z.array(z.string()),
});

// Every status the daemon builds has the schema's type: a field the schema
// requires that DaemonStatus lost, or changed, fails to compile here (a field
// DaemonStatus gains is caught by the test that validates a live document).
export const statusFitsSchema = (s: DaemonStatus): z.input<typeof daemonStatusSchema> => s;

export function statusJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(daemonStatusSchema, { target: 'draft-2020-12', io: 'output' }),
    title: STATUS_SCHEMA_ID,
    description: 'The vipflow daemon status document: `vipflow status --json`, GET /api/v1/status and the SIGUSR1 dump.',
  };
}

/** `npm run schemas`: rewrites the shipped file from the zod schema. */
export function writeStatusJsonSchema(path = join(repoRoot, 'schemas', 'vipflow.status.v1.json')): void {
  writeFileSync(path, JSON.stringify(statusJsonSchema(), null, 2) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) writeStatusJsonSchema();
