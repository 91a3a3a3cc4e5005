/**
 * The host's links and addresses as rtnetlink reports them, reduced to what
 * the daemon acts on: whether a link can carry traffic, and which IPv6
 * link-local address is usable as an advert source. Pure: messages in,
 * changes out (wire/socket/netlink-monitor.ts does the I/O).
 */
import { canonicalIp } from '../../core/address.js';
import { IFA_F_DADFAILED, IFA_F_TENTATIVE, IFF_RUNNING, IFF_UP, type NetlinkMessage } from '../../wire/socket/netlink-monitor.js';

/** A link's usability changed (or a link appeared or went away: gone counts as down). */
export interface LinkChange {
  name: string;
  up: boolean;
}

interface LinkEntry {
  name: string;
  up: boolean;
}

interface AddressEntry {
  family: 4 | 6;
  address: string;
  prefix: number;
  flags: number;
}

/**
 * Administratively up with carrier: the same rule as the sysfs reader
 * (host.ts `linkUp`: operstate up or unknown), since the kernel sets
 * IFF_RUNNING exactly when operstate is up or unknown, plus IFF_UP so that
 * an admin-down device whose driver reports no operstate (unknown) counts
 * as down.
 */
export function linkUsable(flags: number): boolean {
  return (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0;
}

/**
 * An address the kernel will send from: not tentative (IPv6 duplicate
 * address detection still running; sending from it fails) and not
 * dadfailed (another host has it).
 */
export function addressUsable(flags: number): boolean {
  return (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0;
}

function isLinkLocalV6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

export class LinkTable {
  private readonly links = new Map<number, LinkEntry>();
  private readonly addresses = new Map<number, Map<string, AddressEntry>>();

  /**
   * Applies notifications in kernel order.
   * @returns the links whose usability changed, by name, in order (a rename
   *   reports the old name down and the new one with its state).
   */
  apply(messages: readonly NetlinkMessage[]): LinkChange[] {
    const changes: LinkChange[] = [];
    for (const m of messages) {
      if (m.kind === 'link') this.applyLink(m.op, m.ifindex, m.name, m.flags, changes);
      else this.applyAddress(m.op, m.ifindex, { family: m.family, address: m.address, prefix: m.prefix, flags: m.flags });
    }
    return changes;
  }

  /**
   * Replaces everything with a full dump (start, or after an overrun lost
   * notifications). Links missing from the dump are reported down.
   * @returns the changes against the state held before.
   */
  replaceAll(dump: readonly NetlinkMessage[]): LinkChange[] {
    const before = new Map([...this.links.values()].map((l) => [l.name, l.up]));
    this.links.clear();
    this.addresses.clear();
    this.apply(dump);
    const after = new Map([...this.links.values()].map((l) => [l.name, l.up]));
    const changes: LinkChange[] = [];
    for (const [name, up] of before) if (after.get(name) !== up) changes.push({ name, up: after.get(name) ?? false });
    for (const [name, up] of after) if (!before.has(name)) changes.push({ name, up });
    return changes;
  }

  /** Whether the named link is usable; undefined when no such link is known. */
  isUp(name: string): boolean | undefined {
    for (const l of this.links.values()) if (l.name === name) return l.up;
    return undefined;
  }

  /** The link's first usable IPv6 link-local address (RFC 5798 §5.1.2.1's advert source), if any. */
  usableLinkLocal(name: string): string | undefined {
    for (const [ifindex, l] of this.links) {
      if (l.name !== name) continue;
      for (const a of this.addresses.get(ifindex)?.values() ?? []) if (a.family === 6 && isLinkLocalV6(a.address) && addressUsable(a.flags)) return a.address;
    }
    return undefined;
  }

  /** The link's IPv4 addresses in the order the kernel announced them; undefined when no such link is known. */
  ipv4Of(name: string): string[] | undefined {
    for (const [ifindex, l] of this.links) {
      if (l.name !== name) continue;
      return [...(this.addresses.get(ifindex)?.values() ?? [])].filter((a) => a.family === 4).map((a) => a.address);
    }
    return undefined;
  }

  /** Whether any link holds this address (compared in canonical form: canonicalIp). */
  hasAddress(address: string): boolean {
    const want = canonicalIp(address);
    for (const list of this.addresses.values()) for (const a of list.values()) if (canonicalIp(a.address) === want) return true;
    return false;
  }

  private applyLink(op: 'new' | 'del', ifindex: number, name: string, flags: number, changes: LinkChange[]): void {
    const was = this.links.get(ifindex);
    if (op === 'del') {
      this.links.delete(ifindex);
      this.addresses.delete(ifindex);
      if (was?.up) changes.push({ name: was.name, up: false });
      return;
    }
    const up = linkUsable(flags);
    this.links.set(ifindex, { name, up });
    if (was && was.name !== name) {
      if (was.up) changes.push({ name: was.name, up: false });
      changes.push({ name, up });
    } else if (!was || was.up !== up) {
      changes.push({ name, up });
    }
  }

  private applyAddress(op: 'new' | 'del', ifindex: number, entry: AddressEntry): void {
    const key = `${entry.address}/${entry.prefix}`;
    let list = this.addresses.get(ifindex);
    if (op === 'del') {
      list?.delete(key);
      return;
    }
    if (!list) this.addresses.set(ifindex, (list = new Map()));
    list.set(key, entry);
  }
}
