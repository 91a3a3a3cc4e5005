/**
 * The hub's drop reasons, and the checks it makes on a packet's first bytes
 * before decoding it: a flood of another cluster's adverts or of garbage is
 * dropped on a few byte reads, without a checksum or an address copy. The
 * codec then checks the rest in the same spirit (length, checksum last).
 */
import type { DecodeErrorKind } from '../codec/index.js';

/** `flood`: more copies of one sender's same advert than flood-gate.ts lets through. */
export type WireDropReason = 'checksum' | 'truncated' | 'version' | 'type' | 'vrid-zero' | 'unknown-vrid' | 'flood' | 'malformed';

export const WIRE_DROP_REASONS: readonly WireDropReason[] = ['checksum', 'truncated', 'version', 'type', 'vrid-zero', 'unknown-vrid', 'flood', 'malformed'];

export type WireDrops = Record<WireDropReason, number>;

export function emptyWireDrops(): WireDrops {
  return Object.fromEntries(WIRE_DROP_REASONS.map((r) => [r, 0])) as WireDrops;
}

export interface HeaderVerdict {
  reason: WireDropReason;
  /** The VRID byte, 0 when the packet is too short to carry one. */
  vrid: number;
  detail: string;
}

/**
 * Length, version, type, VRID 0 and whether the socket serves the VRID, in
 * that order. Returns null when the packet is worth decoding.
 */
export function screenHeader(payload: Uint8Array, served: (vrid: number) => boolean): HeaderVerdict | null {
  if (payload.length < 8) return { reason: 'truncated', vrid: payload.length > 1 ? payload[1]! : 0, detail: `${payload.length} bytes, a VRRP header needs 8` };
  const b0 = payload[0]!;
  const vrid = payload[1]!;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) return { reason: 'version', vrid, detail: `version ${version}, expected 2 or 3` };
  if ((b0 & 0x0f) !== 1) return { reason: 'type', vrid, detail: `type ${b0 & 0x0f}, only 1 (ADVERTISEMENT) is defined` };
  if (vrid === 0) return { reason: 'vrid-zero', vrid, detail: 'VRID 0; valid VRIDs are 1..255' };
  if (!served(vrid)) return { reason: 'unknown-vrid', vrid, detail: `VRID ${vrid} is not run on this socket` };
  return null;
}

/** The drop reason for a codec refusal. */
export function reasonOfDecodeError(kind: DecodeErrorKind): WireDropReason {
  switch (kind) {
    case 'bad-checksum':
      return 'checksum';
    case 'short-buffer':
    case 'address-count-mismatch':
      return 'truncated';
    case 'bad-version':
      return 'version';
    case 'bad-type':
      return 'type';
    case 'vrid-zero':
      return 'vrid-zero';
    default:
      return 'malformed';
  }
}
