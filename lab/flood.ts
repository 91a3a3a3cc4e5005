/**
 * A hostile host for the lab: sends precomputed VRRP messages to the VRRP
 * group at a bounded rate for a bounded time, round-robin, then prints one
 * JSON line ({ sent, errors, ms }) and exits. Run it in the attacker's
 * namespace in its own process (`ip netns exec NS node lab/flood.js SPEC`),
 * so its CPU is not the test's or the daemon's. SPEC is JSON: FloodSpec.
 *
 * The kernel builds the IP header (raw IP socket, the wire addon's): the TTL
 * is chosen per message, the source is the namespace's own address.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../core/logger.js';
import type { Lab } from './lab.js';
import { within } from './run.js';
import { openVrrpSocket, type VrrpSocket } from '../wire/socket/index.js';

export interface FloodSpec {
  interface: string;
  family: 4 | 6;
  /** Packets per second over all messages (at most 100,000). */
  pps: number;
  /** At most 30 s. */
  durationMs: number;
  /** VRRP messages as hex, each with the TTL to send it with (default 255). */
  messages: { hex: string; ttl?: number }[];
}

export interface FloodResult {
  sent: number;
  errors: number;
  ms: number;
}

const TICK_MS = 1;

export async function flood(spec: FloodSpec): Promise<FloodResult> {
  const pps = Math.min(Math.max(1, spec.pps), 100_000);
  const durationMs = Math.min(Math.max(1, spec.durationMs), 30_000);
  const sockets = new Map<number, VrrpSocket>();
  const logger = silentLogger();
  const plan = spec.messages.map((m) => {
    const ttl = m.ttl ?? 255;
    let socket = sockets.get(ttl);
    if (!socket) {
      const r = openVrrpSocket({ family: spec.family, interface: spec.interface, mode: 'multicast', hopsForTesting: ttl, logger });
      if (!r.ok) throw new Error(`cannot open a raw socket: ${r.code}`);
      socket = r.value;
      sockets.set(ttl, socket);
    }
    return { socket, payload: Buffer.from(m.hex, 'hex') };
  });
  const start = performance.now();
  let sent = 0;
  let errors = 0;
  try {
    for (;;) {
      const elapsed = performance.now() - start;
      if (elapsed >= durationMs) break;
      // Catch up to the rate: timers are coarse, the count is exact.
      const due = Math.min(Math.floor((elapsed * pps) / 1000), Math.floor((durationMs * pps) / 1000));
      while (sent + errors < due) {
        const m = plan[(sent + errors) % plan.length]!;
        if (m.socket.send(m.payload).ok) sent++;
        else errors++;
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    for (const s of sockets.values()) s.close();
  }
  return { sent, errors, ms: Math.round(performance.now() - start) };
}

/** Runs the flood in `node` of `lab` in its own process; resolves with its result. */
export async function floodFrom(lab: Lab, node: string, spec: FloodSpec): Promise<FloodResult> {
  const script = fileURLToPath(import.meta.url);
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = lab.spawn(node, process.execPath, [...loader, script, JSON.stringify(spec)], ['ignore', 'pipe', 'pipe']);
  let out = '';
  let err = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await within(proc.exited, spec.durationMs + 15_000);
  if (code === 'timeout') process.kill(proc.pid, 'SIGKILL');
  if (code !== 0) throw new Error(`flood in ${node} ended with ${String(code)}: ${err.trim()}`);
  return JSON.parse(out) as FloodResult;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FloodSpec;
  flood(spec).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`flood: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
