/**
 * DNS wire format for one job: an RFC 2136 UPDATE that replaces a name's A/AAAA
 * records, signed with TSIG (RFC 8945), and the parts of the server's response that
 * decide success (header, response code, the TSIG record and its MAC). Pure: no I/O;
 * HMAC comes from node:crypto, which computes and touches nothing outside.
 *
 * Only what an address update needs is here: no EDNS, no name compression in what we
 * send (RFC 8945 section 4.2 forbids it in TSIG anyway), no prerequisites.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export type RecordType = 'A' | 'AAAA';
export const RR_TYPE: Readonly<Record<RecordType, number>> = { A: 1, AAAA: 28 };
const TYPE_SOA = 6;
const TYPE_TSIG = 250;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const OPCODE_UPDATE = 5;
/** RFC 8945 section 10 recommends 300 s of clock skew tolerance. */
export const TSIG_FUDGE_SEC = 300;

export const TSIG_ALGORITHMS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];
/** The algorithm's domain name on the wire (RFC 8945 section 6) and node:crypto's digest name. */
const ALGORITHM: Readonly<Record<TsigAlgorithm, { wire: string; digest: string }>> = {
  'hmac-md5': { wire: 'hmac-md5.sig-alg.reg.int', digest: 'md5' },
  'hmac-sha1': { wire: 'hmac-sha1', digest: 'sha1' },
  'hmac-sha224': { wire: 'hmac-sha224', digest: 'sha224' },
  'hmac-sha256': { wire: 'hmac-sha256', digest: 'sha256' },
  'hmac-sha384': { wire: 'hmac-sha384', digest: 'sha384' },
  'hmac-sha512': { wire: 'hmac-sha512', digest: 'sha512' },
};

export interface TsigKey {
  /** The key's name as the server knows it (e.g. `vipflow-key`). */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** `www.example.com` / `www.example.com.` → lowercase, no trailing dot. */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/**
 * Why `name` is not a usable absolute domain name (empty label, label over 63 octets,
 * name over 255 octets on the wire), or undefined when it is.
 */
export function nameProblem(name: string): string | undefined {
  const n = name.replace(/\.$/, '');
  if (n === '') return 'is empty';
  const labels = n.split('.');
  if (labels.some((l) => l === '')) return 'has an empty label';
  if (labels.some((l) => Buffer.byteLength(l) > 63)) return 'has a label longer than 63 octets';
  if (labels.reduce((a, l) => a + 1 + Buffer.byteLength(l), 1) > 255) return 'is longer than 255 octets';
  return undefined;
}

/** True when `name` is `zone` itself or below it (case-insensitive, trailing dots ignored). */
export function inZone(name: string, zone: string): boolean {
  const n = normalizeName(name);
  const z = normalizeName(zone);
  return n === z || n.endsWith(`.${z}`);
}

/** Uncompressed wire form of an absolute name. @throws RangeError for a name nameProblem rejects (callers validate first). */
export function encodeName(name: string): Buffer {
  const problem = nameProblem(name);
  if (problem) throw new RangeError(`domain name '${name}' ${problem}`);
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    const b = Buffer.from(label);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** The 4 or 16 octets of an IP literal, or undefined when it is not one. */
export function addressBytes(ip: string): Buffer | undefined {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  // A zone index (fe80::1%eth0) means nothing in a DNS record.
  if (family !== 6 || ip.includes('%')) return undefined;
  // isIP vouched for the syntax; an embedded IPv4 suffix (::ffff:198.18.0.1) is two groups.
  let text = ip;
  const tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (v4) {
    const o = v4[2]!.split('.').map(Number) as [number, number, number, number];
    tail.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
    text = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = groups(head);
  const t = [...(rest === undefined ? [] : groups(rest)), ...tail];
  const all = rest === undefined ? [...h, ...t] : [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  if (all.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The record type an address goes into. */
export function typeOf(ip: string): RecordType | undefined {
  const f = isIP(ip);
  return f === 4 ? 'A' : f === 6 ? 'AAAA' : undefined;
}

export interface UpdatePlan {
  zone: string;
  /** Absolute owner name inside `zone`. */
  name: string;
  ttl: number;
  /** RRsets of these types at `name` are deleted first (RFC 2136 section 2.5.2). */
  replace: readonly RecordType[];
  /** Each becomes an A or AAAA record at `name` (section 2.5.1). */
  add: readonly string[];
}

function rr(name: Buffer, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name, fixed, rdata]);
}

/**
 * The unsigned UPDATE message with header `id`: zone section (zone, SOA, IN), no
 * prerequisites, then the deletions and the additions in one atomic update.
 * @throws RangeError when a name or address is invalid (validated by the options schema first).
 */
export function buildUpdate(plan: UpdatePlan, id: number): Buffer {
  const owner = encodeName(plan.name);
  const updates: Buffer[] = [];
  // Delete an RRset: class ANY, TTL 0, empty RDATA.
  for (const t of plan.replace) updates.push(rr(owner, RR_TYPE[t], CLASS_ANY, 0, Buffer.alloc(0)));
  for (const ip of plan.add) {
    const bytes = addressBytes(ip);
    const t = typeOf(ip);
    if (!bytes || !t) throw new RangeError(`not an IP address: ${ip}`);
    updates.push(rr(owner, RR_TYPE[t], CLASS_IN, plan.ttl, bytes));
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(0, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT
  const zoneQ = Buffer.alloc(4);
  zoneQ.writeUInt16BE(TYPE_SOA, 0);
  zoneQ.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(plan.zone), zoneQ, ...updates]);
}

export interface TsigFields {
  /** Seconds since the epoch (48 bits on the wire). */
  timeSigned: number;
  fudge: number;
  originalId: number;
  error: number;
  other: Buffer;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(n / 2 ** 32) & 0xffff, 0);
  b.writeUInt32BE(n % 2 ** 32, 2);
  return b;
}

/**
 * The MAC over `message` (without its TSIG record, ARCOUNT not counting it, the
 * original ID in place) and the TSIG variables of RFC 8945 section 4.3.3; for a
 * response, prefixed by the request's MAC (section 4.3.1).
 */
export function tsigMac(key: TsigKey, message: Buffer, f: TsigFields, requestMac?: Buffer): Buffer {
  const h = createHmac(ALGORITHM[key.algorithm].digest, key.secret);
  if (requestMac) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(requestMac.length, 0);
    h.update(len).update(requestMac);
  }
  h.update(message);
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(CLASS_ANY, 0);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(f.fudge, 0);
  tail.writeUInt16BE(f.error, 2);
  tail.writeUInt16BE(f.other.length, 4);
  h.update(encodeName(normalizeName(key.name)))
    .update(classTtl)
    .update(encodeName(ALGORITHM[key.algorithm].wire))
    .update(u48(f.timeSigned))
    .update(tail)
    .update(f.other);
  return h.digest();
}

/**
 * `message` with a TSIG record appended (ARCOUNT + 1), signed with `key`; also the MAC,
 * which the response's MAC covers. `requestMac` signs a response (tests play the server).
 */
export function signMessage(message: Buffer, key: TsigKey, f: Omit<TsigFields, 'originalId'>, requestMac?: Buffer): { message: Buffer; mac: Buffer } {
  const originalId = message.readUInt16BE(0);
  const fields: TsigFields = { ...f, originalId };
  const mac = tsigMac(key, message, fields, requestMac);
  // RDATA (section 4.2): algorithm, time signed, fudge, MAC size, MAC, original ID, error, other len, other.
  const fudgeMacLen = Buffer.alloc(4);
  fudgeMacLen.writeUInt16BE(f.fudge, 0);
  fudgeMacLen.writeUInt16BE(mac.length, 2);
  const after = Buffer.alloc(6);
  after.writeUInt16BE(originalId, 0);
  after.writeUInt16BE(f.error, 2);
  after.writeUInt16BE(f.other.length, 4);
  const rdata = Buffer.concat([encodeName(ALGORITHM[key.algorithm].wire), u48(f.timeSigned), fudgeMacLen, mac, after, f.other]);
  const out = Buffer.concat([message, rr(encodeName(normalizeName(key.name)), TYPE_TSIG, CLASS_ANY, 0, rdata)]);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: out, mac };
}

export interface TsigRecord extends TsigFields {
  keyName: string;
  algorithm: string;
  mac: Buffer;
  /** Offset of the TSIG record in the message: what precedes it is what the MAC covers. */
  offset: number;
}

export interface ParsedResponse {
  id: number;
  isResponse: boolean;
  opcode: number;
  truncated: boolean;
  rcode: number;
  /** The last additional record when it is a TSIG (RFC 8945 section 5.1: it must be last). */
  tsig?: TsigRecord;
}

export type ParseResult = { ok: true; response: ParsedResponse } | { ok: false; error: string };

/** Reads a possibly compressed name; undefined on a bad pointer, a loop or running off the end. */
function readName(buf: Buffer, start: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let off = start;
  let next: number | undefined;
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) return { name: labels.join('.'), next: next ?? off + 1 };
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) return undefined;
      next ??= off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1]!;
      continue;
    }
    if (len > 63 || off + 1 + len > buf.length) return undefined;
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return undefined;
}

/**
 * Decodes the header and walks every section to find a trailing TSIG record. Checks
 * only that the bytes form a DNS message; whether it answers our request (ID, opcode,
 * signature) is the caller's decision. Never throws.
 */
export function parseResponse(buf: Buffer): ParseResult {
  if (buf.length < 12) return { ok: false, error: `response too short (${buf.length} octets)` };
  const flags = buf.readUInt16BE(2);
  const response: ParsedResponse = {
    id: buf.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
  };
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o)) as [number, number, number, number];
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, off);
    if (!n || n.next + 4 > buf.length) return { ok: false, error: 'response truncated in the zone section' };
    off = n.next + 4;
  }
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const start = off;
    const n = readName(buf, off);
    if (!n || n.next + 10 > buf.length) return { ok: false, error: 'response truncated in a record' };
    const type = buf.readUInt16BE(n.next);
    const rdlen = buf.readUInt16BE(n.next + 8);
    const rdata = n.next + 10;
    if (rdata + rdlen > buf.length) return { ok: false, error: 'response truncated in record data' };
    off = rdata + rdlen;
    if (type === TYPE_TSIG && i === total - 1 && ar > 0) {
      const t = parseTsigRdata(buf, rdata, rdata + rdlen);
      if (!t) return { ok: false, error: 'malformed TSIG record in the response' };
      response.tsig = { ...t, keyName: n.name, offset: start };
    }
  }
  return { ok: true, response };
}

function parseTsigRdata(buf: Buffer, start: number, end: number): Omit<TsigRecord, 'keyName' | 'offset'> | undefined {
  const alg = readName(buf, start);
  if (!alg || alg.next + 10 > end) return undefined;
  let o = alg.next;
  const timeSigned = buf.readUInt16BE(o) * 2 ** 32 + buf.readUInt32BE(o + 2);
  const fudge = buf.readUInt16BE(o + 6);
  const macLen = buf.readUInt16BE(o + 8);
  o += 10;
  if (o + macLen + 6 > end) return undefined;
  const mac = Buffer.from(buf.subarray(o, o + macLen));
  o += macLen;
  const originalId = buf.readUInt16BE(o);
  const error = buf.readUInt16BE(o + 2);
  const otherLen = buf.readUInt16BE(o + 4);
  o += 6;
  if (o + otherLen !== end) return undefined;
  return { algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other: Buffer.from(buf.subarray(o, end)) };
}

/**
 * Whether the response's TSIG proves it came from a holder of `key` and answers the
 * request whose MAC was `requestMac` (RFC 8945 section 5.3.4). Returns the reason when
 * it does not.
 */
export function responseSignatureProblem(buf: Buffer, r: ParsedResponse, key: TsigKey, requestMac: Buffer): string | undefined {
  const t = r.tsig;
  if (!t) return 'the response is not signed';
  if (normalizeName(t.keyName) !== normalizeName(key.name)) return `the response is signed with key '${t.keyName}', not '${key.name}'`;
  if (normalizeName(t.algorithm) !== ALGORITHM[key.algorithm].wire) return `the response is signed with ${t.algorithm}, not ${key.algorithm}`;
  const body = Buffer.from(buf.subarray(0, t.offset));
  body.writeUInt16BE(t.originalId, 0);
  body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  const expected = tsigMac(key, body, t, requestMac);
  if (t.mac.length !== expected.length || !timingSafeEqual(t.mac, expected)) return "the response's TSIG MAC does not verify";
  return undefined;
}
