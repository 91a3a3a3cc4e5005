// The runner skips the receive screen for an advert it passed before (the
// hub's decoded advert for the same bytes, the same sender object, the same
// meta): these tests hand it such repeats with one thing the flood gate does
// not tell apart changed, and check that the screen still refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress } from '../../../wire/codec/index.js';
import type { ReceivedPacket } from '../../../wire/socket/index.js';
import { handDrivenBackup } from './hand-driven-backup.js';

function backupWithHandDrivenSocket() {
  const b = handDrivenBackup();
  const send = (o: Partial<ReceivedPacket> = {}) => {
    b.deliver(o);
    b.clock.increment(20);
  };
  return { runner: b.runner, send, received: b.received };
}

test('a repeat of a passed advert on another interface is still refused', () => {
  const b = backupWithHandDrivenSocket();
  b.send();
  b.send();
  assert.equal(b.received(), 2, 'both copies reached the machine');
  b.send({ ifindex: 3 });
  assert.equal(b.runner.status().drops['wrong-interface'], 1);
  assert.equal(b.received(), 2);
  b.send();
  assert.equal(b.received(), 3, 'and the next on the right interface passes again');
});

test('a repeat with another TTL or to a unicast address is refused, whatever passed before', () => {
  const b = backupWithHandDrivenSocket();
  b.send();
  b.send({ ttl: 254 });
  assert.equal(b.runner.status().drops['bad-ttl'], 1);
  b.send({ destination: parseAddress('198.18.0.1')! });
  assert.equal(b.runner.status().drops['wrong-destination'], 1);
  assert.equal(b.received(), 1);
});
