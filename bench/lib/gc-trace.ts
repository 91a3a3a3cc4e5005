/**
 * GC pauses from V8's --trace-gc lines, which a daemon run with that flag
 * writes to stdout between its log lines:
 *   [pid:isolate]  1234 ms: Scavenge 4.1 (5.8) -> 3.6 (6.8) MB, 0.78 / 0.00 ms  (average mu = ...) allocation failure;
 * The first figure after "MB," is the pause of the JavaScript thread (the
 * second is the part spent in background threads): what delays a timer or an advert.
 */
export interface GcPauses {
  count: number;
  longestMs: number;
  totalMs: number;
  /** The longest pause's kind: Scavenge, Mark-Compact, ... */
  longestKind: string;
  /** When the longest pause began, in ms since the process started (V8's own clock): to line it up with a long advert interval. */
  longestAtMs: number;
}

const GC_LINE =
  /(\d+) ms: ([A-Za-z-]+(?: [A-Za-z-]+)*?)(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

/** One pause: when it began (ms since the process started, V8's clock), how long and of what kind. */
export interface GcPause {
  atMs: number;
  ms: number;
  kind: string;
}

/** The pauses in `text` of at least `minMs`, in order (other lines are ignored). */
export function gcPauseList(text: string, minMs = 0): GcPause[] {
  const out: GcPause[] = [];
  for (const line of text.split('\n')) {
    const m = GC_LINE.exec(line);
    if (m && Number(m[3]) >= minMs) out.push({ atMs: Number(m[1]), ms: Number(m[3]), kind: m[2]! });
  }
  return out;
}

/** Every pause in `text`, summed up. */
export function gcPauses(text: string): GcPauses {
  const out: GcPauses = { count: 0, longestMs: 0, totalMs: 0, longestKind: '', longestAtMs: Number.NaN };
  for (const p of gcPauseList(text)) {
    out.count++;
    out.totalMs += p.ms;
    if (p.ms > out.longestMs) {
      out.longestMs = p.ms;
      out.longestKind = p.kind;
      out.longestAtMs = p.atMs;
    }
  }
  return out;
}
