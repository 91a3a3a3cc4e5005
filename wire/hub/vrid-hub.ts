/**
 * One raw socket per (interface, family, mode, source), shared by every
 * instance that uses it: with one socket per instance, each advert on a busy
 * LAN would be delivered and decoded once per instance. The hub decodes each
 * packet once and hands it to the instance that owns its VRID.
 */
import { AUTH_HMAC_TRAILER_LENGTH, decodeVrrp, splitAuthTrailer, type ChecksumVariant, type DecodeResult, type VrrpAdvert } from '../codec/index.js';
import {
  addressText,
  openVrrpSocket,
  ReceiveModerator,
  takenRepeats,
  type ReceivedPacket,
  type RepeatAbsorber,
  type SysResult,
  type TakenRepeats,
  type VrrpSocket,
  type VrrpSocketOptions,
} from '../socket/index.js';
import type { Logger } from '../../core/logger.js';
import { emptyWireDrops, reasonOfDecodeError, screenHeader, type WireDropReason, type WireDrops } from './screen.js';
import { StrangerReporter } from './strangers.js';
import { FloodGate } from './flood-gate.js';

/**
 * One datagram for one VRID's handler. The object is the hub's and is reused
 * for the next datagram: a handler copies out what it keeps (the advert and
 * the source are never written to, and may be kept).
 */
export interface HubPacket {
  advert: VrrpAdvert;
  checksumVariant: ChecksumVariant;
  source: Uint8Array;
  /** Sent to a multicast group rather than to one of our addresses. */
  multicastDestination: boolean;
  ttl: number;
  ifindex: number;
  /** µs between the kernel's receipt and JavaScript's (ReceivedPacket.ageUs); 0 when unknown. */
  ageUs: number;
  /**
   * An auth_hmac trailer (keepalived 2.4) and the message it signs, views into
   * the receive buffer: valid only during the handler call.
   */
  auth?: { message: Uint8Array; trailer: Uint8Array };
}

function blankPacket(): HubPacket {
  return {
    advert: NO_ADVERT,
    checksumVariant: 'with-pseudo-header',
    source: NO_ADDRESS,
    multicastDestination: false,
    ttl: 0,
    ifindex: 0,
    ageUs: 0,
    auth: undefined,
  };
}

const NO_ADDRESS = new Uint8Array(0);
const DISCARDED: TakenRepeats = takenRepeats();
const NO_ADVERT: VrrpAdvert = { version: 3, vrid: 0, priority: 0, maxAdvertIntervalCs: 0, addresses: [] };

export interface ChannelKey {
  interface: string;
  family: 4 | 6;
  mode: 'multicast' | 'unicast';
  source: string;
}

export interface Channel {
  readonly ifindex: number;
  send(payload: Buffer, destination: string): { ok: true } | { ok: false; code: string };
  /**
   * How long this VRID's adverts may wait in the socket (receive-moderation.ts):
   * a Backup's hold; 0 (the default) while anything but a Backup. The socket
   * is held only while every VRID on it allows it, for the shortest hold.
   */
  setReceiveHold(ms: number): void;
  /** Repeat absorption for this VRID (wire/socket RepeatAbsorber); null when the socket has none. */
  readonly repeats?: ChannelRepeats | null;
  leave(): void;
}

/** RepeatAbsorber for one VRID. */
export interface ChannelRepeats {
  /** From inside this VRID's handler: absorb exact repeats of the datagram being handled. */
  arm(): boolean;
  disarm(): void;
  pending(): number;
  take(into: TakenRepeats): number;
  /** ms since the latest repeat waiting arrived; NaN when none waits. */
  latestAgoMs(): number;
  /** Called once for each repeat of this VRID absorbed, after the batch it came in (one listener; a later call replaces it). */
  onAbsorbed(listener: (() => void) | null): void;
}

export interface HubStats {
  sockets: number;
  /** Datagrams read, repeats absorbed included. */
  received: number;
  /** Repeats of a Backup's plain advert the addon counted instead of handing over (RepeatAbsorber). */
  absorbed: number;
  /** Packets refused as malformed before reaching an instance (`dropped` but unknown-vrid and flood). */
  malformed: number;
  unknownVrid: number;
  /** Drops by reason (screen.ts). */
  dropped: WireDrops;
  /** Datagrams the kernel dropped for a full receive queue (SO_RXQ_OVFL) on the open sockets: a flood shed at the socket. */
  shed: number;
  /** Wake-ups that stopped at the addon's batch bound with more pending (the rest waited one loop turn). */
  fullBatches: number;
  /** Receive moderation: sockets held now, holds begun, drains before a takeover timer (receive-moderation.ts). */
  moderation: { held: number; holds: number; drains: number };
}

interface Shared {
  socket: VrrpSocket;
  key: ChannelKey;
  /** Its slots memoize each admitted packet's decode. */
  gate: FloodGate<DecodeResult>;
  handlers: Map<number, (p: HubPacket) => void>;
  /**
   * The same handlers indexed by VRID, for dispatch: a Map's has and get per
   * datagram hashed the VRID twice, and the header screen's callback was a
   * closure made per datagram.
   */
  byVrid: (((p: HubPacket) => void) | undefined)[];
  served: (vrid: number) => boolean;
  /** setReceiveHold per VRID; a VRID absent allows no hold. */
  holds: Map<number, number>;
  /** ChannelRepeats.onAbsorbed listeners by VRID. */
  absorbed: ((() => void) | null)[];
}

/**
 * One VRID's membership of a shared socket. A class rather than an object
 * of closures: each instance has one, and the closures cost ~600 bytes an
 * instance where the methods here are shared.
 */
class HubChannel implements Channel {
  readonly ifindex: number;

  constructor(
    private readonly owner: Shared,
    private readonly vrid: number,
    readonly repeats: VridRepeats | null,
    private readonly lastLeft: () => void,
  ) {
    this.ifindex = owner.socket.ifindex;
  }

  send(payload: Buffer, destination: string): { ok: true } | { ok: false; code: string } {
    // The socket's success is one shared object: handed on, a Master's advert allocates none.
    const r = this.owner.socket.send(payload, destination);
    return r.ok ? r : { ok: false, code: r.code };
  }

  setReceiveHold(ms: number): void {
    const owner = this.owner;
    if (ms > 0) owner.holds.set(this.vrid, ms);
    else owner.holds.delete(this.vrid);
    applyHold(owner);
  }

  leave(): void {
    const { owner, vrid } = this;
    // What was absorbed for the VRID goes with it: a later member starts clean.
    const absorber = owner.socket.repeats;
    absorber?.disarm(vrid);
    absorber?.take(vrid, DISCARDED);
    owner.absorbed[vrid] = null;
    owner.handlers.delete(vrid);
    owner.byVrid[vrid] = undefined;
    owner.holds.delete(vrid);
    if (owner.handlers.size > 0) applyHold(owner);
    else this.lastLeft();
  }
}

/** ChannelRepeats: the socket's RepeatAbsorber for one VRID. */
class VridRepeats implements ChannelRepeats {
  constructor(
    private readonly owner: Shared,
    private readonly absorber: RepeatAbsorber,
    private readonly vrid: number,
  ) {}

  arm(): boolean {
    return this.absorber.arm(this.vrid);
  }

  disarm(): void {
    this.absorber.disarm(this.vrid);
  }

  pending(): number {
    return this.absorber.pending(this.vrid);
  }

  take(into: TakenRepeats): number {
    return this.absorber.take(this.vrid, into);
  }

  latestAgoMs(): number {
    return this.absorber.latestAgoMs(this.vrid);
  }

  onAbsorbed(listener: (() => void) | null): void {
    this.owner.absorbed[this.vrid] = listener;
  }
}

export type JoinResult = { ok: true; channel: Channel } | { ok: false; code: string; message: string };

export class WireHub {
  private readonly counters = { sockets: 0, received: 0, malformed: 0, unknownVrid: 0 };
  private readonly dropped = emptyWireDrops();
  private readonly shared = new Map<string, Shared>();
  private readonly moderator: ReceiveModerator;
  /** The packet object dispatch hands (HubPacket), and whether a handler holds it now. */
  private readonly scratch = blankPacket();
  private handing = false;

  /**
   * `open` replaces the raw socket (benchmarks drive the receive path without
   * a network); `strangers` names the senders of dropped packets (the daemon
   * shares one with its instances); `now` (ms) paces the flood gate (the
   * simulator passes its clock).
   */
  constructor(
    private readonly log: Logger,
    private readonly open: (options: VrrpSocketOptions) => SysResult<VrrpSocket> = openVrrpSocket,
    readonly strangers: StrangerReporter = new StrangerReporter(() => performance.now()),
    private readonly now: () => number = () => performance.now(),
    moderator?: ReceiveModerator,
  ) {
    this.moderator = moderator ?? new ReceiveModerator();
  }

  /**
   * Reads every socket's queue now: a takeover timer is about to act on what
   * has been heard. Held sockets (receive moderation) have adverts waiting by
   * design; a socket that is watched can have some too, when the process was
   * not running for a while: the loop then runs a due timer before it polls
   * for I/O, and the timer would take over from a Master whose adverts wait
   * in the queue.
   */
  drainAll(): void {
    this.moderator.drainAll();
    for (const entry of this.shared.values()) entry.socket.drain?.();
  }

  get stats(): HubStats {
    let shed = 0;
    let fullBatches = 0;
    let absorbed = 0;
    // IPv4 datagrams whose IP header the socket could not strip never reach dispatch.
    let badHeaders = 0;
    for (const entry of this.shared.values()) {
      const s = entry.socket.stats;
      shed += s.kernelDrops ?? 0;
      fullBatches += s.fullBatches ?? 0;
      absorbed += s.absorbed ?? 0;
      badHeaders += s.malformed;
    }
    const dropped = { ...this.dropped, malformed: this.dropped.malformed + badHeaders };
    return {
      ...this.counters,
      received: this.counters.received + absorbed,
      absorbed,
      malformed: this.counters.malformed + badHeaders,
      dropped,
      shed,
      fullBatches,
      moderation: this.moderator.stats,
    };
  }

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
        // dispatch decodes at once (addresses copied out): no copy per datagram.
        borrowPayload: true,
        moderator: this.moderator,
        logger: this.log,
      });
      if (!opened.ok) return { ok: false, code: opened.code, message: opened.message };
      const byVrid: (((p: HubPacket) => void) | undefined)[] = new Array(256).fill(undefined);
      const created: Shared = {
        socket: opened.value,
        key,
        gate: new FloodGate<DecodeResult>(),
        handlers: new Map(),
        byVrid,
        served: (vrid) => byVrid[vrid] !== undefined,
        holds: new Map(),
        absorbed: new Array<(() => void) | null>(256).fill(null),
      };
      created.socket.repeats?.onAbsorbed((vrid) => created.absorbed[vrid]?.());
      created.socket.onPacket((p) => this.dispatch(id, created, p));
      this.shared.set(id, created);
      this.counters.sockets++;
      entry = created;
    }
    if (entry.handlers.has(vrid)) return { ok: false, code: 'EBUSY', message: `VRID ${vrid} is already used on ${key.interface} (IPv${key.family})` };
    entry.handlers.set(vrid, handler);
    entry.byVrid[vrid] = handler;
    const absorber = entry.socket.repeats;
    const repeats = absorber ? new VridRepeats(entry, absorber, vrid) : null;
    return { ok: true, channel: new HubChannel(entry, vrid, repeats, () => this.release(id, entry)) };
  }

  /** The last VRID left the socket: it closes. */
  private release(id: string, entry: Shared): void {
    entry.socket.close();
    this.shared.delete(id);
    this.counters.sockets--;
  }

  close(): void {
    for (const entry of this.shared.values()) entry.socket.close();
    this.shared.clear();
    this.counters.sockets = 0;
  }

  private dispatch(id: string, entry: Shared, p: ReceivedPacket): void {
    this.counters.received++;
    const { source, destination, payload } = p;
    // Mismatched address lengths are the codec's to refuse (family-mismatch).
    if (destination === null) {
      this.drop(entry, 'malformed', source, 0, 'no destination address from the kernel');
      return;
    }
    // IPv4 224.0.0.0/4, IPv6 ff00::/8.
    const multicastDestination = destination.length === 4 ? (destination[0]! & 0xf0) === 0xe0 : destination[0] === 0xff;
    // Cheap checks on the header bytes first: a flood of other VRIDs or of
    // garbage costs a few byte reads, no checksum and no allocation.
    const screened = screenHeader(payload, entry.served);
    if (screened) {
      // A raw socket also gets the unicast VRRP sent to any of our addresses:
      // on a multicast socket those belong to the unicast sockets, not to a
      // VRID we do not run.
      if (screened.reason === 'unknown-vrid' && entry.key.mode === 'multicast' && !multicastDestination) return;
      this.drop(entry, screened.reason, source, screened.vrid, screened.detail);
      return;
    }
    // Copies of one packet beyond a few per 10 ms only cost CPU (the machine
    // does for a copy what it did for the first): shed before decoding (flood-gate.ts).
    const slot = entry.gate.pass(p, this.now());
    if (slot === null) {
      this.dropped.flood++;
      return;
    }
    // The hub cannot know which instance runs auth_hmac: a payload exactly one
    // trailer longer than its address count implies is decoded without it.
    const auth = splitAuthTrailer(payload, source.length === 16 ? 16 : 4);
    // The slot stands for these exact bytes from this source to this
    // destination, all that decoding reads: a Master's next advert is the same
    // bytes, so it is decoded once and its result (never written to) reused.
    let decoded = slot.memo;
    if (decoded === undefined) {
      decoded = decodeVrrp(payload, { source, destination }, auth ? { authTrailerLength: AUTH_HMAC_TRAILER_LENGTH } : undefined);
      slot.memo = decoded;
    }
    if (!decoded.ok) {
      this.drop(entry, reasonOfDecodeError(decoded.error.kind), source, payload[1]!, decoded.error.detail);
      return;
    }
    const handler = entry.byVrid[decoded.packet.vrid]!;
    // One packet object for every dispatch, as a handler keeps nothing of it
    // (HubPacket); a dispatch inside a handler's (none today) gets its own.
    const out = this.handing ? blankPacket() : this.scratch;
    out.advert = decoded.packet;
    out.checksumVariant = decoded.checksumVariant;
    out.source = source;
    out.multicastDestination = multicastDestination;
    out.ttl = p.ttl;
    out.ifindex = p.ifindex;
    out.ageUs = p.ageUs;
    out.auth = auth ?? undefined;
    const outer = this.handing;
    this.handing = true;
    try {
      handler(out);
    } finally {
      this.handing = outer;
      // Nothing of this packet outlives the call: the advert stays in the gate's slot.
      out.auth = undefined;
    }
  }

  /** Counts a drop and names its sender, once a minute per (sender, reason). */
  private drop(entry: Shared, reason: WireDropReason, source: Uint8Array, vrid: number, detail: string): void {
    this.dropped[reason]++;
    if (reason === 'unknown-vrid') this.counters.unknownVrid++;
    else this.counters.malformed++;
    const from = addressText(source);
    const { key } = entry;
    const suppressed = this.strangers.sight({ sender: from, reason, vrid, priority: null, interface: key.interface, family: key.family, detail });
    // The rest at debug: a flood of garbage must not become a flood of log lines.
    if (suppressed === null) return this.log.debug({ interface: key.interface, from, reason, vrid, detail }, 'dropped VRRP packet');
    const message = reason === 'unknown-vrid' ? 'adverts for a VRID we do not run' : 'dropped malformed VRRP packets';
    this.log.info(
      { interface: key.interface, family: key.family, from, reason, vrid, detail, suppressed },
      `${message} (reported at most once a minute per sender and reason)`,
    );
  }
}

/** The socket's hold: the shortest of its VRIDs', none if one of them allows none. */
function applyHold(entry: Shared): void {
  let hold = Infinity;
  for (const vrid of entry.handlers.keys()) {
    const ms = entry.holds.get(vrid) ?? 0;
    if (ms < hold) hold = ms;
    if (hold === 0) break;
  }
  entry.socket.setModeration?.(hold === Infinity ? 0 : hold);
}
