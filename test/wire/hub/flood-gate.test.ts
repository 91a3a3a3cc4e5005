import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FloodGate, packetHash, type FloodPacket } from '../../../wire/hub/flood-gate.js';

const A = new Uint8Array([198, 18, 0, 1]);
const B = new Uint8Array([198, 18, 0, 2]);
const G = new Uint8Array([224, 0, 0, 18]);
const from = (source: Uint8Array, payload: Buffer, ttl = 255): FloodPacket => ({ ttl, source, destination: G, payload });
const packet = (priority: number, last = 100) => Buffer.from([0x31, 40, priority, 1, 0, 10, 0, 0, 198, 18, 0, last]);

test('copies of one packet beyond the window share are shed and counted', () => {
  const g = new FloodGate(10, 3);
  const admitted = Array.from({ length: 100 }, () => g.admit(from(A, packet(50)), 0)).filter(Boolean).length;
  assert.equal(admitted, 3);
  assert.equal(g.shed, 97);
  assert.equal(g.admit(from(A, packet(50)), 10), true, 'the next window admits again');
});

test('other bytes or another sender have their own share: a forged flood cannot starve the real Master', () => {
  const g = new FloodGate(10, 3);
  for (let i = 0; i < 1000; i++) g.admit(from(A, packet(50)), 1); // forged from A at priority 50
  assert.equal(g.admit(from(A, packet(200)), 2), true, "A's real adverts at 200 still pass");
  for (let i = 0; i < 1000; i++) g.admit(from(A, packet(200, 99)), 1); // forged at A's priority with another address list
  assert.equal(g.admit(from(A, packet(200)), 2), true, '... and with its own address list');
  for (let i = 0; i < 1000; i++) g.admit(from(A, packet(200), 64), 1); // the real advert's bytes, forged at TTL 64
  assert.equal(g.admit(from(A, packet(200)), 3), true, '... and at TTL 255');
  assert.equal(g.admit(from(B, packet(50)), 2), true);
  const unicast = new FloodGate(10, 3);
  for (let i = 0; i < 1000; i++) unicast.admit({ ...from(A, packet(200)), destination: new Uint8Array([198, 18, 0, 9]) }, 1);
  assert.equal(unicast.admit(from(A, packet(200)), 2), true, 'unicast copies of the real advert leave its multicast share');
});

test('a hash shared by two packets never makes them share a count', () => {
  // Every packet hashes alike: only the bytes can tell them apart.
  const g = new FloodGate(10, 3, 1024, () => 7);
  for (let i = 0; i < 1000; i++) assert.equal(g.admit(from(i % 2 ? A : B, packet(200)), 1), true, `packet ${i}`);
  assert.equal(g.shed, 0);
  for (let i = 0; i < 3; i++) assert.equal(g.admit(from(A, packet(200)), 1), i < 2, 'copies of one packet are still counted');
});

test('the hash covers every part, and the seed changes it', () => {
  const base = from(A, packet(200));
  const h = packetHash(base, 1);
  assert.notEqual(packetHash({ ...base, ttl: 64 }, 1), h);
  assert.notEqual(packetHash({ ...base, source: B }, 1), h);
  assert.notEqual(packetHash({ ...base, destination: A }, 1), h);
  assert.notEqual(packetHash({ ...base, payload: packet(201) }, 1), h);
  assert.notEqual(packetHash(base, 2), h);
  assert.equal(packetHash(from(A, packet(200)), 1), h, 'equal packets, equal hash');
});

test('a steady Master at the shortest interval is never cut', () => {
  const g = new FloodGate(10, 3);
  for (let t = 0; t < 10_000; t += 10) assert.equal(g.admit(from(A, packet(200)), t), true);
  assert.equal(g.shed, 0);
});

test('memory is bounded', () => {
  const g = new FloodGate(10, 3, 16);
  for (let i = 0; i < 1000; i++) g.admit(from(new Uint8Array([10, 0, i >> 8, i & 255]), packet(1)), 0);
  assert.equal(g.size, 16);
  assert.equal(g.admit(from(A, packet(1)), 0), true);
  assert.equal(g.admit(from(new Uint8Array(16).fill(0xfe), packet(1)), 0), true);
  assert.equal(g.size, 16);
});

test("a slot's memo follows its exact bytes: the next copy finds it, any other packet starts without", () => {
  const g = new FloodGate<string>(10, 3);
  const first = g.pass(from(A, packet(200)), 0)!;
  assert.equal(first.memo, undefined);
  first.memo = 'decoded 200 from A';
  // Later windows, same bytes: the same slot and memo (a Master's every advert).
  for (let t = 10; t <= 50; t += 10) assert.equal(g.pass(from(A, packet(200)), t)?.memo, 'decoded 200 from A');
  // Anything a decode reads differs: no memo carried over.
  assert.equal(g.pass(from(A, packet(201)), 60)!.memo, undefined, 'another priority');
  assert.equal(g.pass(from(B, packet(200)), 60)!.memo, undefined, 'another source');
  assert.equal(g.pass({ ttl: 255, source: A, destination: B, payload: packet(200) }, 60)!.memo, undefined, 'another destination');
  assert.equal(g.pass(from(A, packet(200), 64), 60)!.memo, undefined, 'another TTL');
  // The original is still remembered, and a shed copy gives no slot.
  assert.equal(g.pass(from(A, packet(200)), 70)?.memo, 'decoded 200 from A');
  g.pass(from(A, packet(200)), 70);
  g.pass(from(A, packet(200)), 70);
  assert.equal(g.pass(from(A, packet(200)), 70), null, 'the fourth in one window is shed');
});
