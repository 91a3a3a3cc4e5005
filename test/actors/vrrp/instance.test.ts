// startVrrpInstance: the actor lets go of its creation options (its input
// copy) once started, and runs on: it leaves Initialize, takes Master after
// Master_Down_Interval with no peer, and sends adverts on its timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { createVrrpInstance, startVrrpInstance, type VrrpCommand } from '../../../actors/vrrp/index.js';
import { baseInput } from './harness.js';

const optionsOf = (actor: object) => (actor as { options: { input?: unknown } }).options;

test('a started instance keeps no creation options, and runs on to Master and its adverts', () => {
  const clock = new SimulatedClock();
  const actor = createVrrpInstance(baseInput(), { clock });
  assert.ok(optionsOf(actor).input !== undefined, 'before start XState holds the input');
  const adverts: VrrpCommand[] = [];
  actor.on('send-advert', (e) => adverts.push(e as VrrpCommand));
  startVrrpInstance(actor);
  assert.equal(optionsOf(actor).input, undefined);
  actor.send({ type: 'START' });
  const state = () => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0]!;
  };
  assert.equal(state(), 'backup');
  // 1 s adverts, priority 100: Master_Down_Interval 3.609 s; then one advert a second.
  for (let t = 0; t < 6000; t++) clock.increment(1);
  assert.equal(state(), 'master');
  assert.ok(adverts.length >= 3 && adverts.length <= 4, `${adverts.length} adverts`);
  actor.stop();
});
