// Real daemon: keepalived's vrrp_rt_priority and vrrp_rlimit_rttime. A
// `vipflow run` in a namespace with vrrp_rt_priority 10 runs its main thread
// (every VRRP instance) at SCHED_RR 10, reset on fork, with the soft
// RLIMIT_RTTIME at keepalived's default; its other threads, those started
// later included, and its notify scripts run at normal priority. SIGXCPU
// (what the kernel sends past the limit) is a warning, not an exit. A reload
// without the keyword brings the thread back to normal scheduling; one with
// it again applies the new limit. Back at normal scheduling the main thread
// asks for vipflow's short CPU slice (vrrp_cpu_slice, 100 µs by default),
// which no other thread has; `vrrp_cpu_slice 0` gives the kernel's default
// back. Read from /proc and util-linux's chrt.
// Starts: a namespace lab (prefix vfrt, subnet 246), one vipflow daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, run, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { instanceBlock } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfrt';
const SUBNET = 246;

/** A task's scheduling policy and real-time priority: fields 41 and 40 of /proc/PID/task/TID/stat. */
function scheduling(pid: number, tid: number): { policy: number; priority: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { priority: Number(fields[40 - 3]), policy: Number(fields[41 - 3]) };
}
const SCHED_OTHER = 0;
const SCHED_RR = 2;

/** A task's fair-scheduling slice in ns: /proc/PID/task/TID/sched's se.slice. */
function seSlice(pid: number, tid: number): number | undefined {
  try {
    const m = /^se\.slice\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function threads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

/** The soft "Max realtime timeout" of /proc/PID/limits (µs), or 'unlimited'. */
function rttimeSoft(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max realtime timeout'));
  return line?.split(/\s{2,}/)[1] ?? '';
}

describe('vrrp_rt_priority: the VRRP thread at SCHED_RR', () => {
  let lab: Lab;
  let daemon: VipflowDaemon | undefined;
  let scriptOut: string;
  let script: string;
  const conf = (globals: string[]) =>
    [
      'global_defs {',
      '  router_id a',
      ...globals.map((g) => `  ${g}`),
      '}',
      instanceBlock({ vrid: 46, version: 3, priority: 150, advertInt: 0.1, vips: [`198.18.${SUBNET}.100/24`], extra: [`notify_master "${script}"`] }),
      '',
    ].join('\n');

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a'], subnet: SUBNET, logger });
    scriptOut = join(lab.dir, 'notify-sched.txt');
    script = join(lab.dir, 'notify-sched.sh');
    writeFileSync(script, `#!/bin/sh\nchrt -p $$ > ${scriptOut}.tmp && mv ${scriptOut}.tmp ${scriptOut}\n`);
    chmodSync(script, 0o755);
  });
  after(async () => {
    await daemon?.kill();
    await lab?.destroy();
  });

  test('main thread SCHED_RR 10 reset on fork, other threads and scripts normal, SIGXCPU a warning, reload off and on', async () => {
    daemon = await startVipflow(lab, 'a', 'a0', conf(['vrrp_rt_priority 10']));
    const pid = daemon.pid;
    assert.ok(await daemon.waitForState('master', 3000), 'a becomes Master');
    const applied = daemon.lines.find((l) => l.msg === 'VRRP instances run at real-time priority (SCHED_RR)');
    assert.equal(applied?.vrrpRtPriority, 10, 'the daemon says so');
    assert.equal(applied?.rlimitRttimeUs, 10000, "keepalived's default limit");

    assert.deepEqual(scheduling(pid, pid), { policy: SCHED_RR, priority: 10 }, 'the main thread');
    const chrt = await run('chrt', ['-p', String(pid)]);
    assert.match(chrt.stdout, /SCHED_RR\|SCHED_RESET_ON_FORK/, 'reset on fork: no thread or child inherits it');
    // Each SIGXCPU moves the kernel's soft limit a second on (a long GC may have sent one).
    assert.equal(Number(rttimeSoft(pid)) % 1_000_000, 10000, 'soft RLIMIT_RTTIME');

    // The notify script ran as a child of the real-time thread.
    const out = await pollUntil(() => (existsSync(scriptOut) ? readFileSync(scriptOut, 'utf8') : undefined), 5000, 20);
    assert.ok(out, 'notify_master ran');
    assert.match(out, /scheduling policy: SCHED_OTHER/, `the script runs at normal priority: ${out}`);

    // A reload reads the file on libuv's pool: threads that may start only now stay normal too.
    daemon.writeConfig(conf(['vrrp_rt_priority 10', 'vrrp_rlimit_rttime 50000']));
    const mark = daemon.lines.length;
    daemon.signal('SIGHUP');
    const relimited = await daemon.waitForLog((l) => daemon!.lines.indexOf(l) >= mark && l.rlimitRttimeUs === 50000, 5000);
    assert.ok(relimited, 'the reload applied the new limit');
    assert.equal(Number(rttimeSoft(pid)) % 1_000_000, 50000);
    const others = threads(pid).filter((t) => t !== pid);
    assert.ok(others.length >= 4, `Node's threads (${others.length})`);
    for (const tid of others) assert.equal(scheduling(pid, tid)?.policy ?? SCHED_OTHER, SCHED_OTHER, `thread ${tid} runs at normal priority`);

    // What the kernel sends past the limit: logged, and the daemon goes on.
    const xcpuMark = daemon.lines.length;
    process.kill(pid, 'SIGXCPU');
    const warned = await daemon.waitForLog(
      (l) => daemon!.lines.indexOf(l) >= xcpuMark && typeof l.msg === 'string' && l.msg.startsWith('ran past vrrp_rlimit_rttime'),
      3000,
    );
    assert.ok(warned, 'SIGXCPU is logged');
    const status = await daemon.status();
    assert.equal(status.instances[0]?.state, 'master', 'still running and Master');

    const before = daemon.lines.length;
    daemon.writeConfig(conf([]));
    daemon.signal('SIGHUP');
    const normal = await daemon.waitForLog((l) => daemon!.lines.indexOf(l) >= before && l.msg === 'VRRP instances run at normal priority again', 5000);
    assert.ok(normal, 'a reload without the keyword says so');
    assert.deepEqual(scheduling(pid, pid), { policy: SCHED_OTHER, priority: 0 }, 'and the main thread is back to SCHED_OTHER');

    // Leaving SCHED_RR reset the kernel's slice: the daemon asked for its short one again.
    const sliced = await daemon.waitForLog(
      (l) =>
        daemon!.lines.indexOf(l) >= before && l.msg === 'the VRRP thread asks for a short CPU slice (vrrp_cpu_slice), so a due advert preempts a busy process',
      5000,
    );
    assert.equal(sliced?.sliceUs, 100, 'the default slice, as the kernel reports it');
    assert.equal(seSlice(pid, pid), 100_000, 'the main thread runs with a 0.1 ms slice');
    const defaults = threads(pid)
      .filter((t) => t !== pid)
      .map((t) => seSlice(pid, t));
    assert.ok(defaults.length >= 4 && defaults.every((ns) => ns !== undefined && ns > 100_000), `the other threads keep the default: ${defaults.join(', ')}`);

    const zeroMark = daemon.lines.length;
    daemon.writeConfig(conf(['vrrp_cpu_slice 0']));
    daemon.signal('SIGHUP');
    const restored = await daemon.waitForLog(
      (l) => daemon!.lines.indexOf(l) >= zeroMark && typeof l.msg === 'string' && l.msg.includes('(vrrp_cpu_slice 0)'),
      5000,
    );
    assert.ok(restored, 'vrrp_cpu_slice 0: the kernel default again');
    assert.equal(seSlice(pid, pid), defaults[0], 'the same slice as the other threads');
    assert.equal(await daemon.stop(), 0);
  });
});
