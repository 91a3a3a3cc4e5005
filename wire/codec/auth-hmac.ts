/**
 * keepalived 2.4's advert authentication (`auth_hmac`, draft-cassen-vrrp-auth-hmac):
 * a 28-byte trailer after the VRRP message, counted in the IP payload.
 *
 *   0  ext_type (1: HMAC-SHA256 truncated to 128 bits)   1  key_id   2-3 reserved (0)
 *   4  seconds since the Unix epoch (32 bits)            8  1/65536 s (16 bits)
 *   10 counter (16 bits)                                  12 HMAC (16 bytes)
 *
 * Bytes 4-11 form one 64-bit sequence that grows strictly per sender. The HMAC
 * covers a 20-byte pseudo-header (family 4/6, VRRP version, VRID, 0, source
 * zero-padded to 16 bytes), the message with its checksum read as zero, trailer
 * bytes 0-11 and 16 zero bytes. Reading the checksum as zero is what lets an IPv6
 * sender sign before the transport checksum (which covers the trailer) is filled.
 *
 * Pure: the clock and the replay state are the caller's, passed in.
 */
import { nodeCrypto } from '../../core/lazy-crypto.js';
import { checksumValue, pseudoHeaderSum, sumWords } from './checksum.js';
import { IPPROTO_VRRP } from './types.js';

export const AUTH_HMAC_TRAILER_LENGTH = 28;
export const AUTH_HMAC_TYPE_SHA256 = 1;
const HMAC_OFFSET = 12;
const HMAC_LENGTH = 16;
const PSEUDO_LENGTH = 20;
const CHECKSUM_OFFSET = 6;

/** What the pseudo-header binds: splicing an advert into another VRID, version or sender breaks its HMAC. */
export interface AuthHmacContext {
  version: 2 | 3;
  vrid: number;
  /** The IP source, 4 or 16 bytes; its length is the family. */
  source: Uint8Array;
}

export type AntiReplay = 'time' | 'monotonic';

/** The receiver's settings: keys by id (1..255), the replay mode and the window in seconds (time mode only). */
export interface AuthHmacVerifyKeys {
  keys: ReadonlyMap<number, Uint8Array>;
  antiReplay: AntiReplay;
  timeWindowSec: number;
}

export type AuthHmacFailure = 'malformed' | 'unknown-key' | 'bad-hmac' | 'outside-window' | 'replay';

export type AuthHmacVerdict =
  { ok: true; sequence: bigint; skewSec: number | null } | { ok: false; reason: AuthHmacFailure; detail: string; skewSec: number | null };

/**
 * The 16-byte truncated HMAC of `message` (the VRRP message, any checksum) and
 * `trailerHead` (trailer bytes 0-11) under `key`. The input is assembled in one
 * buffer: one update instead of six halves the cost (bench/runner-path.ts).
 */
export function authHmacDigest(key: Uint8Array, ctx: AuthHmacContext, message: Uint8Array, trailerHead: Uint8Array): Buffer {
  const input = Buffer.alloc(PSEUDO_LENGTH + message.length + HMAC_OFFSET + HMAC_LENGTH);
  input[0] = ctx.source.length === 16 ? 6 : 4;
  input[1] = ctx.version;
  input[2] = ctx.vrid;
  input.set(ctx.source, 4);
  input.set(message, PSEUDO_LENGTH);
  input[PSEUDO_LENGTH + CHECKSUM_OFFSET] = 0;
  input[PSEUDO_LENGTH + CHECKSUM_OFFSET + 1] = 0;
  input.set(trailerHead.subarray(0, HMAC_OFFSET), PSEUDO_LENGTH + message.length);
  // The HMAC field itself is read as zeros: Buffer.alloc left them.
  return nodeCrypto().createHmac('sha256', key).update(input).digest().subarray(0, HMAC_LENGTH);
}

/** The sequence a realtime clock reading gives, counter 0: seconds in the high 32 bits, 1/65536 s in the next 16. */
export function clockSequence(realtimeMs: number): bigint {
  const sec = Math.floor(realtimeMs / 1000);
  const subsec = Math.floor(((realtimeMs - sec * 1000) * 65536) / 1000) & 0xffff;
  return (BigInt(sec >>> 0) << 32n) | (BigInt(subsec) << 16n);
}

const MASK64 = (1n << 64n) - 1n;

/** RFC 1982 serial comparison of 64-bit sequences: a is after b. */
export function sequenceAfter(a: bigint, b: bigint): boolean {
  const d = (a - b) & MASK64;
  return d !== 0n && d < 1n << 63n;
}

/** Signed 32-bit difference a - b of two second counters (serial arithmetic across the 2106 wrap). */
function secondsDelta(a: number, b: number): number {
  return ((a - b) | 0) as number;
}

/**
 * The next sequence to send: the clock's, or the last plus one when the clock has
 * not moved past it (several adverts in one 1/65536 s, or a clock stepped back), so
 * it grows strictly. In time mode a last sequence stranded more than the window
 * ahead of the clock (a corrected clock step) restarts from the clock: receivers
 * would drop it as outside their window anyway.
 */
export function nextSequence(last: bigint | null, realtimeMs: number, antiReplay: AntiReplay, timeWindowSec: number): bigint {
  const clock = clockSequence(realtimeMs);
  if (last === null || sequenceAfter(clock, last)) return clock;
  const ahead = secondsDelta(Number(last >> 32n), Number(clock >> 32n));
  if (antiReplay === 'time' && ahead > timeWindowSec) return clock;
  return (last + 1n) & MASK64;
}

/** Writes trailer bytes 0-11 (type, key id, reserved, sequence) into `out` at `at`. */
function writeTrailerHead(out: Uint8Array, at: number, keyId: number, sequence: bigint): void {
  out[at] = AUTH_HMAC_TYPE_SHA256;
  out[at + 1] = keyId;
  out[at + 2] = 0;
  out[at + 3] = 0;
  const hi = Number(sequence >> 32n);
  const lo = Number(sequence & 0xffffffffn);
  out[at + 4] = hi >>> 24;
  out[at + 5] = (hi >>> 16) & 0xff;
  out[at + 6] = (hi >>> 8) & 0xff;
  out[at + 7] = hi & 0xff;
  out[at + 8] = lo >>> 24;
  out[at + 9] = (lo >>> 16) & 0xff;
  out[at + 10] = (lo >>> 8) & 0xff;
  out[at + 11] = lo & 0xff;
}

/**
 * Appends a signed trailer to an encoded VRRP message (encodeVrrp's output).
 *
 * @param message the VRRP message with its checksum computed as for a plain advert.
 * @param destination for IPv6 only: the transport checksum there covers the
 *   trailer (what the kernel computes for keepalived), so it is recomputed with
 *   the destination in the pseudo-header. The IPv4 checksum keeps covering the
 *   message alone, as keepalived 2.4.3 sends it (checked against its captures).
 * @returns a new Buffer: message, then the 28-byte trailer.
 */
export function appendAuthTrailer(
  message: Uint8Array,
  ctx: AuthHmacContext,
  destination: Uint8Array,
  key: { id: number; bytes: Uint8Array },
  sequence: bigint,
): Buffer {
  const out = Buffer.allocUnsafe(message.length + AUTH_HMAC_TRAILER_LENGTH);
  out.set(message, 0);
  const at = message.length;
  writeTrailerHead(out, at, key.id, sequence);
  out.set(authHmacDigest(key.bytes, ctx, message, out.subarray(at, at + HMAC_OFFSET)), at + HMAC_OFFSET);
  if (ctx.source.length === 16) {
    out[CHECKSUM_OFFSET] = 0;
    out[CHECKSUM_OFFSET + 1] = 0;
    const c = checksumValue(sumWords(out, 0, out.length), pseudoHeaderSum(ctx.source, destination, IPPROTO_VRRP, out.length));
    out[CHECKSUM_OFFSET] = c >> 8;
    out[CHECKSUM_OFFSET + 1] = c & 0xff;
  }
  return out;
}

/** The sequence carried in trailer bytes 4-11. */
export function trailerSequence(trailer: Uint8Array): bigint {
  const hi = ((trailer[4]! << 24) | (trailer[5]! << 16) | (trailer[6]! << 8) | trailer[7]!) >>> 0;
  const lo = ((trailer[8]! << 24) | (trailer[9]! << 16) | (trailer[10]! << 8) | trailer[11]!) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Highest accepted sequence per sender. Only a verified HMAC moves a mark, so
 * forged sources cannot churn the table; it is bounded like keepalived's
 * (least recently used sender evicted) because only contending routers send.
 */
export class ReplayMarks {
  private readonly marks = new Map<string, bigint>();
  constructor(private readonly capacity = 4) {}

  get(sender: string): bigint | undefined {
    return this.marks.get(sender);
  }

  set(sender: string, sequence: bigint): void {
    this.marks.delete(sender);
    this.marks.set(sender, sequence);
    if (this.marks.size > this.capacity) this.marks.delete(this.marks.keys().next().value as string);
  }

  delete(sender: string): void {
    this.marks.delete(sender);
  }
}

function senderKey(source: Uint8Array): string {
  return Buffer.from(source.buffer, source.byteOffset, source.length).toString('hex');
}

/**
 * Verifies a received trailer, in keepalived's order: format, window (before the
 * costly HMAC, so a flood of old captures costs no digest), key, HMAC, then the
 * replay mark, moved only by a verified advert.
 *
 * @param message the VRRP message (without the trailer) as received.
 * @param trailer the 28 bytes after it.
 * @param realtimeMs the receiver's wall clock (used in time mode only).
 * @param marks the instance's per-sender marks; updated on success.
 */
export function verifyAuthTrailer(
  message: Uint8Array,
  trailer: Uint8Array,
  ctx: AuthHmacContext,
  settings: AuthHmacVerifyKeys,
  marks: ReplayMarks,
  realtimeMs: number,
): AuthHmacVerdict {
  if (trailer.length !== AUTH_HMAC_TRAILER_LENGTH || trailer[0] !== AUTH_HMAC_TYPE_SHA256 || trailer[2] !== 0 || trailer[3] !== 0) {
    return {
      ok: false,
      reason: 'malformed',
      detail: `trailer type ${trailer[0]}, reserved ${trailer[2]}/${trailer[3]}: expected type 1, reserved 0`,
      skewSec: null,
    };
  }
  const sequence = trailerSequence(trailer);
  const sec = Number(sequence >> 32n);
  let skewSec: number | null = null;
  if (settings.antiReplay === 'time') {
    const nowSec = Math.floor(realtimeMs / 1000) >>> 0;
    skewSec = secondsDelta(nowSec, sec);
    if (Math.abs(skewSec) > settings.timeWindowSec) {
      return { ok: false, reason: 'outside-window', detail: `timestamp ${skewSec} s from our clock, window ${settings.timeWindowSec} s`, skewSec };
    }
  }
  const keyId = trailer[1]!;
  const key = settings.keys.get(keyId);
  if (!key) return { ok: false, reason: 'unknown-key', detail: `key id ${keyId} is not configured`, skewSec };
  const digest = authHmacDigest(key, ctx, message, trailer);
  if (!nodeCrypto().timingSafeEqual(digest, trailer.subarray(HMAC_OFFSET, HMAC_OFFSET + HMAC_LENGTH))) {
    return { ok: false, reason: 'bad-hmac', detail: `HMAC does not verify with key ${keyId}`, skewSec };
  }
  const sender = senderKey(ctx.source);
  let mark = marks.get(sender);
  if (mark !== undefined && settings.antiReplay === 'time') {
    // A mark outside the window orders only adverts the window already drops;
    // forgetting it lets a sender restarted after a clock step back in.
    const age = secondsDelta(Math.floor(realtimeMs / 1000) >>> 0, Number(mark >> 32n));
    if (Math.abs(age) > settings.timeWindowSec) mark = undefined;
  }
  if (mark !== undefined && !sequenceAfter(sequence, mark)) {
    return { ok: false, reason: 'replay', detail: `sequence 0x${sequence.toString(16)} not after 0x${mark.toString(16)}`, skewSec };
  }
  marks.set(sender, sequence);
  return { ok: true, sequence, skewSec };
}

/**
 * Splits a received VRRP payload into message and trailer when its length is the
 * message's (from Count IPvX Addr and the version) plus 28; null when there is no
 * trailer or the payload is too short to tell (the decoder reports those).
 */
export function splitAuthTrailer(payload: Uint8Array, addressLength: 4 | 16): { message: Uint8Array; trailer: Uint8Array } | null {
  if (payload.length < 8) return null;
  const version = payload[0]! >> 4;
  const messageLength = 8 + payload[3]! * addressLength + (version === 2 ? 8 : 0);
  if (payload.length !== messageLength + AUTH_HMAC_TRAILER_LENGTH) return null;
  return { message: payload.subarray(0, messageLength), trailer: payload.subarray(messageLength) };
}
