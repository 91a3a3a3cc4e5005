import type { Logger } from '../../core/logger.js';
import { decodeIcmp, type IcmpMessage } from '../codec/index.js';
import { nativeWire, type NativeIcmpCallback, type NativeIcmpHandle } from './native.js';
import { failureFrom, type SysResult } from './result.js';

export interface IcmpSocketOptions {
  family: 4 | 6;
  /** Named network namespace (/run/netns/NAME) to create the socket in; the current one when absent. */
  netns?: string | undefined;
  /** Source address of every request (keepalived's bindto); the socket then only receives what is sent to it. */
  bindto?: string | undefined;
  /** Interface to bind to (keepalived's bind_if, SO_BINDTODEVICE). */
  bindIf?: string | undefined;
  /**
   * Receive buffer in bytes, 16 MB by default: this one socket serves every checker, and
   * measured (bench/ping-burst.ts), 10,000 loopback probes sent in one tick lost 7,479
   * replies with 1 MB and none with 16 MB. keepalived asks 128 KB per checker socket.
   */
  rcvbuf?: number;
  logger: Logger;
}

/** A received ICMP message, already decoded, and who sent it (4 or 16 bytes). */
export type IcmpHandler = (message: IcmpMessage, source: Uint8Array) => void;

export interface IcmpSocket {
  readonly family: 4 | 6;
  /** Sets the message handler (a later call replaces it). Only echo replies and errors reach it (a kernel filter). */
  onMessage(handler: IcmpHandler): void;
  /** Receive errors (errno names); logged without a handler. */
  onError(handler: (code: string) => void): void;
  /** Sends one ICMP message (from its ICMP header on). Never throws for network conditions. */
  send(message: Buffer, destination: string): SysResult<void>;
  /** Whether the socket keeps the event loop alive (it does by default). */
  ref(on: boolean): void;
  /** Idempotent. */
  close(): void;
}

const DEFAULT_RCVBUF = 16 * 1024 * 1024;

/**
 * Opens a raw ICMP or ICMPv6 socket (wire/native/src/icmp_socket.c says why
 * raw). Fails as a value with the errno name, e.g. EPERM without CAP_NET_RAW,
 * EADDRNOTAVAIL for a bindto that is not local, ENODEV for an unknown bind_if.
 */
export function openIcmpSocket(options: IcmpSocketOptions): SysResult<IcmpSocket> {
  const log = options.logger.child({
    component: 'icmp-socket',
    family: options.family,
    ...(options.netns ? { netns: options.netns } : {}),
    ...(options.bindto ? { bindto: options.bindto } : {}),
    ...(options.bindIf ? { bindIf: options.bindIf } : {}),
  });
  let messageHandler: IcmpHandler | undefined;
  let errorHandler: ((code: string) => void) | undefined;
  const onDatagram: NativeIcmpCallback = (err, datagram, source) => {
    if (err !== null) {
      if (errorHandler) errorHandler(err);
      else log.warn({ code: err }, 'receive error');
      return;
    }
    messageHandler?.(decodeIcmp(options.family, datagram!), source!);
  };
  const native = nativeWire();
  let handle: NativeIcmpHandle;
  try {
    handle = native.icmpOpen(
      { family: options.family, netns: options.netns, bindto: options.bindto, bindIf: options.bindIf, rcvbuf: options.rcvbuf ?? DEFAULT_RCVBUF },
      onDatagram,
    );
  } catch (error) {
    const failure = failureFrom(error);
    log.warn({ code: failure.code, err: failure.message }, 'cannot open ICMP socket');
    return failure;
  }
  let closed = false;
  log.debug('ICMP socket open');
  return {
    ok: true,
    value: {
      family: options.family,
      onMessage(handler) {
        messageHandler = handler;
      },
      onError(handler) {
        errorHandler = handler;
      },
      send(message, destination) {
        const code = closed ? 'EBADF' : native.icmpSend(handle, message, destination);
        if (code === null) return { ok: true, value: undefined };
        return { ok: false, code, message: `sendto ${destination}: ${code}` };
      },
      ref(on) {
        if (!closed) native.icmpRef(handle, on);
      },
      close() {
        if (closed) return;
        closed = true;
        native.icmpClose(handle);
        log.debug('ICMP socket closed');
      },
    },
  };
}
