/**
 * Behaviour check for performance work on the VRRP machine (a script, not a
 * test): runs the machine of a git revision and the working tree's side by side
 * on the same pseudo-random event sequences and compares, step by step, every
 * emitted command (with its time), the snapshot (state, context) and the number
 * of pending timers. Each emitted command also sets four timers on the shared
 * VirtualClock, so a change in the order timers are armed (which decides the
 * order of timers due at the same instant) shows up as well.
 *
 *   npx tsx bench/machine-equivalence.ts [--rev=HEAD~1] [--runs=4000] [--seed=1]
 *
 * The old machine.ts is copied next to the current one (actors/vrrp/), so it
 * runs with the working tree's context.ts, timing.ts and types.ts. Prints the
 * number of identical runs, or the first difference and exits 1.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createActor, type Actor } from 'xstate';
import type { VrrpInput } from '../actors/vrrp/index.js';
import { vrrpMachine } from '../actors/vrrp/machine.js';
import { useTimerSlots } from '../actors/vrrp/timer-slots.js';
import { repoRoot } from '../core/paths.js';
import { VirtualClock } from '../sim/index.js';

const { values: opts } = parseArgs({
  options: { rev: { type: 'string', default: 'HEAD~1' }, runs: { type: 'string', default: '4000' }, seed: { type: 'string', default: '1' } },
});

type Machine = typeof vrrpMachine;
type Step = { kind: 'advance'; ms: number } | { kind: 'send'; event: unknown };

let seed = Number(opts.seed);
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}
function pick<T>(a: readonly T[]): T {
  return a[Math.floor(rnd() * a.length)]!;
}
const ser = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x).join('.') : typeof x === 'function' ? 'fn' : x));

function drive(machine: Machine, input: VrrpInput, steps: readonly Step[], slots: boolean): string[] {
  const clock = new VirtualClock();
  const log: string[] = [];
  const actor = createActor(machine, { clock, input: { ...input, now: () => clock.now() } }) as Actor<Machine>;
  // The working tree's side runs on the timer slots createVrrpInstance gives every instance.
  if (slots) useTimerSlots(actor, clock);
  let n = 0;
  actor.on('*', (e) => {
    const id = n++;
    log.push(`${clock.now()} emit ${ser(e)}`);
    for (const d of [0, 370, 500, 1000]) clock.setTimeout(() => log.push(`${clock.now()} timer ${id}+${d}`), d);
  });
  actor.start();
  for (const s of steps) {
    if (s.kind === 'advance') clock.increment(s.ms);
    else actor.send(s.event as never);
    const snap = actor.getSnapshot();
    // The reply limiter's bookkeeping is compared through what it decides (the emitted adverts), not its layout.
    const { replies: _replies, ...context } = snap.context;
    log.push(`${clock.now()} ${ser(snap.value)} ${snap.status} ${ser(context)} pending=${clock.pending}`);
  }
  return log;
}

const own = new Uint8Array([198, 18, 0, 10]);
const sources = [new Uint8Array([198, 18, 0, 5]), new Uint8Array([198, 18, 0, 20]), own];

/** One random scenario: an instance configuration and a sequence of events and clock steps. */
function scenario(): { input: VrrpInput; steps: Step[] } {
  const version = pick([2, 3] as const);
  const grouped = rnd() < 0.2;
  const priority = pick([1, 50, 100, 100, 150, 254, 255]);
  const input: VrrpInput = {
    name: 'x',
    vrid: 7,
    family: 'ipv4',
    version,
    priority,
    advertIntervalCs: version === 2 ? pick([100, 200]) : pick([100, 50, 37]),
    preempt: rnd() < 0.8,
    preemptDelayMs: rnd() < 0.25 ? pick([500, 2000]) : 0,
    primaryAddress: own,
    virtualAddresses: ['198.18.0.100/24'],
    ...(rnd() < 0.3 ? { initialState: pick(['MASTER', 'BACKUP'] as const) } : {}),
    ...(grouped ? { syncGroup: 'G' } : {}),
    tracks: [
      { id: 'a', weight: 0 },
      { id: 'b', weight: -30 },
      { id: 'c', weight: 20 },
    ],
  };
  const steps: Step[] = [];
  if (rnd() < 0.9) steps.push({ kind: 'send', event: { type: 'START' } });
  const n = 5 + Math.floor(rnd() * 60);
  for (let i = 0; i < n; i++) {
    const x = rnd();
    const interval = input.advertIntervalCs;
    if (x < 0.35) steps.push({ kind: 'advance', ms: pick([1, 10, 100, 333.5, 1000, 1000, 2000, 3609.375, 4000, 10]) * (rnd() < 0.5 ? 1 : rnd()) });
    else if (x < 0.8)
      steps.push({
        kind: 'send',
        event: {
          type: 'ADVERT',
          priority: pick([0, 1, 50, 99, 100, 101, 150, 200, 254, 255, priority]),
          intervalCs: pick([interval, interval, interval, 100, 200, 50]),
          source: pick(sources),
          version: rnd() < 0.9 ? version : 5 - version,
        },
      });
    else if (x < 0.88) steps.push({ kind: 'send', event: { type: 'TRACK', id: pick(['a', 'b', 'c', 'zz']), up: rnd() < 0.5 } });
    else if (x < 0.92) steps.push({ kind: 'send', event: { type: 'SET_PRIORITY', priority: pick([0, 1, 99, 100, 200, 255, 300]) } });
    else if (x < 0.985) {
      if (grouped)
        steps.push({
          kind: 'send',
          event: pick([{ type: 'SYNC_MASTER' }, { type: 'SYNC_BACKUP' }, { type: 'SYNC_BACKUP', reason: 'fault-cleared' }, { type: 'SYNC_FAULT' }]),
        });
    } else steps.push({ kind: 'send', event: { type: 'SHUTDOWN' } });
  }
  steps.push({ kind: 'advance', ms: 10_000 });
  return { input, steps };
}

const oldPath = join(repoRoot, 'actors', 'vrrp', `.machine-equivalence-${process.pid}.ts`);
const oldSource = execFileSync('git', ['-C', repoRoot, 'show', `${opts.rev}:actors/vrrp/machine.ts`], { encoding: 'utf8' });
writeFileSync(oldPath, oldSource);
// A revision from before the Master's reply rate limit (issue 19) answered every
// advert at once: that change is deliberate (test/actors/vrrp/reply-limit.test.ts),
// so against such a revision the limit is lifted and everything else must match.
const withoutLimit = !oldSource.includes('replyAllowed');
const current = withoutLimit ? vrrpMachine.provide({ guards: { replyAllowed: () => true } }) : vrrpMachine;
if (withoutLimit) console.log(`${opts.rev} has no reply rate limit: comparing with the limit lifted`);
let exitCode = 0;
try {
  const old = (await import(oldPath)) as { vrrpMachine: Machine };
  const runs = Number(opts.runs);
  let lines = 0;
  for (let r = 0; r < runs && exitCode === 0; r++) {
    const { input, steps } = scenario();
    const a = drive(old.vrrpMachine, input, steps, false);
    const b = drive(current, input, steps, true);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        console.log(`DIFFERENT in run ${r}, step line ${i}\n ${opts.rev}: ${a[i]}\n working tree: ${b[i]}\n input ${ser(input)}`);
        exitCode = 1;
        break;
      }
    }
    lines += a.length;
  }
  if (exitCode === 0)
    console.log(`machine at ${opts.rev} and the working tree's: identical on ${runs} runs (${lines.toLocaleString('en')} compared lines, seed ${opts.seed})`);
} finally {
  rmSync(oldPath, { force: true });
}
process.exitCode = exitCode;
