// Link change → VRRP reaction latency of the vipflow daemon: how long after
// `ip link set eth0 down` returns does the Master log its move to Fault, and
// after `up` its return out of Fault. Namespace lab prefix vfnlb (subnet
// 212): node a (vipflow, priority 150, Master), node b (vipflow, 100).
//
//   npx tsx bench/link-change.ts [--trials N] [--quick] [--idle-seconds S]
//
// Then the idle cost: one daemon alone with one instance (Master, advert_int
// 1), its CPU (utime + stime from /proc) over S seconds (default 30) after
// the second GARP burst, as % of one core.
//
// The figure is the daemon's log timestamp (pino isoTime, ms resolution) minus
// Date.now() when the `ip` command returned in this process, on the same host
// clock. It can come out slightly negative: the daemon may react (netlink)
// before this process has reaped `ip`. A sysfs poller of period P shows a
// spread of about 0..P; a netlink listener only the scheduling delay.
import { parseArgs } from 'node:util';
import { createLab, sleep, sweepStaleLabs, type Lab, type LogLine, type VipflowDaemon } from '../lab/index.js';
import { startVipflow } from '../lab/vipflow.js';
import { silentLogger } from '../core/logger.js';
import { cpuMs } from './lib/proc-usage.js';
import { fmt, max, median, table } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    trials: { type: 'string' },
    'idle-seconds': { type: 'string' },
  },
});
const TRIALS = Number(opts.trials ?? (opts.quick ? 5 : 20));
const IDLE_S = Number(opts['idle-seconds'] ?? (opts.quick ? 10 : 30));
const PREFIX = 'vfnlb';
const SUBNET = 212;
const logger = silentLogger();
const say = (s: string) => process.stdout.write(s + '\n');

function conf(routerId: string, priority: number, advertInt = 0.1): string {
  return [
    'global_defs {',
    `  router_id ${routerId}`,
    '}',
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 51',
    '  version 3',
    `  priority ${priority}`,
    `  advert_int ${advertInt}`,
    '  virtual_ipaddress {',
    `    198.18.${SUBNET}.100/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The first transition line into `to` logged at index >= from; its log time in epoch ms. */
async function loggedAt(d: VipflowDaemon, from: number, to: string, timeoutMs: number): Promise<number | undefined> {
  const isIt = (l: LogLine) => l.to === to && d.lines.indexOf(l) >= from;
  const line = await d.waitForLog(isIt, timeoutMs);
  return line ? Date.parse(line.time) : undefined;
}

/** Runs `ip link set eth0 <dir>` in a; returns Date.now() when it returned. */
async function setLink(lab: Lab, dir: 'up' | 'down'): Promise<number> {
  const r = await lab.exec('a', 'ip', ['link', 'set', 'eth0', dir]);
  const at = Date.now();
  if (r.code !== 0) throw new Error(`ip link set ${dir}: ${r.stderr}`);
  return at;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  await sweepStaleLabs(PREFIX, logger);
  const lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
  const daemons: VipflowDaemon[] = [];
  try {
    const b = await startVipflow(lab, 'b', 'b', conf('b', 100));
    const a = await startVipflow(lab, 'a', 'a', conf('a', 150));
    daemons.push(a, b);
    if (!(await a.waitForState('master', 3000))) throw new Error('a did not become Master');
    const down: number[] = [];
    const up: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      // A random phase against any periodic poller in the daemon.
      await sleep(150 + Math.random() * 100);
      let mark = a.lines.length;
      const wentDown = await setLink(lab, 'down');
      const fault = await loggedAt(a, mark, 'fault', 2000);
      if (fault === undefined) throw new Error(`trial ${i}: no Fault after link down`);
      down.push(fault - wentDown);
      await sleep(150 + Math.random() * 100);
      mark = a.lines.length;
      const transitionsBefore = a.transitions.length;
      const cameUp = await setLink(lab, 'up');
      const left = await loggedAt(a, mark, 'backup', 2000);
      if (left === undefined) throw new Error(`trial ${i}: Fault not left after link up`);
      up.push(left - cameUp);
      // It preempts b again after Master_Down_Interval (~0.35 s).
      if (!(await a.waitForState('master', 3000, transitionsBefore))) throw new Error(`trial ${i}: a did not preempt again`);
    }
    const row = (label: string, xs: number[]) => [
      label,
      String(xs.length),
      fmt(median(xs), 0),
      fmt(percentile(xs, 90), 0),
      fmt(max(xs), 0),
      fmt(Math.min(...xs), 0),
    ];
    say(`vipflow link change → state change, ms (log time − \`ip\` return), ${TRIALS} trials`);
    say(table([['event', 'n', 'median', 'p90', 'max', 'min'], row('link down → Fault', down), row('link up → Backup', up)]));
    await a.kill();
    await b.kill();
    // garp_master_delay (5 s) sends a second burst after becoming Master: measure after it.
    const idle = await startVipflow(lab, 'a', 'a-idle', conf('a', 150, 1));
    daemons.push(idle);
    if (!(await idle.waitForState('master', 5000))) throw new Error('idle daemon did not become Master');
    await sleep(6500);
    const before = cpuMs(idle.pid);
    await sleep(IDLE_S * 1000);
    const used = cpuMs(idle.pid);
    if (before === null || used === null) throw new Error('idle daemon gone');
    say(`idle daemon, 1 instance (Master, advert_int 1): ${fmt(((used - before) / (IDLE_S * 1000)) * 100, 2)}% of a core over ${IDLE_S} s`);
  } finally {
    for (const d of daemons) await d.kill();
    await lab.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
