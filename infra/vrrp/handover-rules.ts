/**
 * nftables rulesets for a handover that resets no connection (pure: text
 * only; handover-nft.ts applies it).
 *
 * The cause they fix: a client follows the new Master's gratuitous ARP / NA
 * mid-connection, so the rest of a connection whose SYN reached the old Master
 * arrives at the new one, whose kernel knows no such socket and answers with a
 * TCP reset. Two rulesets close that:
 * - forward (on the new Master, armed while it is a Backup that hears a Master):
 *   a netdev ingress chain on the VRRP interface remembers the TCP flows to a
 *   VIP whose SYN it sees, and hands every other TCP packet to a VIP to the old
 *   Master at L2 (`fwd ip to`), so connections opened there end there;
 * - drain (on the old Master, for the drain window after it heard the new
 *   Master): it keeps the VIPs, and so accepts those forwarded packets, but
 *   answers no ARP request / Neighbor Solicitation for them, so no client is
 *   pointed back at it.
 * Table names start with HANDOVER_TABLE_PREFIX so a daemon that starts after
 * a crash removes what the crashed one left (staleHandoverTables).
 */

import { parseAddress } from '../../wire/codec/index.js';

export const HANDOVER_TABLE_PREFIX = 'vipflow_handover_';

export type NftFamily = 'netdev' | 'arp' | 'ip6';

export interface NftTable {
  family: NftFamily;
  name: string;
}

/** The table for one instance and purpose; instance names may hold characters nft does not take in a bare name. */
export function handoverTable(purpose: 'fwd' | 'drain', family: 4 | 6, instance: string): NftTable {
  const safe = instance.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 200);
  return { family: purpose === 'fwd' ? 'netdev' : family === 4 ? 'arp' : 'ip6', name: `${HANDOVER_TABLE_PREFIX}${purpose}_${safe}` };
}

export interface ForwardSpec {
  table: NftTable;
  /** The interface the VIPs and the clients are on (device names are quoted: nft takes any). */
  device: string;
  family: 4 | 6;
  /** VIP addresses (no prefix length) of that family. */
  vips: readonly string[];
  /** The Master to hand unknown flows to: the source of its adverts. */
  oldMaster: string;
  /** How long a flow whose SYN we saw stays known (the window's length is enough). */
  flowTimeoutMs: number;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/**
 * Replaces (or creates) the forward table in one transaction: `add` makes the
 * `delete` safe when the table does not exist yet (nft 1.0.6 has no `destroy`).
 * Priority -500 runs before any other ingress chain a user has, so only our
 * own flows are decided here; everything that is not TCP to a VIP returns.
 */
export function forwardRuleset(spec: ForwardSpec): string {
  const { table, family } = spec;
  if (spec.vips.length === 0) throw new Error('forwardRuleset: no VIPs');
  const ip = family === 4 ? 'ip' : 'ip6';
  const addr = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const timeoutS = Math.max(1, Math.ceil(spec.flowTimeoutMs / 1000));
  return [
    ...replaceTable(table),
    `table ${table.family} ${table.name} {`,
    `  set flows { type ${addr} . inet_service . ${addr}; flags dynamic, timeout; timeout ${timeoutS}s; size 65536; }`,
    `  chain ingress {`,
    `    type filter hook ingress device ${quote(spec.device)} priority -500; policy accept;`,
    `    ${ip} daddr != { ${spec.vips.join(', ')} } return`,
    `    meta l4proto != tcp return`,
    // A flow that starts here is ours from its SYN on (a full set refuses the
    // update: the flow then goes to the old Master, which still holds the VIP).
    `    tcp flags & (syn | ack) == syn update @flows { ${ip} saddr . tcp sport . ${ip} daddr } return`,
    `    ${ip} saddr . tcp sport . ${ip} daddr @flows return`,
    `    fwd ${ip} to ${spec.oldMaster} device ${quote(spec.device)}`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export interface DrainSpec {
  table: NftTable;
  family: 4 | 6;
  vips: readonly string[];
}

/** An IPv6 address as the 128-bit hex integer nft's raw payload match takes. */
export function ipv6Hex(address: string): string {
  const bytes = address.includes(':') ? parseAddress(address) : null;
  if (!bytes || bytes.length !== 16) throw new Error(`not an IPv6 address: ${address}`);
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/**
 * Stops answering address resolution for the VIPs (the old Master during the
 * drain). IPv4: ARP requests for a VIP are dropped on input. IPv6: Neighbor
 * Solicitations whose target (bytes 8-23 of the ICMPv6 message) is a VIP.
 */
export function drainRuleset(spec: DrainSpec): string {
  const { table } = spec;
  if (spec.vips.length === 0) throw new Error('drainRuleset: no VIPs');
  const rules =
    spec.family === 4
      ? [`    arp operation request arp daddr ip { ${spec.vips.join(', ')} } drop`]
      : spec.vips.map((v) => `    icmpv6 type nd-neighbor-solicit @th,64,128 ${ipv6Hex(v)} drop`);
  return [
    ...replaceTable(table),
    `table ${table.family} ${table.name} {`,
    `  chain input {`,
    `    type filter hook input priority -500; policy accept;`,
    ...rules,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

function replaceTable(t: NftTable): string[] {
  return [`add table ${t.family} ${t.name}`, `delete table ${t.family} ${t.name}`];
}

/** Removes tables, whether they exist or not. */
export function deleteRuleset(tables: readonly NftTable[]): string {
  return tables.map((t) => `add table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`).join('');
}

/** Our tables in `nft list tables` output: what a crashed daemon may have left. */
export function staleHandoverTables(listTablesOutput: string): NftTable[] {
  const out: NftTable[] = [];
  for (const line of listTablesOutput.split('\n')) {
    const m = /^table (netdev|arp|ip6) (\S+)$/.exec(line.trim());
    if (m && m[2]!.startsWith(HANDOVER_TABLE_PREFIX)) out.push({ family: m[1] as NftFamily, name: m[2]! });
  }
  return out;
}
