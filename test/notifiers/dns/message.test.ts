// Pure: the RFC 2136 UPDATE encoder, TSIG signing and verification, the response parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addressBytes,
  buildUpdate,
  encodeName,
  inZone,
  nameProblem,
  parseResponse,
  responseSignatureProblem,
  signMessage,
  type TsigKey,
} from '../../../notifiers/dns/message.js';

const key: TsigKey = { name: 'vipflow-key', algorithm: 'hmac-sha256', secret: Buffer.from('0123456789abcdef0123456789abcdef') };
const fields = { timeSigned: 1_795_689_763, fudge: 300, error: 0, other: Buffer.alloc(0) };

test('names: wire form, limits, zone membership', () => {
  assert.deepEqual(encodeName('www.Example.test.'), Buffer.from('\x03www\x07Example\x04test\x00', 'latin1'));
  assert.deepEqual(encodeName('www.example.test'), encodeName('www.example.test.'));
  assert.equal(nameProblem('a..b'), 'has an empty label');
  assert.equal(nameProblem(''), 'is empty');
  assert.equal(nameProblem(`${'x'.repeat(64)}.test`), 'has a label longer than 63 octets');
  assert.equal(nameProblem(Array.from({ length: 5 }, () => 'y'.repeat(60)).join('.')), 'is longer than 255 octets');
  assert.throws(() => encodeName('a..b'), RangeError);
  assert.ok(inZone('WWW.example.test.', 'example.test'));
  assert.ok(inZone('example.test', 'example.test.'));
  assert.ok(!inZone('www.badexample.test', 'example.test'));
});

test('addresses: IPv4, IPv6 in every spelling, and non-addresses', () => {
  assert.equal(addressBytes('198.18.175.1')?.toString('hex'), 'c612af01');
  assert.equal(addressBytes('::')?.toString('hex'), '0'.repeat(32));
  assert.equal(addressBytes('::1')?.toString('hex'), `${'0'.repeat(31)}1`);
  assert.equal(addressBytes('fd00:198:18::7')?.toString('hex'), 'fd000198001800000000000000000007');
  assert.equal(addressBytes('::ffff:198.18.0.1')?.toString('hex'), '00000000000000000000ffffc6120001');
  assert.equal(addressBytes('1:2:3:4:5:6:198.18.0.1')?.toString('hex'), '000100020003000400050006c6120001');
  for (const bad of ['', 'www', '1.2.3', '198.18.0.256', 'fe80::1%eth0', '1::2::3', '12345::']) assert.equal(addressBytes(bad), undefined, bad);
  // Any 8 groups: the full spelling and Node's canonical (compressed) one give the same octets.
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.boolean(), (g, zeros) => {
      const groups = zeros ? g.map((v, i) => (i > 1 && i < 6 ? 0 : v)) : g;
      const full = groups.map((v) => v.toString(16)).join(':');
      const want = Buffer.from(groups.flatMap((v) => [v >> 8, v & 0xff])).toString('hex');
      const canonical = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      return addressBytes(full)?.toString('hex') === want && addressBytes(canonical)?.toString('hex') === want;
    }),
  );
});

test('the UPDATE message: header, zone section, deletions then additions', () => {
  const m = buildUpdate({ zone: 'example.test', name: 'www.example.test', ttl: 60, replace: ['A', 'AAAA'], add: ['198.18.175.1', 'fd00:198:18::7'] }, 0x1234);
  assert.equal(m.readUInt16BE(0), 0x1234);
  assert.equal(m.readUInt16BE(2), 0x2800, 'opcode UPDATE, QR clear');
  assert.deepEqual(
    [4, 6, 8, 10].map((o) => m.readUInt16BE(o)),
    [1, 0, 4, 0],
  );
  const zone = encodeName('example.test');
  assert.deepEqual(m.subarray(12, 12 + zone.length), zone);
  let o = 12 + zone.length;
  assert.deepEqual([m.readUInt16BE(o), m.readUInt16BE(o + 2)], [6, 1], 'zone section: SOA IN');
  o += 4;
  const owner = encodeName('www.example.test');
  const rrAt = () => {
    assert.deepEqual(m.subarray(o, o + owner.length), owner);
    const p = o + owner.length;
    const r = {
      type: m.readUInt16BE(p),
      klass: m.readUInt16BE(p + 2),
      ttl: m.readUInt32BE(p + 4),
      rdata: m.subarray(p + 10, p + 10 + m.readUInt16BE(p + 8)).toString('hex'),
    };
    o = p + 10 + m.readUInt16BE(p + 8);
    return r;
  };
  assert.deepEqual(rrAt(), { type: 1, klass: 255, ttl: 0, rdata: '' }, 'delete the A RRset');
  assert.deepEqual(rrAt(), { type: 28, klass: 255, ttl: 0, rdata: '' }, 'delete the AAAA RRset');
  assert.deepEqual(rrAt(), { type: 1, klass: 1, ttl: 60, rdata: 'c612af01' });
  assert.deepEqual(rrAt(), { type: 28, klass: 1, ttl: 60, rdata: 'fd000198001800000000000000000007' });
  assert.equal(o, m.length);
  assert.throws(() => buildUpdate({ zone: 'example.test', name: 'www.example.test', ttl: 60, replace: [], add: ['nope'] }, 1), RangeError);
});

/** What a server sends back for `request`: same ID and zone section, QR set, `rcode`, signed with `k` unless told. */
function serverResponse(request: Buffer, requestMac: Buffer, rcode: number, k: TsigKey | undefined, error = 0): Buffer {
  const zoneEnd = 12 + encodeName('example.test').length + 4;
  const body = Buffer.from(request.subarray(0, zoneEnd));
  body.writeUInt16BE(0x8000 | (5 << 11) | rcode, 2);
  body.writeUInt16BE(0, 8);
  body.writeUInt16BE(0, 10);
  return k ? signMessage(body, k, { ...fields, error }, requestMac).message : body;
}

test('TSIG: the signed request carries a TSIG record the parser finds; a signed response verifies against the request MAC', () => {
  const unsigned = buildUpdate({ zone: 'example.test', name: 'www.example.test', ttl: 60, replace: ['A'], add: ['198.18.175.1'] }, 77);
  const { message, mac } = signMessage(unsigned, key, fields);
  assert.equal(mac.length, 32, 'hmac-sha256');
  assert.equal(message.readUInt16BE(10), 1, 'ARCOUNT counts the TSIG record');
  const p = parseResponse(message);
  assert.ok(p.ok);
  assert.equal(p.response.tsig?.keyName, 'vipflow-key');
  assert.equal(p.response.tsig?.algorithm, 'hmac-sha256');
  assert.equal(p.response.tsig?.timeSigned, fields.timeSigned);
  assert.equal(p.response.tsig?.originalId, 77);
  assert.deepEqual(p.response.tsig?.mac, mac);
  assert.equal(p.response.tsig?.offset, unsigned.length);

  const good = serverResponse(message, mac, 0, key);
  const r = parseResponse(good);
  assert.ok(r.ok && r.response.isResponse && r.response.opcode === 5 && r.response.rcode === 0);
  assert.equal(responseSignatureProblem(good, r.response, key, mac), undefined);
  // Any change to the signed bytes, another secret, another request MAC, or no signature fails.
  const tampered = Buffer.from(good);
  tampered.writeUInt8(tampered.readUInt8(3) ^ 0x01, 3);
  const t = parseResponse(tampered);
  assert.ok(t.ok);
  assert.match(responseSignatureProblem(tampered, t.response, key, mac) ?? '', /does not verify/);
  const other = { ...key, secret: Buffer.from('another secret') };
  assert.match(responseSignatureProblem(good, r.response, other, mac) ?? '', /does not verify/);
  assert.match(responseSignatureProblem(good, r.response, key, Buffer.alloc(32)) ?? '', /does not verify/);
  const plain = serverResponse(message, mac, 0, undefined);
  const u = parseResponse(plain);
  assert.ok(u.ok);
  assert.equal(responseSignatureProblem(plain, u.response, key, mac), 'the response is not signed');
  const sha1 = serverResponse(message, mac, 0, { ...key, algorithm: 'hmac-sha1' });
  const s = parseResponse(sha1);
  assert.ok(s.ok);
  assert.match(responseSignatureProblem(sha1, s.response, key, mac) ?? '', /signed with hmac-sha1/);
});

test('the TSIG error of a rejected request is read from the response', () => {
  const { message, mac } = signMessage(
    buildUpdate({ zone: 'example.test', name: 'www.example.test', ttl: 60, replace: [], add: ['198.18.175.1'] }, 9),
    key,
    fields,
  );
  const r = parseResponse(serverResponse(message, mac, 9, key, 16));
  assert.ok(r.ok);
  assert.equal(r.response.rcode, 9);
  assert.equal(r.response.tsig?.error, 16);
});

test('parseResponse never throws and rejects truncated messages', () => {
  const { message } = signMessage(
    buildUpdate({ zone: 'example.test', name: 'www.example.test', ttl: 60, replace: ['A'], add: ['198.18.175.1'] }, 5),
    key,
    fields,
  );
  for (let n = 0; n < message.length; n++) assert.equal(parseResponse(message.subarray(0, n)).ok, false, `cut at ${n}`);
  // A compression pointer to itself must not loop.
  const loop = Buffer.from([0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1]);
  assert.equal(parseResponse(loop).ok, false);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => typeof parseResponse(Buffer.from(bytes)).ok === 'boolean'));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: message.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const b = Buffer.from(message);
      b[i] = v;
      return typeof parseResponse(b).ok === 'boolean';
    }),
  );
});
