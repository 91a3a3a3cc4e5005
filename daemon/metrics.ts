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
import { Registry } from 'prom-client';
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
  family(
    'vipflow_wire_absorbed_total',
    'counter',
    [],
    "Repeats of a Backup's plain advert the addon counted without handing them to JavaScript (included in received)",
  ),
  family('vipflow_wire_receive_holds_total', 'counter', [], 'Receive moderation: times a Backup-only socket was held to read its adverts in one batch'),
  family('vipflow_wire_receive_drains_total', 'counter', [], 'Receive moderation: held sockets read before a takeover timer acted'),
  family('vipflow_dropped_packets_total', 'counter', ['reason'], 'Received VRRP packets dropped or not acted on, by reason, over the hub and every instance'),
  family('vipflow_late_timers_total', 'counter', [], 'VRRP timers that fired late'),
  family('vipflow_late_timer_worst_seconds', 'gauge', [], 'The latest VRRP timer so far'),
  family('vipflow_takeover_scavenges_total', 'counter', [], "Scavenges of V8's young generation forced just before a due takeover"),
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

/** Instances rendered between two yields to the event loop (a slice of 100 takes a few ms). */
const INSTANCE_SLICE = 100;

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
  if (status.wire.absorbed !== undefined) push('vipflow_wire_absorbed_total', status.wire.absorbed);
  if (status.wire.moderation) {
    push('vipflow_wire_receive_holds_total', status.wire.moderation.holds);
    push('vipflow_wire_receive_drains_total', status.wire.moderation.drains);
  }
  // Older daemons do not report it.
  for (const [reason, n] of Object.entries(status.dropped ?? {})) push('vipflow_dropped_packets_total', n, { reason });
  push('vipflow_late_timers_total', status.eventLoop.lateTimers);
  push('vipflow_late_timer_worst_seconds', status.eventLoop.worstLateMs / 1000);
  // Older daemons do not report it.
  if (status.eventLoop.scavengesBeforeTakeover !== undefined) push('vipflow_takeover_scavenges_total', status.eventLoop.scavengesBeforeTakeover);
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

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Prometheus text format 0.0.4 (what prom-client's Registry declares). */
const TEXT_CONTENT_TYPE = new Registry().contentType;

// The exposition format's escapes (as prom-client writes them): help text \\ and \n; label values also ".
const NEEDS_ESCAPE = /[\\\n"]/;
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => (NEEDS_ESCAPE.test(s) ? escapeHelp(s).replace(/"/g, '\\"') : s);
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}

/** One instance's series as last rendered: the part of each line before its value, and its family's index. */
interface InstanceLines {
  /** Everything the instance's labels are made of: when it changes, the prefixes are built again. */
  signature: string;
  prefixes: string[];
  families: number[];
}

const instanceSignature = (i: InstanceStatus) => `${i.name}\0${i.vrid}\0${i.interface}\0${i.family}\0${i.state}\0${i.vips.join('\0')}`;

/**
 * Renders samples in the Prometheus text format, byte for byte as prom-client's
 * Registry would after setting each sample on a Gauge or Counter (a test holds
 * it to that), but written directly: going through prom-client's label maps
 * cost ~210 ms per scrape of 1,000 instances (profiled), almost all of it
 * hashing label sets that are thrown away at the next scrape.
 *
 * renderStatus, what /metrics uses, also keeps each instance's label text
 * between scrapes (built again when its name, VRID, interface, state or VIPs
 * change): a scrape then only writes the values. Nothing else is kept, so a
 * removed instance's series disappear and concurrent scrapes cannot mix.
 * Registries given to the constructor (histograms observed as things happen,
 * daemon/timing-metrics.ts) are appended through prom-client itself.
 */
export class StatusMetrics {
  readonly contentType = TEXT_CONTENT_TYPE;
  private readonly families: readonly MetricFamily[];
  private readonly familyIndex = new Map<string, number>();
  private readonly headers: string[];
  private instanceLines = new Map<string, InstanceLines>();

  constructor(
    families: readonly MetricFamily[] = METRIC_FAMILIES,
    private readonly registries: readonly Registry[] = [],
  ) {
    this.families = families;
    families.forEach((f, k) => this.familyIndex.set(f.name, k));
    this.headers = families.map((f) => `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}`);
  }

  /** The exposition text of these samples; a sample of an unknown family is a programming error. */
  async render(samples: readonly MetricSample[]): Promise<string> {
    const lines = this.families.map((): string[] => []);
    for (const s of samples) lines[this.indexOf(s.name)]!.push('\n', s.name + labelText(s.labels) + ' ', formatValue(s.value));
    return this.assemble(lines);
  }

  /** The exposition text of a status document (what metricSamples gives, rendered), yielding to the loop every INSTANCE_SLICE instances. */
  async renderStatus(status: DaemonStatus, transitions: TransitionTally): Promise<string> {
    const lines = this.families.map((): string[] => []);
    const kept = new Map<string, InstanceLines>();
    const names: string[] = [];
    const values: number[] = [];
    const labels: Record<string, string>[] = [];
    for (let k = 0; k < status.instances.length; k++) {
      const i = status.instances[k]!;
      names.length = values.length = labels.length = 0;
      let cached = this.instanceLines.get(i.name);
      const signature = instanceSignature(i);
      const fresh = cached === undefined || cached.signature !== signature;
      const collect =
        (withValues: boolean): Push =>
        (name, value, l = {}) => {
          if (withValues) values.push(value);
          if (fresh || !withValues) {
            names.push(name);
            labels.push(l);
          }
        };
      instanceSamples(i, collect(true));
      // The same signature with another number of series (a drop reason added by an upgrade): build it again.
      if (!fresh && cached!.prefixes.length !== values.length) instanceSamples(i, collect(false));
      if (fresh || cached!.prefixes.length !== values.length)
        cached = { signature, prefixes: names.map((n, p) => n + labelText(labels[p]!) + ' '), families: names.map((n) => this.indexOf(n)) };
      kept.set(i.name, cached!);
      for (let p = 0; p < values.length; p++) lines[cached!.families[p]!]!.push('\n', cached!.prefixes[p]!, formatValue(values[p]!));
      if ((k + 1) % INSTANCE_SLICE === 0) await yieldToLoop();
    }
    this.instanceLines = kept;
    daemonSamples(status, transitions, (name, value, l = {}) => void lines[this.indexOf(name)]!.push('\n', name + labelText(l) + ' ', formatValue(value)));
    return this.assemble(lines);
  }

  private indexOf(name: string): number {
    const k = this.familyIndex.get(name);
    if (k === undefined) throw new Error(`no metric family ${name}`);
    return k;
  }

  /**
   * Every family's header and lines, in declaration order, then the registries.
   * `byFamily` holds each line as three pieces ('\n', name and labels, value):
   * a join of flat pieces is a copy, where joining ~58,000 concatenated lines
   * first flattened each of them (most of a scrape's time, profiled). Each
   * family is joined on its own turn of the event loop, so the largest
   * synchronous step is one family (~1,000 lines per 1,000 instances).
   */
  private async assemble(byFamily: string[][]): Promise<string> {
    const parts: string[] = [];
    for (let k = 0; k < this.families.length; k++) {
      const f = this.families[k]!;
      const pieces = byFamily[k]!;
      // prom-client shows an unlabelled metric nobody set as 0.
      if (pieces.length === 0 && f.labels.length === 0) pieces.push(`\n${f.name} 0`);
      parts.push(this.headers[k]! + pieces.join(''));
      if (pieces.length > 3 * INSTANCE_SLICE) await yieldToLoop();
    }
    for (const r of this.registries) parts.push((await r.metrics()).trimEnd());
    // As prom-client's registry.metrics() joins them.
    return parts.join('\n\n') + '\n';
  }
}

function labelText(labels: Record<string, string>): string {
  let out = '';
  for (const k in labels) out += `${out === '' ? '{' : ','}${k}="${escapeLabel(labels[k]!)}"`;
  return out === '' ? '' : out + '}';
}
