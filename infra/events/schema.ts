/**
 * The vipflow event model: one versioned envelope, a typed payload per event type.
 *
 * Envelope (schema `vipflow.event/v1`):
 *   { schema, id, type, cluster, node, seq, time, monoNs, data }
 * - id: `${node}:${bootId}:${seq}`. Fixed when the event is made, so every resend
 *   of the same event carries the same id (JetStream deduplicates on it).
 * - seq: monotonic per node, continued across restarts (see outbox.ts, SeqReservation).
 * - time: ISO 8601 UTC with 9 fraction digits, from a clock anchored once on the wall
 *   clock and advanced by the monotonic clock (clock.ts); monoNs is that monotonic
 *   reading as a decimal string (it outgrows 2^53 after ~104 days of uptime).
 *
 * Versioning: v1 consumers ignore unknown fields, so adding an optional field keeps
 * v1; renaming, removing or retyping a field makes a v2. parseEvent() reports a
 * different version as its own error kind, so a consumer can tell "newer producer"
 * from "garbage".
 *
 * Subjects (see subjects.ts): `vipflow.<cluster>.<instance|_daemon>.<type>`, where the
 * type keeps its dot (`vipflow.dc1.VI_1.instance.transition`), so
 * `vipflow.dc1.*.instance.>` selects every instance event of a cluster.
 */
import { z } from 'zod';
import { CLUSTER_NAME, EVENT_SCHEMA } from './schema-names.js';

export { CLUSTER_NAME, EVENT_SCHEMA, instanceOf } from './schema-names.js';
import type { AddressFamily, VrrpStateName } from '../../actors/vrrp/types.js';

const SCHEMA_PREFIX = 'vipflow.event/';

const ISO_NS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

export const vrrpState = z.enum(['initialize', 'backup', 'master', 'fault', 'stopped']);
const family = z.enum(['ipv4', 'ipv6']);
const vrid = z.number().int().min(1).max(255);
const priority = z.number().int().min(0).max(255);
const name = z.string().min(1);
const count = z.number().int().nonnegative();

// The event model follows the machine's own names; these fail to compile if they drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const stateNamesMatch: Same<z.infer<typeof vrrpState>, VrrpStateName> = true;
const familiesMatch: Same<z.infer<typeof family>, AddressFamily> = true;
void stateNamesMatch;
void familiesMatch;

/** Payload of every event type. Instance-scoped payloads carry `instance`. */
export const payloads = {
  'instance.transition': z.object({
    instance: name,
    vrid,
    family,
    interface: name,
    from: vrrpState,
    to: vrrpState,
    /** The machine's TransitionReason (actors/vrrp/types.ts); free text so new reasons stay v1. */
    reason: name,
    effectivePriority: priority,
    basePriority: priority,
    /** Source address of the last advert from a master, if any was seen. */
    masterSeen: z.string().nullable(),
    advertIntervalCs: z.number().int().positive(),
    /** This node's primary (advert source) address: breaks priority ties in split-brain fencing. Optional, so v1. */
    source: z.string().optional(),
  }),
  'instance.fault': z.object({ instance: name, vrid, reason: name, tracksDown: z.array(z.string()).default([]) }),
  'instance.recover': z.object({ instance: name, vrid, reason: name }),
  /**
   * A vrrp_sync_group changed state (added in v1: consumers that do not know the
   * type skip it). Daemon-scoped: no `instance`, as the group spans several.
   */
  'group.transition': z.object({
    group: name,
    from: vrrpState,
    to: vrrpState,
    /** The member whose move made the group move (the group's own name at start and stop). */
    by: name,
    reason: name,
    members: z.array(name),
  }),
  'track.change': z.object({
    instance: name,
    track: name,
    kind: z.enum(['interface', 'script', 'file', 'process', 'other']),
    up: z.boolean(),
    weight: z.number().int(),
    effectivePriority: priority,
  }),
  'wire.drops': z.object({
    /** Summary over one reporting period: counter name → packets dropped in that period. */
    periodMs: count,
    interface: z.string().optional(),
    instance: z.string().optional(),
    counters: z.record(z.string(), count),
    total: count,
  }),
  /**
   * A host sent what vipflow drops or must act on (added in v1: consumers that
   * do not know the type skip it): a malformed packet, another VRID, a
   * different address list, a wrong TTL, a lower priority while we are Master,
   * or a higher one that takes Master from us. At most once a minute per
   * (sender, reason); `suppressed` counts its sightings held back since.
   * Instance-scoped when an instance saw it, else daemon-scoped.
   */
  'vrrp.intruder': z.object({
    sender: name,
    /** From the neighbour table when the kernel has an entry for the sender (IPv4), else null. */
    mac: z.string().nullable(),
    /** checksum, truncated, version, type, vrid-zero, ttl, unknown-vrid, address-list, lower-priority, higher-priority, ... */
    reason: name,
    /** The VRID the packet carried (0 when it had none). */
    vrid: z.number().int().min(0).max(255),
    /** The advert's priority, when it decoded. */
    priority: priority.nullable(),
    interface: name,
    family,
    instance: z.string().optional(),
    detail: z.string(),
    suppressed: count,
  }),
  'config.reload': z.object({
    file: name,
    ok: z.boolean(),
    errors: count,
    warnings: count,
    instances: z.array(z.string()),
  }),
  'daemon.start': z.object({ version: name, pid: count, configFile: z.string(), instances: z.array(z.string()) }),
  'daemon.stop': z.object({ reason: name, uptimeMs: count }),
  'cluster.split_brain': z.object({
    instance: name,
    vrid,
    /** Nodes that reported Master for the same instance at the same time. */
    masters: z.array(name).min(2),
  }),
  /*
   * Checkers (added in v1: consumers that do not know these types skip them).
   * Daemon-scoped: a virtual server is not a VRRP instance. `virtualServer` and
   * `realServer` are the ids `vipflow status` shows (`192.0.2.10:80`,
   * `192.0.2.10:80/10.0.0.1:80`, `fwmark:7`, `group:web`).
   */
  /** A real server is alive again: every checker of it passes (or a reload found it so). */
  'realserver.up': z.object({
    virtualServer: name,
    realServer: name,
    /** The weight it serves with now. */
    weight: count,
    /** 'checks' when checkers brought it up, 'reload' when a reload did. */
    reason: name,
  }),
  /** A real server is out: one of its checkers failed (keepalived takes it out on the first). */
  'realserver.down': z.object({
    virtualServer: name,
    realServer: name,
    /** refused, timeout, status, digest, regex, exit-code, probe-stalled, ... or 'reload' */
    reason: name,
    /** What the probe saw, in words ("status 503 not in 200-299"). */
    detail: z.string().optional(),
    /** The checker that failed (`<realServer>/HTTP_GET#0`). */
    checker: z.string().optional(),
  }),
  /** A live real server's weight changed (misc_dynamic). */
  'realserver.weight': z.object({ virtualServer: name, realServer: name, weight: count }),
  /** A virtual server's live weight crossed its quorum (with hysteresis): quorum_up / quorum_down. */
  'virtualserver.quorum': z.object({ virtualServer: name, up: z.boolean(), liveWeight: count, quorum: count, hysteresis: count }),
  /** The load-balancer rules changed (added in v1): services added, removed or changed, by id (`198.18.0.100:80/tcp`). */
  'lb.applied': z.object({
    backend: z.enum(['nftables', 'ipvs']),
    ok: z.boolean(),
    added: z.array(name),
    removed: z.array(name),
    changed: z.array(name),
    ms: count.optional(),
    error: z.string().optional(),
  }),
  'workflow.started': z.object({ workflow: name, runId: name, instance: z.string().optional(), trigger: z.string().optional() }),
  'workflow.step': z.object({
    workflow: name,
    runId: name,
    instance: z.string().optional(),
    step: name,
    status: z.enum(['started', 'succeeded', 'failed', 'skipped']),
    durationMs: count.optional(),
    error: z.string().optional(),
  }),
  'workflow.finished': z.object({
    workflow: name,
    runId: name,
    instance: z.string().optional(),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    durationMs: count,
  }),
} as const;

export type EventType = keyof typeof payloads;
export const EVENT_TYPES = Object.keys(payloads) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof payloads)[T]>;

const envelopeBase = z.object({
  schema: z.literal(EVENT_SCHEMA),
  id: name,
  cluster: z.string().regex(CLUSTER_NAME),
  node: name,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  time: z.string().regex(ISO_NS),
  monoNs: z.string().regex(/^\d+$/),
});

type Envelope<T extends EventType> = z.infer<typeof envelopeBase> & { type: T; data: EventData<T> };
/** One event of type T. */
export type EventOf<T extends EventType> = Envelope<T>;
/** Any vipflow v1 event, discriminated on `type`. */
export type VipflowEvent = { [T in EventType]: Envelope<T> }[EventType];

export const eventSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((t) => envelopeBase.extend({ type: z.literal(t), data: payloads[t] })) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

export type EventParseError =
  | { kind: 'not-json'; message: string }
  /** Valid JSON without a vipflow schema tag: something else published on our subjects. */
  | { kind: 'not-an-event'; message: string }
  /** A vipflow event of another schema version (a newer or older producer). */
  | { kind: 'unsupported-schema'; schema: string; message: string }
  | { kind: 'invalid'; message: string; issues: { path: string; message: string }[] };

export type ParseResult = { ok: true; event: VipflowEvent } | { ok: false; error: EventParseError };

/** True when this build understands events tagged with `schema`. */
export function isSupportedSchema(schema: unknown): boolean {
  return schema === EVENT_SCHEMA;
}

/**
 * Validates one event at a trust boundary (bytes from NATS, a file, a pipe).
 *
 * @param input JSON text, its UTF-8 bytes, or an already parsed value.
 * @returns the typed event, or a typed error saying why it was refused; never throws.
 */
export function parseEvent(input: string | Uint8Array | unknown): ParseResult {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : new TextDecoder().decode(input));
    } catch (e) {
      return { ok: false, error: { kind: 'not-json', message: e instanceof Error ? e.message : String(e) } };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: { kind: 'not-an-event', message: 'not a JSON object' } };
  }
  const schema = (value as { schema?: unknown }).schema;
  if (typeof schema !== 'string' || !schema.startsWith(SCHEMA_PREFIX)) {
    return { ok: false, error: { kind: 'not-an-event', message: `no '${SCHEMA_PREFIX}*' schema tag` } };
  }
  if (!isSupportedSchema(schema)) {
    return { ok: false, error: { kind: 'unsupported-schema', schema, message: `schema ${schema} is not ${EVENT_SCHEMA}` } };
  }
  const r = eventSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return {
      ok: false,
      error: { kind: 'invalid', issues, message: issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ') },
    };
  }
  return { ok: true, event: r.data as unknown as VipflowEvent };
}
