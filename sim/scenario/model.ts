/**
 * What a scenario file says (`vipflow simulate SCENARIO`): the nodes and their
 * configurations, the LAN segments, a seed, the faults on a timeline and the
 * expectations. The same shape comes from TypeScript (`defineScenario`) and
 * from YAML; `parseScenario` checks either and reports every problem with its
 * path in the file.
 *
 * Times are milliseconds (a number) or a duration text: `500ms`, `1.5s`, `2m`.
 */
import { z } from 'zod';
import type { VipflowConfigInput } from '../../config/model.js';
import { parseDuration } from './duration.js';

export { parseDuration };

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (use a number of ms, or '500ms', '1.5s', '2m')` });
    return z.NEVER;
  }
  return ms;
});

const name = z.string().min(1);
const health = z.enum(['up', 'down']);

const InterfaceSchema = z.strictObject({
  /** The segment (switch, VLAN) it is plugged into; default `lan0`. */
  segment: name.optional(),
  /** Its own addresses (`198.18.0.1/24`); default one from 198.18.<interface>.<node>/24 and fe80::<node>/64. */
  address: z.union([name, z.array(name)]).optional(),
});

/** A node's configuration: a file (keepalived.conf or vipflow.config.ts, relative to the scenario), or inline. */
const ConfigSource = {
  config: name.optional(),
  keepalived: z.string().optional(),
  vipflow: z.custom<VipflowConfigInput>((v) => typeof v === 'object' && v !== null).optional(),
};

const NodeSchema = z
  .strictObject({
    ...ConfigSource,
    interfaces: z.record(name, InterfaceSchema).optional(),
    /** vrrp_script results at start (default: every script up). */
    scripts: z.record(name, health).optional(),
  })
  .refine((n) => [n.config, n.keepalived, n.vipflow].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of config (a file), keepalived (inline keepalived.conf) or vipflow (inline typed config)',
  });

const at = { at: duration };
const target = name.describe('a node, or node/instance');

const FaultSchema = z.discriminatedUnion('do', [
  /** Power loss: no priority-0 advert, the VIPs go with the host. */
  z.strictObject({ ...at, do: z.literal('crash'), node: target }),
  /** Graceful stop (systemctl stop): a Master sends priority 0 and hands over. */
  z.strictObject({ ...at, do: z.literal('sigterm'), node: target }),
  /** Starts a crashed or stopped node (or instance) again. */
  z.strictObject({ ...at, do: z.literal('restart'), node: target }),
  z.strictObject({ ...at, do: z.literal('link-down'), node: name, interface: name.optional() }),
  z.strictObject({ ...at, do: z.literal('link-up'), node: name, interface: name.optional() }),
  /** Each group hears only itself; nodes not listed form one more group. */
  z.strictObject({ ...at, do: z.literal('partition'), groups: z.array(z.array(name).min(1)).min(1), segment: name.optional() }),
  z.strictObject({ ...at, do: z.literal('heal'), segment: name.optional() }),
  /** Adverts lost with `probability` (default 1) for `for` (default: to the end), optionally only from / to a node or on a segment. */
  z.strictObject({
    ...at,
    do: z.literal('advert-loss'),
    probability: z.number().min(0).max(1).default(1),
    for: duration.optional(),
    from: name.optional(),
    to: name.optional(),
    segment: name.optional(),
  }),
  /** The event bus is unreachable: events wait in each node's outbox. */
  z.strictObject({ ...at, do: z.literal('nats-down') }),
  /** Back: every queued event is published, in order. */
  z.strictObject({ ...at, do: z.literal('nats-up') }),
  /** A vrrp_script's result, forced. */
  z.strictObject({ ...at, do: z.literal('script'), node: name, script: name, result: health }),
  /** A real server's checker result, forced: the node publishes realserver.up / realserver.down. */
  z.strictObject({ ...at, do: z.literal('checker'), node: name, virtualServer: name, realServer: name, result: health }),
  /** The node reloads with another configuration. */
  z.strictObject({ ...at, do: z.literal('reload'), node: name, ...ConfigSource }),
]);

const ExpectationSchema = z.discriminatedUnion('expect', [
  /** At most one Master per VRID on a segment at any time after `after`, an overlap up to `grace` (default 1s) allowed. */
  z.strictObject({
    expect: z.literal('single-master'),
    vrid: z.number().int().min(1).max(255).optional(),
    grace: duration.default(1000),
    after: duration.default(0),
  }),
  /** Once first held, `address` is never unheld for more than `within` (after `after`). */
  z.strictObject({ expect: z.literal('vip-held'), address: name, within: duration, after: duration.default(0) }),
  /** `workflow` ran `times` times (default 1), for events of `node` if given. */
  z.strictObject({ expect: z.literal('workflow-runs'), workflow: name, times: z.number().int().min(0).default(1), node: name.optional() }),
  /** These timeline lines appear in this order (others may come between); each matches a line holding its text from a word's start to a word's end. */
  z.strictObject({ expect: z.literal('sequence'), events: z.array(name).min(1) }),
  /** `node` (node or node/instance) is in `state` at time `at`. */
  z.strictObject({ expect: z.literal('state'), node: target, at: duration, state: z.enum(['initialize', 'backup', 'master', 'fault', 'stopped', 'dead']) }),
]);

export const ScenarioSchema = z.strictObject({
  name: name.optional(),
  /** Seed of the loss draws (default 1). */
  seed: z.number().int().default(1),
  /** Simulated time to run (default 60s). */
  until: duration.default(60_000),
  /** One-way delivery delay of every packet (default 0). */
  delay: duration.default(0),
  /** Cluster name on the events (default `default`). */
  cluster: name.default('default'),
  /** The segments nodes may plug into (default: those the interfaces name). */
  segments: z.array(name).optional(),
  /** A workflows module the worker runs for every node's events (besides each node's configured workflows). */
  workflows: name.optional(),
  nodes: z.record(name, NodeSchema).refine((n) => Object.keys(n).length > 0, { message: 'a scenario needs at least one node' }),
  faults: z.array(FaultSchema).default([]),
  expect: z.array(ExpectationSchema).default([]),
});

export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioNode = Scenario['nodes'][string];
export type Fault = Scenario['faults'][number];
export type Expectation = Scenario['expect'][number];

/** A typed scenario for a `.ts` scenario file: `export default defineScenario({...})`. Checked again when loaded. */
export function defineScenario(s: ScenarioInput): ScenarioInput {
  return s;
}

/** Checks a scenario (from YAML or a module); every problem as `path: message`. Never throws. */
export function parseScenario(raw: unknown): { ok: true; scenario: Scenario } | { ok: false; errors: string[] } {
  const r = ScenarioSchema.safeParse(raw);
  if (r.success) return { ok: true, scenario: r.data };
  return { ok: false, errors: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(scenario)'}: ${i.message}`) };
}
