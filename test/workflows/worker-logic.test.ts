/** The pure halves of worker mode: claim decisions (claims.ts), supersession (supersession.ts), and run.ts's resume/abandon options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimFor, decideClaim, finishClaim, LEASE_MARGIN_MS, parseClaim, renewClaim, runKey, settle } from '../../workflows/claims.js';
import { supersedes, TransitionLog, type TriggerRef } from '../../workflows/supersession.js';
import { defineWorkflow } from '../../workflows/define.js';
import { runWorkflow } from '../../workflows/run.js';
import { zxShell } from '../../workflows/shell.js';
import { collector, log, setup, transitionTo } from './helpers.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test('decideClaim: absent → create, finished → finished, own and running → running-here, live lease → wait, expired → takeover with completed steps', () => {
  const now = 1_000_000;
  assert.deepEqual(decideClaim(null, 'me', now), { kind: 'create' });
  assert.deepEqual(decideClaim(finishClaim('w2#a', 'failed', now - 5), 'me', now), { kind: 'finished', status: 'failed' });
  const mine = claimFor('me', now, 5000);
  assert.deepEqual(decideClaim(mine, 'me', now + 60_000, true), { kind: 'running-here' }, 'own claim even when expired: this process still runs it');
  assert.deepEqual(decideClaim(mine, 'me', now, false), { kind: 'takeover', completed: [], from: 'me' }, 'an own claim no longer running here is resumed');
  const theirs = renewClaim(claimFor('w2#a', now - 1000, 5000), now - 1000, 5000, 'first');
  assert.deepEqual(decideClaim(theirs, 'me', now), { kind: 'wait', delayMs: 4000 + LEASE_MARGIN_MS, owner: 'w2#a' });
  assert.deepEqual(decideClaim(theirs, 'me', now + 4000), { kind: 'takeover', completed: ['first'], from: 'w2#a' });
  assert.deepEqual(decideClaim('unreadable', 'me', now), { kind: 'takeover', completed: [], from: 'unreadable record' });
});

test('claims: a takeover keeps completed steps and counts hands; renewal adds a step once and pushes the lease', () => {
  const c = renewClaim(renewClaim(claimFor('a', 0, 100), 50, 100, 'first'), 60, 100, 'first');
  assert.deepEqual(c, { state: 'running', owner: 'a', leaseUntil: 160, completed: ['first'], takeovers: 0 });
  const t = claimFor('b', 500, 100, c);
  assert.deepEqual(t, { state: 'running', owner: 'b', leaseUntil: 600, completed: ['first'], takeovers: 1 });
  t.completed.push('x');
  assert.deepEqual(c.completed, ['first'], 'takeover copies, never aliases, the list');
});

test('parseClaim round-trips both states and calls garbage unreadable', () => {
  const r = claimFor('a', 1, 2);
  assert.deepEqual(parseClaim(bytes(r)), r);
  const f = finishClaim('a', 'succeeded', 3);
  assert.deepEqual(parseClaim(bytes(f)), f);
  assert.equal(parseClaim(new TextEncoder().encode('{nope')), 'unreadable');
  assert.equal(parseClaim(bytes({ state: 'running', owner: 'a' })), 'unreadable');
  assert.equal(parseClaim(bytes(null)), 'unreadable');
  assert.deepEqual(parseClaim(bytes({ state: 'running', owner: 'a', leaseUntil: 1, completed: ['s', 3] })), {
    state: 'running',
    owner: 'a',
    leaseUntil: 1,
    completed: ['s'],
    takeovers: 0,
  });
});

test('runKey is a valid KV key for any event id and workflow name, and distinct per pair', () => {
  const k = runKey('node-a:b00t:42', 'drain lb/v2');
  assert.match(k, /^[-/_=.a-zA-Z0-9]+$/);
  assert.notEqual(runKey('a.b', 'c'), runKey('a', 'b.c'));
});

test('settle: ack when every run is done; nak with the longest wait; leave a lost run to its new owner', () => {
  assert.deepEqual(settle([]), { kind: 'ack' });
  assert.deepEqual(settle([{ kind: 'done' }, { kind: 'done' }]), { kind: 'ack' });
  assert.deepEqual(settle([{ kind: 'done' }, { kind: 'wait', delayMs: 300 }, { kind: 'wait', delayMs: 900 }]), { kind: 'nak', delayMs: 900 });
  assert.deepEqual(settle([{ kind: 'wait', delayMs: 300 }, { kind: 'lost' }]), { kind: 'none' });
});

const tr = (node: string, instance: string, streamSeq: number): TriggerRef => ({ type: 'instance.transition', node, instance, streamSeq });
const sb = (node: string, instance: string, streamSeq: number): TriggerRef => ({ type: 'cluster.split_brain', node, instance, streamSeq });

test('supersedes: a later transition of the same node and instance, or of the instance anywhere for split-brain runs', () => {
  assert.ok(supersedes(tr('a', 'VI_1', 5), tr('a', 'VI_1', 4)));
  assert.ok(!supersedes(tr('a', 'VI_1', 4), tr('a', 'VI_1', 5)), 'older never supersedes newer');
  assert.ok(!supersedes(tr('a', 'VI_1', 5), tr('a', 'VI_1', 5)), 'an event does not supersede itself');
  assert.ok(!supersedes(tr('b', 'VI_1', 5), tr('a', 'VI_1', 4)), "another node's transition is its own business");
  assert.ok(!supersedes(tr('a', 'VI_2', 5), tr('a', 'VI_1', 4)));
  assert.ok(supersedes(tr('b', 'VI_1', 5), sb('c', 'VI_1', 4)), 'the transition that ends a double Master comes from any node');
  assert.ok(!supersedes(sb('a', 'VI_1', 9), tr('a', 'VI_1', 4)), 'a split-brain event supersedes nothing');
});

test('TransitionLog: a late redelivery is found superseded whatever order the transitions were observed in', () => {
  const l = new TransitionLog();
  l.observe(tr('a', 'VI_1', 7));
  l.observe(tr('a', 'VI_1', 3));
  l.observe(tr('b', 'VI_1', 9));
  l.observe(sb('a', 'VI_1', 20));
  assert.equal(l.supersededBy(tr('a', 'VI_1', 3)), 7);
  assert.equal(l.supersededBy(tr('a', 'VI_1', 7)), undefined);
  assert.equal(l.supersededBy(tr('b', 'VI_1', 9)), undefined);
  assert.equal(l.supersededBy(sb('c', 'VI_1', 8)), 9);
  assert.equal(l.supersededBy(tr('a', 'VI_2', 1)), undefined);
  assert.equal(l.position, 9, 'split-brain events do not move the transition position');
  assert.equal(l.size, 2);
});

function threeSteps(trail: string[]) {
  return defineWorkflow({
    name: 'w',
    on: { to: 'MASTER' },
    steps: ['a', 'b', 'c'].map((name) => ({
      name,
      run: (ctx: { signal: AbortSignal }) => {
        trail.push(`run:${name}`);
        if (name === 'c') return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        return undefined;
      },
      compensate: () => void trail.push(`undo:${name}`),
    })),
  });
}

test('runWorkflow resumes after completed steps, reports each finished step, and compensates resumed steps on cancel', async () => {
  const { src } = setup();
  const trail: string[] = [];
  const done: string[] = [];
  const cancel = new AbortController();
  const c = collector();
  const p = runWorkflow(threeSteps(trail), transitionTo(src, 'VI_1', 'master'), {
    runId: 'r',
    log,
    emit: c.emit,
    shell: zxShell,
    cancel: cancel.signal,
    completed: new Set(['a']),
    onStepDone: async (s) => void done.push(s),
  });
  while (!trail.includes('run:c')) await new Promise((r) => setTimeout(r, 2));
  cancel.abort(new Error('superseded'));
  const r = await p;
  assert.equal(r.status, 'cancelled');
  assert.deepEqual(trail, ['run:b', 'run:c', 'undo:b', 'undo:a']);
  assert.deepEqual(done, ['b']);
  assert.ok(!c.events.some((e) => e.type === 'workflow.step' && e.data.step === 'a'), 'a resumed step emits nothing');
});

test('runWorkflow abandoned: stops at once, compensates nothing and does not report an end (the new owner continues)', async () => {
  const { src } = setup();
  const trail: string[] = [];
  const abandon = new AbortController();
  const c = collector();
  const p = runWorkflow(threeSteps(trail), transitionTo(src, 'VI_1', 'master'), {
    runId: 'r',
    log,
    emit: c.emit,
    shell: zxShell,
    cancel: new AbortController().signal,
    abandon: abandon.signal,
  });
  while (!trail.includes('run:c')) await new Promise((r) => setTimeout(r, 2));
  abandon.abort(new Error('claim taken over'));
  const r = await p;
  assert.equal(r.status, 'cancelled');
  assert.deepEqual(trail, ['run:a', 'run:b', 'run:c']);
  assert.deepEqual(
    c.events.map((e) => e.type),
    ['workflow.started', 'workflow.step', 'workflow.step', 'workflow.step'],
  );
});
