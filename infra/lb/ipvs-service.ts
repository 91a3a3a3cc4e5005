/**
 * The IPVS view of a virtual service: what the kernel holds for it, in the
 * terms ipvsadm prints and takes (forwarding per destination, scheduler flag
 * bits, a persistence netmask). Both the renderer (ipvs-render.ts) and the
 * parser (ipvs-parse.ts) meet here, so a desired LbState and a listed kernel
 * table are compared field by field. Pure.
 */
import { isIPv6 } from 'node:net';
import { canonicalIp } from '../../core/address.js';
import { serviceId } from './desired.js';
import type { LbDestination, LbService, LbState, LbVirtualService } from './model.js';

/** ipvsadm's forwarding methods: Masq (-m), Route (-g), Tunnel (-i); Local is the kernel's own node. */
export type IpvsForward = 'NAT' | 'DR' | 'TUN' | 'LOCAL';

export interface IpvsDest {
  address: string;
  /** 0 for a fwmark service's destination without a port (the packet keeps its destination port) */
  port: number;
  weight: number;
  forward: IpvsForward;
}

export interface IpvsPersistence {
  timeoutS: number;
  /** IPv4: a dotted netmask; IPv6: a prefix length, both as ipvsadm prints them */
  netmask: string;
}

export interface IpvsService {
  /** the kernel's identity of the service: protocol, family, address and port, or fwmark and family */
  key: string;
  service: LbService;
  scheduler: string;
  /** IP_VS_SVC_F_SCHED1..3 as bits 1, 2, 4 (sh-fallback / mh-fallback = 1, sh-port / mh-port = 2) */
  schedFlags: number;
  /** IP_VS_SVC_F_ONEPACKET (keepalived `ops`) */
  onePacket: boolean;
  persistence?: IpvsPersistence;
  dests: IpvsDest[];
}

/**
 * keepalived's IPVS-only service keywords the shared model has no field for:
 * `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`, `flag-1..3` and `ops`
 * (check_parser.c lbflags_handler). A caller passes them on the same object.
 */
export interface IpvsServiceOptions {
  ipvsSchedulerFlags?: readonly string[];
  ipvsOnePacket?: boolean;
}
export type IpvsVirtualService = LbVirtualService & IpvsServiceOptions;

/** Every scheduler keepalived accepts for lb_algo / lvs_sched (keepalived.conf(5)); IPVS has a module for each. */
export const IPVS_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** ipvsadm -w takes 0..65535. */
export const IPVS_MAX_WEIGHT = 65535;

const FLAG_BITS: Readonly<Record<string, number>> = { 'flag-1': 1, 'flag-2': 2, 'flag-3': 4 };

/**
 * The bit of one scheduler flag keyword, or null when it does not fit the
 * scheduler: sh-* only with sh and mh-* only with mh, as keepalived's parser
 * and ipvsadm ("incompatible scheduler flag") both insist.
 */
export function schedulerFlagBit(scheduler: string, flag: string): number | null {
  if (flag in FLAG_BITS) return FLAG_BITS[flag]!;
  const m = /^(sh|mh)-(fallback|port)$/.exec(flag);
  if (!m || m[1] !== scheduler) return null;
  return m[2] === 'fallback' ? 1 : 2;
}

/** The names ipvsadm prints (and -b takes) for the flag bits of a scheduler. */
export function schedulerFlagNames(scheduler: string, bits: number): string[] {
  const named = scheduler === 'sh' || scheduler === 'mh';
  const out: string[] = [];
  if (bits & 1) out.push(named ? `${scheduler}-fallback` : 'flag-1');
  if (bits & 2) out.push(named ? `${scheduler}-port` : 'flag-2');
  if (bits & 4) out.push('flag-3');
  return out;
}

/** An IPv6 address in inet_ntop's form (what ipvsadm -n prints), or null when it is not one. */
export function canonicalIpv6(address: string): string | null {
  return isIPv6(address) ? canonicalIp(address) : null;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address as the kernel lists it, or null when it is not an address of that family. */
export function canonicalAddress(family: 4 | 6, address: string): string | null {
  if (family === 4) return IPV4.test(address) ? address : null;
  return canonicalIpv6(address);
}

/** `198.18.0.1:80` / `[fd00::1]:80`, or the bare address when port is undefined (ipvsadm's service-address). */
export function hostPort(family: 4 | 6, address: string, port: number | undefined): string {
  const host = family === 6 ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

/** The kernel identity of a service; the diff matches installed and desired services by it. */
export function serviceKey(s: LbService): string {
  if (s.kind === 'fwmark') return `fwmark:${s.fwmark}/v${s.family}`;
  return `${s.protocol}:${hostPort(s.family, canonicalAddress(s.family, s.address) ?? s.address, s.port)}`;
}

/** The id vipflow gives a service read back from the kernel: the same as the desired state's (desired.ts). */
export { serviceId };

function ipv4Mask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((sh) => (bits >>> sh) & 0xff).join('.');
}

/**
 * persistence_granularity as ipvsadm prints it: IPv4 a dotted netmask (a prefix
 * length `24` or `/24` is accepted too), IPv6 a prefix length 1..128; null when invalid.
 */
export function normaliseGranularity(family: 4 | 6, g: string): string | null {
  const prefix = /^\/?(\d{1,3})$/.exec(g.trim());
  if (family === 6) {
    if (!prefix) return null;
    const n = Number(prefix[1]);
    return n >= 1 && n <= 128 ? String(n) : null;
  }
  if (prefix) {
    const n = Number(prefix[1]);
    return n >= 1 && n <= 32 ? ipv4Mask(n) : null;
  }
  if (!IPV4.test(g)) return null;
  // A netmask must be contiguous ones, as the kernel masks the client address with it.
  const value = g.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const inverted = ~value >>> 0;
  return (inverted & (inverted + 1)) === 0 && value !== 0 ? g : null;
}

const HOST_MASK: Readonly<Record<4 | 6, string>> = { 4: '255.255.255.255', 6: '128' };

/** Why the IPVS backend cannot run this service (worded for an operator), or null. */
export function ipvsUnsupported(s: IpvsVirtualService): string | null {
  const where = `virtual server ${s.virtualServer} (${s.id})`;
  if (!IPVS_SCHEDULERS.includes(s.scheduler)) return `${where}: lb_algo '${s.scheduler}' is not an IPVS scheduler; use one of ${IPVS_SCHEDULERS.join(' ')}`;
  if (s.lbKind !== 'NAT' && s.lbKind !== 'DR' && s.lbKind !== 'TUN') return `${where}: lb_kind '${String(s.lbKind)}' is not NAT, DR or TUN`;
  const svc = s.service;
  if (svc.kind === 'fwmark') {
    if (!Number.isInteger(svc.fwmark) || svc.fwmark < 1 || svc.fwmark > 0xffffffff) return `${where}: fwmark ${svc.fwmark} must be 1..4294967295`;
  } else {
    if (canonicalAddress(svc.family, svc.address) === null) return `${where}: '${svc.address}' is not an IPv${svc.family} address`;
    // ipvsadm: "Zero port specified for non-persistent service".
    if (!Number.isInteger(svc.port) || svc.port < 0 || svc.port > 65535) return `${where}: port ${svc.port} must be 0..65535`;
    if (svc.port === 0 && !s.persistenceTimeoutS) return `${where}: port 0 (all ports) needs persistence_timeout, as IPVS requires`;
  }
  for (const f of s.ipvsSchedulerFlags ?? []) {
    if (schedulerFlagBit(s.scheduler, f) === null) return `${where}: scheduler flag '${f}' does not apply to scheduler '${s.scheduler}'`;
  }
  if (s.persistenceTimeoutS !== undefined && (!Number.isInteger(s.persistenceTimeoutS) || s.persistenceTimeoutS < 0))
    return `${where}: persistence_timeout ${s.persistenceTimeoutS} must be a whole number of seconds`;
  if (s.persistenceGranularity !== undefined && normaliseGranularity(svc.family, s.persistenceGranularity) === null)
    return `${where}: persistence_granularity '${s.persistenceGranularity}' is not ${svc.family === 4 ? 'an IPv4 netmask' : 'an IPv6 prefix length 1..128'}`;
  const seen = new Set<string>();
  for (const d of s.destinations) {
    const dest = toIpvsService({ ...s, destinations: [d] }).dests[0]!;
    if (seen.has(`${dest.address}|${dest.port}`))
      return `${where}: real server ${hostPort(svc.family, dest.address, dest.port)} is listed twice (IPVS keys real servers by address and port)`;
    seen.add(`${dest.address}|${dest.port}`);
    if (canonicalAddress(svc.family, d.address) === null)
      return `${where}: real server '${d.address}' is not an IPv${svc.family} address (IPVS needs one family per service)`;
    if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > IPVS_MAX_WEIGHT)
      return `${where}: real server ${d.address} weight ${d.weight} must be 0..${IPVS_MAX_WEIGHT}`;
    if (d.port !== undefined && (!Number.isInteger(d.port) || d.port < 0 || d.port > 65535))
      return `${where}: real server ${d.address} port ${d.port} must be 0..65535`;
  }
  return null;
}

/**
 * The destination port the kernel gets, with keepalived's rule (ipvswrapper.c
 * ipvs_cmd): DR and TUN cannot change the port, so a real server's port is the
 * service's (0 for a fwmark service); NAT keeps the real server's port.
 */
function destPort(s: LbVirtualService, d: LbDestination): number {
  if (s.lbKind === 'NAT') return d.port ?? (s.service.kind === 'address' ? s.service.port : 0);
  return s.service.kind === 'address' ? s.service.port : 0;
}

/** A desired virtual service in the kernel's terms. Call ipvsUnsupported first: invalid input is not checked here. */
export function toIpvsService(s: IpvsVirtualService): IpvsService {
  const svc: LbService =
    s.service.kind === 'address' ? { ...s.service, address: canonicalAddress(s.service.family, s.service.address) ?? s.service.address } : { ...s.service };
  const flags = (s.ipvsSchedulerFlags ?? []).reduce((acc, f) => acc | (schedulerFlagBit(s.scheduler, f) ?? 0), 0);
  const out: IpvsService = {
    key: serviceKey(svc),
    service: svc,
    scheduler: s.scheduler,
    schedFlags: flags,
    onePacket: s.ipvsOnePacket === true,
    dests: s.destinations.map((d) => ({
      address: canonicalAddress(svc.family, d.address) ?? d.address,
      port: destPort(s, d),
      weight: d.weight,
      forward: s.lbKind,
    })),
  };
  if (s.persistenceTimeoutS) {
    const mask = s.persistenceGranularity === undefined ? null : normaliseGranularity(svc.family, s.persistenceGranularity);
    out.persistence = { timeoutS: s.persistenceTimeoutS, netmask: mask ?? HOST_MASK[svc.family] };
  }
  return out;
}

/** The shared model's view of services read from the kernel: ids from the service (serviceId), fwmark port 0 as undefined. */
export function toLbState(services: readonly IpvsService[]): LbState {
  return {
    services: services.map((s) => {
      const id = serviceId(s.service);
      const first = s.dests[0]?.forward ?? 'NAT';
      const v: IpvsVirtualService = {
        id,
        virtualServer: id,
        service: s.service,
        scheduler: s.scheduler,
        lbKind: first === 'LOCAL' ? 'DR' : first,
        destinations: s.dests.map((d) => ({ address: d.address, port: s.service.kind === 'fwmark' && d.port === 0 ? undefined : d.port, weight: d.weight })),
      };
      if (s.persistence) {
        v.persistenceTimeoutS = s.persistence.timeoutS;
        if (s.persistence.netmask !== HOST_MASK[s.service.family]) v.persistenceGranularity = s.persistence.netmask;
      }
      if (s.schedFlags) v.ipvsSchedulerFlags = schedulerFlagNames(s.scheduler, s.schedFlags);
      if (s.onePacket) v.ipvsOnePacket = true;
      return v;
    }),
  };
}

export { HOST_MASK };
