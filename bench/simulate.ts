/**
 * `vipflow simulate` speed: virtual seconds per wall second for 100 nodes (a script, not a test):
 *
 *   npx tsx bench/simulate.ts [--quick] [--seconds=120] [--runs=3]
 *
 * 50 Master/Backup pairs (advert_int 1 s, VRIDs 1..50) run by the scenario
 * engine (sim/scenario/, the production InstanceRunner and WireHub on the
 * virtual LAN), in two layouts: every pair on its own segment, and all 100
 * nodes on one segment (each advert reaches 99 hubs, which drop the other
 * VRIDs). Faults: 1% advert loss throughout, 10 Masters crash at 1/3 of the
 * run and restart at 2/3, so the figures include failovers and preemptions,
 * not only steady adverts. Wall time covers the whole engine (simulation,
 * events, expectation checks), measured `--runs` times; the range is printed,
 * with the same per CPU second of this process, which a busy machine skews less.
 *
 * There is no keepalived figure to set beside it: keepalived has no simulated
 * time. The reference is real time (1.0x); the ratio says how much faster
 * than real time a plan of this size is rehearsed.
 */
import { performance } from 'node:perf_hooks';
import { loadKeepalivedText } from '../config/keepalived/index.js';
import { checkExpectations, parseScenario, runScenario, type PreparedScenario } from '../sim/scenario/index.js';
import { fmt, table } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const arg = (name: string, fallback: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : fallback;
};
const SECONDS = arg('seconds', quick ? 60 : 300);
const RUNS = arg('runs', quick ? 2 : 3);
const PAIRS = 50;

function conf(vrid: number, priority: number): string {
  return [
    `vrrp_instance VI_${vrid} {`,
    '  interface eth0',
    `  virtual_router_id ${vrid}`,
    `  priority ${priority}`,
    '  advert_int 1',
    '  virtual_ipaddress {',
    `    198.18.${100 + vrid}.1/24`,
    '  }',
    '}',
  ].join('\n');
}

function prepared(oneSegment: boolean): PreparedScenario {
  const nodes: Record<string, unknown> = {};
  for (let p = 1; p <= PAIRS; p++)
    for (const [side, priority] of [
      ['m', 200],
      ['b', 100],
    ] as const)
      nodes[`${side}${p}`] = { keepalived: conf(p, priority) };
  const third = (SECONDS * 1000) / 3;
  const faults: unknown[] = [{ at: 0, do: 'advert-loss', probability: 0.01 }];
  for (let p = 1; p <= 10; p++) faults.push({ at: third, do: 'crash', node: `m${p}` }, { at: 2 * third, do: 'restart', node: `m${p}` });
  const parsed = parseScenario({ name: 'bench', until: SECONDS * 1000, nodes, faults, expect: [{ expect: 'single-master', grace: 1000 }] });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const s = parsed.scenario;
  const names = Object.keys(s.nodes);
  return {
    scenario: s,
    nodes: names.map((name, i) => {
      const model = loadKeepalivedText(conf(Math.floor(i / 2) + 1, i % 2 === 0 ? 200 : 100)).model!;
      const pair = Math.floor(i / 2);
      const segment = oneSegment ? 'lan0' : `lan${pair}`;
      return { name, model, interfaces: [{ name: 'eth0', segment, addresses: [`198.18.${oneSegment ? 0 : pair}.${i + 1}/24`] }], scripts: {} };
    }),
    reloads: new Map(),
    workflows: [],
    groups: {},
  };
}

const rows: string[][] = [
  ['layout', 'nodes', 'virtual s', 'wall s (range)', 'virtual s / wall s (range)', 'virtual s / CPU s (range)', 'transitions', 'expectations'],
];
for (const oneSegment of [false, true]) {
  const ratios: number[] = [];
  const walls: number[] = [];
  const perCpu: number[] = [];
  let transitions = 0;
  let met = '';
  for (let r = 0; r < RUNS; r++) {
    const p = prepared(oneSegment);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const result = await runScenario(p);
    const outcomes = checkExpectations(result, p.scenario.expect);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    perCpu.push(SECONDS / ((cpu.user + cpu.system) / 1e6));
    walls.push(wall);
    ratios.push(SECONDS / wall);
    transitions = result.transitions.length;
    met = `${outcomes.filter((o) => o.ok).length}/${outcomes.length} met`;
  }
  rows.push([
    oneSegment ? '100 nodes, one segment' : '50 pairs, a segment each',
    String(PAIRS * 2),
    String(SECONDS),
    `${fmt(Math.min(...walls), 2)}..${fmt(Math.max(...walls), 2)}`,
    `${fmt(Math.min(...ratios), 0)}..${fmt(Math.max(...ratios), 0)}x`,
    `${fmt(Math.min(...perCpu), 0)}..${fmt(Math.max(...perCpu), 0)}x`,
    String(transitions),
    met,
  ]);
}
console.log(`vipflow simulate: ${PAIRS} pairs, advert_int 1 s, 1% advert loss, 10 Master crashes and restarts; ${RUNS} run(s) each`);
console.log(table(rows));
