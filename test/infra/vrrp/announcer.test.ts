// Announcer counters: sinceMaster counts the frames of the current Mastership
// (the VIP notifier checks it), framesSent counts them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer, type AnnounceIo } from '../../../infra/vrrp/announcer.js';
import type { GarpPlan, PlannedVip } from '../../../infra/vrrp/plan.js';
import { silentLogger } from '../../../core/logger.js';

test('sinceMaster restarts at each Mastership; framesSent keeps counting', () => {
  const timers: (() => void)[] = [];
  const io: AnnounceIo = {
    interfaceOf: () => ({ mac: new Uint8Array(6), linkLocal: null }),
    sendBurst: (frames, rounds) => ({ sent: frames.length * rounds, failed: 0 }),
    setTimeout: (fn) => timers.push(fn),
    clearTimeout: () => undefined,
    now: () => 0,
  };
  const vips: PlannedVip[] = [198, 199].map((h) => ({ address: `198.18.0.${h}`, bytes: new Uint8Array([198, 18, 0, h]), family: 4, prefix: 24, dev: 'eth0' }));
  const garp: GarpPlan = { masterDelayMs: 5000, masterRepeat: 3, refreshMs: 0, refreshRepeat: 1, lowerPrioDelayMs: 5000, lowerPrioRepeat: 1 };
  const a = new Announcer(vips, garp, io, silentLogger());
  assert.deepEqual(a.stats, { framesSent: 0, sendErrors: 0, sinceMaster: 0 });
  a.becameMaster();
  assert.deepEqual(a.stats, { framesSent: 6, sendErrors: 0, sinceMaster: 6 });
  timers.shift()!(); // the garp_master_delay burst
  assert.deepEqual(a.stats, { framesSent: 12, sendErrors: 0, sinceMaster: 12 });
  a.cancel();
  a.becameMaster();
  assert.deepEqual(a.stats, { framesSent: 18, sendErrors: 0, sinceMaster: 6 });
});
