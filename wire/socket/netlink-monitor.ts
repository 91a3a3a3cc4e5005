import type { Logger } from '../../core/logger.js';
import { nativeWire, type NativeNetlinkMessage } from './native.js';
import { failureFrom, type SysResult } from './result.js';

/** RFC 2863 operational state as the kernel reports it (IFLA_OPERSTATE). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const OPER_STATES: readonly OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

/** <linux/if.h> and <linux/if_addr.h> flag bits the daemon reads. */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;

/** RTM_NEWLINK / RTM_DELLINK. */
export interface LinkMessage {
  kind: 'link';
  op: 'new' | 'del';
  ifindex: number;
  name: string;
  /** ifi_flags: IFF_UP (administratively up), IFF_RUNNING (operationally up or unknown), IFF_LOWER_UP (carrier). */
  flags: number;
  operstate: OperState;
}

/** RTM_NEWADDR / RTM_DELADDR. */
export interface AddressMessage {
  kind: 'addr';
  op: 'new' | 'del';
  family: 4 | 6;
  ifindex: number;
  address: string;
  prefix: number;
  /** IFA_FLAGS (IFA_F_TENTATIVE while IPv6 duplicate address detection runs, IFA_F_DADFAILED after it failed). */
  flags: number;
  /** RT_SCOPE_*: 253 link, 254 host, 0 universe. */
  scope: number;
}

/** The kernel dropped notifications (ENOBUFS): re-read the whole state. */
export interface OverrunMessage {
  kind: 'overrun';
}

/** A read failed; the subscription goes on. */
export interface ErrorMessage {
  kind: 'error';
  code: string;
}

/** The socket failed: no notification will come any more. */
export interface StoppedMessage {
  kind: 'stopped';
  code: string;
}

export type NetlinkMessage = LinkMessage | AddressMessage;
export type NetlinkEvent = NetlinkMessage | OverrunMessage | ErrorMessage | StoppedMessage;

/** Typed view of one message from the addon; null for a shape it does not know (never throws). */
export function toNetlinkEvent(raw: NativeNetlinkMessage): NetlinkEvent | null {
  switch (raw.kind) {
    case 'link':
      return {
        kind: 'link',
        op: raw.op === 'del' ? 'del' : 'new',
        ifindex: raw.ifindex ?? 0,
        name: raw.name ?? '',
        flags: raw.flags ?? 0,
        operstate: OPER_STATES[raw.operstate ?? 0] ?? 'unknown',
      };
    case 'addr':
      if (raw.family !== 4 && raw.family !== 6) return null;
      return {
        kind: 'addr',
        op: raw.op === 'del' ? 'del' : 'new',
        family: raw.family,
        ifindex: raw.ifindex ?? 0,
        address: raw.address ?? '',
        prefix: raw.prefix ?? 0,
        flags: raw.flags ?? 0,
        scope: raw.scope ?? 0,
      };
    case 'overrun':
      return { kind: 'overrun' };
    case 'error':
    case 'stopped':
      return { kind: raw.kind, code: raw.code ?? 'EUNKNOWN' };
    default:
      return null;
  }
}

/**
 * Every link, then every address, of the namespace (`netns` when given) as
 * rtnetlink dumps them. Blocks for the dump (well under a millisecond for a
 * few interfaces): for start-up and for recovery after an overrun.
 */
export function readNetlinkState(netns?: string): SysResult<NetlinkMessage[]> {
  try {
    const out = nativeWire().netlinkDump({ netns });
    if (typeof out === 'string') return { ok: false, code: out, message: `rtnetlink dump: ${out}` };
    return { ok: true, value: out.map(toNetlinkEvent).filter((m): m is NetlinkMessage => m !== null && (m.kind === 'link' || m.kind === 'addr')) };
  } catch (error) {
    return failureFrom(error);
  }
}

export interface NetlinkMonitor {
  /** Whether the subscription keeps the event loop alive (it does by default). */
  ref(on: boolean): void;
  /** Idempotent. */
  close(): void;
}

export interface NetlinkMonitorOptions {
  /** Named network namespace to subscribe in; the current one when absent. */
  netns?: string;
  /** Also IPv4 and IPv6 address changes (default true). */
  addresses?: boolean;
  /**
   * Receive queue size in bytes (1 MB by default, enough for bursts); small
   * values exist only so tests can provoke an overrun.
   */
  rcvbufForTesting?: number;
  logger: Logger;
}

/**
 * Subscribes to the kernel's link (and address) notifications. `handler`
 * gets each wake-up's messages in kernel order, including `overrun` (then
 * re-read everything with {@link readNetlinkState}), `error` and `stopped`
 * (the subscription is over: use another source of link state). Fails (as a
 * value) with the errno name when the socket cannot be opened.
 */
export function openNetlinkMonitor(options: NetlinkMonitorOptions, handler: (events: NetlinkEvent[]) => void): SysResult<NetlinkMonitor> {
  const native = nativeWire();
  let handle;
  try {
    const settings = {
      netns: options.netns,
      addresses: options.addresses ?? true,
      ...(options.rcvbufForTesting !== undefined ? { rcvbuf: options.rcvbufForTesting } : {}),
    };
    handle = native.netlinkMonitorOpen(settings, (batch) => {
      const events = batch.map(toNetlinkEvent).filter((e): e is NetlinkEvent => e !== null);
      if (events.length > 0) handler(events);
    });
  } catch (error) {
    const failure = failureFrom(error);
    options.logger.warn({ code: failure.code, err: failure.message }, 'cannot subscribe to rtnetlink');
    return failure;
  }
  let closed = false;
  return {
    ok: true,
    value: {
      ref(on) {
        if (!closed) native.netlinkMonitorRef(handle, on);
      },
      close() {
        if (closed) return;
        closed = true;
        native.netlinkMonitorClose(handle);
      },
    },
  };
}
