/**
 * One raw socket per (interface, family, mode, source), shared by every
 * instance that uses it: with one socket per instance, each advert on a busy
 * LAN would be delivered and decoded once per instance. The hub decodes each
 * packet once and hands it to the instance that owns its VRID.
 */
import { AUTH_HMAC_TRAILER_LENGTH, decodeVrrp, splitAuthTrailer, type VrrpAdvert, type ChecksumVariant } from '../codec/index.js';
import { addressText, openVrrpSocket, type ReceivedPacket, type SysResult, type VrrpSocket, type VrrpSocketOptions } from '../socket/index.js';
import type { Logger } from '../../core/logger.js';

export interface HubPacket {
  advert: VrrpAdvert;
  checksumVariant: ChecksumVariant;
  source: Uint8Array;
  /** Sent to a multicast group rather than to one of our addresses. */
  multicastDestination: boolean;
  ttl: number;
  ifindex: number;
  receivedAt: bigint;
  /**
   * An auth_hmac trailer (keepalived 2.4) and the message it signs, views into
   * the receive buffer: valid only during the handler call.
   */
  auth?: { message: Uint8Array; trailer: Uint8Array };
}

export interface ChannelKey {
  interface: string;
  family: 4 | 6;
  mode: 'multicast' | 'unicast';
  source: string;
}

export interface Channel {
  readonly ifindex: number;
  send(payload: Buffer, destination: string): { ok: true } | { ok: false; code: string };
  leave(): void;
}

export interface HubStats {
  sockets: number;
  received: number;
  malformed: number;
  unknownVrid: number;
}

interface Shared {
  socket: VrrpSocket;
  mode: 'multicast' | 'unicast';
  handlers: Map<number, (p: HubPacket) => void>;
}

export type JoinResult = { ok: true; channel: Channel } | { ok: false; code: string; message: string };

export class WireHub {
  readonly stats: HubStats = { sockets: 0, received: 0, malformed: 0, unknownVrid: 0 };
  private readonly shared = new Map<string, Shared>();
  private readonly reportedVrids = new Set<string>();

  /** `open` replaces the raw socket (benchmarks drive the receive path without a network). */
  constructor(
    private readonly log: Logger,
    private readonly open: (options: VrrpSocketOptions) => SysResult<VrrpSocket> = openVrrpSocket,
  ) {}

  /**
   * Attaches a handler for one VRID on the socket for `key`, opening it on
   * first use. Fails (as a value) when the socket cannot be opened (EPERM,
   * ENODEV, ...) or the VRID is already taken on that socket.
   */
  join(key: ChannelKey, vrid: number, handler: (p: HubPacket) => void): JoinResult {
    const id = `${key.interface}|${key.family}|${key.mode}|${key.source}`;
    let entry = this.shared.get(id);
    if (!entry) {
      const opened = this.open({
        family: key.family,
        interface: key.interface,
        mode: key.mode,
        sourceAddress: key.source,
        logger: this.log,
      });
      if (!opened.ok) return { ok: false, code: opened.code, message: opened.message };
      const created: Shared = { socket: opened.value, mode: key.mode, handlers: new Map() };
      created.socket.onPacket((p) => this.dispatch(id, created, p));
      this.shared.set(id, created);
      this.stats.sockets++;
      entry = created;
    }
    if (entry.handlers.has(vrid)) return { ok: false, code: 'EBUSY', message: `VRID ${vrid} is already used on ${key.interface} (IPv${key.family})` };
    entry.handlers.set(vrid, handler);
    const owner = entry;
    return {
      ok: true,
      channel: {
        ifindex: owner.socket.ifindex,
        send: (payload, destination) => {
          const r = owner.socket.send(payload, destination);
          return r.ok ? { ok: true } : { ok: false, code: r.code };
        },
        leave: () => {
          owner.handlers.delete(vrid);
          if (owner.handlers.size === 0) {
            owner.socket.close();
            this.shared.delete(id);
            this.stats.sockets--;
          }
        },
      },
    };
  }

  close(): void {
    for (const entry of this.shared.values()) entry.socket.close();
    this.shared.clear();
    this.stats.sockets = 0;
  }

  private dispatch(id: string, entry: Shared, p: ReceivedPacket): void {
    this.stats.received++;
    const { source, destination } = p;
    // Mismatched address lengths are the codec's to refuse (family-mismatch).
    if (destination === null) {
      this.stats.malformed++;
      return;
    }
    // The hub cannot know which instance runs auth_hmac: a payload exactly one
    // trailer longer than its address count implies is decoded without it.
    const auth = splitAuthTrailer(p.payload, source.length === 16 ? 16 : 4);
    const decoded = decodeVrrp(p.payload, { source, destination }, auth ? { authTrailerLength: AUTH_HMAC_TRAILER_LENGTH } : undefined);
    if (!decoded.ok) {
      this.stats.malformed++;
      // Debug only: a flood of garbage must not become a flood of log lines.
      this.log.debug({ socket: id, from: addressText(source), kind: decoded.error.kind, detail: decoded.error.detail }, 'dropped malformed VRRP packet');
      return;
    }
    // IPv4 224.0.0.0/4, IPv6 ff00::/8.
    const multicastDestination = destination.length === 4 ? (destination[0]! & 0xf0) === 0xe0 : destination[0] === 0xff;
    const handler = entry.handlers.get(decoded.packet.vrid);
    if (!handler) {
      // A raw socket also gets the unicast VRRP sent to any of our addresses:
      // on a multicast socket those belong to the unicast sockets, not to a
      // VRID we do not run.
      if (entry.mode === 'multicast' && !multicastDestination) return;
      this.stats.unknownVrid++;
      const from = addressText(source);
      const seen = `${id}|${decoded.packet.vrid}|${from}`;
      if (!this.reportedVrids.has(seen) && this.reportedVrids.size < 1024) {
        this.reportedVrids.add(seen);
        this.log.info({ socket: id, vrid: decoded.packet.vrid, from }, 'adverts for a VRID we do not run (reported once per sender)');
      }
      return;
    }
    handler({
      advert: decoded.packet,
      checksumVariant: decoded.checksumVariant,
      source,
      multicastDestination,
      ttl: p.ttl,
      ifindex: p.ifindex,
      receivedAt: p.receivedAt,
      ...(auth ? { auth } : {}),
    });
  }
}
