/**
 * `vipflow status [--state-dir DIR] [--json]`: the running daemon's view of
 * every instance, read over its control socket.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { controlRequest } from '../infra/control/control-socket.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import type { StatusOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';
import { whoAmI } from './preflight.js';

export async function showStatus(opts: StatusOptions): Promise<number> {
  const stateDir = resolve(opts.stateDir);
  const socket = join(stateDir, 'control.sock');
  const fail = (code: number, message: string) => (process.stderr.write(`vipflow status: ${message}\n`), code);
  try {
    statSync(stateDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return fail(
        EXIT.noStateDir,
        `state directory ${stateDir} does not exist: no vipflow daemon runs with it (start one: systemctl start vipflow; or give the daemon's --state-dir)`,
      );
    if (code === 'EACCES') return fail(EXIT.notPermitted, `not permitted: ${whoAmI()} cannot reach ${stateDir}; run as root or as the daemon's user`);
  }
  let reply;
  try {
    reply = await controlRequest(socket, 'status');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM')
      return fail(EXIT.notPermitted, `not permitted: ${whoAmI()} cannot use ${socket}; run as root or as the daemon's user`);
    return fail(EXIT.failed, `no daemon answers on ${socket}: ${e.message ?? String(err)}`);
  }
  if (!reply.ok) return fail(EXIT.failed, reply.error ?? 'error');
  const status = reply.status as DaemonStatus;
  if (opts.json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return EXIT.ok;
  }
  process.stdout.write(formatStatus(status));
  return EXIT.ok;
}

function formatStatus(s: DaemonStatus): string {
  const lines = [`vipflow pid ${s.pid}, up ${Math.round(s.uptimeMs / 1000)} s, config ${s.configPath}`];
  lines.push(
    `event loop delay p50 ${s.eventLoop.delayP50Ms} ms, p99 ${s.eventLoop.delayP99Ms} ms, max ${s.eventLoop.delayMaxMs} ms; late timers ${s.eventLoop.lateTimers}`,
  );
  lines.push(`wire: ${s.wire.sockets} sockets, ${s.wire.received} received, ${s.wire.malformed} malformed, ${s.wire.unknownVrid} other VRIDs`);
  // Older daemons do not report these.
  if (s.dropped) {
    const moved = Object.entries(s.dropped).filter(([, n]) => n > 0);
    lines.push(`dropped: ${moved.length ? moved.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
  }
  for (const st of s.strangers?.recent.slice(-5) ?? []) {
    lines.push(
      `stranger ${st.sender}${st.instance ? ` (${st.instance})` : ''} on ${st.interface}: ${st.reason}, vrid ${st.vrid}` +
        `${st.priority === null ? '' : ` priority ${st.priority}`}${st.suppressed ? `, ${st.suppressed} more before` : ''}`,
    );
  }
  for (const i of s.instances) {
    const drops = Object.entries(i.drops)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    lines.push(
      `${i.name.padEnd(16)} vrid ${String(i.vrid).padEnd(3)} v${i.version} ${i.interface} ${i.state.toUpperCase().padEnd(7)} prio ${i.effectivePriority}/${i.basePriority}` +
        ` master ${i.lastMaster ?? '-'} sent ${i.counters.advertsSent ?? 0} rcvd ${i.counters.advertsReceived ?? 0}${drops ? ` drops ${drops}` : ''}` +
        // Older daemons do not report auth_hmac.
        (i.authHmac ? ` auth_hmac ${i.authHmac.mode} key ${i.authHmac.activeKey}` : '') +
        (i.fault ? ` (${i.fault})` : ''),
    );
  }
  // Older daemons do not report groups.
  for (const g of s.groups ?? []) {
    lines.push(`group ${g.name.padEnd(10)} ${g.state.toUpperCase().padEnd(7)} ${g.members.map((m) => `${m.name}=${m.state.toUpperCase()}`).join(' ')}`);
  }
  for (const t of s.trackScripts ?? []) {
    lines.push(
      `script ${t.name.padEnd(9)} ${t.health.toUpperCase().padEnd(7)} last exit ${t.lastExit ?? '-'} checks ${t.checks} failed ${t.failures} timeouts ${t.timeouts} skipped ${t.skipped}`,
    );
  }
  for (const f of s.trackFiles ?? []) {
    lines.push(
      `file   ${f.name.padEnd(9)} value ${String(f.value).padEnd(6)} ${f.file}${f.watching ? '' : ' (not watched)'}${f.ignored > 0 ? ` ignored reads ${f.ignored}` : ''}`,
    );
  }
  for (const p of s.trackProcesses ?? []) {
    lines.push(
      `process ${p.name.padEnd(8)} ${(p.quorum ? 'UP' : 'DOWN').padEnd(7)} count ${p.count}${p.pids.length > 0 ? ` pids ${p.pids.slice(0, 8).join(',')}${p.pids.length > 8 ? ',...' : ''}` : ''}`,
    );
  }
  lines.push(...formatChecks(s.checks));
  lines.push(...formatLb(s.lb as DaemonStatus['lb'] | undefined));
  // An older daemon's status has no such list.
  if ((s.notActedOn ?? []).length > 0) lines.push(`not acted on: ${s.notActedOn.join(', ')}`);
  lines.push(...formatEvents(s.events));
  return lines.join('\n') + '\n';
}

const RECENT_EVENTS_SHOWN = 10;

/** The event bus, the cluster's nodes (with NATS) and the newest events, newest first. */
export function formatEvents(e: DaemonStatus['events'] | undefined): string[] {
  // Older daemons do not report events.
  if (e === undefined) return [];
  const outbox = e.outbox ? `, queued ${e.outbox.inMemory} in memory ${e.outbox.spilled} spilled, ${e.outbox.failures} failed deliveries` : '';
  const lines = [`events: ${e.bus} bus, cluster ${e.cluster} node ${e.node}, ${e.published} published${outbox}; split brains ${e.splitBrain.detected}`];
  for (const m of e.members ?? []) {
    const self = m.node === e.node ? ' (this node)' : '';
    lines.push(
      `  node ${`${m.node}${self}`.padEnd(20)} ${m.instance.padEnd(16)} ${m.state.toUpperCase().padEnd(7)} prio ${m.effectivePriority} since ${m.lastChange}${m.stale ? ' (stale: no heartbeat)' : ''}`,
    );
  }
  const recent = e.recent.slice(-RECENT_EVENTS_SHOWN).reverse();
  if (recent.length > 0) lines.push(`recent events (newest first, ${recent.length} of ${e.recent.length} kept):`);
  for (const r of recent) lines.push(`  ${r.time} ${r.type.padEnd(22)} ${r.instance ?? ''}`.trimEnd());
  return lines;
}

/** Virtual servers, their real servers and checkers: state, weight, last failure. */
function formatChecks(c: DaemonStatus['checks'] | undefined): string[] {
  // Older daemons do not report checkers.
  if (c === undefined) return [];
  const lines: string[] = [];
  for (const v of c.virtualServers) {
    const flags = [v.sorryActive ? 'sorry server in' : '', v.suspended ? 'suspended (VIP absent)' : ''].filter((f) => f !== '');
    lines.push(`virtual_server ${v.id} quorum ${v.quorumUp ? 'UP' : 'DOWN'} live weight ${v.liveWeight}${flags.length > 0 ? ` ${flags.join(', ')}` : ''}`);
    for (const r of v.realServers) {
      const name = r.id.startsWith(`${v.id}/`) ? r.id.slice(v.id.length + 1) : r.id;
      lines.push(`  real_server ${name.padEnd(21)} ${(r.alive ? 'UP' : 'DOWN').padEnd(4)} weight ${r.weight}`);
      for (const k of r.checkers) {
        const label = k.id.startsWith(`${r.id}/`) ? k.id.slice(r.id.length + 1) : k.id;
        const failure = k.lastFailure === undefined ? '' : ` last failure ${k.lastFailure.reason} at ${k.lastFailure.time}: ${k.lastFailure.detail}`;
        lines.push(`    ${label.padEnd(14)} ${k.state.toUpperCase().padEnd(11)} probes ${k.probes}${failure}`);
      }
    }
  }
  for (const i of c.issues) lines.push(`virtual_server ${i.virtualServer}: ${i.message}`);
  return lines;
}

/** The load balancer: backend, last apply, and per service its destinations with weights and the kernel's counters. */
export function formatLb(lb: DaemonStatus['lb'] | undefined): string[] {
  // Older daemons do not report it; a daemon without virtual servers has nothing to show.
  if (lb === undefined || (lb.backend === 'none' && lb.services === 0)) return [];
  const last =
    lb.last === undefined
      ? 'no apply yet'
      : lb.last.ok
        ? `last apply ok at ${lb.last.time} (${lb.last.ms ?? '-'} ms, +${lb.last.added} -${lb.last.removed} ~${lb.last.changed})`
        : `last apply FAILED at ${lb.last.time}: ${lb.last.error ?? ''}`;
  const lines = [
    `lb ${lb.backend}: ${lb.services} services, ${lb.destinations} destinations, applies ${lb.applies.ok} ok ${lb.applies.failed} failed; ${last}`,
  ];
  const figures = (c: { packets: number; bytes: number; connections?: number } | undefined): string =>
    c === undefined ? '' : ` pkts ${c.packets} bytes ${c.bytes}${c.connections !== undefined ? ` conns ${c.connections}` : ''}`;
  const hostPort = (address: string, port: number | undefined): string =>
    `${address.includes(':') ? `[${address}]` : address}${port !== undefined ? `:${port}` : ''}`;
  for (const svc of lb.table ?? []) {
    const c = lb.counters?.find((x) => x.id === svc.id);
    lines.push(`  service ${svc.id} ${svc.scheduler} ${svc.lbKind}${figures(c)}`);
    if (svc.destinations.length === 0) lines.push('    (no destinations: new connections are dropped)');
    for (const d of svc.destinations) {
      const dc = c?.destinations.find((x) => x.address === d.address && x.port === d.port);
      lines.push(`    -> ${hostPort(d.address, d.port).padEnd(24)} weight ${String(d.weight).padEnd(3)}${figures(dc)}`.trimEnd());
    }
  }
  // The backend's reason may already start with the service's name.
  for (const r of lb.refused) lines.push(`  refused ${r.service}: ${r.why.startsWith(`${r.service}: `) ? r.why.slice(r.service.length + 2) : r.why}`);
  return lines;
}
