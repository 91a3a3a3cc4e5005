/** ICMP / ICMPv6 echo: request bytes, and what decodeIcmp makes of replies, errors and junk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIcmp, describeIcmpError, encodeEchoRequest, parseAddress } from '../../../wire/codec/index.js';

/** RFC 1071 the slow, obvious way, independent of wire/codec/checksum.ts. */
function internetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Header(protocol: number, src: string, dst: string, payloadLength: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLength, 2);
  h[8] = 64;
  h[9] = protocol;
  h.set(parseAddress(src)!, 12);
  h.set(parseAddress(dst)!, 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return h;
}

function ipv6Header(nextHeader: number, src: string, dst: string, payloadLength: number): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payloadLength, 4);
  h[6] = nextHeader;
  h[7] = 64;
  h.set(parseAddress(src)!, 8);
  h.set(parseAddress(dst)!, 24);
  return h;
}

/** An ICMP message with a correct checksum. */
function icmp(type: number, code: number, rest: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest]);
  m.writeUInt16BE(internetChecksum(m), 2);
  return m;
}

const echoRest = (id: number, seq: number, payload: Buffer) => {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(seq, 2);
  payload.copy(b, 4);
  return b;
};

const withIp4 = (m: Buffer, src = '198.18.0.2', dst = '198.18.0.1') => Buffer.concat([ipv4Header(1, src, dst, m.length), m]);

test('an IPv4 echo request: type 8, code 0, identifier, sequence, payload, and a checksum RFC 1071 agrees with', () => {
  const payload = Buffer.from('abcdefghi'); // odd length: the checksum pads the tail
  const m = encodeEchoRequest(4, { identifier: 0xbeef, sequence: 0x0102 }, payload);
  assert.equal(m.length, 8 + 9);
  assert.deepEqual([m[0], m[1]], [8, 0]);
  assert.equal(m.readUInt16BE(4), 0xbeef);
  assert.equal(m.readUInt16BE(6), 0x0102);
  assert.deepEqual(m.subarray(8), payload);
  const zeroed = Buffer.from(m);
  zeroed.writeUInt16BE(0, 2);
  assert.equal(m.readUInt16BE(2), internetChecksum(zeroed));
  assert.equal(internetChecksum(m), 0, 'the whole message sums to zero');
});

test('an ICMPv6 echo request is type 128 with the checksum left to the kernel; identifiers wrap to 16 bits', () => {
  const m = encodeEchoRequest(6, { identifier: 0x1_0005, sequence: 7 }, Buffer.from('x'));
  assert.deepEqual([m[0], m[1], m[2], m[3]], [128, 0, 0, 0]);
  assert.equal(m.readUInt16BE(4), 5);
  assert.equal(m.readUInt16BE(6), 7);
});

test('an IPv4 echo reply behind its IP header decodes to identifier, sequence and payload', () => {
  const d = decodeIcmp(4, withIp4(icmp(0, 0, echoRest(0x4242, 9, Buffer.from('token+nonce')))));
  assert.equal(d.kind, 'echo-reply');
  if (d.kind !== 'echo-reply') return;
  assert.equal(d.identifier, 0x4242);
  assert.equal(d.sequence, 9);
  assert.equal(Buffer.from(d.payload).toString(), 'token+nonce');
});

test('an IPv4 echo reply with a bad checksum, a short one and a broken IP header are malformed', () => {
  const m = icmp(0, 0, echoRest(1, 2, Buffer.from('data')));
  m[9] = m[9]! ^ 0xff;
  assert.deepEqual(decodeIcmp(4, withIp4(m)), { kind: 'malformed', detail: 'bad ICMP checksum' });
  assert.equal(decodeIcmp(4, withIp4(Buffer.from([0, 0, 0, 0]))).kind, 'malformed');
  const bad = withIp4(icmp(0, 0, echoRest(1, 2, Buffer.alloc(0))));
  bad.writeUInt16BE(99, 2); // Total Length disagrees with what was received
  assert.equal(decodeIcmp(4, bad).kind, 'malformed');
  const udp = Buffer.concat([ipv4Header(17, '198.18.0.2', '198.18.0.1', 8), Buffer.alloc(8)]);
  assert.match(JSON.stringify(decodeIcmp(4, udp)), /not ICMP/);
});

test('an IPv4 host unreachable quoting our echo request gives its identifier, sequence and destination', () => {
  const request = encodeEchoRequest(4, { identifier: 0x1234, sequence: 77 }, Buffer.from('payload bytes'));
  const quoted = Buffer.concat([ipv4Header(1, '198.18.0.1', '198.18.0.9', request.length), request]);
  const error = icmp(3, 1, Buffer.concat([Buffer.alloc(4), quoted]));
  const d = decodeIcmp(4, withIp4(error, '198.18.0.1', '198.18.0.1'));
  assert.equal(d.kind, 'error');
  if (d.kind !== 'error') return;
  assert.deepEqual([d.type, d.code, d.identifier, d.sequence], [3, 1, 0x1234, 77]);
  assert.deepEqual([...d.quotedDestination], [198, 18, 0, 9]);
  assert.equal(describeIcmpError(4, d.type, d.code), 'host unreachable');
  // RFC 792 only promises 8 bytes past the quoted header: enough.
  const minimal = icmp(3, 1, Buffer.concat([Buffer.alloc(4), quoted.subarray(0, 28)]));
  assert.equal(decodeIcmp(4, withIp4(minimal)).kind, 'error');
});

test('IPv4 errors that do not quote an echo request, or quote too little, are "other"', () => {
  const udpQuoted = Buffer.concat([ipv4Header(17, '198.18.0.1', '198.18.0.9', 8), Buffer.alloc(8)]);
  assert.deepEqual(decodeIcmp(4, withIp4(icmp(3, 3, Buffer.concat([Buffer.alloc(4), udpQuoted])))), { kind: 'other', type: 3 });
  const request = encodeEchoRequest(4, { identifier: 1, sequence: 1 }, Buffer.alloc(0));
  const quoted = Buffer.concat([ipv4Header(1, '198.18.0.1', '198.18.0.9', 8), request]);
  assert.deepEqual(decodeIcmp(4, withIp4(icmp(3, 1, Buffer.concat([Buffer.alloc(4), quoted.subarray(0, 24)])))), { kind: 'other', type: 3 });
  // An error quoting an echo *reply* (someone answering our reply) is not ours either.
  const replyQuoted = Buffer.concat([ipv4Header(1, '198.18.0.1', '198.18.0.9', 8), icmp(0, 0, echoRest(1, 1, Buffer.alloc(0)))]);
  assert.equal(decodeIcmp(4, withIp4(icmp(3, 1, Buffer.concat([Buffer.alloc(4), replyQuoted])))).kind, 'other');
  assert.deepEqual(decodeIcmp(4, withIp4(icmp(8, 0, echoRest(1, 1, Buffer.alloc(0))))), { kind: 'other', type: 8 });
});

test('an ICMPv6 echo reply and an ICMPv6 unreachable quoting our request (no IP header in front: raw IPv6 sockets)', () => {
  const reply = decodeIcmp(6, Buffer.concat([Buffer.from([129, 0, 0xde, 0xad]), echoRest(0x0a0b, 0xfffe, Buffer.from('p'))]));
  assert.deepEqual(reply.kind === 'echo-reply' && [reply.identifier, reply.sequence], [0x0a0b, 0xfffe]);
  const request = encodeEchoRequest(6, { identifier: 0x0a0b, sequence: 3 }, Buffer.from('payload'));
  const quoted = Buffer.concat([ipv6Header(58, 'fd00:198:18::1', 'fd00:198:18::9', request.length), request]);
  const d = decodeIcmp(6, Buffer.concat([Buffer.from([1, 1, 0, 0]), Buffer.alloc(4), quoted]));
  assert.equal(d.kind, 'error');
  if (d.kind !== 'error') return;
  assert.deepEqual([d.type, d.code, d.identifier, d.sequence], [1, 1, 0x0a0b, 3]);
  assert.deepEqual(d.quotedDestination, parseAddress('fd00:198:18::9'));
  assert.equal(describeIcmpError(6, 1, 1), 'communication administratively prohibited');
  assert.equal(describeIcmpError(6, 1, 3), 'address unreachable');
  // An ICMPv6 error quoting UDP, and an IPv6 request (type 128) coming back to us, are "other".
  const udp = Buffer.concat([ipv6Header(17, 'fd00:198:18::1', 'fd00:198:18::9', 8), Buffer.alloc(8)]);
  assert.deepEqual(decodeIcmp(6, Buffer.concat([Buffer.from([1, 4, 0, 0]), Buffer.alloc(4), udp])), { kind: 'other', type: 1 });
  assert.deepEqual(decodeIcmp(6, request), { kind: 'other', type: 128 });
});

test('describeIcmpError names what a reader needs and falls back to numbers', () => {
  assert.equal(describeIcmpError(4, 3, 0), 'network unreachable');
  assert.equal(describeIcmpError(4, 3, 13), 'communication administratively prohibited');
  assert.equal(describeIcmpError(4, 3, 15), 'destination unreachable (code 15)');
  assert.equal(describeIcmpError(4, 11, 0), 'TTL exceeded in transit');
  assert.equal(describeIcmpError(6, 3, 0), 'hop limit exceeded in transit');
  assert.equal(describeIcmpError(4, 5, 1), 'ICMP type 5 code 1');
});
