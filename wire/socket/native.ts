import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';

/**
 * The addon's raw interface (wire/native/src). Only wire/socket and
 * infra/host use it; everything else goes through their typed wrappers.
 * Functions that return `string | null` give an errno name or null.
 */
export interface NativeRawOptions {
  family: 4 | 6;
  ifname: string;
  netns?: string | undefined;
  multicast: boolean;
  hops: number;
  rcvbuf: number;
  kernelChecksum: boolean;
}

export type NativeRawHandle = { readonly __brand: 'NativeRawHandle' };

/**
 * A batch of received datagrams: `count` of them packed in `buffer` (the
 * addon's receive buffer, valid during the call only), each described by a
 * record of {@link RAW_RECORD_INTS} int32s from byte {@link RAW_RECORDS_AT};
 * or, with `err` set, a receive error (errno name) and nothing else.
 */
export type NativeRawCallback = (err: string | null, buffer?: Buffer, count?: number, absorbed?: number) => void;

/** Arrivals of the latest repeats a VRID's slot keeps (the addon's REPEAT_RING). */
export const RAW_REPEAT_RING = 8;
/**
 * Doubles per VRID in a socket's repeat table (rawRepeatTable): count, the
 * latest arrival and read time (CLOCK_MONOTONIC ms), then the arrivals of the
 * last RAW_REPEAT_RING repeats (repeat i at 3 + i % RAW_REPEAT_RING).
 */
export const RAW_REPEAT_SLOT = 3 + RAW_REPEAT_RING;

/** Where a batch's records start in the receive buffer (the addon's RX_DATA_SIZE). */
export const RAW_RECORDS_AT = 65536;
/** int32s per record: offset, length, ttl (-1 unknown), ifindex, age µs, source offset, destination offset (-1 none), address length. */
export const RAW_RECORD_INTS = 8;
/** The most records one batch has (the addon's RX_BATCH_MAX). */
export const RAW_BATCH_MAX = 256;
/** Where a batch's absorbed repeats are listed, a byte (the VRID) each, after the records. */
export const RAW_ABSORBED_AT = RAW_RECORDS_AT + RAW_BATCH_MAX * RAW_RECORD_INTS * 4;

export interface NativeIcmpOptions {
  family: 4 | 6;
  netns?: string | undefined;
  /** source address (bind) */
  bindto?: string | undefined;
  /** SO_BINDTODEVICE */
  bindIf?: string | undefined;
  rcvbuf?: number | undefined;
}

export type NativeIcmpHandle = { readonly __brand: 'NativeIcmpHandle' };

/** err, or an ICMP datagram (IPv4: with its IP header) and its source as 4 or 16 bytes. */
export type NativeIcmpCallback = (err: string | null, datagram?: Buffer, source?: Buffer) => void;

export interface NativeAddressChange {
  op: 'add' | 'del';
  netns?: string | undefined;
  ifindex: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  label?: string | undefined;
  noDad?: boolean | undefined;
  /** Add only: wait (µs, at most 1,000,000) until the address is delivered here; "EINPROGRESS" when it was not in time. */
  waitLocalUs?: number | undefined;
}

/** One parsed rtnetlink message as the addon hands it over (wire/socket/netlink-monitor.ts types it). */
export interface NativeNetlinkMessage {
  kind: 'link' | 'addr' | 'overrun' | 'error' | 'stopped';
  op?: 'new' | 'del';
  ifindex?: number;
  name?: string;
  flags?: number;
  operstate?: number;
  family?: number;
  address?: string;
  prefix?: number;
  scope?: number;
  code?: string;
}

export type NativeNetlinkHandle = { readonly __brand: 'NativeNetlinkHandle' };

export interface NativeWire {
  rawOpen(options: NativeRawOptions, callback: NativeRawCallback): NativeRawHandle;
  rawSend(handle: NativeRawHandle, payload: Buffer, destination: string, source: string | null): string | null;
  rawClose(handle: NativeRawHandle): void;
  rawRef(handle: NativeRawHandle, on: boolean): void;
  rawIfindex(handle: NativeRawHandle): number;
  /** Stops (true) or resumes (false) watching for datagrams; null or an errno name. */
  rawPause(handle: NativeRawHandle, paused: boolean): string | null;
  /** Reads the pending datagrams into the callback now; how many, or -1 when called from inside a receive callback. */
  rawDrain(handle: NativeRawHandle): number;
  /** Kernel queue-overflow drops (SO_RXQ_OVFL) and wake-ups cut at the batch bound. */
  rawStats(handle: NativeRawHandle): { kernelDrops: number; fullBatches: number };
  /** Registers where the socket counts absorbed repeats: RAW_REPEAT_SLOT doubles per VRID, 256 VRIDs. */
  rawRepeatTable(handle: NativeRawHandle, table: Float64Array): string | null;
  /** Inside the socket's callback: absorb later exact repeats of the batch's record `record` (for `vrid`). */
  rawRepeatArm(handle: NativeRawHandle, vrid: number, record: number): boolean;
  rawRepeatDisarm(handle: NativeRawHandle, vrid: number): void;
  icmpOpen(options: NativeIcmpOptions, callback: NativeIcmpCallback): NativeIcmpHandle;
  icmpSend(handle: NativeIcmpHandle, message: Buffer, destination: string): string | null;
  icmpClose(handle: NativeIcmpHandle): void;
  icmpRef(handle: NativeIcmpHandle, on: boolean): void;
  interfaceInfo(target: { ifname: string; netns?: string | undefined }): { index: number; mac: Buffer };
  sendFrame(target: { ifname: string; netns?: string | undefined }, frame: Buffer): string | null;
  /** Rounds of frames (frame i on ifindexes[i]) through sendmmsg: how many were sent, or what failed. */
  sendFrames(
    target: { netns?: string | undefined },
    ifindexes: Int32Array,
    frames: Buffer[],
    rounds: number,
  ): number | { sent: number; failed: number; code: string; at: number };
  changeAddress(change: NativeAddressChange): string | null;
  /** Whether packets to the address are delivered here now (a local route), or an errno name. */
  addressIsLocal(target: { netns?: string | undefined; family: 4 | 6; address: string }): boolean | string;
  /** Every link then every address, or an errno name. */
  netlinkDump(options: { netns?: string | undefined }): NativeNetlinkMessage[] | string;
  netlinkMonitorOpen(
    options: { netns?: string | undefined; addresses: boolean; rcvbuf?: number },
    callback: (batch: NativeNetlinkMessage[]) => void,
  ): NativeNetlinkHandle;
  netlinkMonitorClose(handle: NativeNetlinkHandle): void;
  netlinkMonitorRef(handle: NativeNetlinkHandle, on: boolean): void;
  /** Soft RLIMIT_NOFILE lifted towards `want` (past the hard limit when allowed; -1: unlimited), or an errno name. */
  raiseFileLimit(want: number): { soft: number; hard: number; before: number } | string;
  /** The calling thread to SCHED_RR at `priority` (0: back to SCHED_OTHER), reset on fork; rttimeUs > 0 sets the soft RLIMIT_RTTIME. */
  setRealtime(options: { priority: number; rttimeUs: number }): string | null;
  /** The calling thread's fair-scheduling slice (µs, 0: the kernel's default), reset on fork: the slice in ns the kernel reports after, or an errno name (EBUSY: not at normal scheduling). */
  setFairSlice(sliceUs: number): number | string;
  /** glibc's malloc_trim(0): whether any freed memory went back to the kernel. */
  mallocTrim(): boolean;
  /** madvise(MADV_DONTNEED) over each page-aligned (start, length) pair, on the thread pool, in order until one fails. Only for clean read-only file mappings. */
  releaseMappedPages(ranges: BigUint64Array): Promise<{ released: number; error: string | null }>;
  /** One sd_notify datagram to NOTIFY_SOCKET's value (a path, or '@name' for an abstract socket), or an errno name. */
  sdNotify(socket: string, message: string): string | null;
  /** A disarmed one-shot timer (a timerfd on CLOCK_MONOTONIC) watched by the loop; `callback` runs when it expires. */
  wakeOpen(callback: () => void): NativeWakeHandle;
  /** Expires `us` microseconds from now, replacing any earlier arm (0 or less: disarmed); 0 or an errno value. */
  wakeArm(handle: NativeWakeHandle, us: number): number;
  wakeClose(handle: NativeWakeHandle): void;
  wakeRef(handle: NativeWakeHandle, on: boolean): void;
}

/** The addon's opaque handle for a wake timer. */
export type NativeWakeHandle = { readonly __brand: 'NativeWakeHandle' };

/** node-gyp-build's loader: a local build (build/Release) first, else the prebuild for this platform and Node-API. */
interface AddonLoader {
  (dir: string): unknown;
  resolve(dir: string): string;
}

const require = createRequire(import.meta.url);
const addonDir = join(repoRoot, 'wire', 'native');

/**
 * The addon file this process loads: wire/native/build/Release after a source
 * build, else wire/native/prebuilds/<platform>-<arch>/ as shipped in the package.
 * Throws when neither exists: run `npm run build:native` (or `npm rebuild vipflow`).
 */
export function nativeAddonPath(): string {
  return (require('node-gyp-build') as AddonLoader).resolve(addonDir);
}

let loaded: NativeWire | undefined;

/**
 * Loads the addon once. Throws (a setup mistake, not a runtime condition)
 * when no build or prebuild matches this platform: run `npm run build:native`.
 */
export function nativeWire(): NativeWire {
  loaded ??= (require('node-gyp-build') as AddonLoader)(addonDir) as NativeWire;
  return loaded;
}
