/** Durations in scenario files and on the command line: a number of ms, or `500ms`, `1.5s`, `2m`. */
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/;

/** Milliseconds of a duration (`250`, `'250ms'`, `'1.5s'`, `'2m'`), or undefined when it is not one. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}
