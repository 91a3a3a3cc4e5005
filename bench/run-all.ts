/**
 * `npm run bench`: every benchmark in turn, each in its own process so one
 * run's heap and timers do not colour the next. `--full` uses each
 * benchmark's full sizes (tens of minutes); the default is their quick mode.
 * The figures are printed by the benchmarks themselves.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const full = process.argv.includes('--full');
const here = dirname(fileURLToPath(import.meta.url));
const quick = full ? [] : ['--quick'];

const runs: { name: string; args: string[]; node?: string[] }[] = [
  { name: 'codec', args: [] },
  { name: 'actors', args: quick, node: ['--expose-gc'] },
  { name: 'config-load', args: [full ? '10' : '10'] },
  { name: 'address-change', args: [full ? '1000' : '200'] },
  { name: 'vrrp-socket-rx', args: full ? ['20000', '10'] : ['5000', '4'] },
  { name: 'events', args: quick },
  { name: 'fleet', args: quick },
  { name: 'workflows', args: quick },
  { name: 'nginx-reload', args: quick },
  { name: 'failover', args: quick },
  { name: 'footprint', args: quick },
  { name: 'observability', args: quick },
  { name: 'checkers', args: quick },
  { name: 'lb', args: quick },
  { name: 'hostile-lan', args: quick },
  { name: 'simulate', args: quick },
];

let failed = 0;
for (const r of runs) {
  process.stdout.write(`\n===== bench/${r.name} ${r.args.join(' ')}\n`);
  const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
  const loader = ext === '.ts' ? ['--import', 'tsx'] : [];
  const res = spawnSync(process.execPath, [...(r.node ?? []), ...loader, join(here, `${r.name}${ext}`), ...r.args], { stdio: 'inherit' });
  if (res.status !== 0) {
    failed++;
    process.stdout.write(`bench/${r.name} exited with ${res.status ?? res.signal}\n`);
  }
}
process.stdout.write(`\n${runs.length - failed} benchmarks ran, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
