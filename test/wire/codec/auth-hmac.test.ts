// auth_hmac trailers against keepalived 2.4.3: its captured adverts (test/fixtures/keepalived-2.4.3,
// see /work/shared README facts restated in the .txt) and the draft appendix vectors from keepalived's
// test/auth_hmac_test.c, plus the failure reasons a receiver must tell apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../core/paths.js';
import {
  AUTH_HMAC_TRAILER_LENGTH,
  appendAuthTrailer,
  decodeIpv4Datagram,
  decodeVrrp,
  encodeVrrp,
  nextSequence,
  ReplayMarks,
  splitAuthTrailer,
  trailerSequence,
  verifyAuthTrailer,
  type AuthHmacContext,
  type AuthHmacVerifyKeys,
} from '../../../wire/codec/index.js';
import { fromHex, hex, ip } from './helpers.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'keepalived-2.4.3');
/** The draft's public test key: bytes 00 01 .. 1f. */
const TEST_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEYS_TIME: AuthHmacVerifyKeys = { keys: new Map([[1, TEST_KEY]]), antiReplay: 'time', timeWindowSec: 5 };
const KEYS_MONOTONIC: AuthHmacVerifyKeys = { ...KEYS_TIME, antiReplay: 'monotonic' };

interface CapturedAdvert {
  atMs: number;
  ip: Uint8Array;
}

/** Reads a classic little-endian pcap of Ethernet frames, returning each IPv4 packet with its capture time. */
function readPcap(path: string): CapturedAdvert[] {
  const buf = readFileSync(path);
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4, 'microsecond little-endian pcap');
  assert.equal(buf.readUInt32LE(20), 1, 'link type Ethernet');
  const out: CapturedAdvert[] = [];
  let at = 24;
  while (at + 16 <= buf.length) {
    const sec = buf.readUInt32LE(at);
    const usec = buf.readUInt32LE(at + 4);
    const len = buf.readUInt32LE(at + 8);
    const frame = buf.subarray(at + 16, at + 16 + len);
    if (frame.readUInt16BE(12) === 0x0800) out.push({ atMs: sec * 1000 + usec / 1000, ip: new Uint8Array(frame.subarray(14)) });
    at += 16 + len;
  }
  return out;
}

/** IPv4 packet -> VRRP payload and the context its HMAC binds. */
function parts(ipPacket: Uint8Array): { payload: Uint8Array; ctx: AuthHmacContext; destination: Uint8Array } {
  const ihl = (ipPacket[0]! & 0x0f) * 4;
  const payload = ipPacket.subarray(ihl);
  return { payload, ctx: { version: 3, vrid: payload[1]!, source: ipPacket.subarray(12, 16) }, destination: ipPacket.subarray(16, 20) };
}

const ADVERT1 = {
  atMs: 1796162773768.433,
  ip: fromHex('45c0003c00010000ff70bc5fc613580be000001231339601000a1b9bc6135864010100006b0f44d5c46800001c18de53965c803cb2440ac561366cfb'),
};

function verifyCaptured(ipPacket: Uint8Array, nowMs: number, settings = KEYS_TIME, marks = new ReplayMarks()) {
  const { payload, ctx } = parts(ipPacket);
  const split = splitAuthTrailer(payload, 4);
  assert.ok(split, 'payload carries a 28-byte trailer');
  return verifyAuthTrailer(split.message, split.trailer, ctx, settings, marks, nowMs);
}

test('every advert of the keepalived 2.4.3 capture decodes and verifies at its capture time, with growing sequences', () => {
  const adverts = readPcap(join(FIXTURES, 'auth_hmac-ipv4-mcast.pcap'));
  assert.equal(adverts.length, 111);
  const marks = new ReplayMarks();
  const senders = new Set<string>();
  for (const a of adverts) {
    const decoded = decodeIpv4Datagram(a.ip, { authTrailerLength: AUTH_HMAC_TRAILER_LENGTH });
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.detail);
    // keepalived 2.4.3 computes the IPv4 checksum with the RFC 5798 pseudo-header over the message alone.
    assert.equal(decoded.checksumVariant, 'with-pseudo-header');
    const verdict = verifyCaptured(a.ip, a.atMs, KEYS_TIME, marks);
    assert.ok(verdict.ok, verdict.ok ? '' : `${verdict.reason}: ${verdict.detail}`);
    assert.ok(verdict.skewSec !== null && Math.abs(verdict.skewSec) <= 1);
    senders.add(hex(parts(a.ip).ctx.source));
  }
  assert.equal(senders.size, 2, 'both nodes signed');
});

test('re-encoding a captured advert at its sequence gives keepalived 2.4.3 bytes exactly', () => {
  const { payload, ctx, destination } = parts(ADVERT1.ip);
  const split = splitAuthTrailer(payload, 4)!;
  const decoded = decodeVrrp(split.message, { source: ctx.source, destination });
  assert.ok(decoded.ok);
  const message = encodeVrrp(decoded.packet, { source: ctx.source, destination });
  const signed = appendAuthTrailer(message, ctx, destination, { id: 1, bytes: TEST_KEY }, trailerSequence(split.trailer));
  assert.equal(hex(signed), hex(payload));
});

test('a changed byte, a replay, a wrong key, an unknown key id and a clock outside the window each fail with their reason', () => {
  const now = ADVERT1.atMs;
  const marks = new ReplayMarks();
  assert.equal(verifyCaptured(ADVERT1.ip, now, KEYS_TIME, marks).ok, true);
  const replay = verifyCaptured(ADVERT1.ip, now + 50, KEYS_TIME, marks);
  assert.equal(replay.ok ? 'ok' : replay.reason, 'replay');

  const ihl = 20;
  const priority = Uint8Array.from(ADVERT1.ip);
  priority[ihl + 2] = 255;
  const tampered = verifyCaptured(priority, now);
  assert.equal(tampered.ok ? 'ok' : tampered.reason, 'bad-hmac');

  const wrongKey = verifyCaptured(ADVERT1.ip, now, { ...KEYS_TIME, keys: new Map([[1, Uint8Array.from({ length: 32 }, (_, i) => 31 - i)]]) });
  assert.equal(wrongKey.ok ? 'ok' : wrongKey.reason, 'bad-hmac');

  const otherId = verifyCaptured(ADVERT1.ip, now, { ...KEYS_TIME, keys: new Map([[2, TEST_KEY]]) });
  assert.equal(otherId.ok ? 'ok' : otherId.reason, 'unknown-key');

  for (const offsetSec of [6, -6]) {
    const late = verifyCaptured(ADVERT1.ip, now + offsetSec * 1000);
    assert.equal(late.ok ? 'ok' : late.reason, 'outside-window', `clock ${offsetSec} s off`);
  }
  assert.equal(verifyCaptured(ADVERT1.ip, now + 4000).ok, true, 'inside the 5 s window');
  // Monotonic mode has no window: the capture verifies long after.
  assert.equal(verifyCaptured(ADVERT1.ip, now + 86_400_000, KEYS_MONOTONIC).ok, true);
});

// keepalived test/auth_hmac_test.c: draft appendix images, key 00..1f, VRID 51, prio 200, sequence 0x6800000080000000.
const DRAFT_V4 = '3133c80100644402c0000264' + '010100006800000080000000' + '1b84bc4e8e43892dc6d98448f8ee2265';
const DRAFT_V6 = '3133c8010064a2e9' + 'fe800000000000000000000000000100' + '010100006800000080000000' + 'c8c56146ebfd66ee10ec4d8186461b78';
const V6_CTX: AuthHmacContext = { version: 3, vrid: 51, source: ip('fe80::10') };

function verifyImage(image: Uint8Array, ctx: AuthHmacContext, alen: 4 | 16) {
  const split = splitAuthTrailer(image, alen);
  assert.ok(split);
  return verifyAuthTrailer(split.message, split.trailer, ctx, KEYS_MONOTONIC, new ReplayMarks(), Date.now());
}

test("keepalived's draft appendix vectors verify (IPv4 and IPv6)", () => {
  assert.equal(verifyImage(fromHex(DRAFT_V4), { version: 3, vrid: 51, source: ip('198.51.100.10') }, 4).ok, true);
  assert.equal(verifyImage(fromHex(DRAFT_V6), V6_CTX, 16).ok, true);
  // The IPv6 image's checksum is the kernel's for destination fe80::20, over the trailer too.
  const decoded = decodeVrrp(fromHex(DRAFT_V6), { source: ip('fe80::10'), destination: ip('fe80::20') }, { authTrailerLength: AUTH_HMAC_TRAILER_LENGTH });
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.detail);
});

test("keepalived's one-byte mutations of the IPv6 vector give its verdicts", () => {
  const T = 24;
  const cases: [string, number, string][] = [
    ['tampered priority', 2, 'bad-hmac'],
    ['tampered advert interval', 5, 'bad-hmac'],
    ['tampered checksum', 6, 'ok'],
    ['tampered vip', 8 + 15, 'bad-hmac'],
    ['unsupported ext type', T, 'malformed'],
    ['unknown key id', T + 1, 'unknown-key'],
    ['nonzero reserved', T + 2, 'malformed'],
    ['tampered seconds', T + 4, 'bad-hmac'],
    ['tampered counter', T + 10, 'bad-hmac'],
    ['tampered hmac', T + 12, 'bad-hmac'],
  ];
  for (const [what, offset, expected] of cases) {
    const image = fromHex(DRAFT_V6);
    image[offset]! ^= 0x01;
    const v = verifyImage(image, V6_CTX, 16);
    assert.equal(v.ok ? 'ok' : v.reason, expected, what);
  }
  const wrongSource = verifyImage(fromHex(DRAFT_V6), { ...V6_CTX, source: ip('fe80::20') }, 16);
  assert.equal(wrongSource.ok ? 'ok' : wrongSource.reason, 'bad-hmac');
  const wrongVrid = verifyImage(fromHex(DRAFT_V6), { ...V6_CTX, vrid: 52 }, 16);
  assert.equal(wrongVrid.ok ? 'ok' : wrongVrid.reason, 'bad-hmac');
});

test('an IPv6 advert signed here decodes with the checksum over the trailer, verifies once, and a second receiver accepts the same copy', () => {
  const source = ip('fe80::10');
  const destination = ip('ff02::12');
  const message = encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertIntervalCs: 100, addresses: [ip('fe80::100')] }, { source, destination });
  const seq = nextSequence(null, Date.now(), 'time', 5);
  const signed = appendAuthTrailer(message, V6_CTX, destination, { id: 1, bytes: TEST_KEY }, seq);
  assert.ok(decodeVrrp(signed, { source, destination }, { authTrailerLength: AUTH_HMAC_TRAILER_LENGTH }).ok);
  assert.equal(decodeVrrp(signed, { source, destination }).ok, false, 'without the trailer option the length does not match');
  const split = splitAuthTrailer(signed, 16)!;
  const marks = new ReplayMarks();
  assert.equal(verifyAuthTrailer(split.message, split.trailer, V6_CTX, KEYS_TIME, marks, Date.now()).ok, true);
  const again = verifyAuthTrailer(split.message, split.trailer, V6_CTX, KEYS_TIME, marks, Date.now());
  assert.equal(again.ok ? 'ok' : again.reason, 'replay');
  assert.equal(verifyAuthTrailer(split.message, split.trailer, V6_CTX, KEYS_TIME, new ReplayMarks(), Date.now()).ok, true);
});

test('sequences: clock-based, strictly growing within one tick, reset after a clock step in time mode only', () => {
  // Advert 1 of the capture carries subsec 50280 (0xc468): keepalived signed it ~1 ms before tcpdump stamped it.
  const t = 1_796_162_773_000 + (50280 * 1000) / 65536 + 0.001;
  const first = nextSequence(null, t, 'time', 5);
  assert.equal(first, 0x6b0f44d5c4680000n, 'seconds, 1/65536 s, counter 0');
  const second = nextSequence(first, t, 'time', 5);
  assert.equal(second, first + 1n, 'same tick: the counter grows');
  assert.ok(nextSequence(second, t + 1, 'time', 5) > second);
  const stranded = (BigInt(Math.floor(t / 1000) + 3600) << 32n) | 5n;
  assert.equal(nextSequence(stranded, t, 'time', 5) >> 32n, BigInt(Math.floor(t / 1000)), 'time mode restarts from the clock');
  assert.equal(nextSequence(stranded, t, 'monotonic', 5), stranded + 1n, 'monotonic mode keeps growing');
});

test('a replay mark stranded beyond the window expires in time mode and holds in monotonic mode', () => {
  const { payload, ctx } = parts(ADVERT1.ip);
  const split = splitAuthTrailer(payload, 4)!;
  const future = (BigInt(Math.floor(ADVERT1.atMs / 1000) + 3600) << 32n) | 0n;
  const sender = hex(ctx.source);
  const timeMarks = new ReplayMarks();
  timeMarks.set(sender, future);
  assert.equal(verifyAuthTrailer(split.message, split.trailer, ctx, KEYS_TIME, timeMarks, ADVERT1.atMs).ok, true);
  const monoMarks = new ReplayMarks();
  monoMarks.set(sender, future);
  const v = verifyAuthTrailer(split.message, split.trailer, ctx, KEYS_MONOTONIC, monoMarks, ADVERT1.atMs);
  assert.equal(v.ok ? 'ok' : v.reason, 'replay');
});

test('splitAuthTrailer: none on a plain advert', () => {
  const plain = fromHex('31339601000a1b9ac6135864');
  assert.equal(splitAuthTrailer(plain, 4), null);
});
