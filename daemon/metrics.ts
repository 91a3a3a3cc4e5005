/**
 * Prometheus metrics, computed on each scrape from the daemon's status (the
 * document `vipflow status --json` shows): nothing is counted on the VRRP
 * path for them. Three sets of names:
 *
 * - mehdy/keepalived-exporter's (`keepalived_vrrp_state{iname,intf,vrid,ip_address}`,
 *   `keepalived_*_total{iname,intf,vrid}`, `keepalived_script_status{name}`),
 * - gen2brain/keepalived_exporter's (`keepalived_vrrp_*{name,intf,vrid,state}`,
 *   `keepalived_lvs_*`),
 *
 * so that their dashboards and alerts work unchanged, and vipflow's own under
 * `vipflow_`. metricSamples is the pure mapping; StatusMetrics renders it.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { TransitionRecord, VrrpStateName } from '../actors/vrrp/types.js';
import type { DropReason } from '../actors/vrrp/receive.js';
import type { DaemonStatus } from './daemon.js';

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labels: readonly string[];
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** keepalived's VRRP state numbers (vrrp.h), which both exporters publish. */
export const KEEPALIVED_STATE_NUMBER: Record<VrrpStateName, number> = {
  initialize: 0,
  backup: 1,
  master: 2,
  fault: 3,
  // keepalived has no such state in its dumps: a stopped instance does not run VRRP, as in INIT.
  stopped: 0,
};
const KEEPALIVED_STATE_NAME = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

const MEHDY_LABELS = ['iname', 'intf', 'vrid'] as const;
const GEN2BRAIN_LABELS = ['name', 'intf', 'vrid', 'state'] as const;

type InstanceStatus = DaemonStatus['instances'][number];
/** A per-instance counter under both exporters' names: mehdy's, gen2brain's, and where it comes from. */
const KEEPALIVED_COUNTERS: { mehdy: string; gen2brain: string; help: string; value: (i: InstanceStatus) => number }[] = [
  { mehdy: 'advertisements_received_total', gen2brain: 'advert_rcvd', help: 'Advertisements received', value: (i) => i.counters.advertsReceived ?? 0 },
  { mehdy: 'advertisements_sent_total', gen2brain: 'advert_sent', help: 'Advertisements sent', value: (i) => i.counters.advertsSent ?? 0 },
  { mehdy: 'become_master_total', gen2brain: 'become_master', help: 'Became master', value: (i) => i.counters.becameMaster ?? 0 },
  { mehdy: 'release_master_total', gen2brain: 'release_master', help: 'Released master', value: (i) => i.counters.releasedMaster ?? 0 },
  // vipflow's codec does not tell a short packet from other malformations: all are counted here.
  {
    mehdy: 'packet_length_errors_total',
    gen2brain: 'packet_len_err',
    help: 'Packet length errors (vipflow: malformed packets)',
    value: (i) => i.drops.malformed,
  },
  {
    mehdy: 'advertisements_interval_errors_total',
    gen2brain: 'advert_interval_err',
    help: 'Advertisement interval errors',
    value: (i) => i.counters.intervalMismatches ?? 0,
  },
  { mehdy: 'ip_ttl_errors_total', gen2brain: 'ip_ttl_err', help: 'TTL errors', value: (i) => i.drops['bad-ttl'] },
  // The codec refuses a packet of another type as malformed (counted above).
  { mehdy: 'invalid_type_received_total', gen2brain: 'invalid_type_rcvd', help: 'Invalid type errors (vipflow: counted as malformed)', value: () => 0 },
  { mehdy: 'address_list_errors_total', gen2brain: 'addr_list_err', help: 'Address list errors', value: (i) => i.drops['address-list-mismatch'] },
  // vipflow counts a wrong auth type and a wrong password as one drop reason (auth-mismatch).
  { mehdy: 'authentication_invalid_total', gen2brain: 'invalid_authtype', help: 'Authentication invalid (vipflow: counted as mismatch)', value: () => 0 },
  { mehdy: 'authentication_mismatch_total', gen2brain: 'authtype_mismatch', help: 'Authentication mismatch', value: (i) => i.drops['auth-mismatch'] },
  { mehdy: 'authentication_failure_total', gen2brain: 'auth_failure', help: 'Authentication failure (vipflow: counted as mismatch)', value: () => 0 },
  { mehdy: 'priority_zero_received_total', gen2brain: 'pri_zero_rcvd', help: 'Priority zero received', value: (i) => i.counters.priorityZeroReceived ?? 0 },
  { mehdy: 'priority_zero_sent_total', gen2brain: 'pri_zero_sent', help: 'Priority zero sent', value: (i) => i.counters.priorityZeroSent ?? 0 },
];

const IL = ['instance', 'vrid', 'interface', 'family'] as const;
const family = (name: string, type: MetricFamily['type'], labels: readonly string[], help: string): MetricFamily => ({ name, type, labels, help });

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  family('keepalived_up', 'gauge', [], 'Status (1: vipflow runs its VRRP instances)'),
  family('keepalived_vrrp_state', 'gauge', [...MEHDY_LABELS, 'ip_address'], 'State of vrrp (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)'),
  family('keepalived_script_status', 'gauge', ['name'], 'Tracker Script Status (0 BAD, 1 GOOD)'),
  ...KEEPALIVED_COUNTERS.map((c) => family(`keepalived_${c.mehdy}`, 'counter', MEHDY_LABELS, c.help)),
  ...KEEPALIVED_COUNTERS.map((c) => family(`keepalived_vrrp_${c.gen2brain}`, 'counter', GEN2BRAIN_LABELS, c.help)),
  family('keepalived_lvs_vip_in_packets', 'counter', ['addr', 'proto'], 'VIP in packets'),
  family('keepalived_lvs_vip_in_bytes', 'counter', ['addr', 'proto'], 'VIP in bytes'),
  family('keepalived_lvs_vip_conn', 'counter', ['addr', 'proto'], 'VIP connections'),
  family('keepalived_lvs_rs_in_packets', 'counter', ['vip', 'addr', 'proto'], 'RS in packets'),
  family('keepalived_lvs_rs_in_bytes', 'counter', ['vip', 'addr', 'proto'], 'RS in bytes'),
  family('keepalived_lvs_rs_conn', 'counter', ['vip', 'addr', 'proto'], 'RS connections'),

  family('vipflow_uptime_seconds', 'gauge', [], 'Seconds since the daemon started'),
  family('vipflow_instance_state', 'gauge', [...IL, 'state'], '1 for the state the instance is in, 0 for the others'),
  family('vipflow_instance_priority', 'gauge', [...IL, 'kind'], 'Priority: base (configured) and effective (after tracking)'),
  family('vipflow_instance_transitions_total', 'counter', IL, 'State transitions of the instance'),
  family('vipflow_transitions_total', 'counter', ['instance', 'from', 'to', 'reason'], 'State transitions since the daemon started, by reason'),
  family('vipflow_drops_total', 'counter', ['instance', 'reason'], 'Received packets dropped before the state machine, by reason'),
  family('vipflow_send_errors_total', 'counter', ['instance'], 'Adverts the socket refused to send'),
  family('vipflow_announcements_total', 'counter', ['instance', 'result'], 'Gratuitous ARP / unsolicited NA frames'),
  family('vipflow_wire_received_total', 'counter', [], 'VRRP packets received by the hub'),
  family('vipflow_wire_malformed_total', 'counter', [], 'VRRP packets the codec refused'),
  family('vipflow_wire_unknown_vrid_total', 'counter', [], 'VRRP packets for a VRID no instance runs'),
  family('vipflow_dropped_packets_total', 'counter', ['reason'], 'Received VRRP packets dropped or not acted on, by reason, over the hub and every instance'),
  family('vipflow_late_timers_total', 'counter', [], 'VRRP timers that fired late'),
  family('vipflow_late_timer_worst_seconds', 'gauge', [], 'The latest VRRP timer so far'),
  family('vipflow_event_loop_delay_seconds', 'gauge', ['quantile'], 'Event-loop delay (quantile 1 is the maximum)'),
  family('vipflow_reloads_total', 'counter', ['result'], 'Configuration reloads, applied (ok) or refused'),
  family('vipflow_events_published_total', 'counter', [], 'vipflow.event/v1 events published'),
  family('vipflow_events_delivered_total', 'counter', [], 'Events delivered (in-process bus: to its subscriber; NATS: acknowledged)'),
  family('vipflow_events_failed_total', 'counter', [], 'Failed deliveries to NATS (the event stays queued)'),
  family('vipflow_events_corrupt_total', 'counter', [], 'Spilled events that could not be read back'),
  family('vipflow_outbox_depth', 'gauge', ['where'], 'Events queued for NATS, in memory or spilled to disk'),
  family('vipflow_split_brain_detected_total', 'counter', [], 'Split brains detected'),
  family('vipflow_split_brain_fenced', 'gauge', [], 'Instances stepped down by the split-brain fence'),
  family('vipflow_notify_pending', 'gauge', [], 'Notify scripts waiting or running'),
  family('vipflow_notify_fifo_lines_total', 'counter', ['path', 'result'], 'notify_fifo lines written or dropped (pipe full)'),
  family('vipflow_track_script_up', 'gauge', ['name'], 'vrrp_script health (1 up, 0 down; absent until known)'),
  family('vipflow_track_script_runs_total', 'counter', ['name', 'result'], 'vrrp_script runs by result'),
  family('vipflow_virtual_server_quorum_up', 'gauge', ['virtual_server'], '1 when the virtual server has its quorum'),
  family('vipflow_real_server_up', 'gauge', ['virtual_server', 'real_server'], '1 when the real server is alive'),
  family('vipflow_real_server_weight', 'gauge', ['virtual_server', 'real_server'], 'The weight the real server has'),
  family('vipflow_checker_up', 'gauge', ['virtual_server', 'real_server', 'checker', 'type'], '1 up, 0 down (absent when unsupported)'),
  family('vipflow_checker_probes_total', 'counter', ['virtual_server', 'real_server', 'checker', 'type'], 'Probes run'),
  family('vipflow_lb_applies_total', 'counter', ['backend', 'result'], 'Load-balancer rule applies'),
  family('vipflow_lb_services', 'gauge', ['backend'], 'Services in the kernel'),
  family('vipflow_lb_destinations', 'gauge', ['backend'], 'Destinations in the kernel'),
  family('vipflow_lb_last_apply_seconds', 'gauge', ['backend'], 'How long the last apply took'),
  family('vipflow_lb_service_packets_total', 'counter', ['service'], 'Packets to the service'),
  family('vipflow_lb_service_bytes_total', 'counter', ['service'], 'Bytes to the service'),
];

/** Transitions counted since start, by instance, from, to and reason (the status only keeps the recent ones). */
export class TransitionTally {
  private readonly counts = new Map<string, { labels: Record<string, string>; n: number }>();

  add(t: Pick<TransitionRecord, 'instance' | 'from' | 'to' | 'reason'>): void {
    const key = `${t.instance}\0${t.from}\0${t.to}\0${t.reason}`;
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { labels: { instance: t.instance, from: t.from, to: t.to, reason: t.reason }, n: 1 });
  }

  samples(): MetricSample[] {
    return [...this.counts.values()].map((c) => ({ name: 'vipflow_transitions_total', labels: c.labels, value: c.n }));
  }
}

/** keepalived's way to write a VIP: the address, with /prefix unless it is a host address. */
function keepalivedVip(vip: string): { address: string; dev: string } | undefined {
  const m = /^(\S+?)\/(\d+) dev (\S+)/.exec(vip);
  if (!m) return undefined;
  const host = m[1]!.includes(':') ? '128' : '32';
  return { address: m[2] === host ? m[1]! : `${m[1]}/${m[2]}`, dev: m[3]! };
}

/** `198.18.0.100:80/tcp` → addr and IP protocol number, as IPVS (and gen2brain's exporter) gives them; fwmark services have none. */
const PROTOCOL_NUMBER: Record<string, string> = { tcp: '6', udp: '17', sctp: '132' };
function lvsService(id: string): { addr: string; proto: string } | undefined {
  const m = /^(.+)\/(tcp|udp|sctp)$/.exec(id);
  return m ? { addr: m[1]!, proto: PROTOCOL_NUMBER[m[2]!]! } : undefined;
}

type Push = (name: string, value: number, labels?: Record<string, string>) => void;
const collector = (): { out: MetricSample[]; push: Push } => {
  const out: MetricSample[] = [];
  return { out, push: (name, value, labels = {}) => void out.push({ name, labels, value }) };
};

/** Every sample of a status document (pure). */
export function metricSamples(status: DaemonStatus, transitions: TransitionTally): MetricSample[] {
  const { out, push } = collector();
  for (const i of status.instances) instanceSamples(i, push);
  daemonSamples(status, transitions, push);
  return out;
}

/** The same samples, yielding to the event loop every INSTANCE_SLICE instances (what a scrape uses). */
const INSTANCE_SLICE = 100;
export async function metricSamplesSliced(status: DaemonStatus, transitions: TransitionTally): Promise<MetricSample[]> {
  const { out, push } = collector();
  for (let k = 0; k < status.instances.length; k++) {
    instanceSamples(status.instances[k]!, push);
    if ((k + 1) % INSTANCE_SLICE === 0) await yieldToLoop();
  }
  daemonSamples(status, transitions, push);
  return out;
}

/** One VRRP instance: both exporters' series and vipflow's. */
function instanceSamples(i: InstanceStatus, push: Push): void {
  const state = KEEPALIVED_STATE_NUMBER[i.state];
  const vrid = String(i.vrid);
  const vips = i.vips.map(keepalivedVip).filter((v) => v !== undefined);
  // As keepalived-exporter does for an instance without VIPs: one series with an empty address.
  if (vips.length === 0) push('keepalived_vrrp_state', state, { iname: i.name, intf: i.interface, vrid, ip_address: '' });
  for (const v of vips) push('keepalived_vrrp_state', state, { iname: i.name, intf: v.dev, vrid, ip_address: v.address });
  for (const c of KEEPALIVED_COUNTERS) {
    push(`keepalived_${c.mehdy}`, c.value(i), { iname: i.name, intf: i.interface, vrid });
    push(`keepalived_vrrp_${c.gen2brain}`, c.value(i), { name: i.name, intf: i.interface, vrid, state: KEEPALIVED_STATE_NAME[state]! });
  }

  const il = { instance: i.name, vrid, interface: i.interface, family: `ipv${i.family}` };
  for (const s of Object.keys(KEEPALIVED_STATE_NUMBER) as VrrpStateName[]) push('vipflow_instance_state', s === i.state ? 1 : 0, { ...il, state: s });
  push('vipflow_instance_priority', i.basePriority, { ...il, kind: 'base' });
  push('vipflow_instance_priority', i.effectivePriority, { ...il, kind: 'effective' });
  push('vipflow_instance_transitions_total', i.counters.transitions ?? 0, il);
  for (const [reason, n] of Object.entries(i.drops) as [DropReason, number][]) push('vipflow_drops_total', n, { instance: i.name, reason });
  push('vipflow_send_errors_total', i.counters.sendErrors ?? 0, { instance: i.name });
  push('vipflow_announcements_total', i.announcements.framesSent, { instance: i.name, result: 'sent' });
  push('vipflow_announcements_total', i.announcements.sendErrors, { instance: i.name, result: 'error' });
}

/** Everything but the instances. */
function daemonSamples(status: DaemonStatus, transitions: TransitionTally, push: Push): void {
  push('keepalived_up', 1);
  for (const s of status.trackScripts) {
    if (s.health !== 'unknown') {
      push('keepalived_script_status', s.health === 'up' ? 1 : 0, { name: s.name });
      push('vipflow_track_script_up', s.health === 'up' ? 1 : 0, { name: s.name });
    }
    const ok = Math.max(0, s.checks - s.failures - s.timeouts);
    for (const [result, n] of [
      ['ok', ok],
      ['failed', s.failures],
      ['timeout', s.timeouts],
      ['skipped', s.skipped],
    ] as const)
      push('vipflow_track_script_runs_total', n, { name: s.name, result });
  }
  for (const t of transitions.samples()) push(t.name, t.value, t.labels);

  push('vipflow_uptime_seconds', status.uptimeMs / 1000);
  push('vipflow_wire_received_total', status.wire.received);
  push('vipflow_wire_malformed_total', status.wire.malformed);
  push('vipflow_wire_unknown_vrid_total', status.wire.unknownVrid);
  // Older daemons do not report it.
  for (const [reason, n] of Object.entries(status.dropped ?? {})) push('vipflow_dropped_packets_total', n, { reason });
  push('vipflow_late_timers_total', status.eventLoop.lateTimers);
  push('vipflow_late_timer_worst_seconds', status.eventLoop.worstLateMs / 1000);
  push('vipflow_event_loop_delay_seconds', status.eventLoop.delayP50Ms / 1000, { quantile: '0.5' });
  push('vipflow_event_loop_delay_seconds', status.eventLoop.delayP99Ms / 1000, { quantile: '0.99' });
  push('vipflow_event_loop_delay_seconds', status.eventLoop.delayMaxMs / 1000, { quantile: '1' });
  push('vipflow_reloads_total', status.reloads.ok, { result: 'ok' });
  push('vipflow_reloads_total', status.reloads.refused, { result: 'refused' });

  const ev = status.events;
  push('vipflow_events_published_total', ev.published);
  push('vipflow_events_delivered_total', ev.outbox?.delivered ?? ev.delivered);
  push('vipflow_events_failed_total', ev.outbox?.failures ?? 0);
  push('vipflow_events_corrupt_total', ev.outbox?.corrupt ?? 0);
  push('vipflow_outbox_depth', ev.outbox?.inMemory ?? 0, { where: 'memory' });
  push('vipflow_outbox_depth', ev.outbox?.spilled ?? 0, { where: 'spill' });
  push('vipflow_split_brain_detected_total', ev.splitBrain.detected);
  push('vipflow_split_brain_fenced', ev.splitBrain.fenced.length);
  push('vipflow_notify_pending', status.notify.pending);
  for (const f of status.notify.fifos) {
    push('vipflow_notify_fifo_lines_total', f.written, { path: f.path, result: 'written' });
    push('vipflow_notify_fifo_lines_total', f.dropped, { path: f.path, result: 'dropped' });
  }

  for (const vs of status.checks.virtualServers) {
    push('vipflow_virtual_server_quorum_up', vs.quorumUp ? 1 : 0, { virtual_server: vs.id });
    for (const rs of vs.realServers) {
      const rl = { virtual_server: vs.id, real_server: rs.id };
      push('vipflow_real_server_up', rs.alive ? 1 : 0, rl);
      push('vipflow_real_server_weight', rs.weight, rl);
      for (const c of rs.checkers) {
        const cl = { ...rl, checker: c.id, type: c.type };
        if (c.state !== 'unsupported') push('vipflow_checker_up', c.state === 'up' ? 1 : 0, cl);
        push('vipflow_checker_probes_total', c.probes, cl);
      }
    }
  }

  const lb = status.lb;
  const backend = { backend: lb.backend };
  push('vipflow_lb_applies_total', lb.applies.ok, { ...backend, result: 'ok' });
  push('vipflow_lb_applies_total', lb.applies.failed, { ...backend, result: 'failed' });
  push('vipflow_lb_services', lb.services, backend);
  push('vipflow_lb_destinations', lb.destinations, backend);
  if (lb.last?.ms !== undefined) push('vipflow_lb_last_apply_seconds', lb.last.ms / 1000, backend);
  for (const c of lb.counters ?? []) {
    push('vipflow_lb_service_packets_total', c.packets, { service: c.id });
    push('vipflow_lb_service_bytes_total', c.bytes, { service: c.id });
    const svc = lvsService(c.id);
    if (!svc) continue;
    push('keepalived_lvs_vip_in_packets', c.packets, svc);
    push('keepalived_lvs_vip_in_bytes', c.bytes, svc);
    if (c.connections !== undefined) push('keepalived_lvs_vip_conn', c.connections, svc);
    for (const d of c.destinations) {
      const host = d.address.includes(':') ? `[${d.address}]` : d.address;
      const rl = { vip: svc.addr, addr: d.port === undefined ? host : `${host}:${d.port}`, proto: svc.proto };
      push('keepalived_lvs_rs_in_packets', d.packets, rl);
      push('keepalived_lvs_rs_in_bytes', d.bytes, rl);
      if (d.connections !== undefined) push('keepalived_lvs_rs_conn', d.connections, rl);
    }
  }
}

// Samples set between two yields to the event loop: a scrape of 1,000 instances
// (~50,000 samples) takes a few hundred ms of prom-client work, which must not
// hold VRRP timers; one slice stays in the low milliseconds.
const SLICE = 1000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The registry: one prom-client metric per family, refilled from the samples
 * at each scrape (reset first, so a removed instance's series disappear).
 * Rendering yields to the event loop between families and every SLICE
 * samples; concurrent scrapes take turns, as they share the registry.
 */
export class StatusMetrics {
  private readonly registry = new Registry();
  private readonly metrics = new Map<string, Gauge | Counter>();
  private turn: Promise<unknown> = Promise.resolve();
  readonly contentType = this.registry.contentType;

  constructor(families: readonly MetricFamily[] = METRIC_FAMILIES) {
    for (const f of families) {
      const config = { name: f.name, help: f.help, labelNames: [...f.labels], registers: [this.registry] };
      this.metrics.set(f.name, f.type === 'gauge' ? new Gauge(config) : new Counter(config));
    }
  }

  /** The exposition text of these samples; a sample of an unknown family is a programming error. */
  render(samples: readonly MetricSample[]): Promise<string> {
    const byName = new Map<string, MetricSample[]>();
    for (const s of samples) {
      if (!this.metrics.has(s.name)) throw new Error(`no metric family ${s.name}`);
      const list = byName.get(s.name);
      if (list) list.push(s);
      else byName.set(s.name, [s]);
    }
    const rendered = this.turn.then(() => this.renderInTurn(byName));
    this.turn = rendered.catch(() => undefined);
    return rendered;
  }

  private async renderInTurn(byName: Map<string, MetricSample[]>): Promise<string> {
    const parts: string[] = [];
    for (const [name, m] of this.metrics) {
      m.reset();
      const list = byName.get(name) ?? [];
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (m instanceof Gauge) m.set(s.labels, s.value);
        else m.inc(s.labels, s.value);
        if ((i + 1) % SLICE === 0) await yieldToLoop();
      }
      parts.push(await this.registry.getSingleMetricAsString(name));
      await yieldToLoop();
    }
    // As prom-client's registry.metrics() joins them.
    return parts.join('\n\n') + '\n';
  }
}
