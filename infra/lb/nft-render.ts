/**
 * LbState to nft scripts for vipflow's own table, `table inet vipflow`.
 * Pure. Each script is one `nft -f` transaction, so the kernel swaps old
 * rules for new ones atomically: no packet sees an empty or half-built table,
 * and no other table is touched. renderNft deletes and re-creates the whole
 * table (the first apply of a process, adopting whatever an earlier run
 * left); renderChange rewrites only the services that changed (a chain flushed
 * and refilled in the same transaction), which is what keeps an apply on
 * 37,000 destinations in tens of milliseconds.
 * Established connections keep their real server through a reload because
 * their NAT binding lives in conntrack, not in the table (a nat chain only
 * sees the first packet of a connection).
 *
 * Layout (K: a number per service kept across applies, see layoutFor; X: a
 * destination's address and port):
 *   chains prerouting, output   type nat, priority dstnat: fwmark, then
 *                               address+port, then port-0 services, each one
 *                               verdict-map lookup (IPVS's lookup order)
 *   chain  sK                   service K: counter, persistence, scheduler + DNAT
 *                               (one rule: the slot map gives the address)
 *   chain  dK_X                 with persistence only: remember the client, DNAT
 *   counter cK                  connections (first packets) of service K
 *   counter cK_X                packets and bytes of destination X, both ways,
 *                               from chain acct (filter, forward) through maps
 *                               acct4/acct6 keyed VIP . protocol . address . port
 *   set    pK_X                 persistence: the clients (masked) destination X has, with timeout
 *
 * lb_kind NAT only: the real servers route back through the load balancer,
 * which un-NATs the replies through conntrack. No masquerade, as in LVS-NAT.
 *
 * Schedulers (IPVS names):
 *   rr   numgen inc over the destinations with weight > 0
 *   wrr  numgen inc over a slot table where each destination appears weight/gcd
 *        times, interleaved (smooth weighted round-robin order), scaled down
 *        to at most MAX_SLOTS slots (each destination keeps at least one)
 *   sh   jhash of the client address over 256 buckets filled like
 *        ip_vs_sh_reassign (each destination weight times in turn)
 *   dh   the same over the destination address (cache clusters behind a fwmark)
 *   mh   jhash of the client address over a Maglev lookup table built here
 *        (Eisenbud et al. 2016, as ip_vs_mh.c, with weights as turns per round).
 *        An approximation of IPVS mh: the same algorithm, but another hash
 *        function and a smaller table (a prime >= 251 growing with the count of
 *        destinations), so a client does not map to the same real server as
 *        under IPVS; it keeps mh's property that a change moves few clients.
 *   fo   every new connection to the destination with the highest weight
 *   wlc  NOT least-connection: there is no per-destination connection count in
 *        a stateless rule. Decision: fall back to wrr (the same weights, new
 *        connections spread by weight instead of to the least loaded), with a
 *        one-time warning (fallbackOf). Re-weighting from conntrack counts
 *        would chase its own tail between polls and rewrite the table every few
 *        seconds; wrr is what wlc converges to under uniform connection
 *        lifetimes. lc falls back to rr likewise.
 *   lblc lblcr sed nq ovf twos: unsupported (they need live connection counts).
 * Weight 0 (inhibit_on_failure, sorry_server_inhibit, misc_dynamic 0): the
 * destination is in no scheduler table, so it takes no new connection.
 * persistence_timeout: one dynamic set per destination of the client
 * addresses (masked by persistence_granularity) it was given, filled from the
 * packet path when a client is scheduled; a client found in a set goes to
 * that destination. (One map client -> address . port would be a single
 * lookup, but nft 1.0.6 aborts on an IPv6 map update with such a value.)
 * A client whose destination went to weight 0 or away is scheduled anew.
 * `update` refreshes an entry's timeout at each new connection of the client,
 * so it expires persistence_timeout after the client's last new connection
 * (IPVS: after its last connection ended). An incremental apply keeps the
 * sets of destinations that stay; a whole-table replacement (the first apply
 * of a process) starts them empty.
 * A service whose destinations all have weight 0 drops new connections, as
 * IPVS does when ip_vs_schedule finds none (reject is not allowed in a nat
 * chain; IPVS answers UDP with ICMP port unreachable).
 */
import { isIP } from 'node:net';
import { nftFallbackOf, nftUnsupportedKind, nftUnsupportedScheduler } from '../../config/lb-support.js';
import type { LbDestination, LbState, LbVirtualService } from './model.js';

export const TABLE = 'vipflow';
/** the most slots a wrr table gets (more destinations than this: one slot each) */
export const MAX_SLOTS = 1024;
/** IP_VS_SH_TAB_SIZE */
const SH_BUCKETS = 256;
/** ip_vs_mh.c's smallest table size */
const MH_MIN_TABLE = 251;
/** ip_vs_mh.c's largest table size (CONFIG_IP_VS_MH_TAB_INDEX 12 .. 65521) */
const MH_MAX_TABLE = 65521;

/** The scheduler a service runs as on nftables, and why it differs from IPVS's (for a one-time warning), or undefined. */
export const fallbackOf = nftFallbackOf;

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** persistence_granularity as a mask: a dotted IPv4 netmask or a prefix length. undefined: the whole address. */
export function granularityMask(s: LbVirtualService): { prefix: number } | string | undefined {
  const g = s.persistenceGranularity;
  if (g === undefined) return undefined;
  const bits = s.service.family === 4 ? 32 : 128;
  let prefix: number;
  if (/^\d+$/.test(g)) prefix = Number(g);
  else if (s.service.family === 4 && /^\d+\.\d+\.\d+\.\d+$/.test(g)) {
    const n = g.split('.').reduce((a, b) => a * 256 + Number(b), 0);
    const bin = n.toString(2).padStart(32, '0');
    if (!/^1*0*$/.test(bin) || g.split('.').some((b) => Number(b) > 255)) return `persistence_granularity ${g} is not a netmask`;
    prefix = bin.indexOf('0') === -1 ? 32 : bin.indexOf('0');
  } else return `persistence_granularity ${g} is neither a netmask nor a prefix length`;
  if (prefix < 1 || prefix > bits) return `persistence_granularity ${g} is out of range for IPv${s.service.family}`;
  return prefix === bits ? undefined : { prefix };
}

/**
 * Why nftables cannot run this service as configured, worded for an operator;
 * null when it can.
 */
export function unsupportedOnNft(s: LbVirtualService): string | null {
  const kind = nftUnsupportedKind(s.lbKind);
  if (kind !== null) return `${s.id}: ${kind}`;
  const v = s.service;
  if (v.kind === 'address' && isIP(v.address) !== v.family) return `${s.id}: ${v.address} is not an IPv${v.family} address`;
  if (v.kind === 'address' && (!Number.isInteger(v.port) || v.port < 0 || v.port > 65535)) return `${s.id}: port ${v.port} is out of range`;
  if (v.kind === 'fwmark' && (!Number.isInteger(v.fwmark) || v.fwmark < 1 || v.fwmark > 0xffffffff)) return `${s.id}: fwmark ${v.fwmark} is out of range`;
  const scheduler = nftUnsupportedScheduler(s.scheduler);
  if (scheduler !== null) return `${s.id}: ${scheduler}`;
  for (const d of s.destinations) {
    // nft would take anything else for a host name and resolve it.
    if (isIP(d.address) === 0) return `${s.id}: real server ${d.address} is not an IP address`;
    if (d.port !== undefined && (!Number.isInteger(d.port) || d.port < 0 || d.port > 65535))
      return `${s.id}: real server ${d.address} port ${d.port} is out of range`;
    if (familyOf(d.address) !== s.service.family)
      return `${s.id}: real server ${d.address} is IPv${familyOf(d.address)} but the service is IPv${s.service.family}; NAT cannot translate between families`;
    if (!Number.isInteger(d.weight) || d.weight < 0) return `${s.id}: real server ${d.address} has an invalid weight ${d.weight}`;
    if (v.kind === 'address' && v.port !== 0 && (d.port === undefined || d.port === 0))
      return `${s.id}: real server ${d.address} has no port; a NAT service with a port needs one for each real server`;
    if (s.service.kind === 'fwmark' && d.port !== undefined && d.port !== 0)
      return `${s.id}: real server ${d.address} port ${d.port}: a fwmark service on nftables keeps the client's destination port (the mark covers several protocols); remove the port`;
  }
  if (s.persistenceTimeoutS !== undefined) {
    if (!Number.isInteger(s.persistenceTimeoutS) || s.persistenceTimeoutS < 1)
      return `${s.id}: persistence_timeout ${s.persistenceTimeoutS} is not a positive integer`;
    const m = granularityMask(s);
    if (typeof m === 'string') return `${s.id}: ${m}`;
  }
  return null;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Weights reduced by their gcd and scaled so their sum stays within `cap` (each at least 1). */
export function slotWeights(weights: readonly number[], cap: number): number[] {
  const g = weights.reduce((a, w) => gcd(a, w), 0) || 1;
  let w = weights.map((x) => x / g);
  const sum = w.reduce((a, b) => a + b, 0);
  if (sum > cap) w = w.map((x) => Math.max(1, Math.floor((x * cap) / sum)));
  return w;
}

/** Smooth weighted round-robin order (nginx's): each index appears weights[i] times, spread out rather than in runs. */
export function interleave(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

/** ip_vs_sh_reassign: buckets filled in turn, each destination taking `weight` consecutive buckets per turn. */
export function shTable(weights: readonly number[], size = SH_BUCKETS): number[] {
  const out: number[] = [];
  let i = 0;
  let taken = 0;
  while (out.length < size) {
    out.push(i);
    if (++taken >= weights[i]!) {
      taken = 0;
      i = (i + 1) % weights.length;
    }
  }
  return out;
}

function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

/** The Maglev table size: a prime >= 251, about 16 slots per destination, at most 65521. */
export function mhTableSize(count: number): number {
  let m = Math.min(MH_MAX_TABLE, Math.max(MH_MIN_TABLE, count * 16));
  while (!isPrime(m)) m++;
  return m;
}

/** Maglev population (ip_vs_mh_populate): each destination fills its permutation's next free slot, weight turns per round. */
export function maglevTable(keys: readonly string[], weights: readonly number[], size: number): number[] {
  const table = new Array<number>(size).fill(-1);
  const offset = keys.map((k) => fnv1a(k, 1) % size);
  const skip = keys.map((k) => (fnv1a(k, 2) % (size - 1)) + 1);
  const next = keys.map(() => 0);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < keys.length && filled < size; i++) {
      for (let turn = 0; turn < weights[i]! && filled < size; turn++) {
        let c = (offset[i]! + next[i]! * skip[i]!) % size;
        while (table[c] !== -1) c = (offset[i]! + ++next[i]! * skip[i]!) % size;
        table[c] = i;
        next[i]!++;
        filled++;
      }
    }
  }
  return table;
}

/** The scheduler's slot table over `active` (destinations with weight > 0): slot -> index into active. */
function slotsFor(scheduler: string, active: readonly LbDestination[]): number[] {
  const weights = active.map((d) => d.weight);
  const sched = fallbackOf(scheduler)?.to ?? scheduler;
  switch (sched) {
    case 'wrr':
      return interleave(slotWeights(weights, Math.max(MAX_SLOTS, active.length)));
    case 'sh':
    case 'dh':
      return shTable(slotWeights(weights, SH_BUCKETS), Math.max(SH_BUCKETS, active.length));
    case 'mh': {
      const keys = active.map((d) => `${d.address}|${d.port ?? 0}`);
      return maglevTable(keys, slotWeights(weights, 64), mhTableSize(active.length));
    }
    case 'fo': {
      let best = 0;
      weights.forEach((w, i) => (w > weights[best]! ? (best = i) : undefined));
      return [best];
    }
    default: // rr
      return active.map((_, i) => i);
  }
}

const ipKw = (family: 4 | 6): string => (family === 4 ? 'ip' : 'ip6');
const addrType = (family: 4 | 6): string => (family === 4 ? 'ipv4_addr' : 'ipv6_addr');
const hostPort = (family: 4 | 6, address: string, port: number | undefined): string =>
  port === undefined || port === 0 ? address : family === 6 ? `[${address}]:${port}` : `${address}:${port}`;

/**
 * Service id -> the number its objects are named with. Numbers stay with a
 * service across applies, so a change rewrites only that service's objects.
 */
export type NftLayout = ReadonlyMap<string, number>;

/** The layout for `state`, keeping the numbers `prev` gave to services that remain. */
export function layoutFor(state: LbState, prev: NftLayout = new Map()): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const s of state.services) {
    const k = prev.get(s.id);
    if (k !== undefined) {
      out.set(s.id, k);
      used.add(k);
    }
  }
  // New services take numbers above every old one: a number freed in this step is
  // not reused in the same transaction (its objects are still being deleted).
  let next = Math.max(-1, ...prev.values()) + 1;
  for (const s of state.services) {
    if (out.has(s.id)) continue;
    while (used.has(next)) next++;
    out.set(s.id, next);
    used.add(next);
  }
  return out;
}

/** A destination's part of object names: its address and port, nft-safe. */
const destTag = (d: LbDestination): string => `${d.address.replace(/[.:]/g, '_')}_${d.port ?? 0}`;

/** Names of the objects service K and its destinations get; the backend reads counters back with them. */
export const names = {
  service: (k: number): string => `s${k}`,
  counter: (k: number): string => `c${k}`,
  destCounter: (k: number, d: LbDestination): string => `c${k}_${destTag(d)}`,
  dest: (k: number, d: LbDestination): string => `d${k}_${destTag(d)}`,
  persist: (k: number, d: LbDestination): string => `p${k}_${destTag(d)}`,
};

function prefixMask(family: 4 | 6, prefix: number): string {
  if (family === 4) {
    const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  }
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) {
    const bits = Math.max(0, Math.min(16, prefix - g * 16));
    groups.push((bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  return groups.join(':');
}

/** The persistence key expression: the client address, masked by persistence_granularity. */
function persistKey(s: LbVirtualService): string {
  const m = granularityMask(s);
  const base = `${ipKw(s.service.family)} saddr`;
  return m === undefined || typeof m === 'string' ? base : `${base} & ${prefixMask(s.service.family, m.prefix)}`;
}

const T = `inet ${TABLE}`;

/** The service's entry in a dispatch map: map name and element key. */
function dispatchOf(s: LbVirtualService): { map: string; key: string } {
  const v = s.service;
  if (v.kind === 'fwmark') return { map: `fwm${v.family}`, key: `${v.fwmark}` };
  if (v.port === 0) return { map: `any${v.family}`, key: `${v.address} . ${v.protocol}` };
  return { map: `port${v.family}`, key: `${v.address} . ${v.protocol} . ${v.port}` };
}

/**
 * Per-destination packet and byte accounting (a filter chain on forward: both
 * directions of every DNATed flow), keyed by VIP . protocol . real server .
 * port. Only address services with a port have such a key.
 */
function acctKeys(s: LbVirtualService): { map: string; key: string; d: LbDestination }[] {
  const v = s.service;
  if (v.kind !== 'address' || v.port === 0) return [];
  return s.destinations.map((d) => ({ map: `acct${v.family}`, key: `${v.address} . ${v.protocol} . ${d.address} . ${d.port ?? 0}`, d }));
}

/** The scheduler's choice as an nft expression over `n` slots. */
function selector(s: LbVirtualService, n: number): string {
  const sched = fallbackOf(s.scheduler)?.to ?? s.scheduler;
  const ip = ipKw(s.service.family);
  const seed = '0x5f3759df';
  if (sched === 'sh' || sched === 'mh') return `jhash ${ip} saddr mod ${n} seed ${seed}`;
  if (sched === 'dh') return `jhash ${ip} daddr mod ${n} seed ${seed}`;
  return `numgen inc mod ${n}`;
}

/** Runs of equal slots as interval elements: `0-3 : <value of slot 0>`. */
function slotElements(slots: readonly number[], value: (i: number) => string): string {
  const parts: string[] = [];
  for (let a = 0; a < slots.length;) {
    let b = a;
    while (b + 1 < slots.length && slots[b + 1] === slots[a]) b++;
    parts.push(`${a === b ? a : `${a}-${b}`} : ${value(slots[a]!)}`);
    a = b + 1;
  }
  return parts.join(', ');
}

/** The service's own objects (counters, persistence sets and chains, chain sK's rules) - not its dispatch or acct elements. */
function addServiceObjects(s: LbVirtualService, k: number, out: string[], skipAcct: ReadonlySet<string>): void {
  const fam = s.service.family;
  const ip = ipKw(fam);
  const svc = names.service(k);
  const l4 = s.service.kind === 'address' ? `meta l4proto ${s.service.protocol} ` : '';
  const persist = s.persistenceTimeoutS !== undefined;
  const target = (d: LbDestination): string => hostPort(fam, d.address, s.service.kind === 'address' && s.service.port !== 0 ? d.port : undefined);
  out.push(`add counter ${T} ${names.counter(k)}`);
  for (const a of acctKeys(s)) if (!skipAcct.has(`${a.map} ${a.key}`)) out.push(`add counter ${T} ${names.destCounter(k, a.d)}`);
  out.push(`add chain ${T} ${svc}`);
  if (persist) {
    for (const d of s.destinations) {
      out.push(`add set ${T} ${names.persist(k, d)} { type ${addrType(fam)}; flags dynamic,timeout; timeout ${s.persistenceTimeoutS}s; }`);
      out.push(`add chain ${T} ${names.dest(k, d)}`);
      out.push(`add rule ${T} ${names.dest(k, d)} update @${names.persist(k, d)} { ${persistKey(s)} } ${l4}dnat ${ip} to ${target(d)}`);
    }
  }
  // The nat chain sees the first packet of each connection only: this counts connections.
  out.push(`add rule ${T} ${svc} counter name "${names.counter(k)}"`);
  const active = s.destinations.filter((d) => d.weight > 0);
  if (active.length === 0) {
    // No destination takes new connections: IPVS drops them too (ip_vs_schedule finds none).
    out.push(`add rule ${T} ${svc} drop`);
    return;
  }
  const slots = slotsFor(s.scheduler, active);
  if (persist) {
    // A known client goes back to its destination while that takes connections (weight 0 or removed: scheduled anew).
    for (const d of active) out.push(`add rule ${T} ${svc} ${persistKey(s)} @${names.persist(k, d)} goto ${names.dest(k, d)}`);
    if (slots.length === 1) out.push(`add rule ${T} ${svc} goto ${names.dest(k, active[slots[0]!]!)}`);
    else out.push(`add rule ${T} ${svc} ${selector(s, slots.length)} vmap { ${slotElements(slots, (i) => `goto ${names.dest(k, active[i]!)}`)} }`);
    return;
  }
  // One rule: the scheduler's slot picks the address (and port) to DNAT to.
  const value = (i: number): string => {
    const d = active[i]!;
    const t = target(d);
    return t.includes(']:') || (fam === 4 && t.includes(':')) ? `${d.address} . ${d.port}` : d.address;
  };
  if (slots.length === 1) out.push(`add rule ${T} ${svc} ${l4}dnat ${ip} to ${target(active[slots[0]!]!)}`);
  else out.push(`add rule ${T} ${svc} ${l4}dnat ${ip} to ${selector(s, slots.length)} map { ${slotElements(slots, value)} }`);
}

/** Removes the service's own objects (its dispatch and acct elements must be gone first, or go in the same transaction before). */
function deleteServiceObjects(
  s: LbVirtualService,
  k: number,
  out: string[],
  next: LbVirtualService | undefined,
  keepCounters: ReadonlySet<string>,
  installedAcct: ReadonlyMap<string, { counter: string }>,
): void {
  out.push(`flush chain ${T} ${names.service(k)}`);
  if (s.persistenceTimeoutS !== undefined) {
    // A destination that stays, with the same persistence, keeps its set: its clients stay with it across a weight change.
    const samePersistence = next?.persistenceTimeoutS === s.persistenceTimeoutS && next.persistenceGranularity === s.persistenceGranularity;
    const stays = new Set(samePersistence ? next.destinations.map((d) => names.persist(k, d)) : []);
    for (const d of s.destinations) {
      if (stays.has(names.persist(k, d))) {
        out.push(`flush chain ${T} ${names.dest(k, d)}`);
        continue;
      }
      out.push(`delete chain ${T} ${names.dest(k, d)}`);
      out.push(`delete set ${T} ${names.persist(k, d)}`);
    }
  }
  if (next === undefined) {
    out.push(`delete chain ${T} ${names.service(k)}`);
    out.push(`delete counter ${T} ${names.counter(k)}`);
  }
  for (const a of acctKeys(s)) {
    const c = names.destCounter(k, a.d);
    // Only counters that exist: a key another service owned got none.
    if (installedAcct.get(`${a.map} ${a.key}`)?.counter === c && !keepCounters.has(c)) out.push(`delete counter ${T} ${c}`);
  }
}

function elementLines(op: 'add' | 'delete', elements: ReadonlyMap<string, string[]>): string[] {
  const out: string[] = [];
  // In chunks: one huge command line is slow for nft's parser.
  for (const [map, list] of elements) for (let i = 0; i < list.length; i += 500) out.push(`${op} element ${T} ${map} { ${list.slice(i, i + 500).join(', ')} }`);
  return out;
}

function push(m: Map<string, string[]>, map: string, e: string): void {
  const l = m.get(map);
  if (l === undefined) m.set(map, [e]);
  else l.push(e);
}

/** Acct elements of a state: the first service to claim a key keeps it (two services rarely share VIP, protocol and real server). */
function acctElements(state: LbState, layout: NftLayout): Map<string, { map: string; element: string; counter: string }> {
  // Cached per (state, layout): the backend hands the same installed state to the next change, and 37,000 keys cost.
  const hit = acctCache.get(state);
  if (hit !== undefined && hit.layout === layout) return hit.acct;
  const out = new Map<string, { map: string; element: string; counter: string }>();
  for (const s of state.services) {
    const k = layout.get(s.id)!;
    for (const a of acctKeys(s)) {
      const id = `${a.map} ${a.key}`;
      if (out.has(id)) continue;
      const counter = names.destCounter(k, a.d);
      out.set(id, { map: a.map, element: `${a.key} : "${counter}"`, counter });
    }
  }
  acctCache.set(state, { layout, acct: out });
  return out;
}

const acctCache = new WeakMap<LbState, { layout: NftLayout; acct: Map<string, { map: string; element: string; counter: string }> }>();

/** Acct keys that are not this service's (claimed first by another): it gets no counter for them. */
function foreignAcct(acct: ReadonlyMap<string, { counter: string }>, k: number, s: LbVirtualService): Set<string> {
  return new Set(
    acctKeys(s)
      .filter((a) => acct.get(`${a.map} ${a.key}`)?.counter !== names.destCounter(k, a.d))
      .map((a) => `${a.map} ${a.key}`),
  );
}

/** The whole table re-created in one transaction: the first apply, and the fallback when an incremental one fails. */
export function renderNft(state: LbState, layout: NftLayout = layoutFor(state)): string {
  // `add` first so `delete` cannot fail on a missing table: all in one transaction.
  const out: string[] = [`add table ${T}`, `delete table ${T}`, `add table ${T}`];
  const maps: Record<string, string> = {
    fwm4: 'mark : verdict',
    fwm6: 'mark : verdict',
    port4: 'ipv4_addr . inet_proto . inet_service : verdict',
    port6: 'ipv6_addr . inet_proto . inet_service : verdict',
    any4: 'ipv4_addr . inet_proto : verdict',
    any6: 'ipv6_addr . inet_proto : verdict',
    acct4: 'ipv4_addr . inet_proto . ipv4_addr . inet_service : counter',
    acct6: 'ipv6_addr . inet_proto . ipv6_addr . inet_service : counter',
  };
  const acct = acctElements(state, layout);
  const claimed = new Set([...acct.values()].map((a) => a.counter));
  const dispatch = new Map<string, string[]>();
  for (const s of state.services) {
    const k = layout.get(s.id)!;
    const skip = new Set(
      acctKeys(s)
        .filter((a) => !claimed.has(names.destCounter(k, a.d)))
        .map((a) => `${a.map} ${a.key}`),
    );
    addServiceObjects(s, k, out, skip);
    const d = dispatchOf(s);
    push(dispatch, d.map, `${d.key} : jump ${names.service(k)}`);
  }
  for (const [name, type] of Object.entries(maps)) out.push(`add map ${T} ${name} { type ${type}; }`);
  // IPVS's lookup order (ip_vs_service_find): fwmark, then address and port, then the port-0 service.
  const rules = [
    'meta nfproto ipv4 meta mark vmap @fwm4',
    'meta nfproto ipv6 meta mark vmap @fwm6',
    'meta nfproto ipv4 ip daddr . meta l4proto . th dport vmap @port4',
    'meta nfproto ipv6 ip6 daddr . meta l4proto . th dport vmap @port6',
    'meta nfproto ipv4 ip daddr . meta l4proto vmap @any4',
    'meta nfproto ipv6 ip6 daddr . meta l4proto vmap @any6',
  ];
  // prerouting for clients elsewhere; output for clients on the load balancer itself.
  out.push(`add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`);
  out.push(`add chain ${T} output { type nat hook output priority -100; policy accept; }`);
  for (const chain of ['prerouting', 'output']) for (const rule of rules) out.push(`add rule ${T} ${chain} ${rule}`);
  // Accounting: both directions of the DNATed flows crossing the load balancer.
  out.push(`add chain ${T} acct { type filter hook forward priority filter; policy accept; }`);
  for (const [f, ip] of [
    [4, 'ip'],
    [6, 'ip6'],
  ] as const) {
    out.push(
      `add rule ${T} acct meta nfproto ipv${f} ct status dnat ct direction original counter name ct original ${ip} daddr . meta l4proto . ${ip} daddr . th dport map @acct${f}`,
    );
    out.push(
      `add rule ${T} acct meta nfproto ipv${f} ct status dnat ct direction reply counter name ct original ${ip} daddr . meta l4proto . ${ip} saddr . th sport map @acct${f}`,
    );
  }
  const acctMaps = new Map<string, string[]>();
  for (const a of acct.values()) push(acctMaps, a.map, a.element);
  out.push(...elementLines('add', dispatch), ...elementLines('add', acctMaps));
  return out.join('\n') + '\n';
}

/**
 * Only what changed from `prev` (installed with `prevLayout`) to `next`, in
 * one transaction: a changed service's chain is flushed and refilled (its
 * dispatch element stays, so no packet finds it missing); removed services
 * lose their objects, added ones get theirs. Undefined when nothing changed.
 */
export function renderChange(prev: LbState, prevLayout: NftLayout, next: LbState, nextLayout: NftLayout): string | undefined {
  const old = new Map(prev.services.map((s) => [s.id, s]));
  const now = new Map(next.services.map((s) => [s.id, s]));
  const same = (a: LbVirtualService, b: LbVirtualService): boolean => JSON.stringify(a) === JSON.stringify(b);
  const removed = prev.services.filter((s) => !now.has(s.id));
  const added = next.services.filter((s) => !old.has(s.id));
  const changed = next.services.filter((s) => old.has(s.id) && !same(old.get(s.id)!, s));
  if (removed.length + added.length + changed.length === 0) return undefined;
  const oldAcct = acctElements(prev, prevLayout);
  const newAcct = nextAcct(oldAcct, prevLayout, nextLayout, [...removed, ...changed.map((s) => old.get(s.id)!)], [...changed, ...added]);
  acctCache.set(next, { layout: nextLayout, acct: newAcct });
  const idOf = (a: { map: string; key: string }): string => `${a.map} ${a.key}`;
  const out: string[] = [];
  // 1. Elements that go away or change owner, so the objects they name can be deleted.
  const delDispatch = new Map<string, string[]>();
  for (const s of removed) {
    const d = dispatchOf(s);
    push(delDispatch, d.map, d.key);
  }
  // Only the services that changed can have lost or gained acct elements.
  const delAcct = new Map<string, string[]>();
  for (const s of [...removed, ...changed.map((x) => old.get(x.id)!)]) {
    for (const a of acctKeys(s)) {
      const was = oldAcct.get(idOf(a));
      if (was !== undefined && was.counter === names.destCounter(prevLayout.get(s.id)!, a.d) && newAcct.get(idOf(a))?.counter !== was.counter)
        push(delAcct, a.map, a.key);
    }
  }
  out.push(...elementLines('delete', delDispatch), ...elementLines('delete', delAcct));
  // 2. Objects of removed and changed services; a changed one keeps its chain, counter and the destination counters it keeps.
  for (const s of removed) deleteServiceObjects(s, prevLayout.get(s.id)!, out, undefined, new Set(), oldAcct);
  const kept = new Set<string>();
  for (const s of changed)
    for (const a of acctKeys(s))
      if (newAcct.get(idOf(a))?.counter === names.destCounter(nextLayout.get(s.id)!, a.d)) kept.add(names.destCounter(nextLayout.get(s.id)!, a.d));
  for (const s of changed) deleteServiceObjects(old.get(s.id)!, prevLayout.get(s.id)!, out, s, kept, oldAcct);
  // 3. Objects of added and changed services (`add` of an existing counter keeps its values).
  for (const s of [...changed, ...added]) {
    const k = nextLayout.get(s.id)!;
    addServiceObjects(s, k, out, foreignAcct(newAcct, k, s));
  }
  // 4. New elements.
  const addDispatch = new Map<string, string[]>();
  for (const s of added) {
    const d = dispatchOf(s);
    push(addDispatch, d.map, `${d.key} : jump ${names.service(nextLayout.get(s.id)!)}`);
  }
  const addAcct = new Map<string, string[]>();
  for (const s of [...changed, ...added]) {
    for (const a of acctKeys(s)) {
      const now = newAcct.get(idOf(a));
      if (now !== undefined && now.counter === names.destCounter(nextLayout.get(s.id)!, a.d) && oldAcct.get(idOf(a))?.counter !== now.counter)
        push(addAcct, a.map, now.element);
    }
  }
  out.push(...elementLines('add', addDispatch), ...elementLines('add', addAcct));
  return out.join('\n') + '\n';
}

/**
 * The acct ownership after a change, derived from the installed one: the
 * entries of services that went away or changed are dropped, then changed and
 * added services claim the free keys. An owner keeps its key while it has it
 * (a key freed here and claimed by an unchanged service stays uncounted until
 * that service changes or the table is replaced; two services sharing VIP,
 * protocol, real server and port are rare).
 */
function nextAcct(
  oldAcct: ReadonlyMap<string, { map: string; element: string; counter: string }>,
  prevLayout: NftLayout,
  nextLayout: NftLayout,
  leaving: readonly LbVirtualService[],
  coming: readonly LbVirtualService[],
): Map<string, { map: string; element: string; counter: string }> {
  const out = new Map(oldAcct);
  for (const s of leaving) {
    const k = prevLayout.get(s.id)!;
    for (const a of acctKeys(s)) {
      const id = `${a.map} ${a.key}`;
      if (out.get(id)?.counter === names.destCounter(k, a.d)) out.delete(id);
    }
  }
  for (const s of coming) {
    const k = nextLayout.get(s.id)!;
    for (const a of acctKeys(s)) {
      const id = `${a.map} ${a.key}`;
      if (out.has(id)) continue;
      const counter = names.destCounter(k, a.d);
      out.set(id, { map: a.map, element: `${a.key} : "${counter}"`, counter });
    }
  }
  return out;
}

/** The script that removes the table (shutdown). */
export function renderClear(): string {
  return `add table ${T}\ndelete table ${T}\n`;
}
