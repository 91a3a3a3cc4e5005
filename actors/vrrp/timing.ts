/**
 * RFC timing and election arithmetic, in one place. All durations are exact
 * (fractional) milliseconds: at 1 s adverts and priority 100 the
 * Master_Down_Interval is 3609.375 ms, not 3609 or 3610.
 */
import type { TrackedObject, VrrpVersion } from './types.js';

export const PRIORITY_OWNER = 255;
export const PRIORITY_STOP = 0;

export function centisecondsToMs(cs: number): number {
  return cs * 10;
}

interface TimingInput {
  version: VrrpVersion;
  /** Priority used in the skew: the effective one (255 for an owner). */
  priority: number;
  /** Master_Adver_Interval in centiseconds. */
  masterAdvertIntervalCs: number;
}

/**
 * Skew_Time in ms.
 * v3 (RFC 5798 §6.1, RFC 9568): ((256 − Priority) × Master_Adver_Interval) / 256.
 * v2 (RFC 3768 §6.1): (256 − Priority) / 256 seconds, independent of the interval;
 * keepalived computes it the same way for v2.
 */
export function skewTimeMs(t: TimingInput): number {
  const weight = 256 - t.priority;
  return t.version === 3 ? (weight * centisecondsToMs(t.masterAdvertIntervalCs)) / 256 : (weight * 1000) / 256;
}

/** Master_Down_Interval in ms: 3 × Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(t: TimingInput): number {
  return 3 * centisecondsToMs(t.masterAdvertIntervalCs) + skewTimeMs(t);
}

/**
 * The first Master_Down_Timer of a non-owner configured with keepalived's
 * `state MASTER`: one advert interval plus the skew of priority 255 (keepalived's
 * VRRP_TIMER_SKEW_MIN), enough to hear an existing master before taking over.
 */
export function initialMasterHintMs(t: Omit<TimingInput, 'priority'>): number {
  return centisecondsToMs(t.masterAdvertIntervalCs) + skewTimeMs({ ...t, priority: PRIORITY_OWNER });
}

// The RFC 5798 §6.4.3 tie-break compares primary addresses as unsigned
// big-endian integers; the codec's address helpers are the one implementation.
export { compareAddresses, formatAddress } from '../../wire/codec/address.js';

/**
 * keepalived's effective priority: the base priority plus the weights of tracked
 * objects (positive weights count while up, negative ones while down; a
 * value-weighted object's offset counts while up), clamped to 1..254. An address
 * owner (255) is never adjusted.
 */
export function effectivePriorityOf(basePriority: number, tracks: readonly TrackedObject[]): number {
  if (basePriority === PRIORITY_OWNER) return PRIORITY_OWNER;
  let total = basePriority;
  for (const t of tracks) {
    if (t.offset !== undefined) {
      if (t.up) total += t.offset;
    } else if (t.weight > 0 && t.up) total += t.weight;
    else if (t.weight < 0 && !t.up) total += t.weight;
  }
  return total < 1 ? 1 : total > PRIORITY_OWNER - 1 ? PRIORITY_OWNER - 1 : total;
}

/** Number of tracked objects that are down and fault the instance: weight 0 or value-weighted (Fault while > 0). */
export function faultCountOf(tracks: readonly TrackedObject[]): number {
  let n = 0;
  for (const t of tracks) if ((t.weight === 0 || t.offset !== undefined) && !t.up) n++;
  return n;
}

export function isValidPriority(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= PRIORITY_OWNER;
}
