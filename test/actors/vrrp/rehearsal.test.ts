/**
 * The takeover rehearsal: a throwaway instance taken through Backup → Master
 * (by Master_Down_Timer and by Skew_Time) and back, every round, for each
 * version and family, whatever the real instance's own priority, preempt or
 * sync group; the understudy's single takeover step; and the daemon's
 * wrapper, which must never let a failure out.
 * How much it speeds a takeover is measured by bench/failover.ts, not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rehearseTakeovers, TakeoverUnderstudy } from '../../../actors/vrrp/rehearsal.js';
import { TakeoverRehearsal, UNDERSTUDY_RESET_MS } from '../../../daemon/takeover-rehearsal.js';
import { recordingLogger } from '../../notifiers/helpers.js';
import { baseInput, ipv4 } from './harness.js';

const ipv6 = Uint8Array.from([0xfe, 0x80, ...new Array<number>(13).fill(0), 1]);

test('every round ends in Master, for v2 and v3, IPv4 and IPv6, 1 s and centisecond adverts', () => {
  const inputs = [
    baseInput({ version: 2, advertIntervalCs: 100 }),
    baseInput({ version: 3, advertIntervalCs: 1 }),
    baseInput({ version: 3, advertIntervalCs: 37 }),
    baseInput({ family: 'ipv6', version: 3, advertIntervalCs: 10, primaryAddress: ipv6, virtualAddresses: ['fd00:198:18::100/64'] }),
  ];
  for (const input of inputs) assert.equal(rehearseTakeovers(input, 7), 7, `v${input.version} ${input.family} ${input.advertIntervalCs} cs`);
});

test('the real instance’s own settings do not change the rehearsal: owner priority, nopreempt, preempt_delay, a sync group, tracks', () => {
  const input = baseInput({
    priority: 255,
    preempt: false,
    preemptDelayMs: 5000,
    syncGroup: 'G',
    initialState: 'MASTER',
    tracks: [{ id: 'down', weight: 0, up: false }],
  });
  assert.equal(rehearseTakeovers(input, 4), 4);
});

test('the address of the rehearsal’s rival differs from ours, so no tie is decided by address', () => {
  // A tie would make the 200-priority rival's election depend on addresses; with priorities apart it never ties.
  assert.equal(rehearseTakeovers(baseInput({ primaryAddress: ipv4(198, 18, 0, 255) }), 3), 3);
  assert.equal(rehearseTakeovers(baseInput({ primaryAddress: ipv4(0, 0, 0, 0) }), 3), 3);
});

test('the daemon’s rehearsal logs a failure once, stops, and never throws', () => {
  const { log, records } = recordingLogger();
  const r = new TakeoverRehearsal(log);
  // An interval the machine refuses: createVrrpInstance throws inside the rehearsal.
  r.start(baseInput({ advertIntervalCs: 0 }));
  r.stop();
  const warnings = records.filter((x) => x.level === 40);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.msg, /takeover rehearsal failed/);
});

test('the daemon’s rehearsal runs at start, and its periodic rounds stop with it', () => {
  const { log, records } = recordingLogger();
  const r = new TakeoverRehearsal(log);
  r.start(baseInput());
  assert.ok(records.some((x) => x.msg === 'takeover path rehearsed' && x['rounds'] === 200));
  r.stop();
  // A start after a stop rehearses again (a daemon restarting its instances).
  r.start(baseInput({ version: 2, advertIntervalCs: 100 }));
  r.stop();
  assert.equal(records.filter((x) => x.msg === 'takeover path rehearsed').length, 2);
  assert.equal(records.filter((x) => x.level >= 40).length, 0);
});

test('the understudy takes the takeover step once, and again only after a reset, for each version and family', () => {
  const inputs = [
    baseInput({ version: 2, advertIntervalCs: 100 }),
    baseInput({ version: 3, advertIntervalCs: 1 }),
    baseInput({ family: 'ipv6', version: 3, advertIntervalCs: 10, primaryAddress: ipv6, virtualAddresses: ['fd00:198:18::100/64'] }),
    // The real instance's own settings change nothing: the copy is a plain Backup of priority 100.
    baseInput({ priority: 255, preempt: false, syncGroup: 'G', initialState: 'MASTER' }),
  ];
  for (const input of inputs) {
    const u = new TakeoverUnderstudy(input);
    try {
      assert.equal(u.ready, true, 'a Backup from the start');
      for (let round = 0; round < 3; round++) {
        assert.equal(u.step(), true, `round ${round}: Backup to Master`);
        assert.equal(u.ready, false);
        assert.equal(u.step(), false, 'a second step before the reset runs nothing');
        u.reset();
        assert.equal(u.ready, true, 'back to Backup');
      }
    } finally {
      u.stop();
    }
  }
});

test('the daemon’s warm-up steps the understudy once until it is back to Backup, and a failure is logged once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { log, records } = recordingLogger();
  const r = new TakeoverRehearsal(log);
  r.start(baseInput());
  const understudy = (r as unknown as { understudy: TakeoverUnderstudy }).understudy;
  assert.ok(understudy instanceof TakeoverUnderstudy);
  r.warm();
  assert.equal(understudy.ready, false, 'stepped to Master');
  // Many instances timing out together: the others find it stepped and run nothing.
  r.warm();
  t.mock.timers.tick(UNDERSTUDY_RESET_MS);
  assert.equal(understudy.ready, true, 'back to Backup after the reset delay');
  r.warm();
  assert.equal(understudy.ready, false, 'ready for the next takeover');
  // A step that throws: one warning, then no more warm-ups.
  t.mock.timers.tick(UNDERSTUDY_RESET_MS);
  understudy.step = () => {
    throw new Error('boom');
  };
  r.warm();
  r.warm();
  const warnings = records.filter((x) => x.level === 40);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.msg, /takeover warm-up failed/);
  r.stop();
});
