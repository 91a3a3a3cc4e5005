/**
 * Virtual LAN segments for WireHub: the socket opener a hub is given
 * (WireHub's second constructor argument) returns sockets that carry the
 * bytes the runner encoded to the other nodes' sockets on the same segment,
 * with the metadata a raw socket would report (TTL, ingress ifindex, source,
 * destination), on the simulation's clock.
 *
 * Delivery follows the kernel's rules as far as the hub can tell: a packet to
 * a multicast group reaches every other node's multicast socket of that
 * family on the segment; a packet to a unicast address reaches every socket
 * of the node that has the address on its interface on that segment (the hub
 * and the receive checks sort out which instance, if any, wants it). The
 * sender never hears itself (IP_MULTICAST_LOOP off).
 *
 * Loss, delay and partitions are decided per (packet, receiver) when the
 * packet is sent, loss draws from one seeded PRNG in send order; deliveries
 * then run on the clock in (due time, creation order). Same inputs, same run.
 */
import { parseAddress } from '../wire/codec/index.js';
import type { ReceivedPacket, SysResult, VrrpSocket, VrrpSocketOptions } from '../wire/socket/index.js';
import type { VrrpClock } from '../actors/vrrp/index.js';

const GROUP = { 4: '224.0.0.18', 6: 'ff02::12' } as const;

/** What the wire needs to know of a node's interfaces. */
export interface WireNode {
  readonly name: string;
  /** The segment and interface index of one of the node's interfaces, or undefined when it has none of that name. */
  port(iface: string): { segment: string; ifindex: number } | undefined;
  /** Whether `address` is configured on `iface` (its own addresses and the VIPs it holds now). */
  owns(iface: string, address: string): boolean;
}

export interface WireOptions {
  /** One-way delay of every delivery, ms (default 0: at the send time, after the sender's own actions). */
  delayMs?: number;
  /** Probability that one delivery (one packet to one receiver) is lost, 0..1 (default 0). */
  lossRate?: number;
  /** Draws for the loss decisions (default: none are lost). */
  random?: () => number;
  /** Keep a record of every delivered packet in `deliveries` (default false; memory grows with the run). */
  recordDeliveries?: boolean;
}

/**
 * Extra loss on part of the wire for a while (a flaky switch port, a congested
 * uplink): deliveries from `from` and/or to `to` on `segment` are lost with
 * `probability` until `until` (virtual ms). Unset filters match everything.
 */
export interface LossRule {
  probability: number;
  from?: string;
  to?: string;
  segment?: string;
  until?: number;
}

export interface WireStats {
  /** Packets sent by nodes (one per destination). */
  sent: number;
  delivered: number;
  lost: number;
  /** Deliveries prevented by a partition. */
  blocked: number;
}

/** One packet handed to one receiving socket. `vrid` and `priority` are read from the VRRP header. */
export interface Delivery {
  at: number;
  from: string;
  to: string;
  segment: string;
  vrid: number;
  priority: number;
}

/** A packet leaving a node's socket (before any loss or partition). */
export interface SentPacket {
  at: number;
  node: string;
  interface: string;
  segment: string;
  family: 4 | 6;
  source: string;
  destination: string;
  payload: Buffer;
}

/** A packet put on a segment from outside any node (a router in between, a misconfigured box, a fuzzer). */
export interface InjectedPacket {
  /** The VRRP message as it would follow the IP header. */
  payload: Buffer;
  source: string;
  /** Default: the VRRP group of the source's family. */
  destination?: string;
  /** IPv4 TTL / IPv6 hop limit as the receiver sees it (default 255). */
  ttl?: number;
}

interface VirtualSocket {
  readonly node: WireNode;
  readonly iface: string;
  readonly segment: string;
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly mode: 'multicast' | 'unicast';
  readonly source: string;
  handler: ((p: ReceivedPacket) => void) | null;
  open: boolean;
}

function isMulticast(bytes: Uint8Array): boolean {
  return bytes.length === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}

const bytesByText = new Map<string, Uint8Array>();

/**
 * An address as the bytes a socket hands the hub, one object per address, as
 * the addon hands them (a repeated sender is the same Buffer). For stand-in
 * sockets: the virtual wire, bench/runner-path.
 */
export function addressBytes(text: string): Uint8Array {
  let b = bytesByText.get(text);
  if (!b) {
    b = parseAddress(text);
    if (!b) throw new Error(`not an IP address: ${text}`);
    bytesByText.set(text, b);
  }
  return b;
}

export class VirtualWire {
  readonly stats: WireStats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  readonly deliveries: Delivery[] = [];
  private readonly segments = new Map<string, VirtualSocket[]>();
  /** Partition side of each node, per segment ('*': every segment). Same side (or none on both) hears each other. */
  private readonly sides = new Map<string, Map<string, number>>();
  private readonly sendListeners: ((p: SentPacket) => void)[] = [];
  /** `${node}|${iface}` of every interface whose link is down: it neither sends nor receives. */
  private readonly linksDown = new Set<string>();
  private lossRules: LossRule[] = [];
  private readonly delayMs: number;
  private readonly lossRate: number;
  private readonly random: () => number;
  private readonly recordDeliveries: boolean;

  constructor(
    private readonly clock: VrrpClock,
    options: WireOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 0;
    this.lossRate = options.lossRate ?? 0;
    this.random = options.random ?? (() => 1);
    this.recordDeliveries = options.recordDeliveries ?? false;
  }

  /** Called for every packet a node sends, synchronously, in send order. */
  onSend(listener: (p: SentPacket) => void): void {
    this.sendListeners.push(listener);
  }

  /** The socket opener for one node's WireHub. Fails with ENODEV for an interface the node does not have. */
  opener(node: WireNode): (options: VrrpSocketOptions) => SysResult<VrrpSocket> {
    return (options) => {
      const port = node.port(options.interface);
      if (!port) return { ok: false, code: 'ENODEV', message: `${node.name} has no interface ${options.interface}` };
      const s: VirtualSocket = {
        node,
        iface: options.interface,
        segment: port.segment,
        ifindex: port.ifindex,
        family: options.family,
        mode: options.mode,
        source: options.sourceAddress ?? '',
        handler: null,
        open: true,
      };
      let list = this.segments.get(port.segment);
      if (!list) this.segments.set(port.segment, (list = []));
      list.push(s);
      const socket: VrrpSocket = {
        family: options.family,
        ifindex: port.ifindex,
        stats: { received: 0, malformed: 0, receiveErrors: 0 },
        onPacket: (h) => void (s.handler = h),
        onError: () => undefined,
        send: (payload, destination) => {
          if (!s.open) return { ok: false, code: 'EBADF', message: 'socket closed' };
          const to = destination ?? GROUP[s.family];
          this.send(s, payload, to, 255);
          return { ok: true, value: undefined };
        },
        ref: () => undefined,
        close: () => {
          if (!s.open) return;
          s.open = false;
          const peers = this.segments.get(s.segment)!;
          peers.splice(peers.indexOf(s), 1);
        },
      };
      return { ok: true, value: socket };
    };
  }

  /**
   * Puts a packet on a segment as if another box sent it: every matching
   * socket receives it (after the delay; no loss, no partition).
   */
  inject(segment: string, packet: InjectedPacket): void {
    const source = parseAddress(packet.source);
    if (!source) throw new Error(`VirtualWire.inject: bad source ${packet.source}`);
    const family = source.length === 4 ? 4 : 6;
    const destination = packet.destination ?? GROUP[family];
    const targets = this.receivers(segment, family, destination, null);
    if (targets.length > 0) this.schedule(targets, packet.payload, packet.source, destination, packet.ttl ?? 255, 'injected');
  }

  /**
   * Splits segments: each listed group of nodes hears only itself; nodes not
   * listed form one more group together. With `segment`, only that segment
   * is split (a broken VLAN); without, every segment. Replaces the earlier
   * partition of the same scope.
   */
  partition(groups: readonly (readonly string[])[], segment?: string): void {
    const sides = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const name of g) sides.set(name, i + 1);
    });
    this.sides.set(segment ?? '*', sides);
  }

  /** Sets the link of one node's interface: a down link carries nothing either way (counted as blocked). */
  setLink(node: string, iface: string, up: boolean): void {
    if (up) this.linksDown.delete(`${node}|${iface}`);
    else this.linksDown.add(`${node}|${iface}`);
  }

  /** Adds a loss rule (see LossRule); rules past their `until` are dropped as time passes. */
  addLoss(rule: LossRule): void {
    this.lossRules.push(rule);
  }

  /** Removes every loss rule. */
  clearLoss(): void {
    this.lossRules = [];
  }

  private lossFor(segment: string, from: string, to: string): number {
    let p = this.lossRate;
    if (this.lossRules.length === 0) return p;
    const now = this.clock.now();
    this.lossRules = this.lossRules.filter((r) => r.until === undefined || r.until > now);
    for (const r of this.lossRules) {
      if ((r.segment === undefined || r.segment === segment) && (r.from === undefined || r.from === from) && (r.to === undefined || r.to === to))
        p = Math.max(p, r.probability);
    }
    return p;
  }

  /** Ends every partition (or that of one segment). */
  heal(segment?: string): void {
    if (segment === undefined) this.sides.clear();
    else this.sides.delete(segment);
  }

  private separated(segment: string, a: string, b: string): boolean {
    for (const scope of [segment, '*']) {
      const sides = this.sides.get(scope);
      if (sides && (sides.get(a) ?? 0) !== (sides.get(b) ?? 0)) return true;
    }
    return false;
  }

  private receivers(segment: string, family: 4 | 6, destination: string, from: WireNode | null): VirtualSocket[] {
    const bytes = parseAddress(destination);
    if (!bytes) return [];
    const multicast = isMulticast(bytes);
    return (this.segments.get(segment) ?? []).filter(
      (s) => s.node !== from && s.family === family && (multicast ? s.mode === 'multicast' : s.node.owns(s.iface, destination)),
    );
  }

  private send(from: VirtualSocket, payload: Buffer, destination: string, ttl: number): void {
    this.stats.sent++;
    const sent: SentPacket = {
      at: this.clock.now(),
      node: from.node.name,
      interface: from.iface,
      segment: from.segment,
      family: from.family,
      source: from.source,
      destination,
      payload,
    };
    for (const l of this.sendListeners) l(sent);
    const senderDown = this.linksDown.size > 0 && this.linksDown.has(`${from.node.name}|${from.iface}`);
    const targets: VirtualSocket[] = [];
    for (const to of this.receivers(from.segment, from.family, destination, from.node)) {
      if (senderDown || this.separated(from.segment, from.node.name, to.node.name) || this.linksDown.has(`${to.node.name}|${to.iface}`)) {
        this.stats.blocked++;
        continue;
      }
      const loss = this.lossFor(from.segment, from.node.name, to.node.name);
      if (loss > 0 && this.random() < loss) {
        this.stats.lost++;
        continue;
      }
      targets.push(to);
    }
    if (targets.length > 0) this.schedule(targets, payload, from.source, destination, ttl, from.node.name);
  }

  /**
   * One timer for every receiver of one packet: they would be consecutive
   * timers (same due time, consecutive creation order), so nothing could run
   * between them, and a timer a receiver sets for now still runs after the
   * last of them. Same order, one heap entry instead of one per receiver.
   */
  private schedule(targets: readonly VirtualSocket[], payload: Buffer, source: string, destination: string, ttl: number, from: string): void {
    this.clock.setTimeout(() => {
      const at = this.clock.now();
      for (const to of targets) {
        // The sender may have died in flight; the packet still arrives. A closed socket (a stopped or killed receiver) gets nothing.
        if (!to.open || !to.handler) continue;
        this.stats.delivered++;
        if (this.recordDeliveries) this.deliveries.push({ at, from, to: to.node.name, segment: to.segment, vrid: payload[1] ?? 0, priority: payload[2] ?? 0 });
        // ageUs 0: handled the instant it arrives, a virtual event loop is never busy.
        to.handler({ payload, ttl, ifindex: to.ifindex, source: addressBytes(source), destination: addressBytes(destination), ageUs: 0 });
      }
    }, this.delayMs);
  }
}
