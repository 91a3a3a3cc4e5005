/**
 * DNS_CHECK (keepalived's check_dns.c: dns_make_query, dns_recv_thread): one
 * UDP query with recursion desired for `name` (default the root) of `type`
 * (default SOA), class IN, a random id, to the real server or
 * connect_ip:connect_port. Up when, within connect_timeout, a reply arrives
 * with the query's id, the QR bit set and rcode 0 (NOERROR).
 *
 * As keepalived does, a datagram shorter than a DNS header, with another id or
 * without QR is skipped and the wait goes on: a stray reply cannot fail the
 * check, and cannot pass it either. The answer count is not looked at:
 * keepalived counts a NOERROR reply without answers (NODATA) as up; the detail
 * says how many answers came. An error rcode is down ('dns').
 *
 * The codec is the few bytes keepalived writes and reads (a header and one
 * question); a DNS library would bring more than this needs.
 */
import { randomInt } from 'node:crypto';
import { destination } from './connect.js';
import { addressText, exchangeDatagram } from './datagram.js';
import { DNS_CHECK_TYPES } from '../../../config/dns-check-types.js';
import { fail, type ConnectOptions, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

/** The query types keepalived's DNS_CHECK knows (DNS_TYPE in check_dns.c). */
export const DNS_TYPES = DNS_CHECK_TYPES;
export const DEFAULT_DNS_TYPE = 'SOA';

const RCODES: Readonly<Record<number, string>> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH' };

export const DNS_HEADER_BYTES = 12;

/** dns_type_lookup: the type's number, case-insensitive; undefined for a type keepalived does not know. */
export function dnsType(label: string): number | undefined {
  return DNS_TYPES[label.toUpperCase()];
}

/**
 * The query bytes: header (id, RD, one question) then QNAME, QTYPE, QCLASS IN.
 * "" and "." are the root; a trailing dot is allowed.
 * @returns the query, or why the name cannot be sent (an empty label, a label over 63 bytes, a name over 255)
 */
export function encodeQuery(id: number, name: string, type: number): Buffer | string {
  const labels = name === '' || name === '.' ? [] : (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'utf8');
    if (b.length === 0) return `name '${name}' has an empty label`;
    if (b.length > 63) return `name '${name}' has a label longer than 63 bytes`;
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const qname = Buffer.concat(parts);
  if (qname.length > 255) return `name '${name}' is longer than 255 bytes`;
  const header = Buffer.alloc(DNS_HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, qname, tail]);
}

export type DnsReply =
  { kind: 'skip'; why: string } | { kind: 'error'; rcode: number; text: string } | { kind: 'ok'; answers: number; authoritative: boolean; truncated: boolean };

/** dns_recv_thread's reading of one datagram against the query id. */
export function readReply(reply: Uint8Array, id: number): DnsReply {
  if (reply.length < DNS_HEADER_BYTES) return { kind: 'skip', why: `${reply.length}-byte datagram, shorter than a DNS header` };
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const got = view.getUint16(0);
  if (got !== id) return { kind: 'skip', why: `reply id 0x${hex4(got)} is not the query's 0x${hex4(id)}` };
  const flags = view.getUint16(2);
  if ((flags & 0x8000) === 0) return { kind: 'skip', why: 'a query (QR bit clear), not a reply' };
  const rcode = flags & 0x000f;
  if (rcode !== 0) return { kind: 'error', rcode, text: RCODES[rcode] ?? `rcode ${rcode}` };
  return { kind: 'ok', answers: view.getUint16(6), authoritative: (flags & 0x0400) !== 0, truncated: (flags & 0x0200) !== 0 };
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export interface DnsProbeOptions extends ConnectOptions {
  /** type: A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG or DNSKEY (default SOA) */
  queryType?: string;
  /** name (default the root) */
  name?: string;
  /** the query id; random by default (tests fix it) */
  id?: number;
}

export async function dnsProbe(target: ProbeTarget, options: DnsProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  try {
    const dst = destination(target, options);
    const what = `dns ${addressText(dst)}`;
    // dns_type_handler: an unknown type is a config error and the default stays.
    const typeName = options.queryType !== undefined && dnsType(options.queryType) !== undefined ? options.queryType.toUpperCase() : DEFAULT_DNS_TYPE;
    const name = options.name ?? '.';
    const id = options.id ?? randomInt(0, 0x10000);
    const query = encodeQuery(id, name, dnsType(typeName)!);
    if (typeof query === 'string') return fail('config', query);
    const question = `${name} ${typeName}`;
    const skipped: string[] = [];
    const started = performance.now();
    return await exchangeDatagram(
      {
        dst,
        payload: query,
        signal: ctx.signal,
        onReply: (msg) => {
          const r = readReply(msg, id);
          if (r.kind === 'skip') {
            if (skipped.length < 3) skipped.push(r.why);
            return 'ignore';
          }
          if (r.kind === 'error') return fail('dns', `${what}: ${question}: ${r.text} (rcode ${r.rcode})`);
          const ms = Math.round(performance.now() - started);
          return {
            ok: true,
            detail: `${what}: ${question}: NOERROR, ${r.answers} answer${r.answers === 1 ? '' : 's'}${r.truncated ? ', truncated' : ''} in ${ms} ms`,
          };
        },
        onTimeout: (ms) => fail('timeout', `${what}: ${question}: no reply within ${ms} ms${skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : ''}`),
      },
      options,
    );
  } catch (err) {
    return fail('connect', `unexpected: ${String(err)}`);
  }
}
