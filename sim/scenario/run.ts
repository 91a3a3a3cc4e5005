/**
 * Runs a prepared scenario: the nodes on a VirtualLan (production planInstance,
 * InstanceRunner, sync groups and WireHub on virtual sockets), the faults
 * applied at their times, then the events the nodes published and the
 * workflows they trigger, in dry run, as the worker would run them.
 *
 * Events follow the daemon's outbox: each is made when its transition happens
 * and published at once while the bus is up; while it is down (`nats-down`)
 * events wait, and `nats-up` publishes them all, in order, none lost.
 * Workflows run once per published event that triggers them, at the
 * publication's time; their steps take no simulated time.
 *
 * The result is a timeline (virtual ms, node, instance, what happened) and the
 * material the expectations are checked against (expect.ts). Same prepared
 * scenario and seed, same result: every source of order is the clock's
 * (due time, creation order), the seeded loss draws, and the order of the
 * scenario's own lists.
 */
import { silentLogger } from '../../core/logger.js';
import type { EventData, EventType, VipflowEvent } from '../../infra/events/schema.js';
import { EVENT_SCHEMA } from '../../infra/events/schema-names.js';
import { isoNs } from '../../infra/events/clock.js';
import { matchesTrigger } from '../../workflows/define.js';
import { runWorkflow, type Emit } from '../../workflows/run.js';
import { dryRunShell } from '../../workflows/shell.js';
import { VirtualLan, type NodeStatus } from '../lan.js';
import type { Fault } from './model.js';
import type { PreparedScenario } from './prepare.js';

/** Where virtual time 0 sits on the events' wall clock: fixed, so event times replay byte for byte. */
const EPOCH_NS = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n;

export type LineKind = 'fault' | 'transition' | 'group' | 'vip' | 'event' | 'workflow';

export interface TimelineLine {
  at: number;
  /** The node concerned, `*` for the whole LAN. */
  node: string;
  /** The instance (or sync group, workflow's instance), `-` when none. */
  instance: string;
  kind: LineKind;
  text: string;
}

/** One instance transition, with what the single-Master check needs to know of it. */
export interface SimTransition {
  at: number;
  node: string;
  instance: string;
  ref: string;
  from: NodeStatus;
  to: NodeStatus;
  reason: string;
  vrid: number;
  family: 4 | 6;
  segment: string;
}

export interface WorkflowRun {
  at: number;
  workflow: string;
  node: string;
  instance: string;
  event: string;
  status: 'succeeded' | 'failed' | 'cancelled';
}

export interface SimResult {
  name: string;
  seed: number;
  until: number;
  timeline: TimelineLine[];
  transitions: SimTransition[];
  runs: WorkflowRun[];
  /** Address periods of every VIP: for vip-held. */
  vipGaps(address: string, since: number): { from: number; to: number }[];
  /** Whether `address` was ever added on any node. */
  vipEverHeld(address: string): boolean;
  /** Refs of every instance, node by node. */
  refs: string[];
}

interface Made {
  at: number;
  event: VipflowEvent;
}

const ORDER: Record<LineKind, number> = { fault: 0, transition: 1, group: 2, vip: 3, event: 4, workflow: 5 };

function faultTarget(f: Fault): { node: string; instance: string } {
  if (!('node' in f)) return { node: '*', instance: '-' };
  const slash = f.node.indexOf('/');
  return slash < 0 ? { node: f.node, instance: '-' } : { node: f.node.slice(0, slash), instance: f.node.slice(slash + 1) };
}

function faultText(f: Fault, detail: string): string {
  switch (f.do) {
    case 'partition':
      return `fault partition ${f.groups.map((g) => `[${g.join(' ')}]`).join(' ')}${f.segment ? ` on ${f.segment}` : ''}`;
    case 'heal':
      return `fault heal${f.segment ? ` ${f.segment}` : ''}`;
    case 'advert-loss':
      return `fault advert-loss p=${f.probability}${f.from ? ` from ${f.from}` : ''}${f.to ? ` to ${f.to}` : ''}${f.segment ? ` on ${f.segment}` : ''}${f.for !== undefined ? ` for ${f.for} ms` : ''}`;
    case 'link-down':
    case 'link-up':
      return `fault ${f.do} ${detail}`;
    case 'script':
      return `fault script ${f.script} ${f.result}`;
    case 'checker':
      return `fault checker ${f.realServer} ${f.result}`;
    case 'reload':
      return `fault reload ${detail}`;
    default:
      return `fault ${f.do}`;
  }
}

/**
 * Runs the scenario to `until` (ms; default the scenario's). Rejects only on a
 * fault the LAN refuses (an unknown node or interface: check.ts reports those
 * before a run).
 */
export async function runScenario(p: PreparedScenario, options: { seed?: number; until?: number } = {}): Promise<SimResult> {
  const s = p.scenario;
  const seed = options.seed ?? s.seed;
  const until = options.until ?? s.until;
  const lan = new VirtualLan({ seed, delayMs: s.delay, tickMs: 1000, recordEvents: false });
  const segmentOf = new Map<string, string>();
  for (const n of p.nodes) {
    for (const i of n.interfaces) segmentOf.set(`${n.name}|${i.name}`, i.segment ?? 'lan0');
    lan.addNode(n.name, { interfaces: n.interfaces, config: '', model: n.model, scripts: n.scripts });
  }

  const faultLines: TimelineLine[] = [];
  const busDown: { from: number; to: number }[] = [];
  const checkerEvents: {
    at: number;
    node: string;
    type: 'realserver.up' | 'realserver.down';
    data: EventData<'realserver.up'> | EventData<'realserver.down'>;
  }[] = [];
  const faults = s.faults.map((f, index) => ({ f, index })).sort((a, b) => a.f.at - b.f.at || a.index - b.index);
  for (const { f, index } of faults) {
    if (f.at > until) break;
    lan.runFor(f.at - lan.now());
    let detail = '';
    switch (f.do) {
      case 'crash':
        lan.kill(f.node);
        break;
      case 'sigterm':
        void lan.stop(f.node);
        break;
      case 'restart':
        lan.restart(f.node);
        break;
      case 'link-down':
      case 'link-up': {
        const iface = f.interface ?? p.nodes.find((n) => n.name === f.node)!.interfaces[0]!.name;
        detail = iface;
        lan.setLink(f.node, iface, f.do === 'link-up');
        break;
      }
      case 'partition':
        lan.partition(f.groups, f.segment);
        break;
      case 'heal':
        lan.heal(f.segment);
        break;
      case 'advert-loss':
        lan.addLoss({
          probability: f.probability,
          ...(f.for !== undefined ? { until: f.at + f.for } : {}),
          ...(f.from !== undefined ? { from: f.from } : {}),
          ...(f.to !== undefined ? { to: f.to } : {}),
          ...(f.segment !== undefined ? { segment: f.segment } : {}),
        });
        break;
      case 'nats-down':
        if (busDown.length === 0 || busDown.at(-1)!.to !== Infinity) busDown.push({ from: f.at, to: Infinity });
        break;
      case 'nats-up':
        if (busDown.at(-1)?.to === Infinity) busDown.at(-1)!.to = f.at;
        break;
      case 'script':
        lan.setScript(f.node, f.script, f.result);
        break;
      case 'checker':
        checkerEvents.push(
          f.result === 'up'
            ? { at: f.at, node: f.node, type: 'realserver.up', data: { virtualServer: f.virtualServer, realServer: f.realServer, weight: 1, reason: 'checks' } }
            : { at: f.at, node: f.node, type: 'realserver.down', data: { virtualServer: f.virtualServer, realServer: f.realServer, reason: 'forced' } },
        );
        break;
      case 'reload': {
        const did = lan.reload(f.node, p.reloads.get(index)!);
        detail = Object.entries(did)
          .map(([i, d]) => `${i}:${d}`)
          .join(' ');
        break;
      }
    }
    const { node, instance } = faultTarget(f);
    faultLines.push({ at: f.at, node, instance, kind: 'fault', text: faultText(f, detail) });
  }
  lan.runFor(Math.max(0, until - lan.now()));
  // Not disposed: powering the nodes off would write VIP losses at `until` that no fault caused.

  // Transitions the runners made ('dead' and restarts are the simulator's own words).
  const transitions: SimTransition[] = lan.timeline.map((e) => {
    const r = e.record;
    const plan = r ? undefined : lan.runnerOf(e.ref).plan;
    const iface = r?.interface ?? plan!.interface;
    return {
      at: e.at,
      node: e.node,
      instance: e.instance,
      ref: e.ref,
      from: e.from,
      to: e.to,
      reason: e.reason,
      vrid: r?.vrid ?? plan!.vrid,
      family: (r?.family ?? plan!.family) === 'ipv6' ? 6 : 4,
      segment: segmentOf.get(`${e.node}|${iface}`) ?? 'lan0',
    };
  });

  const lines: TimelineLine[] = [...faultLines];
  for (const e of lan.timeline) {
    const why = e.reason ? ` (${e.reason}${e.priority !== undefined ? `, priority ${e.priority}` : ''})` : '';
    lines.push({ at: e.at, node: e.node, instance: e.instance, kind: 'transition', text: `${e.from} -> ${e.to}${why}` });
  }
  for (const g of lan.groupTimeline) lines.push({ at: g.at, node: g.node, instance: g.group, kind: 'group', text: `group ${g.from} -> ${g.to} (by ${g.by})` });
  for (const e of lan.events)
    if (e.kind === 'address') lines.push({ at: e.at, node: e.node, instance: '-', kind: 'vip', text: `vip ${e.action} ${e.address} on ${e.dev}` });

  // The outbox: events made as the daemon makes them, published when the bus is up.
  const seq = new Map<string, number>();
  const made: Made[] = [];
  const make = <T extends EventType>(at: number, node: string, type: T, data: EventData<T>) => {
    const n = (seq.get(node) ?? 0) + 1;
    seq.set(node, n);
    const ns = BigInt(Math.round(at * 1e6));
    const event = {
      schema: EVENT_SCHEMA,
      id: `${node}:sim:${n}`,
      type,
      cluster: s.cluster,
      node,
      seq: n,
      time: isoNs(EPOCH_NS + ns),
      monoNs: ns.toString(),
      data,
    } as VipflowEvent;
    made.push({ at, event });
  };
  const timed: { at: number; run: () => void }[] = [];
  for (const e of lan.timeline) {
    const r = e.record;
    if (!r) continue;
    timed.push({
      at: e.at,
      run: () =>
        make(e.at, e.node, 'instance.transition', {
          instance: r.instance,
          vrid: r.vrid,
          family: r.family,
          interface: r.interface,
          from: r.from,
          to: r.to,
          reason: r.reason,
          effectivePriority: r.effectivePriority,
          basePriority: r.basePriority,
          masterSeen: r.masterSeen,
          advertIntervalCs: r.advertIntervalCs,
        }),
    });
  }
  for (const g of lan.groupTimeline)
    timed.push({
      at: g.at,
      run: () => make(g.at, g.node, 'group.transition', { group: g.group, from: g.from, to: g.to, by: g.by, reason: g.reason, members: g.members }),
    });
  for (const c of checkerEvents) timed.push({ at: c.at, run: () => make(c.at, c.node, c.type, c.data as never) });
  // Stable: transitions, then group moves, then checker results at one instant.
  timed.sort((a, b) => a.at - b.at);
  for (const t of timed) t.run();

  const publishAt = (at: number) => {
    const down = busDown.find((d) => at >= d.from && at < d.to);
    return down ? down.to : at;
  };
  const published = made
    .map((m, i) => ({ ...m, i, pub: publishAt(m.at) }))
    .filter((m) => m.pub <= until)
    .sort((a, b) => a.pub - b.pub || a.i - b.i);
  for (const m of made) {
    const pub = publishAt(m.at);
    if (pub !== m.at)
      lines.push({
        at: m.at,
        node: m.event.node,
        instance: instanceOfEvent(m.event),
        kind: 'event',
        text: `event ${m.event.type} #${m.event.seq} queued (bus down)`,
      });
  }
  for (const d of busDown) {
    const queued = made.filter((m) => m.at >= d.from && m.at < d.to).length;
    if (d.to <= until) lines.push({ at: d.to, node: '*', instance: '-', kind: 'event', text: `bus up (${queued} queued event(s) published in order)` });
  }

  // The worker: each published event once, every workflow it triggers, in dry run.
  const runs: WorkflowRun[] = [];
  const log = silentLogger();
  for (const m of published) {
    for (const w of p.workflows) {
      if (!matchesTrigger(w, m.event, p.groups)) continue;
      const at = m.pub;
      const node = m.event.node;
      const instance = instanceOfEvent(m.event);
      const add = (text: string) => lines.push({ at, node, instance, kind: 'workflow', text });
      add(`workflow ${w.name} started (event ${m.event.type} #${m.event.seq}${m.pub !== m.at ? `, made at ${m.at.toFixed(3)}` : ''})`);
      const emit: Emit = (type, data) => {
        if (type !== 'workflow.step') return;
        const d = data as EventData<'workflow.step'>;
        add(`workflow ${w.name} step ${d.step} ${d.status}${d.error ? ` (${d.error})` : ''}`);
      };
      const r = await runWorkflow(w, m.event, {
        runId: `${m.event.id}/${w.name}`,
        log,
        emit,
        shell: dryRunShell(log, (c) => add(`workflow ${w.name} would run: ${c}`)),
        dryRun: true,
        onIntent: (i) => add(`workflow ${w.name} would ${i.action}${i.detail !== undefined ? ` ${JSON.stringify(i.detail)}` : ''}`),
      });
      add(`workflow ${w.name} ${r.status}`);
      runs.push({ at, workflow: w.name, node, instance, event: m.event.id, status: r.status });
    }
  }

  // Sorting is stable: within one instant and kind, lines keep the order they happened in.
  const timeline = lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => a.l.at - b.l.at || ORDER[a.l.kind] - ORDER[b.l.kind] || a.i - b.i)
    .map((x) => x.l);
  const everHeld = new Set(lan.events.filter((e) => e.kind === 'address' && e.action === 'add').map((e) => (e.kind === 'address' ? e.address : '')));
  return {
    name: s.name ?? 'scenario',
    seed,
    until,
    timeline,
    transitions,
    runs,
    vipGaps: (address, since) => lan.vipGaps(address, since),
    vipEverHeld: (address) => everHeld.has(address),
    refs: lan.refs(),
  };
}

function instanceOfEvent(e: VipflowEvent): string {
  const d = e.data as { instance?: unknown; group?: unknown };
  return typeof d.instance === 'string' ? d.instance : typeof d.group === 'string' ? d.group : '-';
}
