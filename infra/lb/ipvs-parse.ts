/**
 * `ipvsadm -Ln` (the table), `ipvsadm -Ln --stats --exact` and `--rate` (the
 * counters) back into data. Pure.
 *
 * The formats are ipvsadm 1.31's print_title / print_service_entry: a service
 * line `TCP  198.18.0.100:80 wlc (flags) persistent 300 mask 255.255.255.0 ops`,
 * `UDP  [fd00::1]:53 ...`, `SCTP  ...`, `FWM  7 rr`, `FWM  7 IPv6 rr`, then one
 * `  -> address:port  Masq|Route|Tunnel|Local weight active inactive` line per
 * destination. Statistics lines have five numbers after the address, which
 * ipvsadm shortens with K/M/G/T unless given --exact.
 */
import type { LbCounters, LbService } from './model.js';
import { canonicalAddress, HOST_MASK, schedulerFlagBit, serviceId, serviceKey, type IpvsDest, type IpvsForward, type IpvsService } from './ipvs-service.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const FORWARD: Readonly<Record<string, IpvsForward>> = { Masq: 'NAT', Route: 'DR', Tunnel: 'TUN', Local: 'LOCAL' };
const PROTOCOL = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

const SERVICE_ADDR = /^(TCP|UDP|SCTP)\s+(\S+)(?:\s+(.*))?$/;
const SERVICE_FWM = /^FWM\s+(\d+)(\s+IPv6)?(?:\s+(.*))?$/;
const DEST = /^\s+->\s+(\S+)(?:\s+(.*))?$/;

/** `198.18.0.1:80` or `[fd00::1]:80` into family, address, port; null when it is neither. */
export function splitHostPort(text: string): { family: 4 | 6; address: string; port: number } | null {
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  const v4 = v6 ? null : /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  const m = v6 ?? v4;
  if (!m) return null;
  const family = v6 ? 6 : 4;
  const address = canonicalAddress(family, m[1]!);
  const port = Number(m[2]);
  if (address === null || port > 65535) return null;
  return { family, address, port };
}

interface ServiceHead {
  service: LbService;
  rest: string;
}

function serviceHead(line: string): ServiceHead | null | 'bad' {
  const a = SERVICE_ADDR.exec(line);
  if (a) {
    const hp = splitHostPort(a[2]!);
    if (!hp) return 'bad';
    return {
      service: { kind: 'address', family: hp.family, protocol: PROTOCOL[a[1] as keyof typeof PROTOCOL], address: hp.address, port: hp.port },
      rest: a[3] ?? '',
    };
  }
  const f = SERVICE_FWM.exec(line);
  if (f) return { service: { kind: 'fwmark', family: f[2] ? 6 : 4, fwmark: Number(f[1]) }, rest: f[3] ?? '' };
  return null;
}

function isHeader(line: string): boolean {
  return line.startsWith('IP Virtual Server version') || line.startsWith('Prot LocalAddress:Port') || /^\s+-> RemoteAddress:Port/.test(line);
}

/** The service options after the address: scheduler, (flags), persistent N, mask M, pe NAME, ops. */
function serviceOptions(head: ServiceHead, lineNo: number): ParseResult<IpvsService> {
  const tokens = head.rest.split(/\s+/).filter((t) => t !== '');
  const scheduler = tokens.shift();
  if (scheduler === undefined) return { ok: false, error: `line ${lineNo}: service without a scheduler` };
  const s: IpvsService = { key: serviceKey(head.service), service: head.service, scheduler, schedFlags: 0, onePacket: false, dests: [] };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const flags = /^\((.*)\)$/.exec(t);
    if (flags) {
      for (const name of flags[1]!.split(',')) {
        const bit = schedulerFlagBit(scheduler, name);
        if (bit === null) return { ok: false, error: `line ${lineNo}: unknown scheduler flag '${name}' for ${scheduler}` };
        s.schedFlags |= bit;
      }
    } else if (t === 'persistent') {
      const n = Number(tokens[++i]);
      if (!Number.isInteger(n)) return { ok: false, error: `line ${lineNo}: persistent without a timeout` };
      s.persistence = { timeoutS: n, netmask: HOST_MASK[head.service.family] };
    } else if (t === 'mask') {
      const m = tokens[++i];
      if (m === undefined || !s.persistence) return { ok: false, error: `line ${lineNo}: mask without persistence` };
      s.persistence.netmask = m;
    } else if (t === 'pe') {
      // A persistence engine (sip) has no field in the model; skipping it keeps the rest readable.
      i++;
    } else if (t === 'ops') {
      s.onePacket = true;
    } else return { ok: false, error: `line ${lineNo}: unexpected '${t}' in a service line` };
  }
  return { ok: true, value: s };
}

function parseDest(family: 4 | 6, line: string, lineNo: number): ParseResult<{ address: string; port: number; fields: string[] }> {
  const m = DEST.exec(line);
  if (!m) return { ok: false, error: `line ${lineNo}: not a destination line` };
  const hp = splitHostPort(m[1]!);
  if (!hp || hp.family !== family) return { ok: false, error: `line ${lineNo}: '${m[1]}' is not an IPv${family} address:port` };
  return { ok: true, value: { address: hp.address, port: hp.port, fields: (m[2] ?? '').split(/\s+/).filter((t) => t !== '') } };
}

/** `ipvsadm -Ln` into the kernel's services, in listed order. Any line it cannot read is an error naming it. */
export function parseIpvsList(text: string): ParseResult<IpvsService[]> {
  const out: IpvsService[] = [];
  let current: IpvsService | undefined;
  for (const [i, line] of text.split('\n').entries()) {
    const lineNo = i + 1;
    if (line.trim() === '' || isHeader(line)) continue;
    if (/^\s+->/.test(line)) {
      if (!current) return { ok: false, error: `line ${lineNo}: destination before any service` };
      const d = parseDest(current.service.family, line, lineNo);
      if (!d.ok) return d;
      const [fwd, weight, active, inactive] = d.value.fields;
      const forward = fwd === undefined ? undefined : FORWARD[fwd];
      if (forward === undefined || !/^-?\d+$/.test(weight ?? '') || !/^\d+$/.test(active ?? '') || !/^\d+$/.test(inactive ?? ''))
        return { ok: false, error: `line ${lineNo}: expected forward, weight, active and inactive connections` };
      const dest: IpvsDest = { address: d.value.address, port: d.value.port, weight: Number(weight), forward };
      current.dests.push(dest);
      continue;
    }
    const head = serviceHead(line);
    if (head === 'bad') return { ok: false, error: `line ${lineNo}: unreadable service address in '${line.trim()}'` };
    if (head === null) return { ok: false, error: `line ${lineNo}: unexpected '${line.trim()}'` };
    const s = serviceOptions(head, lineNo);
    if (!s.ok) return s;
    current = s.value;
    out.push(current);
  }
  return { ok: true, value: out };
}

const SUFFIX: Readonly<Record<string, number>> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** One of print_largenum's numbers: exact digits, or shortened with K/M/G/T (then a lower bound). */
export function parseLargeNumber(t: string): number | null {
  const m = /^(\d+)([KMGT]?)$/.exec(t);
  return m ? Number(m[1]) * SUFFIX[m[2]!]! : null;
}

export interface IpvsFiveNumbers {
  key: string;
  service: LbService;
  values: [number, number, number, number, number];
  dests: { address: string; port: number; values: [number, number, number, number, number] }[];
}

/** Lines of five numbers per service and destination (--stats: Conns InPkts OutPkts InBytes OutBytes; --rate: CPS InPPS OutPPS InBPS OutBPS). */
function parseFiveNumbers(text: string): ParseResult<IpvsFiveNumbers[]> {
  const out: IpvsFiveNumbers[] = [];
  let current: IpvsFiveNumbers | undefined;
  const five = (fields: string[], lineNo: number): ParseResult<[number, number, number, number, number]> => {
    const nums = fields.map(parseLargeNumber);
    if (nums.length !== 5 || nums.some((n) => n === null)) return { ok: false, error: `line ${lineNo}: expected five counters` };
    return { ok: true, value: nums as [number, number, number, number, number] };
  };
  for (const [i, line] of text.split('\n').entries()) {
    const lineNo = i + 1;
    if (line.trim() === '' || isHeader(line)) continue;
    if (/^\s+->/.test(line)) {
      if (!current) return { ok: false, error: `line ${lineNo}: destination before any service` };
      const d = parseDest(current.service.family, line, lineNo);
      if (!d.ok) return d;
      const v = five(d.value.fields, lineNo);
      if (!v.ok) return v;
      current.dests.push({ address: d.value.address, port: d.value.port, values: v.value });
      continue;
    }
    const head = serviceHead(line);
    if (head === 'bad' || head === null) return { ok: false, error: `line ${lineNo}: unexpected '${line.trim()}'` };
    const v = five(
      head.rest.split(/\s+/).filter((t) => t !== ''),
      lineNo,
    );
    if (!v.ok) return v;
    current = { key: serviceKey(head.service), service: head.service, values: v.value, dests: [] };
    out.push(current);
  }
  return { ok: true, value: out };
}

/**
 * `ipvsadm -Ln --stats --exact` as LbCounters: packets and bytes are both
 * directions added (InPkts + OutPkts; with DR and TUN replies bypass the
 * balancer, so Out is 0), connections the number IPVS scheduled since the
 * service was added. Ids are serviceId's (the caller maps them to its own).
 */
export function parseIpvsStats(text: string): ParseResult<LbCounters[]> {
  const r = parseFiveNumbers(text);
  if (!r.ok) return r;
  return {
    ok: true,
    value: r.value.map((s) => ({
      id: serviceId(s.service),
      connections: s.values[0],
      packets: s.values[1] + s.values[2],
      bytes: s.values[3] + s.values[4],
      destinations: s.dests.map((d) => ({
        address: d.address,
        port: s.service.kind === 'fwmark' && d.port === 0 ? undefined : d.port,
        connections: d.values[0],
        packets: d.values[1] + d.values[2],
        bytes: d.values[3] + d.values[4],
      })),
    })),
  };
}

export interface IpvsRate {
  id: string;
  connectionsPerS: number;
  inPacketsPerS: number;
  outPacketsPerS: number;
  inBytesPerS: number;
  outBytesPerS: number;
  destinations: {
    address: string;
    port: number | undefined;
    connectionsPerS: number;
    inPacketsPerS: number;
    outPacketsPerS: number;
    inBytesPerS: number;
    outBytesPerS: number;
  }[];
}

/** `ipvsadm -Ln --rate --exact`: the kernel's estimator (a 2 s moving average) per service and destination. */
export function parseIpvsRates(text: string): ParseResult<IpvsRate[]> {
  const r = parseFiveNumbers(text);
  if (!r.ok) return r;
  const rate = (v: [number, number, number, number, number]) => ({
    connectionsPerS: v[0],
    inPacketsPerS: v[1],
    outPacketsPerS: v[2],
    inBytesPerS: v[3],
    outBytesPerS: v[4],
  });
  return {
    ok: true,
    value: r.value.map((s) => ({
      id: serviceId(s.service),
      ...rate(s.values),
      destinations: s.dests.map((d) => ({ address: d.address, port: s.service.kind === 'fwmark' && d.port === 0 ? undefined : d.port, ...rate(d.values) })),
    })),
  };
}
