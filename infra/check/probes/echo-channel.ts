/**
 * Shared ICMP echo sockets for PING_CHECK. keepalived opens one ping socket per
 * checker; 10,000 real servers would then hold 10,000 descriptors and poll
 * registrations. Here one raw socket per family (and netns,
 * bindto, bind_if) serves every checker: a request gets a free sequence number
 * on the socket's identifier and a nonce in its payload, and a reply counts for
 * a request only when identifier, sequence, nonce and source all match, so
 * late replies, other checkers' replies and other pingers' replies never do.
 * A socket with nothing in flight is closed after a linger.
 */
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from '../../../core/logger.js';
import { describeIcmpError, encodeEchoRequest, formatAddress, parseAddress, type IcmpMessage } from '../../../wire/codec/index.js';
import { openIcmpSocket, type IcmpSocket, type IcmpSocketOptions } from '../../../wire/socket/icmp-socket.js';
import type { SysResult } from '../../../wire/socket/result.js';

export type EchoOutcome =
  | { kind: 'reply'; rttMs: number }
  /** an ICMP error quoting our request, e.g. "host unreachable", and who sent it */
  | { kind: 'icmp-error'; text: string; from: string }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  /** sendto failed (ENETUNREACH for no route, ...), or the request could not be made */
  | { kind: 'send-failed'; code: string; message: string }
  /** no socket: EPERM without CAP_NET_RAW, a bindto that is not local, an unknown bind_if or netns */
  | { kind: 'socket-failed'; code: string; message: string };

/** Which socket a request goes out on. */
export interface EchoSocketKey {
  family: 4 | 6;
  netns?: string | undefined;
  bindto?: string | undefined;
  bindIf?: string | undefined;
}

export interface EchoPoolOptions {
  logger: Logger;
  /** how long a socket with nothing in flight stays open (default 30 s; probes come every delay_loop) */
  lingerMs?: number;
  /** for tests: another socket opener */
  open?: (options: IcmpSocketOptions) => SysResult<IcmpSocket>;
}

// The payload: the channel's token and the request's nonce (4 bytes each), then
// a marker that makes our requests recognisable in a capture.
const PAYLOAD = Buffer.from('\0\0\0\0\0\0\0\0vipflow-ping-chk');
const SEQUENCES = 0x10000;

interface Pending {
  nonce: number;
  destination: Uint8Array;
  started: number;
  settle: (o: EchoOutcome) => void;
}

class EchoChannel {
  private readonly pending = new Map<number, Pending>();
  private readonly identifier = randomInt(SEQUENCES);
  private readonly token = randomInt(2 ** 32);
  private nextSequence = randomInt(SEQUENCES);
  private nonce = 0;

  constructor(
    private readonly socket: IcmpSocket,
    private readonly family: 4 | 6,
    private readonly onIdle: () => void,
  ) {
    socket.onMessage((m, source) => this.received(m, source));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  echo(destination: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<EchoOutcome> {
    const dst = parseAddress(destination);
    if (dst === undefined || dst.length !== (this.family === 4 ? 4 : 16)) {
      return Promise.resolve({ kind: 'send-failed', code: 'EINVAL', message: `${destination} is not an IPv${this.family} address` });
    }
    const sequence = this.freeSequence();
    if (sequence === undefined) return Promise.resolve({ kind: 'send-failed', code: 'ENOBUFS', message: `${SEQUENCES} echo requests in flight` });
    const nonce = (this.nonce = (this.nonce + 1) >>> 0);
    const payload = Buffer.from(PAYLOAD);
    payload.writeUInt32BE(this.token, 0);
    payload.writeUInt32BE(nonce, 4);
    return new Promise<EchoOutcome>((resolve) => {
      const settle = (o: EchoOutcome): void => {
        if (this.pending.get(sequence)?.nonce !== nonce) return;
        this.pending.delete(sequence);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(o);
        if (this.pending.size === 0) this.onIdle();
      };
      const onAbort = (): void => settle({ kind: 'aborted' });
      const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      this.pending.set(sequence, { nonce, destination: dst, started: performance.now(), settle });
      signal?.addEventListener('abort', onAbort, { once: true });
      const sent = this.socket.send(encodeEchoRequest(this.family, { identifier: this.identifier, sequence }, payload), destination);
      if (!sent.ok) settle({ kind: 'send-failed', code: sent.code, message: sent.message });
    });
  }

  /** Settles everything in flight (the socket is going away). */
  settleAll(outcome: EchoOutcome): void {
    for (const p of [...this.pending.values()]) p.settle(outcome);
  }

  close(): void {
    this.socket.close();
  }

  private freeSequence(): number | undefined {
    for (let i = 0; i < SEQUENCES; i++) {
      const s = this.nextSequence;
      this.nextSequence = (this.nextSequence + 1) % SEQUENCES;
      if (!this.pending.has(s)) return s;
    }
    return undefined;
  }

  private received(m: IcmpMessage, source: Uint8Array): void {
    if (m.kind === 'echo-reply') {
      if (m.identifier !== this.identifier || m.payload.length < 8) return;
      const p = this.pending.get(m.sequence);
      if (p === undefined || !sameBytes(p.destination, source)) return;
      const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, 8);
      if (payload.readUInt32BE(0) !== this.token || payload.readUInt32BE(4) !== p.nonce) return;
      p.settle({ kind: 'reply', rttMs: performance.now() - p.started });
    } else if (m.kind === 'error') {
      if (m.identifier !== this.identifier) return;
      const p = this.pending.get(m.sequence);
      if (p === undefined || !sameBytes(p.destination, m.quotedDestination)) return;
      p.settle({ kind: 'icmp-error', text: describeIcmpError(this.family, m.type, m.code), from: formatAddress(source) });
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Slot {
  channel: EchoChannel;
  idleTimer: NodeJS.Timeout | undefined;
}

/** The echo sockets of one process (or one test), keyed by family, netns, bindto and bind_if. */
export class EchoPool {
  private readonly slots = new Map<string, Slot>();
  private readonly lingerMs: number;
  private readonly open: (options: IcmpSocketOptions) => SysResult<IcmpSocket>;

  constructor(private readonly o: EchoPoolOptions) {
    this.lingerMs = o.lingerMs ?? 30_000;
    this.open = o.open ?? openIcmpSocket;
  }

  /** Open sockets, for status and tests. */
  get sockets(): number {
    return this.slots.size;
  }

  /** One echo request to `destination`, answered within `timeoutMs` or not. Never rejects. */
  echo(key: EchoSocketKey, destination: string, timeoutMs: number, signal?: AbortSignal): Promise<EchoOutcome> {
    if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
    if (isIP(destination) !== key.family) return Promise.resolve({ kind: 'send-failed', code: 'EINVAL', message: `${destination} is not IPv${key.family}` });
    const id = JSON.stringify([key.family, key.netns ?? '', key.bindto ?? '', key.bindIf ?? '']);
    let slot = this.slots.get(id);
    if (slot === undefined) {
      const opened = this.open({ ...key, logger: this.o.logger });
      if (!opened.ok) return Promise.resolve({ kind: 'socket-failed', code: opened.code, message: opened.message });
      // Probe timers keep the process alive while requests are in flight; an idle socket must not.
      opened.value.ref(false);
      const created: Slot = { channel: new EchoChannel(opened.value, key.family, () => this.idle(id, created)), idleTimer: undefined };
      // A receive error may have stopped the socket's poll (libuv does so on POLLERR): drop it, the next request opens another.
      opened.value.onError((code) => this.broken(id, created, code));
      this.slots.set(id, created);
      slot = created;
    }
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    return slot.channel.echo(destination, timeoutMs, signal);
  }

  /** Closes every socket; requests in flight settle as aborted. */
  close(): void {
    const slots = [...this.slots.values()];
    this.slots.clear();
    for (const slot of slots) {
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      slot.channel.settleAll({ kind: 'aborted' });
      slot.channel.close();
    }
  }

  private broken(id: string, slot: Slot, code: string): void {
    this.o.logger.warn({ code, socket: id }, 'ICMP socket receive error: closed, the next probe opens another');
    if (this.slots.get(id) === slot) this.slots.delete(id);
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.channel.settleAll({ kind: 'socket-failed', code, message: `receive error ${code}` });
    slot.channel.close();
  }

  private idle(id: string, slot: Slot): void {
    if (this.slots.get(id) !== slot) return;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (this.slots.get(id) !== slot || slot.channel.inFlight > 0) return;
      this.slots.delete(id);
      slot.channel.close();
    }, this.lingerMs);
    slot.idleTimer.unref();
  }
}
