/**
 * The checker subsystem's benchmark (issue 11):
 *
 *  reload  2,000 virtual servers / 37,000 real servers (TCP_CHECK, every tenth
 *          virtual server HTTP_GET), one real server's checker changed: parse and
 *          validate, planChecks and CheckRunner.reload timed apart, against the
 *          0.5 s target, in this process with fake probes (no network).
 *  down    failure to realserver.down: 30 real servers per series (TCP_CHECK and
 *          HTTP_GET; server stopped = refused, SYNs dropped by nftables = timeout),
 *          delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1, all
 *          series at once in a namespace; p50/p99/max against keepalived's bound.
 *  load    CPU and RSS of the daemon checking 1,000 and 10,000 real servers
 *          (TCP_CHECK against a Node listener, HTTP_GET against nginx, delay_loop 1)
 *          in a namespace, every real server on its own 127/8 address; the servers'
 *          connection counts confirm the checks ran.
 *  hup     the daemon's SIGHUP reload with the reload part's configuration, its
 *          checkers probing real listeners in the namespace.
 *
 * keepalived's checker process needs IPVS, which this kernel lacks, so there is
 * no keepalived in the same run: the configured bounds and the 0.5 s target
 * (keepalived 2.3: 2,277 VS / 37,205 RS reloaded in 0.24 s) are the reference.
 *
 *   node dist/bench/checkers.js [--quick] [--parts reload,down,load,hup] [--seconds S] [--counts 1000,10000] [--target daemon|child]
 *
 * --target child measures the checker subsystem alone (planChecks + CheckRunner
 * with the real probes, bench/lib/check-child.ts) in place of the daemon; a daemon
 * whose checks do not reach the servers is replaced by it too, and the output says so.
 * Lab prefix vfbchk (one namespace `vfbchk-c`, plus the lab's bridge namespace).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../core/logger.js';
import { OffThreadConfigLoader } from '../infra/config/off-thread-loader.js';
import { planChecks, type PlanInput } from '../infra/check/plan.js';
import { CheckRunner, type ProbeTable, type ReloadChanges } from '../infra/check/runner.js';
import { addDropRule, createLab, isAlive, pollUntil, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { controlRequest } from '../infra/control/control-socket.js';
import { checkConf, nthAddress, spread, type BenchCheckerType, type CheckTiming } from './lib/check-conf.js';
import { serverConnections, startCheckChild, startCheckServers, startLabNginx, vipflowProgram, type LabNginx, type LineChild } from './lib/check-procs.js';
import { cpuMs, rssKiB } from './lib/proc-usage.js';
import { startRouter, type Router } from './lib/routers.js';
import { fmt, median, percentile, table } from './lib/stats.js';
import { systemClock } from '../actors/vrrp/instance.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    parts: { type: 'string', default: 'reload,down,load,hup' },
    seconds: { type: 'string' },
    counts: { type: 'string', default: '1000,10000' },
    target: { type: 'string', default: 'daemon' },
  },
});
const PARTS = new Set(opts.parts.split(','));
const WINDOW_S = Number(opts.seconds ?? (opts.quick ? 10 : 20));
const COUNTS = opts.counts.split(',').map(Number);
const TARGET = opts.target === 'child' ? 'child' : 'daemon';
const RELOAD_VS = 2000;
const RELOAD_RS = 37000;
const RELOAD_REPEATS = opts.quick ? 3 : 5;
const TARGET_S = 0.5;
const PREFIX = 'vfbchk';
const NODE = 'c';
const SERIES_SIZE = 30;

const say = (s: string): void => void process.stdout.write(s + '\n');
const now = (): number => performance.timeOrigin + performance.now();
const figures: string[][] = [['figure', 'measured', 'reference', 'note']];

// --- reload ---------------------------------------------------------------------------------

/** The reload configuration: real server k on 127.3/16 (port 80 for HTTP_GET, 9100 for TCP_CHECK); `changed` gets connect_timeout 4. */
// warmup as keepalived's default (the delay_loop): a shorter one starts 37,000 probes within a few seconds, and the
// daemon then ran out of file descriptors (EMFILE at a 20,000 limit) and marked thousands of real servers down.
const RELOAD_TIMING: CheckTiming = { delayLoopS: 10, connectTimeoutS: 3, retry: 1, delayBeforeRetryS: 1 };
const RELOAD_WARMUP_S = RELOAD_TIMING.warmupS ?? RELOAD_TIMING.delayLoopS;
const CHANGED_RS = Math.floor(RELOAD_RS / 2);
function reloadConf(changed: boolean): string {
  const vss = spread(
    RELOAD_VS,
    RELOAD_RS,
    (i) => nthAddress('198.18', i),
    (k) => {
      const http = Math.floor(k / (RELOAD_RS / RELOAD_VS)) % 10 === 0;
      return {
        address: nthAddress('127.3', k),
        port: http ? 80 : 9100,
        type: http ? 'HTTP_GET' : 'TCP_CHECK',
        ...(changed && k === CHANGED_RS ? { connectTimeoutS: 4 } : {}),
      };
    },
  );
  return checkConf(vss, RELOAD_TIMING);
}

function changesText(c: ReloadChanges): string {
  const n = (xs: string[]) => xs.length;
  return `added ${n(c.added.virtualServers)} VS / ${n(c.added.realServers)} RS / ${n(c.added.checkers)} checkers, removed ${n(c.removed.virtualServers)} / ${n(c.removed.realServers)} / ${n(c.removed.checkers)}, kept ${n(c.kept.checkers)} checkers`;
}

async function reloadPart(dir: string): Promise<void> {
  say(`\n[reload] ${RELOAD_VS} virtual servers, ${RELOAD_RS} real servers, one real server's checker changed; in-process, fake probes (no network)`);
  const paths = [join(dir, 'reload-a.conf'), join(dir, 'reload-b.conf')] as const;
  writeFileSync(paths[0], reloadConf(false));
  writeFileSync(paths[1], reloadConf(true));
  say(
    `  config ${(readFileSync(paths[0]).length / 1048576).toFixed(1)} MB; machine load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
  );
  const t0 = performance.now();
  // As the daemon loads: on a worker thread, unchanged virtual servers shared with the running model.
  const loader = new OffThreadConfigLoader(silentLogger());
  const first = await loader.load(paths[0]);
  if (first.model === undefined) throw new Error(`reload config refused: ${JSON.stringify(first.diagnostics.find((d) => d.severity === 'error'))}`);
  const plan0 = planChecks(first.model);
  // As the daemon does: each plan is made knowing the last one (unchanged virtual servers keep theirs).
  let previous = { input: first.model as PlanInput, plan: plan0 };
  let running = first.model;
  // Fakes that succeed at once and only count: the reload is timed, not the network.
  let probesRun = 0;
  const ok = async () => (probesRun++, { ok: true as const });
  const counted: ProbeTable = { TCP_CHECK: ok, HTTP_GET: ok };
  const clock = systemClock;
  const runner = new CheckRunner(plan0, { clock, log: silentLogger(), probes: counted });
  runner.start();
  const checkers = plan0.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.length, 0), 0);
  say(`  initial load + plan + start: ${(performance.now() - t0).toFixed(0)} ms for ${plan0.virtualServers.length} VS, ${checkers} checkers`);
  // Every checker past its warmup, so the reload meets running checkers, as in a daemon.
  await sleep(RELOAD_WARMUP_S * 1000 + 500);
  const rows: { parse: number; plan: number; reload: number; total: number; cpu: number; mainBusy: number; changes: ReloadChanges }[] = [];
  try {
    for (let i = 0; i < RELOAD_REPEATS; i++) {
      const path = paths[(i + 1) % 2]!;
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const a = performance.now();
      const loaded = await loader.load(path, { running });
      const b = performance.now();
      if (loaded.model === undefined) throw new Error('reload config refused');
      running = loaded.model;
      const plan = planChecks(loaded.model, { previous });
      previous = { input: loaded.model, plan };
      const c = performance.now();
      const changes = runner.reload(plan);
      const d = performance.now();
      const cpu = process.cpuUsage(cpu0);
      const cpuMsUsed = (cpu.user + cpu.system) / 1000;
      const mainBusy = performance.eventLoopUtilization(elu0).active;
      rows.push({ parse: b - a, plan: c - b, reload: d - c, total: d - a, cpu: cpuMsUsed, mainBusy, changes });
      say(
        `  reload ${i + 1}: parse+validate ${(b - a).toFixed(0)} ms, planChecks ${(c - b).toFixed(0)} ms, runner.reload ${(d - c).toFixed(0)} ms, total ${(d - a).toFixed(0)} ms (CPU ${cpuMsUsed.toFixed(0)} ms, all threads; main thread busy ${mainBusy.toFixed(0)} ms); ${changesText(changes)}`,
      );
      await sleep(300);
    }
  } finally {
    runner.stop();
    await loader.close();
  }
  const exact = rows.every(
    (r) =>
      r.changes.added.checkers.length === 1 &&
      r.changes.removed.checkers.length === 1 &&
      r.changes.kept.checkers.length === checkers - 1 &&
      r.changes.added.realServers.length +
        r.changes.removed.realServers.length +
        r.changes.added.virtualServers.length +
        r.changes.removed.virtualServers.length ===
        0,
  );
  const med = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
  const total = med((r) => r.total) / 1000;
  say(
    `  median of ${rows.length}: total ${(total * 1000).toFixed(0)} ms against the ${TARGET_S * 1000} ms target: ${total < TARGET_S ? 'OK' : 'OVER'}; exactly one checker changed each time: ${exact ? 'yes' : 'NO'}; ${probesRun} fake probes ran meanwhile`,
  );
  const ref = `< ${TARGET_S * 1000} ms (keepalived 2.3: 240 ms for 2,277 VS / 37,205 RS)`;
  figures.push([
    'reload 2k VS / 37k RS: parse+validate',
    `${fmt(
      med((r) => r.parse),
      0,
    )} ms`,
    '',
    'median, on the worker thread, unchanged virtual servers shared',
  ]);
  figures.push([
    'reload 2k VS / 37k RS: planChecks',
    `${fmt(
      med((r) => r.plan),
      0,
    )} ms`,
    '',
    '',
  ]);
  figures.push([
    'reload 2k VS / 37k RS: runner.reload',
    `${fmt(
      med((r) => r.reload),
      0,
    )} ms`,
    '',
    exact ? '1 checker changed, rest kept' : 'CHANGES NOT EXACT',
  ]);
  figures.push([
    'reload 2k VS / 37k RS: total',
    `${fmt(total * 1000, 0)} ms`,
    ref,
    `${total < TARGET_S ? 'OK' : 'OVER TARGET'}; CPU ${fmt(
      med((r) => r.cpu),
      0,
    )} ms (main thread busy ${fmt(
      med((r) => r.mainBusy),
      0,
    )} ms); load average ${loadavg()[0]!.toFixed(1)}`,
  ]);
}

// --- failure to down --------------------------------------------------------------------------

interface Series {
  name: string;
  type: BenchCheckerType;
  fault: 'refused' | 'timeout';
}
const SERIES: Series[] = [
  { name: 'TCP_CHECK refused', type: 'TCP_CHECK', fault: 'refused' },
  { name: 'TCP_CHECK timeout', type: 'TCP_CHECK', fault: 'timeout' },
  { name: 'HTTP_GET refused', type: 'HTTP_GET', fault: 'refused' },
  { name: 'HTTP_GET timeout', type: 'HTTP_GET', fault: 'timeout' },
];
const DOWN_TIMING: CheckTiming = { delayLoopS: 1, connectTimeoutS: 1, retry: 1, delayBeforeRetryS: 1 };
/** keepalived's rule: the wait for the next check, then retry+1 failed probes with delay_before_retry between them. */
function boundS(fault: Series['fault'], t: CheckTiming): number {
  const probe = fault === 'timeout' ? t.connectTimeoutS : 0;
  return t.delayLoopS + (t.retry + 1) * probe + t.retry * t.delayBeforeRetryS;
}

async function downPart(lab: Lab, dir: string): Promise<void> {
  say(
    `\n[down] failure to realserver.down: ${SERIES.length} series of ${SERIES_SIZE} real servers at once, delay_loop ${DOWN_TIMING.delayLoopS}, connect_timeout ${DOWN_TIMING.connectTimeoutS}, retry ${DOWN_TIMING.retry}, delay_before_retry ${DOWN_TIMING.delayBeforeRetryS}; checker subsystem alone (planChecks + CheckRunner, real probes) in namespace ${lab.node(NODE).ns}`,
  );
  const servers: { series: number; address: string; port: number; spec: string }[] = [];
  SERIES.forEach((s, si) => {
    for (let i = 0; i < SERIES_SIZE; i++) {
      const address = `127.1.${si + 1}.${i + 1}`;
      const port = s.type === 'TCP_CHECK' ? 9000 : 8080;
      servers.push({ series: si, address, port, spec: `${s.type === 'TCP_CHECK' ? 'tcp' : 'http'}:${address}:${port}` });
    }
  });
  const conf = join(dir, 'down.conf');
  writeFileSync(
    conf,
    checkConf(
      SERIES.map((s, si) => ({
        address: `198.18.200.${si + 1}`,
        port: 80,
        realServers: servers.filter((x) => x.series === si).map((x) => ({ address: x.address, port: x.port, type: s.type })),
      })),
      DOWN_TIMING,
    ),
  );
  const srv = await startCheckServers(
    lab,
    NODE,
    servers.map((s) => s.spec),
    120_000,
  );
  let child: LineChild | undefined;
  try {
    child = await startCheckChild(lab, NODE, conf, 120_000);
    // Every real server starts up (alpha off) and stays so: wait out the warmup and a first probe of each.
    await sleep(DOWN_TIMING.delayLoopS * 1000 * 2 + 500);
    const early = child.lines.filter((l) => l.kind === 'down');
    if (early.length > 0) say(`  warning: ${early.length} real servers went down before any fault (${String(early[0]!.reason)})`);
    // Faults at random instants over 2 s, so they fall at every phase of the checkers' cycles.
    const spreadMs = 2000;
    const faults = servers.map((s, i) => ({ ...s, index: i, offset: Math.random() * spreadMs, at: Number.NaN }));
    const start = now();
    const nftMs: number[] = [];
    const run = async (kind: Series['fault']) => {
      for (const f of faults.filter((x) => SERIES[x.series]!.fault === kind).sort((a, b) => a.offset - b.offset)) {
        const wait = start + f.offset - now();
        if (wait > 0) await sleep(wait);
        if (kind === 'refused') {
          const from = srv.lines.length;
          srv.send(`close ${f.index}`);
          const l = await srv.waitFor((x) => x.kind === 'closed' && x.index === f.index, 2000, from);
          f.at = l?.at ?? Number.NaN;
        } else {
          // The rule is in force once nft returns: that instant is the fault.
          const a = now();
          const err = await addDropRule(lab, NODE, 'input', `ip daddr ${f.address} tcp dport ${f.port}`);
          f.at = now();
          nftMs.push(f.at - a);
          if (err !== undefined) throw new Error(`nft: ${err}`);
        }
      }
    };
    await Promise.all([run('refused'), run('timeout')]);
    const worst = Math.max(...SERIES.map((s) => boundS(s.fault, DOWN_TIMING)));
    const downs = () => new Map(child!.lines.filter((l) => l.kind === 'down').map((l) => [String(l.rs), l]));
    const key = (f: { address: string; port: number }) => `/${f.address}:${f.port}`;
    await pollUntil(() => (faults.every((f) => [...downs().keys()].some((k) => k.endsWith(key(f)))) ? true : undefined), (worst + 3) * 1000, 50);
    const seen = downs();
    say(`  faults injected over ${spreadMs} ms${nftMs.length ? `; nft rule took ${fmt(median(nftMs), 1)} ms median (max ${fmt(Math.max(...nftMs), 1)})` : ''}`);
    const rows = [['series', 'runs', 'downs', 'p50 ms', 'p99 ms', 'max ms', 'bound ms', 'within bound', 'reasons']];
    SERIES.forEach((s, si) => {
      const lat: number[] = [];
      const reasons = new Map<string, number>();
      for (const f of faults.filter((x) => x.series === si)) {
        const d = [...seen.entries()].find(([k]) => k.endsWith(key(f)))?.[1];
        if (d === undefined || !(d.at >= f.at)) continue;
        lat.push(d.at - f.at);
        reasons.set(String(d.reason), (reasons.get(String(d.reason)) ?? 0) + 1);
      }
      const bound = boundS(s.fault, DOWN_TIMING) * 1000;
      const within = lat.filter((x) => x <= bound).length;
      rows.push([
        s.name,
        String(SERIES_SIZE),
        String(lat.length),
        fmt(percentile(lat, 50), 0),
        fmt(percentile(lat, 99), 0),
        fmt(Math.max(...lat), 0),
        fmt(bound, 0),
        `${within}/${lat.length}`,
        [...reasons].map(([r, n]) => `${r} ${n}`).join(', '),
      ]);
      figures.push([
        `fault to down, ${s.name} (p50 / p99)`,
        `${fmt(percentile(lat, 50), 0)} / ${fmt(percentile(lat, 99), 0)} ms`,
        `bound ${fmt(bound, 0)} ms`,
        lat.length === SERIES_SIZE ? `${within}/${lat.length} within bound` : `only ${lat.length}/${SERIES_SIZE} went down`,
      ]);
    });
    say(table(rows));
    say(
      '  bound (keepalived): delay_loop (wait for the next check) + (retry+1) x connect_timeout (timeouts only; a refused probe fails at once) + retry x delay_before_retry;',
    );
    say(`  it leaves out the last good probe's own duration and timer lateness (a few ms). ${SERIES_SIZE} runs a series: p99 is the maximum.`);
  } finally {
    child?.stop();
    srv.stop();
  }
}

// --- daemon CPU and RSS -----------------------------------------------------------------------

const LOAD_TIMING: CheckTiming = { delayLoopS: 1, connectTimeoutS: 1, retry: 1, delayBeforeRetryS: 1 };
const TCP_PORT = 9000;
const HTTP_PORT = 80;

function loadConf(count: number, type: BenchCheckerType): string {
  const vss = spread(
    Math.max(1, Math.round(count / 20)),
    count,
    (i) => nthAddress('198.18', i),
    (k) => ({ address: nthAddress('127.2', k), port: type === 'TCP_CHECK' ? TCP_PORT : HTTP_PORT, type }),
  );
  return checkConf(vss, LOAD_TIMING);
}

interface Measured {
  pid: number;
  stop(): Promise<void>;
  what: string;
  /** probes started so far and real servers up/down, when the process tells */
  status(): Promise<{ probes: number; up: number; down: number; reasons?: string } | undefined>;
}

let serial = 0;
async function startTarget(lab: Lab, confText: string, target: 'daemon' | 'child', dir: string): Promise<Measured> {
  if (target === 'daemon') {
    const argv = vipflowProgram();
    const r: Router = await startRouter(
      lab,
      'vipflow',
      NODE,
      confText,
      { cmd: argv[0]!, args: argv.slice(1), describe: '', dispose: () => undefined },
      120_000,
    );
    const pid = r.pids()[0]!;
    return { pid, stop: () => r.stop(), what: 'daemon', status: () => daemonStatus(pid) };
  }
  const conf = join(dir, `load-${++serial}.conf`);
  writeFileSync(conf, confText);
  const c = await startCheckChild(lab, NODE, conf, 600_000);
  return {
    pid: c.proc.pid,
    what: 'checker child',
    async status() {
      const from = c.lines.length;
      c.send('status');
      const l = await c.waitFor((x) => x.kind === 'status', 5000, from);
      return l ? { probes: Number(l.probes), up: Number(l.up), down: Number(l.down) } : undefined;
    },
    async stop() {
      c.stop();
      await pollUntil(() => (isAlive(c.proc.pid) ? undefined : true), 3000, 20);
    },
  };
}

/** The state dir a daemon runs with, from its command line. */
function stateDirOf(pid: number): string | undefined {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const i = argv.indexOf('--state-dir');
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Slowest answer to a status request so far (the control socket's own client gives up after 3 s). */
let slowestStatusMs = 0;

/** Probes started and real servers up/down, from the daemon's status (its control socket, as `vipflow status --json` asks). */
async function daemonStatus(pid: number): Promise<{ probes: number; up: number; down: number; reasons?: string } | undefined> {
  const dir = stateDirOf(pid);
  if (dir === undefined) return undefined;
  const t0 = performance.now();
  let reply: { ok: boolean; status?: unknown };
  try {
    reply = await controlRequest(join(dir, 'control.sock'), 'status', 30_000);
  } catch (err) {
    say(`  daemon status: ${String(err)}`);
    return undefined;
  }
  slowestStatusMs = Math.max(slowestStatusMs, performance.now() - t0);
  type Vs = { realServers: { alive: boolean; checkers: { probes: number; lastFailure?: { reason: string } }[] }[] };
  const s = reply.status as { checks?: { virtualServers: Vs[] } } | undefined;
  let probes = 0;
  let up = 0;
  let down = 0;
  const downReasons = new Map<string, number>();
  for (const v of s?.checks?.virtualServers ?? [])
    for (const rs of v.realServers) {
      if (rs.alive) up++;
      else {
        down++;
        const reason = rs.checkers.find((c) => c.lastFailure !== undefined)?.lastFailure?.reason ?? '?';
        downReasons.set(reason, (downReasons.get(reason) ?? 0) + 1);
      }
      for (const c of rs.checkers) probes += c.probes;
    }
  return { probes, up, down, reasons: [...downReasons].map(([r, n]) => `${r} ${n}`).join(', ') };
}

interface LoadRow {
  /** what the process says of its probes, if it says */
  probes: string;
  cpuPct: number;
  rssMiB: number;
  checksPerS: number;
  what: string;
}

async function loadPart(lab: Lab, dir: string): Promise<void> {
  say(
    `\n[load] CPU and RSS with ${COUNTS.join(' and ')} real servers, delay_loop ${LOAD_TIMING.delayLoopS} s, connect_timeout ${LOAD_TIMING.connectTimeoutS}; ${WINDOW_S} s windows after a 3 s warm-up; target: ${TARGET}`,
  );
  const srv = await startCheckServers(lab, NODE, [`tcp:0.0.0.0:${TCP_PORT}`], 900_000);
  let nginx: LabNginx | undefined;
  const rows = [['real servers', 'checker', 'process', 'CPU % of a core', 'RSS MiB', 'checks/s seen by servers', 'expected/s']];
  try {
    nginx = await startLabNginx(lab, NODE, HTTP_PORT);
    for (const count of COUNTS) {
      for (const type of ['TCP_CHECK', 'HTTP_GET'] as const) {
        const served = () => (type === 'TCP_CHECK' ? serverConnections(srv) : nginx!.requests());
        const text = loadConf(count, type);
        const measure = async (target: 'daemon' | 'child'): Promise<LoadRow> => {
          const t = await startTarget(lab, text, target, dir);
          try {
            await sleep(3000);
            // The status call can take seconds from a busy daemon: it stays outside the CPU window, and its own instants time the probe rate.
            const p0 = await t.status();
            const tp0 = performance.now();
            const s0 = await served();
            const c0 = cpuMs(t.pid);
            const w0 = performance.now();
            await sleep(WINDOW_S * 1000);
            const c1 = cpuMs(t.pid);
            const w1 = performance.now();
            const s1 = await served();
            const p1 = await t.status();
            const tp1 = performance.now();
            const rss = rssKiB(t.pid);
            if (c0 === null || c1 === null || rss === null) throw new Error(`${t.what} ended during the window`);
            const probes =
              p0 && p1
                ? `; probes started ${fmt(((p1.probes - p0.probes) * 1000) / (tp1 - tp0), 0)}/s, real servers up ${p1.up}, down ${p1.down}${p1.reasons ? ` (last failure: ${p1.reasons})` : ''}`
                : '';
            return {
              cpuPct: ((c1 - c0) / (w1 - w0)) * 100,
              rssMiB: rss / 1024,
              checksPerS: ((s1 - s0) * 1000) / (w1 - w0),
              what: t.what,
              probes,
            };
          } finally {
            await t.stop();
          }
        };
        let row: LoadRow;
        let note = '';
        try {
          row = await measure(TARGET);
        } catch (err) {
          say(`  ${count} ${type}: failed: ${String(err).slice(0, 500)}`);
          rows.push([String(count), type, TARGET, '-', '-', '-', '-']);
          figures.push([`${TARGET} CPU / RSS, ${count} RS ${type}`, 'failed', '', String(err).slice(0, 80)]);
          continue;
        }
        // A daemon without checkers sends nothing at all; one that runs them but falls behind is measured as it is.
        if (TARGET === 'daemon' && !(row.checksPerS > count * 0.01)) {
          note = `the daemon's checks did not reach the servers (${fmt(row.checksPerS, 0)}/s): it does not run checkers yet; measured the checker child instead`;
          say(`  ${count} ${type}: ${note}`);
          row = await measure('child');
        }
        const expected = count / LOAD_TIMING.delayLoopS;
        rows.push([String(count), type, row.what, fmt(row.cpuPct, 1), fmt(row.rssMiB, 1), fmt(row.checksPerS, 0), fmt(expected, 0)]);
        say(
          `  ${count} ${type}: ${row.what} ${fmt(row.cpuPct, 1)}% CPU, ${fmt(row.rssMiB, 1)} MiB RSS, ${fmt(row.checksPerS, 0)} checks/s at the servers${row.probes}; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
        );
        figures.push([
          `${row.what} CPU / RSS, ${count} RS ${type}`,
          `${fmt(row.cpuPct, 1)}% / ${fmt(row.rssMiB, 1)} MiB`,
          '',
          `${fmt(row.checksPerS, 0)} checks/s (expected ~${fmt(expected, 0)})${note ? '; daemon ran no checkers' : ''}`,
        ]);
      }
    }
  } finally {
    srv.stop();
    if (nginx) process.kill(nginx.proc.pid, 'SIGTERM');
  }
  say(table(rows));
  say(
    `  CPU: utime+stime from /proc over the window, % of one core (10 ms ticks: ${fmt(1 / WINDOW_S, 2)}% is one tick); RSS: VmRSS at the end. The servers (nginx, a Node listener) are not counted,`,
  );
  say(
    "  but on loopback the kernel handles the server's side of each handshake inside the checker's connect(), which is charged to the checker (keepalived would pay it too).",
  );
  say('  checks/s at the servers below the expected rate means the checker process cannot keep its schedule (delay_loop counts from each result).');
  if (slowestStatusMs > 0) say(`  the daemon's status took up to ${fmt(slowestStatusMs, 0)} ms to answer (vipflow status gives up after 3000 ms).`);
}

// --- daemon SIGHUP ----------------------------------------------------------------------------

async function hupPart(lab: Lab): Promise<void> {
  say(`\n[hup] the daemon's SIGHUP reload: ${RELOAD_VS} VS / ${RELOAD_RS} RS, one real server's checker changed; probes against listeners in the namespace`);
  const srv = await startCheckServers(lab, NODE, ['tcp:0.0.0.0:9100'], 600_000);
  let nginx: LabNginx | undefined;
  let router: Router | undefined;
  try {
    nginx = await startLabNginx(lab, NODE, 80);
    const argv = vipflowProgram();
    const texts = [reloadConf(false), reloadConf(true)];
    const t0 = now();
    router = await startRouter(lab, 'vipflow', NODE, texts[0]!, { cmd: argv[0]!, args: argv.slice(1), describe: '', dispose: () => undefined }, 120_000);
    say(`  daemon up in ${fmt(now() - t0, 0)} ms`);
    await sleep(RELOAD_WARMUP_S * 1000 + 2000);
    const confPath = /--config (\S+)/.exec(readFileSync(`/proc/${router.pids()[0]!}/cmdline`, 'utf8').replaceAll('\0', ' '))?.[1];
    if (confPath === undefined) throw new Error('cannot find the daemon config path');
    const c0 = await serverConnections(srv);
    await sleep(1000);
    const probing = (await serverConnections(srv)) - c0;
    say(
      `  the daemon's TCP checks reaching the listener: ${probing}/s (about ${fmt((RELOAD_RS * 0.9) / RELOAD_TIMING.delayLoopS, 0)}/s when it runs checkers)`,
    );
    const times: number[] = [];
    const runnerMs: number[] = [];
    let exact = true;
    for (let i = 0; i < RELOAD_REPEATS; i++) {
      writeFileSync(confPath, texts[(i + 1) % 2]!);
      const before = router.log().length;
      const sent = now();
      const sentWall = Date.now();
      process.kill(router.pids()[0]!, 'SIGHUP');
      // Polled on the monotonic clock, and timed where the line is seen: the log's own times come from the wall clock.
      let line: string | undefined;
      const deadline = performance.now() + 180_000;
      while (line === undefined && performance.now() < deadline && router.pids().length > 0) {
        line = router
          .log()
          .slice(before)
          .split('\n')
          .find((l) => l.includes('"configuration reloaded"') || l.includes('reload refused'));
        if (line === undefined) await sleep(10);
      }
      const done = now();
      if (line === undefined) throw new Error(`no reload within ${fmt((done - sent) / 1000, 0)} s${router.pids().length === 0 ? ': the daemon exited' : ''}`);
      const parsed = JSON.parse(line) as { time: string | number; msg: string; loadMs?: number; applyMs?: number };
      times.push(done - sent);
      // The daemon's own account of the checkers' part: {ms, added, removed, kept}.
      const chk = router
        .log()
        .slice(before)
        .split('\n')
        .find((l) => l.includes('"checkers reloaded"'));
      let checkersPart = 'no "checkers reloaded" line';
      if (chk !== undefined) {
        const c = JSON.parse(chk) as { ms: number; kept: number; added: { checkers: number }; removed: { checkers: number } };
        runnerMs.push(c.ms);
        if (!(c.added.checkers === 1 && c.removed.checkers === 1 && c.kept === RELOAD_RS - 1)) exact = false;
        checkersPart = `checkers reloaded in ${c.ms} ms (added ${c.added.checkers}, removed ${c.removed.checkers}, kept ${c.kept})`;
      } else exact = false;
      const begun = router
        .log()
        .slice(before)
        .split('\n')
        .find((l) => l.includes('"reloading the configuration"'));
      const begunAfter = begun !== undefined ? new Date((JSON.parse(begun) as { time: string | number }).time).getTime() - sentWall : NaN;
      const split =
        parsed.loadMs !== undefined
          ? ` (its own account: began ${fmt(begunAfter, 0)} ms after the signal, loading ${parsed.loadMs} ms, applying ${parsed.applyMs} ms)`
          : '';
      say(`  SIGHUP ${i + 1}: ${parsed.msg} ${fmt(done - sent, 0)} ms after the signal${split}, seen in the log within 10 ms; ${checkersPart}`);
      await sleep(1500);
    }
    const rss = rssKiB(router.pids()[0]!);
    const med = median(times);
    say(`  median ${fmt(med, 0)} ms against the ${TARGET_S * 1000} ms target; daemon RSS ${fmt((rss ?? NaN) / 1024, 0)} MiB`);
    figures.push([
      'daemon SIGHUP 2k VS / 37k RS',
      `${fmt(med, 0)} ms`,
      `< ${TARGET_S * 1000} ms`,
      `${probing > 0 ? 'checkers running' : 'NO CHECKS SEEN: the daemon does not run checkers'}; its checkers' part ${fmt(median(runnerMs), 0)} ms; ${exact ? '1 checker changed, rest kept' : 'CHANGES NOT EXACT'}; RSS ${fmt((rss ?? NaN) / 1024, 0)} MiB`,
    ]);
  } finally {
    await router?.stop();
    srv.stop();
    if (nginx) process.kill(nginx.proc.pid, 'SIGTERM');
  }
}

// ----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  say(`checker benchmark: parts ${[...PARTS].join(', ')}${opts.quick ? ' (quick)' : ''}`);
  say(
    'No keepalived in this run: its checker process needs IPVS, which this kernel lacks. References: the configured bounds, and the 0.5 s reload target (keepalived 2.3: 2,277 VS / 37,205 RS in 0.24 s).',
  );
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-chkbench-'));
  let lab: Lab | undefined;
  let failed = 0;
  try {
    // One part failing leaves the others' figures standing; the failure is a figure too.
    const part = async (name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        failed++;
        say(`  ${name} failed: ${String(err).slice(0, 1000)}`);
        figures.push([name, 'failed', '', String(err).slice(0, 80)]);
      }
    };
    if (PARTS.has('reload')) await part('reload', () => reloadPart(dir));
    if (PARTS.has('down') || PARTS.has('load') || PARTS.has('hup')) {
      await sweepStaleLabs(PREFIX, silentLogger());
      const l = await createLab({ prefix: PREFIX, nodes: [NODE], subnet: 210, ipv6: false, logger: silentLogger() });
      lab = l;
      // Probes at 10,000/s leave their client sockets in TIME_WAIT; reuse keeps the ephemeral ports from running out.
      await l.exec(NODE, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.core.somaxconn=4096']);
      if (PARTS.has('down')) await part('down', () => downPart(l, dir));
      if (PARTS.has('load')) await part('load', () => loadPart(l, dir));
      if (PARTS.has('hup')) await part('hup', () => hupPart(l));
    }
  } finally {
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  say('\nfigures');
  say(table(figures));
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
