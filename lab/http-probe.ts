/**
 * A client that asks an HTTP URL (the VIP) every few milliseconds from a lab
 * node and records who answered, to measure client-visible downtime during a
 * failover. It runs as a child Node process inside the node's namespace, with
 * a bounded duration and a per-request timeout. Each probe opens a fresh
 * connection (so a stale ARP entry or a dead server shows up) and asks
 * `requestsPerConnection` times on it, one request after the other's answer
 * (keep-alive), so connections are open across a VIP move.
 */
import type { Lab, SpawnedProcess } from './lab.js';

export interface ProbeSample {
  /** Send time, ms since the probe started. */
  t: number;
  ok: boolean;
  /** First line of the body (the node name nginx serves), or the error code. */
  answer: string;
  /** How long the request took to answer or fail (ms). */
  ms?: number;
  /** Which connection asked (probes count from 0). */
  conn?: number;
}

// Plain JS so it runs with `node -e` in any namespace without the project's loader.
const PROBE_SOURCE = `
const http = require('node:http');
const [url, interval, duration, timeout, perConnection] = process.argv.slice(1);
const start = performance.now();
let pending = 0;
// A request that neither answers, errors nor times out must not keep the
// probe alive: past this bound every unfinished request is reported as failed.
setTimeout(() => {
  for (let i = 0; i < pending; i++) process.stdout.write(JSON.stringify({ t: -1, ok: false, answer: 'NO_ANSWER' }) + '\\n');
  process.exit(0);
}, Number(duration) + 2 * Number(timeout) + 1000);
let conns = 0;
const ask = (agent, left, conn) => {
  const t = performance.now() - start;
  pending++;
  let settled = false;
  const done = (ok, answer) => {
    if (settled) return;
    settled = true;
    pending--;
    process.stdout.write(JSON.stringify({ t: Math.round(t * 1000) / 1000, ok, answer, ms: Math.round((performance.now() - start - t) * 1000) / 1000, conn }) + '\\n');
    // The next request reuses the connection; after a failure the connection is gone.
    if (ok && left > 1) ask(agent, left - 1, conn);
    else if (agent) agent.destroy();
  };
  const req = http.get(url, { agent: agent || false, timeout: Number(timeout) }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => done(res.statusCode === 200, body.split('\\n')[0]));
    res.on('error', (e) => done(false, e.code || 'error'));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => done(false, e.code || 'error'));
};
const tick = () => {
  const t = performance.now() - start;
  if (t >= Number(duration)) { const wait = () => pending ? setTimeout(wait, 10) : process.exit(0); return wait(); }
  const n = Number(perConnection);
  ask(n > 1 ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : null, n, conns++);
  setTimeout(tick, Number(interval));
};
tick();
`;

export interface HttpProbe {
  proc: SpawnedProcess;
  /** Samples so far (in arrival order). */
  samples(): ProbeSample[];
  /** Resolves once the probe's duration has passed and its last answers are in. */
  finished(): Promise<ProbeSample[]>;
}

export interface HttpProbeOptions {
  intervalMs: number;
  durationMs: number;
  /** Per request. */
  timeoutMs: number;
  /** Requests asked in turn on each connection (keep-alive); default 1. */
  requestsPerConnection?: number;
}

export function startHttpProbe(lab: Lab, node: string, url: string, options: HttpProbeOptions): HttpProbe {
  const proc = lab.spawn(node, process.execPath, [
    '-e',
    PROBE_SOURCE,
    url,
    String(options.intervalMs),
    String(options.durationMs),
    String(options.timeoutMs),
    String(options.requestsPerConnection ?? 1),
  ]);
  const samples: ProbeSample[] = [];
  let partial = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        samples.push(JSON.parse(line) as ProbeSample);
      } catch {
        /* a partial line at exit */
      }
    }
  });
  return { proc, samples: () => samples, finished: async () => (await proc.exited, samples) };
}

/**
 * The longest stretch without a successful answer, measured between the send
 * times of the successful probes around it (ms), or 0 when none failed.
 */
export function longestOutage(samples: readonly ProbeSample[]): { ms: number; from: number; to: number } {
  const ok = samples.filter((s) => s.ok).sort((a, b) => a.t - b.t);
  const failures = samples.filter((s) => !s.ok);
  let worst = { ms: 0, from: 0, to: 0 };
  for (let i = 1; i < ok.length; i++) {
    const a = ok[i - 1]!.t;
    const b = ok[i]!.t;
    if (!failures.some((f) => f.t > a && f.t < b)) continue;
    if (b - a > worst.ms) worst = { ms: b - a, from: a, to: b };
  }
  return worst;
}
