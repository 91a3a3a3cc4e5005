/**
 * The checker subsystem alone in a process: loads a keepalived.conf, plans its
 * checkers (planChecks) and runs a CheckRunner with the real probes and the
 * real clock, which is what the daemon runs for its checkers. bench/checkers.ts
 * starts it inside a network namespace, both to time real servers going down
 * and (before the daemon ran checkers) to measure the checkers' CPU and RSS.
 *
 *   node dist/bench/lib/check-child.js CONF LIFETIME_MS
 *
 * stdout, one JSON object a line, times as epoch ms:
 *   {"kind":"ready","checkers":N,"at":T}
 *   {"kind":"up"|"down","rs":"vs/rs","reason":R,"at":T}
 *   {"kind":"status","probes":N,"up":N,"down":N,"at":T}   (answering "status" on stdin)
 * It exits on its own after LIFETIME_MS, or when stdin closes.
 */
import { createInterface } from 'node:readline';
import { silentLogger } from '../../core/logger.js';
import { loadConfig } from '../../config/load.js';
import { planChecks } from '../../infra/check/plan.js';
import { CheckRunner } from '../../infra/check/runner.js';
import { systemClock } from '../../actors/vrrp/instance.js';

const now = (): number => performance.timeOrigin + performance.now();
const out = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ ...o, at: now() }) + '\n');

async function main(): Promise<void> {
  const [conf, lifetime] = process.argv.slice(2);
  if (conf === undefined) throw new Error('usage: check-child CONF LIFETIME_MS');
  const loaded = await loadConfig(conf);
  if (loaded.model === undefined) {
    const first = loaded.diagnostics.find((d) => d.severity === 'error');
    throw new Error(`config refused: ${first ? `${first.line}:${first.column} ${first.message}` : 'no model'}`);
  }
  const plan = planChecks(loaded.model);
  const clock = systemClock;
  const runner = new CheckRunner(plan, {
    clock,
    log: silentLogger(),
    listeners: [
      (e) => {
        if (e.type === 'realserver.up' || e.type === 'realserver.down')
          out({ kind: e.type === 'realserver.up' ? 'up' : 'down', rs: e.realServer, ...(e.type === 'realserver.down' ? { reason: e.reason } : {}) });
      },
    ],
  });
  runner.start();
  const checkers = plan.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.length, 0), 0);
  out({ kind: 'ready', checkers });

  const stop = (): void => {
    runner.stop();
    process.exit(0);
  };
  setTimeout(stop, Number(lifetime ?? 600_000)).unref();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() !== 'status') return;
    let probes = 0;
    let up = 0;
    let down = 0;
    for (const v of runner.status())
      for (const r of v.realServers) {
        if (r.alive) up++;
        else down++;
        for (const c of r.checkers) probes += c.probes;
      }
    out({ kind: 'status', probes, up, down });
  });
  rl.on('close', stop);
  // Keeps the process up while the checkers' timers are its only work.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`check-child: ${String(err)}\n`);
  process.exit(1);
});
