import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stripIpv4Header } from '../../../wire/socket/ipv4-header.js';

function datagram(ihlWords: number, payload: number[], totalOverride?: number): Buffer {
  const header = Buffer.alloc(ihlWords * 4);
  header[0] = 0x40 | ihlWords;
  header.writeUInt16BE(totalOverride ?? header.length + payload.length, 2);
  header[8] = 255;
  header[9] = 112;
  return Buffer.concat([header, Buffer.from(payload)]);
}

test('strips a 20-byte header and returns a view of the payload', () => {
  const d = datagram(5, [0x31, 51, 100, 1]);
  const r = stripIpv4Header(d);
  assert.ok(r.ok);
  assert.equal(r.headerLength, 20);
  assert.deepEqual([...r.payload], [0x31, 51, 100, 1]);
  assert.equal(r.payload.buffer, d.buffer, 'no copy');
});

test('honours IP options (IHL > 5)', () => {
  const r = stripIpv4Header(datagram(7, [0x21, 7]));
  assert.ok(r.ok);
  assert.equal(r.headerLength, 28);
  assert.deepEqual([...r.payload], [0x21, 7]);
});

test('cuts trailing bytes beyond the total length (link-layer padding)', () => {
  const d = Buffer.concat([datagram(5, [1, 2, 3]), Buffer.from([0, 0, 0])]);
  const r = stripIpv4Header(d);
  assert.ok(r.ok);
  assert.deepEqual([...r.payload], [1, 2, 3]);
});

test('rejects what is not a plausible IPv4 header', () => {
  assert.deepEqual(stripIpv4Header(Buffer.alloc(19)), { ok: false, reason: 'short' });
  const v6 = datagram(5, [1]);
  v6[0] = 0x65;
  assert.deepEqual(stripIpv4Header(v6), { ok: false, reason: 'version' });
  const smallIhl = datagram(5, [1]);
  smallIhl[0] = 0x44;
  assert.deepEqual(stripIpv4Header(smallIhl), { ok: false, reason: 'ihl' });
  const bigIhl = datagram(5, [1, 2, 3]);
  bigIhl[0] = 0x4f; // 60 bytes > 24
  assert.deepEqual(stripIpv4Header(bigIhl), { ok: false, reason: 'ihl' });
  assert.deepEqual(stripIpv4Header(datagram(5, [1, 2], 40)), { ok: false, reason: 'length' });
  assert.deepEqual(stripIpv4Header(datagram(5, [1, 2], 10)), { ok: false, reason: 'length' });
});
