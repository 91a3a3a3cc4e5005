/**
 * The checker half of a config planned into what the check actors run: one plan
 * per virtual server, real server and checker, with keepalived 2.2.7's
 * inheritance and defaults applied. Pure: no I/O, problems come back as values.
 *
 * The rules are those of validate_check_config (keepalived/check/check_data.c),
 * queue_checker (check_api.c) and the per-type handlers that change a
 * checker's defaults (misc_check_handler, http_get_handler, dns_check_handler),
 * split a checker (smtp_check_end_handler) or tie it to a track_file
 * (file_end_handler, add_rs_to_track_files).
 */
import type { Checker, RealServer, ScriptSchema, TrackFile, VirtualServer, VirtualServerGroup } from '../../config/model.js';
import type { z } from 'zod';
import { sameData } from '../../core/same-data.js';
import type { CheckerInput, RealServerRules, VirtualServerRules } from '../../actors/check/index.js';
import { exchangeLimits } from './probes/http.js';

type Script = z.output<typeof ScriptSchema>;

/** alloc_vs: a virtual server's connect_timeout when nothing sets one. */
const DEFAULT_CONNECT_TIMEOUT_S = 5;

/** queue_checker: default_retry 1 and default_delay_before_retry 1 s, changed per type below. */
function typeDefaults(type: Checker['type']): { retry: number; delayBeforeRetryS: number | 'delay_loop' } {
  switch (type) {
    case 'MISC_CHECK':
      return { retry: 0, delayBeforeRetryS: 1 }; // misc_check_handler: default_retry = 0
    case 'HTTP_GET':
    case 'SSL_GET':
      return { retry: 1, delayBeforeRetryS: 3 }; // http_get_handler / ssl_get_handler: 3 s
    case 'DNS_CHECK':
      return { retry: 3, delayBeforeRetryS: 'delay_loop' }; // dns_check_handler: DNS_DEFAULT_RETRY, 0 meaning delay_loop
    default:
      return { retry: 1, delayBeforeRetryS: 1 };
  }
}

/** What planning reads from a config. */
export interface PlanInput {
  virtualServers: readonly VirtualServer[];
  virtualServerGroups: readonly VirtualServerGroup[];
  trackFiles?: readonly TrackFile[];
}

export interface PlanOptions {
  /** How long past its own timeout a probe may take before the watchdog calls it stalled. */
  watchdogMarginMs?: number;
  /**
   * The last plan and what it was made from (same options): a virtual server equal in
   * every field keeps its plan object, so a reload of a large config plans only what
   * changed, and the runner sees unchanged virtual servers as the same object.
   */
  previous?: { input: PlanInput; plan: CheckPlan };
}

export interface CheckerPlan {
  /** vs/rs/index, stable across a reload of the same config */
  id: string;
  type: Checker['type'];
  alpha: boolean;
  retry: number;
  delayLoopMs: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
  /** undefined for MISC_CHECK and FILE_CHECK, which have no connection */
  connectTimeoutMs: number | undefined;
  /** the probe's own time limit: connect_timeout, or for MISC misc_timeout falling back to the VS delay_loop */
  probeTimeoutMs: number;
  /** the watchdog: probeTimeoutMs plus a margin; a result later than this is a stalled probe */
  probeBoundMs: number;
  miscDynamic: boolean;
  /**
   * Where the next delay counts from. misc_check_child_thread schedules from
   * last_ran (the script's start); tcp_epilog and the others from the result.
   */
  scheduleFrom: 'start' | 'result';
  /**
   * tcp_epilog keeps retrying a checker that is already down (retry_it counts up
   * again); misc_check_child_thread only counts failures while the checker is up.
   */
  retriesWhileDown: boolean;
  /** FILE_CHECK has no launch function: a track_file drives it, nothing schedules it */
  scheduled: boolean;
  /**
   * the checker as configured: what its probe is given (connect_ip, urls, misc_path, ...);
   * for an SMTP_CHECK host, the checker with that host's connection options
   */
  settings: Checker;
  /** FILE_CHECK: the track_file and the weight it is read through (the FILE_CHECK's, else the track_file's) */
  file?: FileCheckPlan;
}

export interface FileCheckPlan {
  /** the track_file's name */
  name: string;
  /** its path */
  path: string;
  weight: number;
  reverse: boolean;
}

export interface RealServerPlan {
  id: string;
  address: string;
  port: number | undefined;
  /** iweight: the configured weight, what misc_dynamic offsets are taken from */
  weight: number;
  inhibitOnFailure: boolean;
  alpha: boolean;
  notifyUp: Script | undefined;
  notifyDown: Script | undefined;
  /** HTTP_GET / SSL_GET: the real server's virtualhost (keepalived's order: url, checker, rs, vs) */
  virtualhost: string | undefined;
  /** how keepalived names the real server in notify_fifo lines: `[192.0.2.1]:tcp:80` */
  fifoName: string;
  checkers: CheckerPlan[];
}

export type VirtualServiceAddress = { kind: 'address'; address: string; port: number | undefined } | { kind: 'fwmark'; fwmark: number };

export interface VirtualServerPlan {
  id: string;
  /** the service addresses: one, or a virtual_server_group expanded */
  services: VirtualServiceAddress[];
  delayLoopMs: number;
  alpha: boolean;
  omega: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp: Script | undefined;
  quorumDown: Script | undefined;
  sorryServer: { address: string; port: number | undefined; inhibit: boolean } | undefined;
  haSuspend: boolean;
  /** HTTP_GET / SSL_GET: the virtual server's virtualhost, the last in keepalived's order */
  virtualhost: string | undefined;
  /** how keepalived names the virtual server in notify_fifo lines: `[192.0.2.1]:tcp:80`, `FWM 1`, `[group]:0` */
  fifoName: string;
  realServers: RealServerPlan[];
  /** what the load-balancer backend needs (infra/lb/desired.ts): lb_algo, lb_kind, protocol, persistence, ip_family */
  lb: VirtualServerLbPlan;
}

export interface VirtualServerLbPlan {
  scheduler: string;
  lbKind: 'NAT' | 'DR' | 'TUN';
  protocol: 'tcp' | 'udp' | 'sctp';
  /** ip_family: only needed for a fwmark service, whose family is not in its address */
  family: 4 | 6 | undefined;
  persistenceTimeoutS?: number;
  persistenceGranularity?: string;
}

export interface PlanIssue {
  virtualServer: string;
  message: string;
}

export interface CheckPlan {
  virtualServers: VirtualServerPlan[];
  issues: PlanIssue[];
}

const ms = (s: number): number => Math.round(s * 1000);

function vsId(vs: VirtualServer): string {
  const t = vs.target;
  if (t.kind === 'fwmark') return `fwmark:${t.fwmark}`;
  if (t.kind === 'group') return `group:${t.group}`;
  return t.port === undefined ? t.address : `${t.address}:${t.port}`;
}

/**
 * A virtual_server_group's entries as service addresses. A range `A.B.C.D-E`
 * replaces the last byte (IPv4) or the last 16-bit group (IPv6), as
 * addr_matches() in check_api.c reads it.
 */
export function expandGroup(group: VirtualServerGroup): VirtualServiceAddress[] | string {
  const out: VirtualServiceAddress[] = [];
  for (const e of group.entries) {
    if (e.kind === 'fwmark') {
      out.push({ kind: 'fwmark', fwmark: e.fwmark });
      continue;
    }
    if (e.rangeEnd === undefined) {
      out.push({ kind: 'address', address: e.address, port: e.port });
      continue;
    }
    const v6 = e.address.includes(':');
    if (v6) {
      const head = e.address.slice(0, e.address.lastIndexOf(':') + 1);
      const first = parseInt(e.address.slice(head.length) || '0', 16);
      if (e.rangeEnd < first) return `range ${e.address}-${e.rangeEnd.toString(16)} ends before it starts`;
      for (let g = first; g <= e.rangeEnd; g++) out.push({ kind: 'address', address: `${head}${g.toString(16)}`, port: e.port });
    } else {
      const parts = e.address.split('.');
      const first = Number(parts[3]);
      if (e.rangeEnd > 255 || e.rangeEnd < first) return `range ${e.address}-${e.rangeEnd} is not within the last byte`;
      for (let b = first; b <= e.rangeEnd; b++) out.push({ kind: 'address', address: `${parts.slice(0, 3).join('.')}.${b}`, port: e.port });
    }
  }
  return out;
}

function planChecker(vs: VirtualServer, rs: RealServer, c: Checker, id: string, marginMs: number): CheckerPlan {
  const d = typeDefaults(c.type);
  // validate_check_config: the real server inherits from the virtual server first,
  // then each unset checker field takes the real server's value.
  const delayLoopS = c.delayLoop ?? rs.delayLoop ?? vs.delayLoop;
  const retry = c.retry ?? rs.retry ?? vs.retry ?? d.retry;
  // warmup: checker, real server, virtual server, else the checker's own delay_loop.
  const warmupS = c.warmup ?? rs.warmup ?? vs.warmup ?? delayLoopS;
  // delay_before_retry: checker, rs, vs, else the type default (0 meaning delay_loop).
  const dbr = c.delayBeforeRetry ?? rs.delayBeforeRetry ?? vs.delayBeforeRetry ?? d.delayBeforeRetryS;
  const delayBeforeRetryS = dbr === 'delay_loop' ? delayLoopS : dbr;
  const isMisc = c.type === 'MISC_CHECK';
  const hasConnection = !isMisc && c.type !== 'FILE_CHECK';
  // connect_timeout: checker, rs, vs, else alloc_vs's 5 s.
  const connectTimeoutS = hasConnection ? (c.connectTimeout ?? rs.connectTimeout ?? vs.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S) : undefined;
  // misc_check_thread: the script's timeout is misc_timeout, or the VIRTUAL server's delay_loop.
  let probeTimeoutS = connectTimeoutS ?? 0;
  if (isMisc) probeTimeoutS = c.miscTimeout !== undefined && c.miscTimeout > 0 ? c.miscTimeout : vs.delayLoop;
  // SMTP_CHECK: connect_timeout for the connection and for each of its three reads.
  if (c.type === 'SMTP_CHECK') probeTimeoutS *= 4;
  // HTTP_GET / SSL_GET: keepalived gives every url its own connection and each step of
  // it (connect and handshake, then each read) a fresh connect_timeout, with no bound on
  // the whole check; the probe caps each url at connect_timeout plus its exchange limit.
  // The watchdog must not cut a check those limits allow (three urls answered 0.7 s
  // after each request, connect_timeout 1: up in keepalived).
  if ((c.type === 'HTTP_GET' || c.type === 'SSL_GET') && connectTimeoutS !== undefined) {
    const exchangeMs = exchangeLimits({ connectTimeoutMs: ms(connectTimeoutS), urls: [] }).maxExchangeMs;
    probeTimeoutS = Math.max(1, c.urls.length) * (connectTimeoutS + exchangeMs / 1000);
  }
  return {
    id,
    type: c.type,
    // add_rs_to_track_files: a FILE_CHECK's state is known at once, so never alpha.
    alpha: c.type === 'FILE_CHECK' ? false : (c.alpha ?? rs.alpha ?? vs.alpha),
    retry,
    delayLoopMs: ms(delayLoopS),
    delayBeforeRetryMs: ms(delayBeforeRetryS),
    warmupMs: ms(warmupS),
    connectTimeoutMs: connectTimeoutS === undefined ? undefined : ms(connectTimeoutS),
    probeTimeoutMs: ms(probeTimeoutS),
    probeBoundMs: ms(probeTimeoutS) + marginMs,
    miscDynamic: isMisc ? c.miscDynamic : false,
    scheduleFrom: isMisc ? 'start' : 'result',
    retriesWhileDown: !isMisc,
    scheduled: c.type !== 'FILE_CHECK',
    settings: c,
  };
}

/** inet_sockaddrtotrio: `[address]:proto:port`, the port 0 when none is set. */
function trio(address: string, protocol: VirtualServer['protocol'], port: number | undefined): string {
  return `[${address}]:${protocol.toLowerCase()}:${port ?? 0}`;
}

/** format_vs: a group by name, a fwmark by number, else the address trio. */
function fifoNameOf(vs: VirtualServer): string {
  const t = vs.target;
  if (t.kind === 'group') return `[${t.group}]:0`;
  if (t.kind === 'fwmark') return `FWM ${t.fwmark}`;
  return trio(t.address, vs.protocol, t.port);
}

type SmtpChecker = Extract<Checker, { type: 'SMTP_CHECK' }>;
const CONNECTION_KEYS = ['connectIp', 'connectPort', 'bindto', 'bindPort', 'bindIf', 'fwmark', 'connectTimeout'] as const;

/**
 * smtp_check_end_handler: every `host` block becomes a checker of its own with
 * that host's connection options (its connect_timeout defaulting to the real
 * server's or virtual server's, not the checker's). The checker itself keeps
 * its own options when any is set or there are no hosts; otherwise the first
 * host's options become its.
 */
export function splitSmtpHosts(c: SmtpChecker): { suffix: string; checker: SmtpChecker }[] {
  const own = CONNECTION_KEYS.some((k) => c[k] !== undefined);
  const base: SmtpChecker = { ...c, hosts: [] };
  const withHost = (h: SmtpChecker['hosts'][number]): SmtpChecker => {
    const x: SmtpChecker = { ...base };
    for (const k of CONNECTION_KEYS) delete x[k];
    return { ...x, ...h };
  };
  if (c.hosts.length === 0) return [{ suffix: '', checker: base }];
  const out = own ? [{ suffix: '', checker: base }] : [{ suffix: '', checker: withHost(c.hosts[0]!) }];
  const extra = own ? c.hosts : c.hosts.slice(1);
  extra.forEach((h, i) => out.push({ suffix: `.host${i + (own ? 1 : 2)}`, checker: withHost(h) }));
  return out;
}

/** file_end_handler: the track_file the FILE_CHECK names, read through its weight, else the track_file's. */
function fileCheckOf(c: Extract<Checker, { type: 'FILE_CHECK' }>, trackFiles: readonly TrackFile[]): FileCheckPlan | undefined {
  const tf = trackFiles.find((t) => t.name === c.trackFile);
  if (tf === undefined) return undefined;
  return c.weight !== undefined
    ? { name: tf.name, path: tf.file, weight: c.weight, reverse: c.reverse }
    : { name: tf.name, path: tf.file, weight: tf.weight, reverse: tf.reverse };
}

function rsKey(address: string, port: number | undefined): string {
  return port === undefined ? address : `${address}:${port}`;
}

/** Plans every virtual server's checkers; what keepalived would correct or ignore comes back as issues. */
export function planChecks(cfg: PlanInput, opts: PlanOptions = {}): CheckPlan {
  const marginMs = opts.watchdogMarginMs ?? 1000;
  const issues: PlanIssue[] = [];
  const out: VirtualServerPlan[] = [];
  const reusable = reusableFrom(cfg, opts.previous);
  for (const vs of cfg.virtualServers) {
    const id = vsId(vs);
    const before = reusable?.get(id);
    if (before !== undefined && sameData(before.vs, vs)) {
      issues.push(...before.issues);
      if (before.plan !== undefined) out.push(before.plan);
      continue;
    }
    const issue = (message: string): void => void issues.push({ virtualServer: id, message });
    // validate_check_config: a virtual server without real servers is ignored.
    if (vs.realServers.length === 0) {
      issue('no real servers - ignoring');
      continue;
    }
    let services: VirtualServiceAddress[];
    const t = vs.target;
    if (t.kind === 'group') {
      const g = cfg.virtualServerGroups.find((x) => x.name === t.group);
      if (g === undefined) {
        issue(`virtual_server_group ${t.group} is not defined - ignoring`);
        continue;
      }
      const expanded = expandGroup(g);
      if (typeof expanded === 'string') {
        issue(expanded);
        continue;
      }
      services = expanded;
    } else services = t.kind === 'fwmark' ? [{ kind: 'fwmark', fwmark: t.fwmark }] : [{ kind: 'address', address: t.address, port: t.port }];
    const vsPort = t.kind === 'address' ? t.port : undefined;

    // validate_check_config: ha_suspend follows the VIP's presence, which a fwmark has not.
    let haSuspend = vs.haSuspend;
    if (haSuspend && services.some((s) => s.kind === 'fwmark')) {
      issue('cannot use ha_suspend with fwmarks - clearing ha_suspend');
      haSuspend = false;
    }

    const realServers: RealServerPlan[] = [];
    const seen = new Set<string>();
    for (const rs of vs.realServers) {
      // A NAT real server without a port takes the virtual server's.
      const port = rs.port ?? vsPort;
      const key = rsKey(rs.address, port);
      // validate_check_config: rs_iseq duplicates are removed, the first one kept.
      if (seen.has(key)) {
        issue(`real server ${key} is duplicated - removing second rs`);
        continue;
      }
      seen.add(key);
      const rsId = `${id}/${key}`;
      realServers.push({
        id: rsId,
        address: rs.address,
        port,
        weight: rs.weight,
        // inhibit: the real server's, else the virtual server's (rs->inhibit == -1 -> vs->inhibit).
        inhibitOnFailure: rs.inhibitOnFailure || vs.inhibitOnFailure,
        alpha: rs.alpha ?? vs.alpha,
        notifyUp: rs.notifyUp,
        notifyDown: rs.notifyDown,
        virtualhost: rs.virtualhost,
        fifoName: trio(rs.address, vs.protocol, port),
        checkers: rs.checkers.flatMap((c, i): CheckerPlan[] => {
          const id = `${rsId}/${c.type}#${i}`;
          if (c.type === 'SMTP_CHECK') return splitSmtpHosts(c).map((h) => planChecker(vs, rs, h.checker, `${id}${h.suffix}`, marginMs));
          if (c.type !== 'FILE_CHECK') return [planChecker(vs, rs, c, id, marginMs)];
          const file = fileCheckOf(c, cfg.trackFiles ?? []);
          if (file === undefined) {
            issue(`real server ${key}: FILE_CHECK track_file ${c.trackFile} not found - ignoring`);
            return [];
          }
          return [{ ...planChecker(vs, rs, c, id, marginMs), file }];
        }),
      });
    }

    // validate_check_config: quorum above the total weight is reduced to it,
    // and hysteresis must stay below quorum.
    const weightSum = realServers.reduce((n, r) => n + r.weight, 0);
    let quorum = vs.quorum;
    if (quorum > weightSum) {
      issue(`quorum ${quorum} exceeds total weight of real servers ${weightSum}, reducing quorum to ${weightSum}`);
      quorum = weightSum;
    }
    let hysteresis = vs.hysteresis;
    if (hysteresis >= quorum && hysteresis > 0) {
      const capped = Math.max(0, quorum - 1);
      issue(`hysteresis ${hysteresis} >= quorum ${quorum}; setting hysteresis to ${capped}`);
      hysteresis = capped;
    }

    out.push({
      id,
      services,
      delayLoopMs: ms(vs.delayLoop),
      alpha: vs.alpha,
      omega: vs.omega,
      quorum,
      hysteresis,
      quorumUp: vs.quorumUp,
      quorumDown: vs.quorumDown,
      sorryServer:
        vs.sorryServer === undefined ? undefined : { address: vs.sorryServer.address, port: vs.sorryServer.port ?? vsPort, inhibit: vs.sorryServerInhibit },
      haSuspend,
      virtualhost: vs.virtualhost,
      fifoName: fifoNameOf(vs),
      realServers,
      lb: {
        scheduler: vs.lbAlgo,
        lbKind: vs.lbKind,
        protocol: vs.protocol === 'TCP' ? 'tcp' : vs.protocol === 'UDP' ? 'udp' : 'sctp',
        family: vs.ipFamily === undefined ? undefined : vs.ipFamily === 'inet6' ? 6 : 4,
        ...(vs.persistenceTimeout !== undefined ? { persistenceTimeoutS: vs.persistenceTimeout } : {}),
        ...(vs.persistenceGranularity !== undefined ? { persistenceGranularity: vs.persistenceGranularity } : {}),
      },
    });
  }
  return { virtualServers: out, issues };
}

/**
 * The previous plan by virtual server id, when it can be reused: groups and track_files
 * unchanged (they feed every virtual server's plan) and no id used twice.
 */
function reusableFrom(
  cfg: PlanInput,
  previous: PlanOptions['previous'],
): Map<string, { vs: VirtualServer; plan: VirtualServerPlan | undefined; issues: PlanIssue[] }> | undefined {
  if (previous === undefined) return undefined;
  const { input, plan } = previous;
  if (!sameData(input.virtualServerGroups, cfg.virtualServerGroups) || !sameData(input.trackFiles ?? [], cfg.trackFiles ?? [])) return undefined;
  const out = new Map<string, { vs: VirtualServer; plan: VirtualServerPlan | undefined; issues: PlanIssue[] }>();
  for (const vs of input.virtualServers) {
    const id = vsId(vs);
    if (out.has(id)) return undefined;
    out.set(id, { vs, plan: undefined, issues: [] });
  }
  for (const p of plan.virtualServers) {
    const e = out.get(p.id);
    if (e === undefined) return undefined;
    e.plan = p;
  }
  for (const i of plan.issues) out.get(i.virtualServer)?.issues.push(i);
  return out;
}

/** What a checker actor is started with: its plan plus the clock's time and the randomness (injected). */
export function checkerInputOf(vs: VirtualServerPlan, c: CheckerPlan, deps: { random: () => number; now: () => number; vipPresent: boolean }): CheckerInput {
  return {
    id: c.id,
    retry: c.retry,
    delayLoopMs: c.delayLoopMs,
    delayBeforeRetryMs: c.delayBeforeRetryMs,
    alpha: c.alpha,
    retriesWhileDown: c.retriesWhileDown,
    warmupMs: c.warmupMs,
    probeBoundMs: c.probeBoundMs,
    scheduleFrom: c.scheduleFrom,
    // register_checkers_thread: ha_suspend with the VIP absent starts the checker disabled.
    enabled: !vs.haSuspend || deps.vipPresent,
    random: deps.random,
    now: deps.now,
  };
}

/** The real server's rules for actors/check/real-server.ts (FILE_CHECKs count as checkers too). */
export function realServerRulesOf(rs: RealServerPlan): RealServerRules {
  return {
    id: rs.id,
    weight: rs.weight,
    inhibitOnFailure: rs.inhibitOnFailure,
    checkers: rs.checkers.map((c) => ({
      id: c.id,
      alpha: c.alpha,
      miscDynamic: c.miscDynamic,
      ...(c.file !== undefined ? { file: { weight: c.file.weight, reverse: c.file.reverse } } : {}),
    })),
  };
}

/** The virtual server's rules for actors/check/virtual-server.ts. */
export function virtualServerRulesOf(vs: VirtualServerPlan): VirtualServerRules {
  return {
    id: vs.id,
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    sorryServer: vs.sorryServer === undefined ? undefined : { inhibit: vs.sorryServer.inhibit },
    omega: vs.omega,
    haSuspend: vs.haSuspend,
  };
}
