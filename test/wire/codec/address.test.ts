import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { compareAddresses, formatAddress, formatIPv4, formatIPv6, parseAddress, parseIPv4, parseIPv6 } from '../../../wire/codec/index.js';

test('parseIPv4 accepts dotted quads and refuses everything else', () => {
  assert.deepEqual(parseIPv4('198.18.0.1'), new Uint8Array([198, 18, 0, 1]));
  assert.deepEqual(parseIPv4('0.0.0.0'), new Uint8Array(4));
  assert.deepEqual(parseIPv4('255.255.255.255'), new Uint8Array([255, 255, 255, 255]));
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..2.3', '1.2.3.4.', '.1.2.3', 'a.b.c.d', ' 1.2.3.4', '1.2.3.-4']) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

test('parseIPv6 handles ::, groups, embedded IPv4 and refuses malformed text', () => {
  assert.deepEqual(parseIPv6('::'), new Uint8Array(16));
  assert.deepEqual(parseIPv6('::1'), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
  assert.deepEqual(parseIPv6('ff02::12'), new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]));
  assert.deepEqual(parseIPv6('FD00:198:18::A'), new Uint8Array([0xfd, 0, 1, 0x98, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa]));
  assert.deepEqual(parseIPv6('1:2:3:4:5:6:7:8'), new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
  assert.deepEqual(parseIPv6('1::'), new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual(parseIPv6('::ffff:198.18.0.1'), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1]));
  assert.deepEqual(parseIPv6('1:2:3:4:5:6:198.18.0.1'), new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 198, 18, 0, 1]));
  const bad = [
    '',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    ':1::2',
    '1::2:',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    'fe80::1%eth0',
    '::1.2.3',
    '1.2.3.4',
    '::1.2.3.4:5',
  ];
  for (const text of bad) assert.equal(parseIPv6(text), undefined, text);
});

test('parsers agree with node:net isIP on a sample of valid and invalid text', () => {
  const samples = [
    '198.18.0.1',
    '1.2.3.256',
    'fd00:198:18::1',
    '::',
    '::ffff:1.2.3.4',
    '1::2::3',
    'fe80::',
    '0:0:0:0:0:0:0:0',
    'abcd:ef01:2345:6789:abcd:ef01:2345:6789',
    'abcde::1',
  ];
  for (const s of samples) assert.equal(parseAddress(s) !== undefined, isIP(s) !== 0, s);
});

test('formatIPv6 produces RFC 5952 canonical text', () => {
  const cases: Array<[string, string]> = [
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // §4.2.1 longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a lone zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 longest run wins
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first run on a tie
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3 lowercase
    ['2001:0db8::0001', '2001:db8::1'], // §4.1 no leading zeros
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::', 'fe80::'],
    ['::ffff:198.18.0.1', '::ffff:198.18.0.1'], // §5 mapped addresses keep a dotted tail
    ['ff02::12', 'ff02::12'],
  ];
  for (const [input, canonical] of cases) assert.equal(formatIPv6(parseIPv6(input)!), canonical, input);
});

test('formatAddress dispatches on length and reports invalid lengths without throwing', () => {
  assert.equal(formatAddress(new Uint8Array([198, 18, 0, 1])), '198.18.0.1');
  assert.equal(formatIPv4(new Uint8Array([198, 19, 255, 254])), '198.19.255.254');
  assert.equal(formatAddress(parseIPv6('fd00:198:18::1')!), 'fd00:198:18::1');
  assert.equal(formatAddress(new Uint8Array(5)), '<invalid address: 5 bytes>');
});

test('compareAddresses orders as unsigned big-endian integers', () => {
  const a = parseIPv4('198.18.0.2')!;
  const b = parseIPv4('198.18.0.10')!;
  assert.equal(compareAddresses(a, b), -1);
  assert.equal(compareAddresses(b, a), 1);
  assert.equal(compareAddresses(a, parseIPv4('198.18.0.2')!), 0);
  // Byte 0x80 and above must not compare as negative.
  assert.equal(compareAddresses(parseIPv4('128.0.0.0')!, parseIPv4('127.255.255.255')!), 1);
  assert.equal(compareAddresses(parseIPv6('fe80::2')!, parseIPv6('fe80::1:0')!), -1);
  assert.equal(compareAddresses(a, parseIPv6('::1')!), -1);
});
