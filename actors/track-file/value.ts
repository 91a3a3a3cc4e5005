/**
 * keepalived's track_file arithmetic, as pure functions: what a file's text
 * means as a number, and what that number does to a tracking instance.
 *
 * keepalived reads at most 127 bytes and parses them as C's strtol with base 0
 * (so `0x1f` is hexadecimal and `017` octal, leading blanks are skipped, trailing
 * text is ignored, and text without digits is 0). An empty or missing file is 0.
 * A number beyond -2^31 .. 2^31 is logged and ignored: the previous value stays.
 */

/** keepalived reads this many bytes of a tracked file. */
export const TRACK_FILE_READ_BYTES = 127;

export type FileValue = { ok: true; value: number } | { ok: false; reason: string };

const INT32_MIN = -(2 ** 31);
const INT32_MAX_PLUS_ONE = 2 ** 31;
// strtol's range on a 64-bit host: beyond it errno is ERANGE and keepalived ignores the read.
const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

/**
 * The value of a tracked file's content (`null`: the file is absent or unreadable, which is 0).
 * @returns the value, or `ok: false` when keepalived would ignore the read (out of range).
 */
export function parseFileValue(text: string | null): FileValue {
  if (text === null) return { ok: true, value: 0 };
  const s = text.slice(0, TRACK_FILE_READ_BYTES);
  // strtol's grammar: isspace* [+-]? (0[xX] hex | 0 octal | decimal)
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { ok: true, value: 0 };
  const digits = m[2]!;
  const magnitude = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const n = m[1] === '-' ? -magnitude : magnitude;
  if (n > LONG_MAX || n < LONG_MIN) return { ok: false, reason: `number ${m[0].trim()} out of range` };
  const value = Number(n);
  if (value < INT32_MIN || value > INT32_MAX_PLUS_ONE) return { ok: false, reason: `invalid number ${value}` };
  return { ok: true, value };
}

/** How a file value acts on one tracking instance. */
export interface FileEffect {
  /** The instance is in Fault because of this file. */
  fault: boolean;
  /** Points added to the priority (0 while in Fault). */
  offset: number;
}

/** keepalived keeps a file's contribution in -254..253; -254 itself means Fault. */
const FAULT_FLOOR = -254;
const CONTRIBUTION_MAX = 253;

/**
 * The effect of `value` through a `weight [reverse]` reference.
 *
 * Weight 0: any non-zero value is Fault (with reverse: a zero value is).
 * Otherwise value × weight (negated by reverse) is added to the priority,
 * capped at 253; at -254 or below the instance goes to Fault instead.
 */
export function fileEffect(value: number, weight: number, reverse: boolean): FileEffect {
  if (weight === 0) return { fault: (value !== 0) !== reverse, offset: 0 };
  // `|| 0`: no -0 from 0 × negative numbers.
  const product = value * weight * (reverse ? -1 : 1) || 0;
  if (product <= FAULT_FLOOR) return { fault: true, offset: 0 };
  return { fault: false, offset: Math.min(product, CONTRIBUTION_MAX) };
}
