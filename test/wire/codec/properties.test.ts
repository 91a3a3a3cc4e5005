import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import {
  compareAddresses,
  decodeVrrp,
  encodeVrrp,
  foldSum,
  formatIPv4,
  formatIPv6,
  IPPROTO_VRRP,
  parseAddress,
  parseIPv4,
  parseIPv6,
  pseudoHeaderSum,
  type ChecksumVariant,
  type DecodeOptions,
  type PacketContext,
  type VrrpAdvert,
} from '../../../wire/codec/index.js';

// Bounded: every property has a run count and a time limit well inside the test timeout.
const runs = (numRuns: number) => ({ numRuns, interruptAfterTimeLimit: 20_000 });

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const plain = { noNullPrototype: true };
const context = (alen: 4 | 16): fc.Arbitrary<PacketContext> => fc.record({ source: bytes(alen), destination: bytes(alen) }, plain);
const common = { vrid: fc.integer({ min: 1, max: 255 }), priority: fc.integer({ min: 0, max: 255 }) };

interface Case {
  packet: VrrpAdvert;
  context: PacketContext;
  variant: ChecksumVariant;
}

const v2Case: fc.Arbitrary<Case> = fc.record({
  packet: fc.record(
    {
      version: fc.constant(2 as const),
      ...common,
      advertIntervalSec: fc.integer({ min: 1, max: 255 }),
      authType: fc.constantFrom('none' as const, 'simple' as const),
      authData: bytes(8),
      addresses: fc.array(bytes(4), { maxLength: 20 }),
    },
    plain,
  ),
  context: context(4),
  variant: fc.constant('without-pseudo-header' as const),
});
const v3Case = (alen: 4 | 16): fc.Arbitrary<Case> =>
  fc.record({
    packet: fc.record(
      {
        version: fc.constant(3 as const),
        ...common,
        maxAdvertIntervalCs: fc.integer({ min: 1, max: 4095 }),
        addresses: fc.array(bytes(alen), { maxLength: 20 }),
      },
      plain,
    ),
    context: context(alen),
    variant: alen === 16 ? fc.constant('with-pseudo-header' as const) : fc.constantFrom('with-pseudo-header' as const, 'without-pseudo-header' as const),
  });
const anyCase = fc.oneof(v2Case, v3Case(4), v3Case(16));

const encodeCase = (c: Case) => encodeVrrp(c.packet, c.context, { checksumVariant: c.variant });

/** Unfolded sum of the pseudo-header a VRRPv3/IPv4 message of this length would have. */
const pseudoSum = (c: PacketContext, length: number) => pseudoHeaderSum(c.source, c.destination, IPPROTO_VRRP, length);
const congruentZero = (x: number) => ((x % 0xffff) + 0xffff) % 0xffff === 0;

test('round trip: decode(encode(p)) is p, with the checksum variant it was encoded with', () => {
  fc.assert(
    fc.property(anyCase, (c) => {
      const encoded = encodeCase(c);
      const r = decodeVrrp(encoded, c.context);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
      assert.deepStrictEqual(r.packet, c.packet);
      // When the pseudo-header sums to zero (one's complement), both variants give the
      // same bytes and decode reports the RFC 5798 one.
      const indistinguishable = c.packet.version === 3 && c.context.source.length === 4 && congruentZero(pseudoSum(c.context, encoded.length));
      assert.ok(r.checksumVariant === c.variant || (indistinguishable && r.checksumVariant === 'with-pseudo-header'));
    }),
    runs(3000),
  );
});

test('round trip with 255 addresses, the most Count IPvX Addr allows', () => {
  fc.assert(
    fc.property(fc.array(bytes(16), { minLength: 255, maxLength: 255 }), context(16), (addresses, ctx) => {
      const packet: VrrpAdvert = { version: 3, vrid: 1, priority: 100, maxAdvertIntervalCs: 100, addresses };
      const r = decodeVrrp(encodeVrrp(packet, ctx), ctx);
      assert.ok(r.ok);
      assert.deepStrictEqual(r.packet, packet);
    }),
    runs(50),
  );
});

const anyContext = fc.oneof(context(4), context(16), fc.record({ source: fc.uint8Array({ maxLength: 20 }), destination: fc.uint8Array({ maxLength: 20 }) }));
const anyOptions: fc.Arbitrary<DecodeOptions | undefined> = fc.constantFrom(
  undefined,
  { checksum: 'either' },
  { checksum: 'with-pseudo-header' },
  { checksum: 'without-pseudo-header' },
);

test('decode never throws on random bytes, random contexts and random options', () => {
  const header = fc.tuple(fc.constantFrom(0x21, 0x31, 0x20, 0x11), fc.uint8Array({ maxLength: 600 })).map(([b0, rest]) => Uint8Array.of(b0, ...rest));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), header), anyContext, anyOptions, (buf, ctx, options) => {
      const r = decodeVrrp(buf, ctx, options);
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.equal(typeof r.error.detail, 'string');
    }),
    runs(10_000),
  );
});

type Mutation = { op: 'set'; at: number; value: number } | { op: 'truncate'; at: number } | { op: 'extend'; tail: Uint8Array };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
);

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Uint8Array.from(input);
  for (const m of mutations) {
    if (m.op === 'set' && out.length > 0) out[m.at % out.length] = m.value;
    else if (m.op === 'truncate') out = out.subarray(0, m.at % (out.length + 1));
    else if (m.op === 'extend') out = Uint8Array.of(...out, ...m.tail);
  }
  return out;
}

/** Bytes that carry no information re-encoding keeps: the checksum and the VRRPv3 reserved nibble. */
function significant(b: Uint8Array): string {
  const c = Uint8Array.from(b);
  c[6] = 0;
  c[7] = 0;
  if (c[0]! >> 4 === 3) c[4]! &= 0x0f;
  return Buffer.from(c).toString('hex');
}

test('mutated valid packets: decode never throws, and whatever it accepts re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(anyCase, fc.array(mutation, { minLength: 1, maxLength: 4 }), anyOptions, (c, mutations, options) => {
      const input = mutate(encodeCase(c), mutations);
      const r = decodeVrrp(input, c.context, options);
      if (r.ok) assert.equal(significant(encodeVrrp(r.packet, c.context, { checksumVariant: r.checksumVariant })), significant(input));
    }),
    runs(5000),
  );
});

function flipped(b: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

test('every single-bit flip in the message is detected when the checksum variant is known', () => {
  fc.assert(
    fc.property(anyCase, (c) => {
      const encoded = encodeCase(c);
      for (let bit = 0; bit < encoded.length * 8; bit++) {
        const r = decodeVrrp(flipped(encoded, bit), c.context, { checksum: c.variant });
        assert.equal(r.ok, false, `bit ${bit} of ${encoded.length * 8}`);
      }
    }),
    runs(300),
  );
});

test('every single-bit flip in the pseudo-header addresses is detected (VRRPv3 with pseudo-header)', () => {
  const withPh = fc.oneof(v3Case(4), v3Case(16)).map((c) => ({ ...c, variant: 'with-pseudo-header' as const }));
  fc.assert(
    fc.property(withPh, (c) => {
      const encoded = encodeCase(c);
      const alen = c.context.source.length;
      for (let bit = 0; bit < alen * 16; bit++) {
        const side = bit < alen * 8 ? 'source' : 'destination';
        const ctx = { ...c.context, [side]: flipped(c.context[side], bit % (alen * 8)) };
        const r = decodeVrrp(encoded, ctx, { checksum: 'with-pseudo-header' });
        assert.equal(r.ok, false, `${side} bit ${bit % (alen * 8)}`);
      }
    }),
    runs(300),
  );
});

test("accepting either VRRPv3/IPv4 variant misses a flip only when the pseudo-header's sum equals the flip's change", () => {
  fc.assert(
    fc.property(v3Case(4), (c) => {
      const encoded = encodeCase(c);
      const pseudo = pseudoSum(c.context, encoded.length);
      for (let bit = 0; bit < encoded.length * 8; bit++) {
        const f = flipped(encoded, bit);
        const r = decodeVrrp(f, c.context);
        if (!r.ok) continue;
        // Accepted: it must have been read as the other variant, and the word change
        // (delta) must cancel the pseudo-header in one's-complement arithmetic.
        const w = bit >> 4;
        const delta = ((f[w * 2]! << 8) | f[w * 2 + 1]!) - ((encoded[w * 2]! << 8) | encoded[w * 2 + 1]!);
        assert.notEqual(r.checksumVariant, c.variant);
        assert.ok(c.variant === 'with-pseudo-header' ? congruentZero(pseudo - delta) : congruentZero(pseudo + delta), `bit ${bit}`);
      }
    }),
    runs(300),
  );
});

test('the miss above is real: a constructed collision is decoded as the other variant', () => {
  // Pick the destination so that the pseudo-header sums to 2^0 = 1 (mod 0xffff); then a
  // flip that adds 1 to a word of a pseudo-header packet verifies without it.
  const packet: VrrpAdvert = { version: 3, vrid: 1, priority: 100, maxAdvertIntervalCs: 100, addresses: [parseIPv4('198.18.0.1')!] };
  const source = parseIPv4('198.18.0.2')!;
  const base = pseudoHeaderSum(source, new Uint8Array(4), IPPROTO_VRRP, 12);
  const need = (((1 - base) % 0xffff) + 0xffff) % 0xffff;
  const destination = Uint8Array.of(need >> 8, need & 0xff, 0, 0);
  assert.equal(foldSum(pseudoHeaderSum(source, destination, IPPROTO_VRRP, 12)), 1);
  const encoded = encodeVrrp(packet, { source, destination });
  const f = flipped(encoded, 5 * 8 + 7); /* Max Adver Int 100 -> 101: word 2 grows by 1 */
  const r = decodeVrrp(f, { source, destination });
  assert.ok(r.ok && r.checksumVariant === 'without-pseudo-header');
  assert.equal(decodeVrrp(f, { source, destination }, { checksum: 'with-pseudo-header' }).ok, false);
});

test('IPv6 text: fast-check addresses parse, format canonically, and re-parse to the same bytes', () => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const b = parseIPv6(text);
      assert.ok(b, text);
      const canonical = formatIPv6(b);
      assert.equal(isIP(canonical), 6);
      assert.deepStrictEqual(parseIPv6(canonical), b);
    }),
    runs(3000),
  );
});

test('IPv6 bytes: formatting matches the WHATWG URL serialiser (RFC 5952 compression) except for mapped IPv4', () => {
  const sparse = fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0xab), { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a));
  fc.assert(
    fc.property(fc.oneof(bytes(16), sparse), (b) => {
      const text = formatIPv6(b);
      assert.deepStrictEqual(parseIPv6(text), b);
      if (text.startsWith('::ffff:') && text.includes('.')) return;
      assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
    }),
    runs(3000),
  );
});

test('IPv4 text round trip and agreement with node:net isIP', () => {
  fc.assert(
    fc.property(bytes(4), (b) => {
      assert.deepStrictEqual(parseIPv4(formatIPv4(b)), b);
    }),
    runs(1000),
  );
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (text) => {
      // fast-check's ipV6 never produces zone ids or leading-zero octets, so isIP is a fair oracle here.
      assert.equal(parseAddress(text) !== undefined, isIP(text) !== 0, text);
    }),
    runs(3000),
  );
});

test('compareAddresses agrees with unsigned big-integer comparison', () => {
  const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }).chain((i) => fc.tuple(bytes(i ? 16 : 4), bytes(i ? 16 : 4))),
      ([a, b]) => {
        const want = big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0;
        assert.equal(compareAddresses(a, b), want);
      },
    ),
    runs(3000),
  );
});
