/**
 * Benchmark of the VRRP instance actor and the virtual LAN (a script, not a test).
 *
 *   npx tsx --expose-gc bench/actors.ts            # all figures
 *   npx tsx --expose-gc bench/actors.ts --quick    # smaller counts
 *   npx tsx --expose-gc bench/actors.ts --instances=10000   # one scale run in a fresh process (clean RSS)
 *
 * 1. Per-advert cost: µs of CPU per ADVERT event sent to one live actor, for the
 *    paths a real instance takes (Backup accepting its master, Backup ignoring a
 *    lower master, Master answering a lower priority), with emitted commands
 *    delivered to a no-op listener as an adapter would receive them.
 * 2. Scale: 1,000 and 10,000 instances on the virtual LAN: two nodes, one at
 *    150 and one at 100 per VRID, 250 VRIDs per interface (one segment each),
 *    1 s adverts, run for 30 SIMULATED seconds on the exact VirtualClock through
 *    the production path (planInstance, InstanceRunner, WireHub on virtual
 *    sockets, codec). Reports RSS and heap after GC, and the CPU needed per
 *    simulated second: the share of one core the same load would take in real time.
 * Targets: per-advert < 20 µs; 10,000 instances < 300 MB RSS.
 */
import { performance } from 'node:perf_hooks';
import { createVrrpInstance, type VrrpActor, type VrrpInput } from '../actors/vrrp/index.js';
import { VirtualClock, VirtualLan, type NodeSpec } from '../sim/index.js';

const quick = process.argv.includes('--quick');
const gc = (globalThis as { gc?: () => void }).gc;

function input(name: string, priority: number, addr: number, vrid = 51): VrrpInput {
  return {
    name,
    vrid,
    family: 'ipv4',
    version: 3,
    priority,
    advertIntervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: new Uint8Array([198, 18, (addr >> 8) & 0xff, addr & 0xff]),
    virtualAddresses: ['198.18.200.1/24'],
  };
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

function settle(): void {
  if (gc) {
    gc();
    gc();
  }
}

/** Sends `n` copies of an ADVERT to `actor` and returns µs of CPU and wall time per event. */
function perEvent(actor: VrrpActor, n: number, advert: { priority: number; source: Uint8Array }): { cpu: number; wall: number } {
  const event = { type: 'ADVERT' as const, priority: advert.priority, intervalCs: 100, source: advert.source, version: 3 as const };
  for (let i = 0; i < 20_000; i++) actor.send(event); // warm-up (JIT)
  const c0 = cpuMicros();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) actor.send(event);
  const wall = ((performance.now() - w0) * 1000) / n;
  return { cpu: (cpuMicros() - c0) / n, wall };
}

function advertCost(): void {
  const n = quick ? 50_000 : 300_000;
  console.log(`\n## Per-advert processing (${n.toLocaleString('en')} ADVERT events per path, after 20,000 warm-up)`);
  const high = new Uint8Array([198, 18, 0, 200]);
  const low = new Uint8Array([198, 18, 0, 2]);
  const rows: [string, number, { priority: number; source: Uint8Array }, string][] = [
    ['Backup accepts master (timer re-armed)', 100, { priority: 150, source: high }, 'backup'],
    ['Backup ignores lower master (preempt)', 200, { priority: 100, source: low }, 'backup'],
    ['Master answers lower priority (advert + announce)', 255, { priority: 100, source: low }, 'master'],
  ];
  for (const [label, priority, advert, expected] of rows) {
    const clock = new VirtualClock();
    const actor = createVrrpInstance(input('bench', priority, 1), { clock });
    let commands = 0;
    actor.on('*', () => void commands++);
    actor.start();
    actor.send({ type: 'START' });
    const r = perEvent(actor, n, advert);
    const state = Object.keys(actor.getSnapshot().value as object)[0] ?? String(actor.getSnapshot().value);
    if (state !== expected) throw new Error(`${label}: ended in ${state}`);
    console.log(
      `${label.padEnd(52)} ${r.cpu.toFixed(2).padStart(6)} µs CPU  ${r.wall.toFixed(2).padStart(6)} µs wall  (${(commands / (n + 20_000)).toFixed(1)} commands/event)`,
    );
    actor.stop();
  }
}

/** One node of the scale run: `pairs` instances, 250 VRIDs per interface ethI (segment lI), from keepalived.conf text. */
function nodeSpec(pairs: number, priority: number, host: number): NodeSpec {
  const lines: string[] = [];
  for (let k = 0; k < pairs; k++) {
    const vrid = (k % 250) + 1;
    const i = Math.floor(k / 250);
    lines.push(`vrrp_instance I${k} {`, `  interface eth${i}`, `  virtual_router_id ${vrid}`, '  version 3', `  priority ${priority}`, '  advert_int 1');
    lines.push(`  virtual_ipaddress {\n    10.${i >> 8}.${i & 0xff}.${vrid}/32\n  }`, '}');
  }
  const interfaces = Array.from({ length: Math.ceil(pairs / 250) }, (_, i) => ({
    name: `eth${i}`,
    segment: `l${i}`,
    addresses: [`198.18.${i & 0xff}.${host}/24`],
  }));
  return { interfaces, config: lines.join('\n') + '\n' };
}

function scale(instances: number, simulatedSeconds: number): void {
  settle();
  const base = process.memoryUsage();
  const lan = new VirtualLan({ tickMs: 1000, recordEvents: false });
  const c0 = cpuMicros();
  const pairs = instances / 2;
  for (const [node, priority, host] of [
    ['m', 150, 1],
    ['b', 100, 2],
  ] as const)
    lan.addNode(node, nodeSpec(pairs, priority, host));
  const createCpu = (cpuMicros() - c0) / 1000;
  // Converge (the 150s become Master after 3.4 s), then measure a steady window.
  lan.runFor(5_000);
  const masters = lan.masters().length;
  if (masters !== instances / 2) throw new Error(`expected ${instances / 2} masters, got ${masters}`);
  const sent0 = lan.stats.sent;
  const c1 = cpuMicros();
  const w1 = performance.now();
  lan.runFor(simulatedSeconds * 1000);
  const runCpu = (cpuMicros() - c1) / 1000;
  const runWall = performance.now() - w1;
  const adverts = lan.stats.sent - sent0;
  settle();
  const m = process.memoryUsage();
  const perSimSecond = runCpu / simulatedSeconds;
  console.log(
    [
      `${instances.toLocaleString('en').padStart(6)} instances`,
      `RSS ${mb(m.rss).padStart(6)} MB (+${mb(m.rss - base.rss)})`,
      `heap used ${mb(m.heapUsed).padStart(6)} MB (+${mb(m.heapUsed - base.heapUsed)}, ${((m.heapUsed - base.heapUsed) / instances / 1024).toFixed(1)} KB/instance), total ${mb(m.heapTotal)} MB, external ${mb(m.external + m.arrayBuffers)} MB`,
      `create ${createCpu.toFixed(0)} ms`,
      `${simulatedSeconds} s simulated in ${runWall.toFixed(0)} ms wall`,
      `CPU ${perSimSecond.toFixed(1)} ms per simulated s (${((perSimSecond / 1000) * 100).toFixed(1)}% of a core)`,
      `${((runCpu * 1000) / adverts).toFixed(1)} µs CPU per advert end to end (${adverts.toLocaleString('en')} adverts)`,
    ].join('  |  '),
  );
  if (lan.masters().length !== instances / 2) throw new Error('flapped during the run');
  lan.dispose();
}

const only = process.argv.find((a) => a.startsWith('--instances='));
console.log(`# vipflow actor benchmark  (node ${process.version}, gc ${gc ? 'exposed' : 'NOT exposed: run with --expose-gc for settled memory figures'})`);
if (!only) advertCost();
const seconds = quick ? 10 : 30;
console.log(`\n## Instances on the virtual LAN, 1 s adverts, ${seconds} simulated seconds (VirtualClock)`);
for (const n of only ? [Number(only.split('=')[1])] : [1_000, 10_000]) scale(n, seconds);
