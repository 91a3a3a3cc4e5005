/**
 * `vipflow simulate`: the shipped scenarios (examples/scenarios/) run as
 * tests through the loader and the engine in-process, one through the real
 * command line for its exit code and diff text; faults of every kind on
 * inline scenarios written to a temp dir; determinism from the seed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { loadScenario } from '../../cli/simulate.js';
import { defineWorkflow, type Workflow } from '../../workflows/define.js';
import { checkExpectations, formatJson, formatText, lineText, runScenario, type Outcome, type SimResult } from '../../sim/scenario/index.js';

const examples = join(repoRoot, 'examples', 'scenarios');
const main = join(repoRoot, 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'vipflow-scenario-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function simulate(file: string, options: { seed?: number; until?: number } = {}): Promise<{ r: SimResult; outcomes: Outcome[]; text: string }> {
  const loaded = await loadScenario(file);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
  const r = await runScenario(loaded.prepared, options);
  const outcomes = checkExpectations(r, loaded.prepared.scenario.expect);
  return { r, outcomes, text: formatText(r, outcomes) };
}

const failed = (o: Outcome[]) => o.filter((x) => !x.ok).map((x) => `${x.title}: ${x.actual}`);
const lines = (r: SimResult) => r.timeline.map((l) => `${l.at.toFixed(3)} ${lineText(l)}`);

const PAIR = (extra = '') => `
nodes:
  a:
    config: ${join(examples, 'keepalived-a.conf')}
  b:
    config: ${join(examples, 'keepalived-b.conf')}
${extra}`;

function yamlFile(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

test("crash failover: b takes the VIP Master_Down_Interval after a's last advert, a preempts when back; every expectation met", async () => {
  const { r, outcomes } = await simulate(join(examples, 'crash-failover.yaml'));
  assert.deepEqual(failed(outcomes), []);
  // a's adverts at 1003.906 + k s; the last before the crash at 9003.906; MDI(100) = 3609.375.
  assert.ok(lines(r).includes('12613.281 b VI_1 backup -> master (master-down-timer, priority 100)'), lines(r).join('\n'));
});

test('the same scenario and seed give byte-identical output; another seed changes what advert loss does', async () => {
  const file = yamlFile('lossy.yaml', `until: 30s\n${PAIR('faults:\n  - { at: 5s, do: advert-loss, probability: 0.6, for: 15s }')}`);
  const one = await simulate(file);
  const two = await simulate(file);
  assert.equal(one.text, two.text);
  assert.equal(formatJson(one.r, one.outcomes), formatJson(two.r, two.outcomes));
  const other = await simulate(file, { seed: 99 });
  assert.notEqual(other.text, one.text);
  assert.ok(
    one.r.transitions.some((t) => t.at > 5000 && t.node === 'b' && t.to === 'master'),
    'loss made b take over at least once',
  );
});

test('VRID collision between two clusters: two Masters for VRID 51 on the segment, caught by single-master with both names and the time', async () => {
  const { outcomes, text } = await simulate(join(examples, 'vrid-collision.yaml'));
  assert.deepEqual(
    outcomes.map((o) => o.ok),
    [false, true],
  );
  assert.match(text, /FAIL single-master vrid 51 \(grace 1000 ms, after 0 ms\) at 3531\.250 ms/);
  assert.match(text, /actual: {3}web-a\/WEB and db-a\/DB Master together from 3531\.250 ms to 20000\.000 ms/);
});

test('partition of a nopreempt pair: split brain while apart, the higher priority keeps Master after the heal', async () => {
  const { r, outcomes } = await simulate(join(examples, 'nopreempt-partition.yaml'));
  assert.deepEqual(failed(outcomes), []);
  const masters = r.transitions.filter((t) => t.to === 'master').map((t) => `${t.at.toFixed(3)} ${t.node}`);
  assert.deepEqual(masters, ['3414.063 a', '13023.438 b']);
  // Without the `after`, the same run fails the single-master check for the partition's length.
  const strict = checkExpectations(r, [{ expect: 'single-master', grace: 1000, after: 0 }]);
  assert.equal(strict[0]!.ok, false);
  assert.match(strict[0]!.actual, /a\/VI_1 and b\/VI_1 Master together from 13023\.438 ms to 20023\.438 ms/);
});

test("NATS down: the new Master's event waits in the outbox and its workflow runs once when the bus is back", async () => {
  const { r, outcomes } = await simulate(join(examples, 'nats-down.yaml'));
  assert.deepEqual(failed(outcomes), []);
  assert.deepEqual(
    r.runs.map((x) => `${x.at} ${x.node} ${x.workflow} ${x.status}`),
    ['1003.90625 a promote succeeded', '25000 b promote succeeded'],
  );
  assert.ok(lines(r).includes('25000.000 b VI_1 workflow promote would run: nsupdate-vip b VI_1'));
});

test('a TypeScript scenario (defineScenario): SIGTERM hands over after Skew_Time with the VIP never unheld', async () => {
  const { r, outcomes } = await simulate(join(examples, 'sigterm-handover.ts'));
  assert.deepEqual(failed(outcomes), []);
  assert.ok(lines(r).includes('10609.375 b VI_1 backup -> master (priority-zero-skew, priority 100)'));
});

test('a wrong expectation: `vipflow simulate` exits 1 and prints expected against actual with the time', () => {
  const out = spawnSync(process.execPath, [main, 'simulate', join(examples, 'wrong-expectation.yaml')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.status, 1, out.stderr);
  assert.ok(
    out.stdout.endsWith(
      [
        '',
        'FAIL vip-held 198.18.0.100 within 1000 ms at 10000.000 ms',
        '  expected: 198.18.0.100 held by a node, never unheld longer than 1000 ms',
        '  actual:   no node held it from 10000.000 ms to 12613.281 ms (2613.281 ms)',
        'FAIL state a at 15000 ms at 15000.000 ms',
        '  expected: a/VI_1 master at 15000.000 ms',
        '  actual:   a/VI_1 dead at 15000.000 ms',
        'PASS single-master (grace 1000 ms, after 0 ms)',
        '1 of 3 expectation(s) met',
        '',
      ].join('\n'),
    ),
    out.stdout,
  );
  const json = spawnSync(process.execPath, [main, 'simulate', join(examples, 'wrong-expectation.yaml'), '--json', '--until', '12s'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(json.status, 1);
  const doc = JSON.parse(json.stdout) as { until: number; ok: boolean; expectations: Outcome[] };
  assert.equal(doc.until, 12_000);
  assert.equal(doc.ok, false);
  assert.equal(doc.expectations[0]!.actual, 'no node held it from 10000.000 ms to 12000.000 ms (2000.000 ms)');
});

test('link down, a failing track script, a forced checker and a reload each act on the real runners', async () => {
  const inline = (prio: number, extra: string) => `
    keepalived: |
      vrrp_script chk {
        script "/bin/true"
        weight -60
      }
      vrrp_instance VI_1 {
        interface eth0
        virtual_router_id 52
        priority ${prio}
        advert_int 1
        ${extra}
        track_script {
          chk
        }
        virtual_ipaddress {
          198.18.0.52/24
        }
      }`;
  const reloaded = yamlFile(
    'a-reloaded.conf',
    'vrrp_script chk {\n  script "/bin/true"\n  weight -60\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 52\n  priority 50\n  advert_int 1\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    198.18.0.52/24\n  }\n}\n',
  );
  const file = yamlFile(
    'faults.yaml',
    `until: 60s
nodes:
  a:${inline(150, '')}
  b:${inline(100, '')}
faults:
  - { at: 5s, do: script, node: a, script: chk, result: down }
  - { at: 12s, do: script, node: a, script: chk, result: up }
  - { at: 20s, do: link-down, node: a }
  - { at: 28s, do: link-up, node: a }
  - { at: 35s, do: checker, node: b, virtualServer: 198.18.0.52:80, realServer: 198.18.0.7:80, result: down }
  - { at: 40s, do: reload, config: ${reloaded}, node: a }
expect:
  - expect: sequence
    events:
      - a fault script chk down
      - b VI_1 backup -> master (master-down-timer
      - a VI_1 master -> backup (higher-priority-advert, priority 90)
      - a fault script chk up
      - a VI_1 backup -> master
      - a fault link-down eth0
      - a VI_1 master -> fault
      - b VI_1 backup -> master
      - a fault link-up eth0
      - a VI_1 fault -> backup
      - a VI_1 backup -> master
      - b fault checker 198.18.0.7:80 down
      - a fault reload VI_1:priority
      - a VI_1 master -> backup (higher-priority-advert, priority 50)
  - { expect: state, node: a, at: 59s, state: backup }
`,
  );
  const { r, outcomes } = await simulate(file);
  assert.deepEqual(failed(outcomes), [], lines(r).join('\n'));
});

test("a reload that restarts the Master's instance hands over with priority 0 first, as the daemon's reload does", async () => {
  // smtp_alert is not taken live (infra/vrrp/reload-plan.ts): the instance restarts, and the wire stays as it was.
  const changed = yamlFile('a-changed.conf', readFileSync(join(examples, 'keepalived-a.conf'), 'utf8').replace('advert_int 1', 'advert_int 1\n  smtp_alert'));
  const file = yamlFile(
    'reload-master.yaml',
    `until: 20s
${PAIR(`faults:
  - { at: 10s, do: reload, node: a, config: ${changed} }
expect:
  - { expect: vip-held, address: 198.18.0.100, within: 0 }
  - expect: sequence
    events:
      - a fault reload VI_1:restarted
      - a VI_1 master -> stopped (shutdown
      - b VI_1 backup -> master (priority-zero-skew
      - a VI_1 stopped -> initialize (restarted)
      - a VI_1 backup -> master
      - b VI_1 master -> backup (higher-priority-advert
  - { expect: state, node: a, at: 19s, state: master }`)}`,
  );
  const { r, outcomes } = await simulate(file);
  assert.deepEqual(failed(outcomes), [], lines(r).join('\n'));
  // The new instance starts once the old one released the VIP: after b was heard, plus the 20 ms overlap.
  const takeover = r.timeline.find((l) => lineText(l).startsWith('b VI_1 backup -> master'))!;
  const restarted = r.timeline.find((l) => lineText(l).startsWith('a VI_1 stopped -> initialize'))!;
  assert.equal(restarted.at - takeover.at, 20, lines(r).join('\n'));
});

test('a reload that changes only the addresses is taken live, as by the daemon: no transition, the new VIP added', async () => {
  // Both nodes, at the same instant: a Backup would drop adverts whose address list differs from its own.
  const more = (node: 'a' | 'b') =>
    yamlFile(
      `${node}-more.conf`,
      readFileSync(join(examples, `keepalived-${node}.conf`), 'utf8').replace('198.18.0.100/24', '198.18.0.100/24\n    198.18.0.101/24'),
    );
  const file = yamlFile(
    'reload-live.yaml',
    `until: 15s
${PAIR(`faults:
  - { at: 10s, do: reload, node: a, config: ${more('a')} }
  - { at: 10s, do: reload, node: b, config: ${more('b')} }
expect:
  - { expect: vip-held, address: 198.18.0.100, within: 0 }
  - { expect: vip-held, address: 198.18.0.101, within: 0, after: 10s }
  - { expect: sequence, events: ['a fault reload VI_1:live', 'a vip add 198.18.0.101'] }
  - { expect: sequence, events: ['b fault reload VI_1:live'] }`)}`,
  );
  const { r, outcomes } = await simulate(file);
  assert.deepEqual(failed(outcomes), [], lines(r).join('\n'));
  assert.deepEqual(r.timeline.filter((l) => l.at >= 10_000 && / -> /.test(lineText(l))).map(lineText), [], 'no instance changed state');
});

test('a scenario with mistakes is refused with every problem and its path, before anything runs', async () => {
  const file = yamlFile('bad.yaml', `${PAIR('faults:\n  - { at: 1s, do: crash, node: c }\n  - { at: soon, do: heal }\n  - { at: 2s, do: explode }')}`);
  const r = await loadScenario(file);
  assert.equal(r.ok, false);
  const errors = r.ok ? '' : r.errors.join('\n');
  assert.match(errors, /faults\.1\.at: not a duration: "soon"/);
  assert.match(errors, /faults\.2\.do/);
  const unknown = await loadScenario(
    yamlFile('unknown.yaml', PAIR('faults:\n  - { at: 1s, do: crash, node: c }\n  - { at: 2s, do: script, node: a, script: nope, result: down }')),
  );
  assert.deepEqual(unknown.ok ? [] : unknown.errors.map((e) => e.slice(e.indexOf(': ') + 2)), [
    "faults.0 (crash): no node 'c' (nodes: a, b)",
    "faults.1 (script): node 'a' defines no vrrp_script 'nope'",
  ]);
});

test('workflows in dry run: a checker result starts its realserver_down workflow once; wrong counts and orders fail with the diff', async () => {
  const loaded = await loadScenario(
    yamlFile(
      'checker.yaml',
      `until: 10s\n${PAIR('faults:\n  - { at: 5s, do: checker, node: b, virtualServer: 198.18.0.100:80, realServer: 198.18.0.7:80, result: down }')}`,
    ),
  );
  assert.ok(loaded.ok);
  const drain = defineWorkflow({
    name: 'drain',
    on: { to: 'realserver_down', realServer: '198.18.0.7:80' },
    steps: [{ name: 'page', run: (ctx) => ctx.intend('page on-call', { realServer: ctx.event.data.realServer }) }],
  });
  const r = await runScenario({ ...loaded.prepared, workflows: [drain as Workflow] });
  assert.deepEqual(
    r.runs.map((x) => `${x.at} ${x.node} ${x.workflow} ${x.status}`),
    ['5000 b drain succeeded'],
  );
  assert.ok(lines(r).includes('5000.000 b workflow drain would page on-call {"realServer":"198.18.0.7:80"}'), lines(r).join('\n'));
  const [runs, order] = checkExpectations(r, [
    { expect: 'workflow-runs', workflow: 'drain', times: 2 },
    { expect: 'sequence', events: ['b fault checker', 'a VI_1 backup -> master'] },
  ]);
  assert.equal(runs!.ok, false);
  assert.equal(runs!.actual, '1 run(s): b/- at 5000.000 ms succeeded');
  assert.equal(order!.ok, false);
  assert.match(order!.actual, /^matched 1 of 2; no line matches 'a VI_1 backup -> master' after 5000\.000 ms \(one does earlier, at 1003\.906 ms: /);
});
