/**
 * Desired load-balancer state to ipvsadm commands. Pure.
 *
 * IPVS has no transactions: every command changes the kernel table at once.
 * So the plan is the smallest list of edits from the installed table to the
 * desired one, in an order where each step is valid and no service is left
 * without its destinations: new services and destinations first, edits next,
 * removals last. A service is only deleted when it is no longer wanted: a
 * scheduler, persistence or weight change is an edit (-E / -e), because
 * `-D` then `-A` would drop every connection the kernel tracks for it.
 *
 * Options follow keepalived's ipvswrapper.c: the scheduler always given
 * (ipvsadm defaults to wlc on -A and -E), persistence as -p timeout with the
 * granularity as -M only when persistent, DR / TUN destinations on the
 * service's port (0 for fwmark services), NAT destinations on their own port,
 * forwarding per destination (-m / -g / -i), one family per service (-6 for
 * IPv6 fwmark services, whose family cannot be read from an address).
 */
import type { LbDiff, LbState } from './model.js';
import { hostPort, schedulerFlagNames, toIpvsService, type IpvsDest, type IpvsService, type IpvsVirtualService } from './ipvs-service.js';

/** One ipvsadm invocation's arguments, without the program name (also one line of an ipvsadm-restore script). */
export type IpvsCommand = string[];

const FORWARD_SWITCH: Readonly<Record<IpvsDest['forward'], string>> = { NAT: '-m', DR: '-g', TUN: '-i', LOCAL: '-g' };

/** The service-address options: `-t A:P`, `-u A:P`, `--sctp-service A:P`, or `-f MARK [-6]`. */
export function serviceArgs(s: IpvsService): string[] {
  const svc = s.service;
  if (svc.kind === 'fwmark') return svc.family === 6 ? ['-f', String(svc.fwmark), '-6'] : ['-f', String(svc.fwmark)];
  const addr = hostPort(svc.family, svc.address, svc.port);
  return [svc.protocol === 'tcp' ? '-t' : svc.protocol === 'udp' ? '-u' : '--sctp-service', addr];
}

function serviceOptions(s: IpvsService): string[] {
  const out = ['-s', s.scheduler];
  const flags = schedulerFlagNames(s.scheduler, s.schedFlags);
  if (flags.length > 0) out.push('-b', flags.join(','));
  if (s.persistence) {
    out.push('-p', String(s.persistence.timeoutS));
    const hostMask = s.service.family === 6 ? '128' : '255.255.255.255';
    if (s.persistence.netmask !== hostMask) out.push('-M', s.persistence.netmask);
  }
  if (s.onePacket) out.push('-o');
  return out;
}

function realServer(s: IpvsService, d: IpvsDest): string {
  // A fwmark destination without a port keeps the packet's port: ipvsadm takes the bare address.
  return hostPort(s.service.family, d.address, s.service.kind === 'fwmark' && d.port === 0 ? undefined : d.port);
}

const addService = (s: IpvsService): IpvsCommand => ['-A', ...serviceArgs(s), ...serviceOptions(s)];
const editService = (s: IpvsService): IpvsCommand => ['-E', ...serviceArgs(s), ...serviceOptions(s)];
const deleteService = (s: IpvsService): IpvsCommand => ['-D', ...serviceArgs(s)];
const destCommand = (op: '-a' | '-e', s: IpvsService, d: IpvsDest): IpvsCommand => [
  op,
  ...serviceArgs(s),
  '-r',
  realServer(s, d),
  FORWARD_SWITCH[d.forward],
  '-w',
  String(d.weight),
];
const deleteDest = (s: IpvsService, d: IpvsDest): IpvsCommand => ['-d', ...serviceArgs(s), '-r', realServer(s, d)];

const destKey = (d: IpvsDest): string => `${d.address}|${d.port}`;

function sameServiceOptions(a: IpvsService, b: IpvsService): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.schedFlags === b.schedFlags &&
    a.onePacket === b.onePacket &&
    a.persistence?.timeoutS === b.persistence?.timeoutS &&
    a.persistence?.netmask === b.persistence?.netmask
  );
}

export interface IpvsPlan {
  diff: LbDiff;
  commands: IpvsCommand[];
}

export interface IpvsPlanOptions {
  /**
   * Whether an installed service that is not desired is vipflow's to delete.
   * Default: every installed service (the table is vipflow's, as it is
   * keepalived's); the backend narrows it to what it installed itself.
   */
  owns?: (installed: IpvsService) => boolean;
}

/**
 * The commands that turn `installed` into `desired` (both in the kernel's
 * terms; desired services built with toIpvsService). Diff ids: the desired
 * service's id where there is one, else `idOf(installed)`.
 */
export function planIpvs(
  installed: readonly IpvsService[],
  desired: readonly { id: string; ipvs: IpvsService }[],
  idOf: (s: IpvsService) => string,
  options: IpvsPlanOptions = {},
): IpvsPlan {
  const have = new Map(installed.map((s) => [s.key, s]));
  const wanted = new Set(desired.map((d) => d.ipvs.key));
  const diff: LbDiff = { added: [], removed: [], changed: [] };
  const adds: IpvsCommand[] = [];
  const edits: IpvsCommand[] = [];
  const destAdds: IpvsCommand[] = [];
  const destEdits: IpvsCommand[] = [];
  const destDeletes: IpvsCommand[] = [];
  const deletes: IpvsCommand[] = [];

  for (const { id, ipvs: want } of desired) {
    const cur = have.get(want.key);
    if (!cur) {
      diff.added.push(id);
      adds.push(addService(want));
      for (const d of want.dests) adds.push(destCommand('-a', want, d));
      continue;
    }
    let changed = false;
    if (!sameServiceOptions(cur, want)) {
      edits.push(editService(want));
      changed = true;
    }
    const curDests = new Map(cur.dests.map((d) => [destKey(d), d]));
    const wantKeys = new Set<string>();
    for (const d of want.dests) {
      wantKeys.add(destKey(d));
      const c = curDests.get(destKey(d));
      if (!c) {
        destAdds.push(destCommand('-a', want, d));
        changed = true;
      } else if (c.weight !== d.weight || c.forward !== d.forward) {
        destEdits.push(destCommand('-e', want, d));
        changed = true;
      }
    }
    for (const c of cur.dests) {
      if (wantKeys.has(destKey(c))) continue;
      destDeletes.push(deleteDest(cur, c));
      changed = true;
    }
    if (changed) diff.changed.push(id);
  }
  const owns = options.owns ?? (() => true);
  for (const cur of installed) {
    if (wanted.has(cur.key) || !owns(cur)) continue;
    diff.removed.push(idOf(cur));
    deletes.push(deleteService(cur));
  }
  return { diff, commands: [...adds, ...edits, ...destAdds, ...destEdits, ...destDeletes, ...deletes] };
}

/** `planIpvs` on shared-model state: desired services converted with toIpvsService (check ipvsUnsupported first). */
export function planIpvsState(installed: readonly IpvsService[], desired: LbState, idOf: (s: IpvsService) => string, options: IpvsPlanOptions = {}): IpvsPlan {
  return planIpvs(
    installed,
    desired.services.map((s) => ({ id: s.id, ipvs: toIpvsService(s as IpvsVirtualService) })),
    idOf,
    options,
  );
}

/**
 * An ipvsadm-restore script (`ipvsadm -R` reads one command per line, the
 * options as on the command line). With `clear`, it starts with `-C` and
 * installs the whole state: for a table nothing else uses, e.g. at first start.
 */
export function renderIpvsRestore(desired: LbState, clear = false): string {
  const { commands } = planIpvsState([], desired, () => '');
  return restoreScript(clear ? [['-C'], ...commands] : commands);
}

/** Commands as ipvsadm-restore lines. No argument holds a space, so none needs quoting. */
export function restoreScript(commands: readonly IpvsCommand[]): string {
  return commands.map((c) => `${c.join(' ')}\n`).join('');
}
