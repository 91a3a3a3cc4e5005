/**
 * Event timestamps with nanosecond resolution that never go backwards.
 *
 * Date.now() has millisecond resolution and follows NTP steps; process.hrtime is
 * monotonic but has no epoch. The clock reads the wall clock once and advances it
 * by hrtime deltas, so events of one process are ordered by time exactly as they
 * were made, and `monoNs` lets consumers measure intervals without trusting wall time.
 */

export interface EventTime {
  /** ISO 8601 UTC with 9 fraction digits, e.g. 2026-11-26T08:19:34.123456789Z. */
  time: string;
  /** process.hrtime.bigint() at the same instant, as a decimal string. */
  monoNs: string;
}

export interface EventClock {
  now(): EventTime;
}

/** Formats nanoseconds since the Unix epoch as ISO 8601 with 9 fraction digits. */
export function isoNs(epochNs: bigint): string {
  const ms = epochNs / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...T08:19:34.123Z
  const frac = (epochNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Nanoseconds since the epoch of an ISO time with up to 9 fraction digits; undefined when unparsable. */
export function parseIsoNs(iso: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(iso);
  if (!m) return undefined;
  const s = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(s)) return undefined;
  return BigInt(s) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * A clock anchored on the wall clock now.
 * @param wallMs the anchor (Date.now() by default; tests pass a fixed one).
 * @param mono the monotonic source (process.hrtime.bigint by default).
 */
export function createEventClock(wallMs: number = Date.now(), mono: () => bigint = process.hrtime.bigint): EventClock {
  const anchorMono = mono();
  const anchorWall = BigInt(wallMs) * 1_000_000n;
  return {
    now() {
      const m = mono();
      return { time: isoNs(anchorWall + (m - anchorMono)), monoNs: m.toString() };
    },
  };
}
