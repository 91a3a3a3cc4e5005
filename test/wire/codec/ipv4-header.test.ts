import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedIpv4HeaderLength, checkIpv4Header, parseIpv4Header } from '../../../wire/codec/index.js';
import { fromHex } from './helpers.js';

// 20-byte header: TTL 255, protocol 112, 198.18.0.1 -> 224.0.0.18, total length 40.
const HEADER = '45c00028000000 00ff70 0000 c6120001 e0000012'.replace(/ /g, '');

function datagram(header: string, payloadLength: number): Uint8Array {
  const h = fromHex(header);
  const out = new Uint8Array(h.length + payloadLength);
  out.set(h);
  return out;
}

test('parses a 20-byte header: length, TTL, protocol, addresses', () => {
  const r = parseIpv4Header(datagram(HEADER, 20));
  assert.ok(r.ok);
  assert.deepEqual(r.header, {
    headerLength: 20,
    ttl: 255,
    protocol: 112,
    totalLength: 40,
    source: new Uint8Array([198, 18, 0, 1]),
    destination: new Uint8Array([224, 0, 0, 18]),
  });
});

test('reads the TTL that the sender set', () => {
  const d = datagram(HEADER, 20);
  d[8] = 64;
  const r = parseIpv4Header(d);
  assert.ok(r.ok);
  assert.equal(r.header.ttl, 64);
});

test('honours IHL > 5 (IP options, e.g. Router Alert)', () => {
  const d = datagram('46c0002c000000 00ff70 0000 c6120001 e0000012 94040000'.replace(/ /g, ''), 20);
  const r = parseIpv4Header(d);
  assert.ok(r.ok);
  assert.equal(r.header.headerLength, 24);
  assert.equal(r.header.totalLength, 44);
});

test('copies addresses: mutating the datagram later does not change the header', () => {
  const d = datagram(HEADER, 20);
  const r = parseIpv4Header(d);
  d[12] = 0;
  assert.ok(r.ok);
  assert.equal(r.header.source[0], 198);
  assert.equal(Object.getPrototypeOf(r.header.source), Uint8Array.prototype);
});

test('malformed headers are typed errors', () => {
  const cases: Array<[string, Uint8Array]> = [];
  cases.push(['short-buffer', new Uint8Array(0)]);
  cases.push(['short-buffer', datagram(HEADER, 20).subarray(0, 19)]);
  const v6 = datagram(HEADER, 20);
  v6[0] = 0x65;
  cases.push(['bad-version', v6]);
  const ihl4 = datagram(HEADER, 20);
  ihl4[0] = 0x44;
  cases.push(['bad-ihl', ihl4]);
  const ihl15 = datagram(HEADER, 20);
  ihl15[0] = 0x4f; /* 60-byte header in a 40-byte buffer */
  cases.push(['short-buffer', ihl15]);
  cases.push(['length-mismatch', datagram(HEADER, 21)]); /* buffer longer than Total Length */
  cases.push(['length-mismatch', datagram(HEADER, 19)]); /* truncated */
  const tiny = datagram(HEADER, 20);
  tiny[0] = 0x46;
  tiny[2] = 0;
  tiny[3] = 20; /* Total Length smaller than the 24-byte header */
  cases.push(['length-mismatch', tiny]);
  for (const [kind, input] of cases) {
    const r = parseIpv4Header(input);
    assert.equal(r.ok, false, kind);
    if (!r.ok) {
      assert.equal(r.error.kind, kind);
      assert.ok(r.error.detail.length > 0);
    }
  }
});

test('acceptedIpv4HeaderLength agrees with checkIpv4Header on every header a mutation makes', () => {
  // Byte 0 (version, IHL) and 2-3 (Total Length) decide; each takes values around the edges.
  const base = datagram(HEADER, 20);
  let accepted = 0;
  let cases = 0;
  for (const b0 of [0x45, 0x46, 0x44, 0x4f, 0x55, 0x35, 0x40]) {
    for (const total of [0, 19, 20, 24, 39, 40, 41, 60, 0xffff]) {
      for (const length of [0, 19, 20, 24, 39, 40, 41, 60]) {
        const buf = new Uint8Array(64);
        buf.set(base.subarray(0, Math.min(base.length, 64)));
        buf[0] = b0;
        buf[2] = total >> 8;
        buf[3] = total & 0xff;
        const check = checkIpv4Header(buf.subarray(0, length));
        const fast = acceptedIpv4HeaderLength(buf, length);
        assert.equal(fast, check.ok ? check.headerLength : -1, `b0 ${b0.toString(16)}, total ${total}, length ${length}`);
        if (check.ok) accepted++;
        cases++;
      }
    }
  }
  assert.ok(accepted > 5 && accepted < cases, `${accepted} of ${cases} accepted: both outcomes covered`);
});
