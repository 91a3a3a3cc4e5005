import type { Logger } from '../../core/logger.js';
import { acceptedIpv4HeaderLength, checkIpv4Header } from '../codec/index.js';
import { addressText } from './address-text.js';
import {
  nativeWire,
  RAW_ABSORBED_AT,
  RAW_BATCH_MAX,
  RAW_RECORD_INTS,
  RAW_RECORDS_AT,
  RAW_REPEAT_RING,
  RAW_REPEAT_SLOT,
  type NativeRawCallback,
  type NativeRawHandle,
} from './native.js';
import { failureFrom, type SysResult } from './result.js';
import type { HeldSocket, ReceiveModerator } from './receive-moderation.js';

/** RFC 5798 section 5.1.1.2 / 5.1.2.2: the VRRP multicast groups. */
export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';

export interface VrrpSocketOptions {
  family: 4 | 6;
  /** The interface to bind to (SO_BINDTODEVICE) and join the group on. */
  interface: string;
  /** 'multicast' joins the VRRP group; 'unicast' only receives what is sent to our addresses. */
  mode: 'multicast' | 'unicast';
  /** Source address for sends; the kernel's choice for the interface when absent. */
  sourceAddress?: string;
  /** Receive buffer in bytes; 16 MB by default (measured: the kernel default drops bursts). */
  rcvbuf?: number;
  /** IPv6 only: let the kernel fill and verify the checksum at offset 6. */
  kernelChecksum?: boolean;
  /** Named network namespace (/run/netns/NAME) to create the socket in; the current one when absent. */
  netns?: string;
  /**
   * TTL / hop limit for sends. RFC 5798 requires 255; other values exist
   * only so tests can prove the receive side reads the real value.
   */
  hopsForTesting?: number;
  /**
   * Hand `payload` as a view into the receive buffer, valid only during the
   * handler call (the hub decodes at once), instead of a copy the handler may
   * keep, and the packet object itself reused for the next datagram. Saves a
   * copy and an object per datagram.
   */
  borrowPayload?: boolean;
  /** Lets setModeration hold the socket (receive-moderation.ts); without one, setModeration does nothing. */
  moderator?: ReceiveModerator;
  logger: Logger;
}

export interface ReceivedPacket {
  /** The VRRP message (for IPv4 the IP header is already removed); with borrowPayload valid only during the handler call. */
  payload: Buffer;
  /** IPv4 TTL or IPv6 hop limit from ancillary data; -1 if the kernel gave none. */
  ttl: number;
  /** Ingress interface index (in the socket's namespace). */
  ifindex: number;
  /** 4 or 16 bytes; the same object is handed again while the sender stays the same, so never write to it. */
  source: Uint8Array;
  /** The packet's destination address (the group, or our unicast address), as bytes. */
  destination: Uint8Array | null;
  /**
   * How long before reaching JavaScript the kernel received it, in µs (its
   * SO_TIMESTAMPNS stamp); 0 when unknown. What the event loop was busy with
   * in between is not the sender's delay.
   */
  ageUs: number;
}

export interface VrrpSocketStats {
  /** Datagrams read, repeats the addon absorbed included. */
  received: number;
  /** Of those, repeats the addon absorbed (RepeatAbsorber) instead of handing them over. */
  absorbed?: number;
  /** IPv4 datagrams whose header could not be stripped (dropped). */
  malformed: number;
  receiveErrors: number;
  /** Datagrams the kernel dropped because the receive queue was full (SO_RXQ_OVFL), as of the last one read. */
  kernelDrops?: number;
  /** Wake-ups cut at the addon's per-wake-up bound with more pending. */
  fullBatches?: number;
}

/** What {@link RepeatAbsorber.take} fills in. */
export interface TakenRepeats {
  /** ms (performance.now()) since the latest repeat arrived: the kernel's receive stamp. */
  arrivedAgoMs: number;
  /** ms since it was read off the socket. */
  readAgoMs: number;
  /**
   * ms since each of the latest repeats arrived, oldest first, in the first
   * `recentCount` entries: all of them unless more than {@link REPEATS_KEPT} came.
   */
  readonly recentAgoMs: Float64Array;
  recentCount: number;
}

/** How many of the latest repeats' arrivals a take gives (TakenRepeats.recentAgoMs). */
export const REPEATS_KEPT = RAW_REPEAT_RING;

/** A TakenRepeats to fill. */
export function takenRepeats(): TakenRepeats {
  return { arrivedAgoMs: 0, readAgoMs: 0, recentAgoMs: new Float64Array(REPEATS_KEPT), recentCount: 0 };
}

/**
 * Repeat absorption. A Backup hears its Master's advert once an interval,
 * the same bytes every time, and RFC 5798 §6.4.2 has it do one thing about
 * each: restart Master_Down_Timer. Once the instance has handled one such
 * datagram the plain way, `arm` has the addon recognise exact repeats of it
 * (bytes, sender, destination, TTL, interface) and count them, with the
 * latest one's arrival, instead of handing each to JavaScript: the instance
 * takes them (`take`) when it next needs its state, at the latest when its
 * Master_Down_Timer is due. Any other datagram for the VRID is handed over
 * as before and ends the absorption, so everything JavaScript sees keeps
 * its order.
 */
export interface RepeatAbsorber {
  /**
   * From inside this socket's packet handler: absorb exact repeats of the
   * datagram being handled, for `vrid`. False when that cannot be done now.
   */
  arm(vrid: number): boolean;
  /** Hands every later datagram for `vrid` over again (what was absorbed waits for `take`). */
  disarm(vrid: number): void;
  /** How many repeats for `vrid` wait (a typed-array read: cheap enough per event). */
  pending(vrid: number): number;
  /** Takes the repeats waiting for `vrid`: their count (0: none, `into` untouched), the latest one's times in `into`. */
  take(vrid: number, into: TakenRepeats): number;
  /** ms since the latest repeat waiting for `vrid` arrived (its kernel stamp), without taking it; NaN when none waits. */
  latestAgoMs(vrid: number): number;
  /** Called with the VRID of each repeat absorbed, once per batch read (one handler per socket; a later call replaces it). */
  onAbsorbed(handler: (vrid: number) => void): void;
}

export interface VrrpSocket {
  readonly family: 4 | 6;
  /** Present when the socket can absorb repeats (the addon's can). */
  readonly repeats?: RepeatAbsorber;
  readonly ifindex: number;
  readonly stats: Readonly<VrrpSocketStats>;
  /** Sets the packet handler (one per socket; a later call replaces it). */
  onPacket(handler: (packet: ReceivedPacket) => void): void;
  /** Receive errors (errno names). Without a handler they are logged. */
  onError(handler: (code: string) => void): void;
  /**
   * Sends one VRRP message. `destination` defaults to the VRRP group in
   * multicast mode and is required in unicast mode. Never throws for
   * network conditions: the errno name comes back as a value.
   */
  send(payload: Buffer, destination?: string): SysResult<void>;
  /**
   * Receive moderation (receive-moderation.ts): with `holdMs` > 0, a datagram
   * that comes within `holdMs` of the one before pauses the socket until the
   * next multiple of `holdMs`; 0 (the default) reads every datagram at once
   * and ends a hold.
   */
  setModeration?(holdMs: number): void;
  /** Reads what waits in the queue now (a held socket before a takeover); returns how many datagrams. */
  drain?(): number;
  /** Whether the socket keeps the event loop alive (it does by default). */
  ref(on: boolean): void;
  /** Idempotent. */
  close(): void;
}

const DEFAULT_RCVBUF = 16 * 1024 * 1024;

/** A send's success, one shared object: a Master sends one per advert and nothing writes to it. */
const SENT_OK: SysResult<void> = Object.freeze({ ok: true, value: undefined });

/**
 * Opens a raw VRRP (IP protocol 112) socket on one interface.
 * Fails (as a value) with the errno name of the first call that failed,
 * e.g. ENODEV for an unknown interface or EPERM without CAP_NET_RAW.
 */
export function openVrrpSocket(options: VrrpSocketOptions): SysResult<VrrpSocket> {
  const log = options.logger.child({
    component: 'vrrp-socket',
    family: options.family,
    interface: options.interface,
    ...(options.netns ? { netns: options.netns } : {}),
  });
  const stats: VrrpSocketStats = { received: 0, absorbed: 0, malformed: 0, receiveErrors: 0 };
  let packetHandler: ((packet: ReceivedPacket) => void) | undefined;
  let errorHandler: ((code: string) => void) | undefined;
  const v4 = options.family === 4;
  const borrow = options.borrowPayload === true;

  const moderator = options.moderator;
  let holdMs = 0;
  let lastDatagramAt = -Infinity;
  // The pause and resume go to the handle opened below. A failure is logged
  // once until the socket is watched again: the moderator retries a resume.
  let watchFailures = 0;
  const setWatched = (watch: boolean): boolean => {
    const code = native.rawPause(handle, !watch);
    if (code === null) {
      if (watch && watchFailures > 0) log.info({ failures: watchFailures }, 'VRRP socket watched again');
      if (watch) watchFailures = 0;
      return true;
    }
    if (watchFailures++ === 0)
      log.error(
        { code, watch },
        watch
          ? 'cannot watch the VRRP socket again: retried every 10 ms, and what waits is still read before a takeover timer acts'
          : 'cannot pause the VRRP socket: it stays watched',
      );
    return false;
  };
  const held: HeldSocket = {
    pause: () => void setWatched(false),
    resume: () => setWatched(true),
    drain: () => void native.rawDrain(handle),
  };

  // The receive buffer is the addon's one for the environment. A batch packs
  // its datagrams one after another, and a steady run of adverts puts the
  // same lengths at the same places batch after batch: the view made for
  // record i serves again while its (start, end) stays.
  let viewed: Buffer | null = null;
  const views: Buffer[] = [];
  const viewStart = new Int32Array(RAW_BATCH_MAX).fill(-1);
  const viewEnd = new Int32Array(RAW_BATCH_MAX).fill(-1);
  let records: Int32Array = new Int32Array(0);
  const view = (i: number, buffer: Buffer, start: number, end: number): Buffer => {
    if (viewStart[i] !== start || viewEnd[i] !== end || views[i] === undefined) {
      views[i] = buffer.subarray(start, end);
      viewStart[i] = start;
      viewEnd[i] = end;
    }
    return views[i]!;
  };
  const useBuffer = (buffer: Buffer): void => {
    viewed = buffer;
    records = new Int32Array(buffer.buffer, buffer.byteOffset + RAW_RECORDS_AT, RAW_BATCH_MAX * RAW_RECORD_INTS);
    viewStart.fill(-1);
    views.length = 0;
  };
  // The sender of a run of adverts is one router: its address is copied out
  // once and the same object handed again while the bytes stay the same
  // (the hub and the runner compare it by identity before by bytes).
  const lastAddress = (kept: Uint8Array | null, buffer: Buffer, at: number, length: number): Uint8Array => {
    if (kept !== null && kept.length === length) {
      let same = true;
      for (let k = 0; k < length; k++)
        if (kept[k] !== buffer[at + k]) {
          same = false;
          break;
        }
      if (same) return kept;
    }
    return new Uint8Array(buffer.subarray(at, at + length));
  };
  let lastSource: Uint8Array | null = null;
  let lastDestination: Uint8Array | null = null;
  const lent: ReceivedPacket = { payload: Buffer.alloc(0), ttl: 0, ifindex: 0, source: new Uint8Array(0), destination: null, ageUs: 0 };

  // The record being handed to the packet handler (RepeatAbsorber.arm names it), -1 outside.
  let handing = -1;
  let absorbedHandler: ((vrid: number) => void) | undefined;
  const onBatch: NativeRawCallback = (err, buffer, count, absorbed) => {
    if (err !== null) {
      stats.receiveErrors++;
      if (errorHandler) errorHandler(err);
      else log.warn({ code: err }, 'receive error');
      return;
    }
    const start = performance.now();
    const read = count! + absorbed!;
    stats.received += absorbed!;
    stats.absorbed = (stats.absorbed ?? 0) + absorbed!;
    if (holdMs > 0) {
      // Held only when traffic is dense: a lone advert now and then is read at once, with no extra wake-up to resume.
      if (read > 1 || start - lastDatagramAt < holdMs) moderator!.hold(held, holdMs);
      lastDatagramAt = start;
    }
    if (buffer !== viewed) useBuffer(buffer!);
    for (let i = 0; i < count!; i++) {
      const r = i * RAW_RECORD_INTS;
      const offset = records[r]!;
      const length = records[r + 1]!;
      const sourceAt = records[r + 5]!;
      const destinationAt = records[r + 6]!;
      const addressLength = records[r + 7]!;
      const source = (lastSource = lastAddress(lastSource, buffer!, sourceAt, addressLength));
      const destination = destinationAt < 0 ? null : (lastDestination = lastAddress(lastDestination, buffer!, destinationAt, addressLength));
      let payload: Buffer;
      if (v4) {
        const headerLength = acceptedIpv4HeaderLength(buffer!, length, offset);
        if (headerLength < 0) {
          stats.malformed++;
          const header = checkIpv4Header(buffer!.subarray(offset, offset + length));
          const reason = header.ok ? 'length-mismatch' : header.error.kind;
          log.debug({ reason, source: addressText(source) }, 'dropped malformed IPv4 datagram');
          continue;
        }
        payload = view(i, buffer!, offset + headerLength, offset + length);
      } else payload = view(i, buffer!, offset, offset + length);
      stats.received++;
      // A copy from Node's pool (no malloc of its own) when the handler may keep it.
      if (!borrow) payload = Buffer.from(payload);
      // Borrowed, the handler keeps nothing (the payload is only valid during
      // the call anyway): one packet object serves every datagram.
      const packet: ReceivedPacket = borrow ? lent : { payload, ttl: 0, ifindex: 0, source, destination: null, ageUs: 0 };
      packet.payload = payload;
      packet.ttl = records[r + 2]!;
      packet.ifindex = records[r + 3]!;
      packet.source = source;
      packet.destination = destination;
      // The addon's age is as of the batch's hand-over; the records before this one took the rest.
      packet.ageUs = i === 0 ? records[r + 4]! : records[r + 4]! + Math.round((performance.now() - start) * 1000);
      handing = i;
      packetHandler?.(packet);
    }
    // A handler that threw leaves it set; the addon refuses an arm outside its callback anyway.
    handing = -1;
    if (absorbed! > 0 && absorbedHandler !== undefined) for (let k = 0; k < absorbed!; k++) absorbedHandler(buffer![RAW_ABSORBED_AT + k]!);
  };

  const native = nativeWire();
  let handle: NativeRawHandle;
  try {
    handle = native.rawOpen(
      {
        family: options.family,
        ifname: options.interface,
        netns: options.netns,
        multicast: options.mode === 'multicast',
        hops: options.hopsForTesting ?? 255,
        rcvbuf: options.rcvbuf ?? DEFAULT_RCVBUF,
        kernelChecksum: options.kernelChecksum ?? false,
      },
      onBatch,
    );
  } catch (error) {
    const failure = failureFrom(error);
    log.warn({ code: failure.code, err: failure.message }, 'cannot open VRRP socket');
    return failure;
  }
  const ifindex = native.rawIfindex(handle);
  const repeats = repeatAbsorber(
    native,
    handle,
    () => handing,
    (h) => void (absorbedHandler = h),
    log,
  );
  const group = v4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6;
  const source = options.sourceAddress ?? null;
  let closed = false;
  log.debug({ ifindex, mode: options.mode }, 'VRRP socket open');

  return {
    ok: true,
    value: {
      family: options.family,
      ...(repeats ? { repeats } : {}),
      ifindex,
      get stats() {
        return closed ? stats : { ...stats, ...native.rawStats(handle) };
      },
      onPacket(handler) {
        packetHandler = handler;
      },
      onError(handler) {
        errorHandler = handler;
      },
      send(payload, destination) {
        const to = destination ?? (options.mode === 'multicast' ? group : undefined);
        if (to === undefined) return { ok: false, code: 'EDESTADDRREQ', message: 'unicast send needs a destination' };
        const code = closed ? 'EBADF' : native.rawSend(handle, payload, to, source);
        if (code === null) return SENT_OK;
        return { ok: false, code, message: `sendmsg to ${to}: ${code}` };
      },
      setModeration(ms) {
        if (closed || !moderator) return;
        holdMs = ms > 0 ? ms : 0;
        if (holdMs === 0) moderator.release(held);
      },
      drain() {
        return closed ? 0 : Math.max(0, native.rawDrain(handle));
      },
      ref(on) {
        if (!closed) native.rawRef(handle, on);
      },
      close() {
        if (closed) return;
        closed = true;
        handing = -1;
        moderator?.forget(held);
        native.rawClose(handle);
        log.debug('VRRP socket closed');
      },
    },
  };
}

/**
 * The socket's RepeatAbsorber over the addon's repeat table, or undefined
 * (logged) when the addon refuses the table: every datagram is then handed
 * over, as before absorption existed.
 */
function repeatAbsorber(
  native: ReturnType<typeof nativeWire>,
  handle: NativeRawHandle,
  handing: () => number,
  onAbsorbed: (handler: (vrid: number) => void) => void,
  log: Logger,
): RepeatAbsorber | undefined {
  const table = new Float64Array(256 * RAW_REPEAT_SLOT);
  const code = native.rawRepeatTable(handle, table);
  if (code !== null) {
    log.warn({ code }, 'repeat absorption unavailable: every advert goes to JavaScript');
    return undefined;
  }
  // The addon stamps CLOCK_MONOTONIC, which process.hrtime and performance.now both read (libuv's uv_hrtime).
  const [sec, ns] = process.hrtime();
  const offset = performance.now() - (sec * 1e3 + ns / 1e6);
  return {
    arm: (vrid) => {
      const record = handing();
      return record >= 0 && native.rawRepeatArm(handle, vrid, record);
    },
    disarm: (vrid) => native.rawRepeatDisarm(handle, vrid),
    onAbsorbed,
    pending: (vrid) => table[vrid * RAW_REPEAT_SLOT]!,
    latestAgoMs: (vrid) => {
      const at = vrid * RAW_REPEAT_SLOT;
      return table[at]! === 0 ? NaN : performance.now() - (table[at + 1]! + offset);
    },
    take: (vrid, into) => {
      const at = vrid * RAW_REPEAT_SLOT;
      const count = table[at]!;
      if (count === 0) return 0;
      table[at] = 0;
      const now = performance.now();
      into.arrivedAgoMs = now - (table[at + 1]! + offset);
      into.readAgoMs = now - (table[at + 2]! + offset);
      const kept = Math.min(count, RAW_REPEAT_RING);
      for (let k = 0; k < kept; k++) into.recentAgoMs[k] = now - (table[at + 3 + ((count - kept + k) % RAW_REPEAT_RING)]! + offset);
      into.recentCount = kept;
      return count;
    },
  };
}
