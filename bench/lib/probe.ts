/**
 * Client-visible availability of a VIP: a UDP echo server on each router
 * node (bound to 0.0.0.0, so it answers on whatever node holds the VIP) and a
 * probe in the client node that sends a datagram every millisecond and
 * reports every silence longer than a threshold between two answers.
 *
 * Both are tiny plain-JS programs run with `node -e` (no loader start-up),
 * each bounded in lifetime by an argument.
 */
import { isAlive, type Lab, type SpawnedProcess } from '../../lab/index.js';

const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.on('error', () => {});
s.bind(Number(process.argv[1]), '0.0.0.0');
setTimeout(() => process.exit(0), Number(process.argv[2])).unref();
setInterval(() => {}, 1 << 30);
`;

// Gap lines: "G <lastAnswerEpochMs> <nextAnswerEpochMs>"; heartbeats every
// 100 ms: "H <epochMs> <answers so far> <lastAnswerEpochMs>".
const PROBE = `
const [host, port, intervalMs, maxMs, thresholdMs] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
const now = () => performance.timeOrigin + performance.now();
const payload = Buffer.alloc(8);
let last = 0, answers = 0;
s.on('error', () => {});
s.on('message', () => {
  const t = now();
  if (last > 0 && t - last > Number(thresholdMs)) process.stdout.write('G ' + last.toFixed(3) + ' ' + t.toFixed(3) + '\\n');
  last = t;
  answers++;
});
s.bind(0, () => {
  setInterval(() => s.send(payload, Number(port), host), Number(intervalMs));
  setInterval(() => process.stdout.write('H ' + now().toFixed(3) + ' ' + answers + ' ' + last.toFixed(3) + '\\n'), 100);
});
setTimeout(() => process.exit(0), Number(maxMs));
`;

export const ECHO_PORT = 7007;
export const PROBE_INTERVAL_MS = 1;
/** Silences up to this long count as normal probe jitter and are not reported. */
export const GAP_THRESHOLD_MS = 2.5;

/** Wall-clock time in ms with sub-ms resolution, comparable with the probe's and tcpdump's timestamps. */
/** In waitSteady, silences up to this long do not count as outages. */
const STEADY_SILENCE_MS = 20;

export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export function startEcho(lab: Lab, node: string, lifetimeMs: number): SpawnedProcess {
  return lab.spawn(node, process.execPath, ['-e', ECHO, String(ECHO_PORT), String(lifetimeMs)], ['ignore', 'ignore', 'ignore']);
}

export interface Probe {
  /**
   * The longest silence between two answers that overlaps [from, to]
   * (epoch ms), or null when none exceeded GAP_THRESHOLD_MS.
   */
  longestGap(from: number, to: number): { from: number; to: number; ms: number } | null;
  /** Waits (bounded) until answers have flowed without a reportable silence for `steadyMs` after `after`; returns the time or null. */
  waitSteady(after: number, steadyMs: number, timeoutMs: number): Promise<number | null>;
  stop(): void;
}

export function startProbe(lab: Lab, node: string, target: string, lifetimeMs: number): Probe {
  const proc = lab.spawn(node, process.execPath, [
    '-e',
    PROBE,
    target,
    String(ECHO_PORT),
    String(PROBE_INTERVAL_MS),
    String(lifetimeMs),
    String(GAP_THRESHOLD_MS),
  ]);
  const gaps: { from: number; to: number }[] = [];
  let lastBeat = { at: 0, answers: 0, lastAnswer: 0 };
  let buffered = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'G') gaps.push({ from: Number(a), to: Number(b) });
      else if (kind === 'H') lastBeat = { at: Number(a), answers: Number(b), lastAnswer: Number(c) };
    }
    // Bounded memory on long soaks: old gaps are never asked for again.
    if (gaps.length > 100_000) gaps.splice(0, 50_000);
  });
  return {
    longestGap(from, to) {
      let best: { from: number; to: number; ms: number } | null = null;
      for (const g of gaps) {
        if (g.to < from || g.from > to) continue;
        const ms = g.to - g.from;
        if (!best || ms > best.ms) best = { ...g, ms };
      }
      return best;
    },
    async waitSteady(after, steadyMs, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        // Steady: the last answer is recent, and no outage-sized silence ended within the last steadyMs
        // (short ones are scheduling jitter on a busy machine).
        let lastGapEnd = 0;
        for (let i = gaps.length - 1; i >= 0 && gaps[i]!.to > after; i--) {
          if (gaps[i]!.to - gaps[i]!.from > STEADY_SILENCE_MS) {
            lastGapEnd = gaps[i]!.to;
            break;
          }
        }
        const since = Math.max(after, lastGapEnd);
        if (lastBeat.lastAnswer > since + steadyMs && lastBeat.at - lastBeat.lastAnswer < 20) return since;
        if (!isAlive(proc.pid)) return null;
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    },
    stop() {
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
