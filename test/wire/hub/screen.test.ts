import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasonOfDecodeError, screenHeader } from '../../../wire/hub/screen.js';
import { decodeVrrp, encodeVrrp, parseAddress, type VrrpAdvert } from '../../../wire/codec/index.js';

const src = parseAddress('198.18.0.1')!;
const dst = parseAddress('224.0.0.18')!;
const advert = (over: Partial<VrrpAdvert> = {}): Buffer =>
  encodeVrrp({ version: 3, vrid: 40, priority: 100, maxAdvertIntervalCs: 10, addresses: [parseAddress('198.18.0.100')!], ...over } as VrrpAdvert, {
    source: src,
    destination: dst,
  });
const served = (v: number) => v === 40;

test('a well-formed advert for a served VRID passes the header screen', () => {
  assert.equal(screenHeader(advert(), served), null);
});

test('each header check names its reason, in order', () => {
  assert.equal(screenHeader(advert().subarray(0, 7), served)?.reason, 'truncated');
  const v5 = advert();
  v5[0] = 0x51;
  assert.equal(screenHeader(v5, served)?.reason, 'version');
  const t2 = advert();
  t2[0] = 0x32;
  assert.equal(screenHeader(t2, served)?.reason, 'type');
  const zero = advert();
  zero[1] = 0;
  assert.equal(screenHeader(zero, served)?.reason, 'vrid-zero');
  const other = advert({ vrid: 41 });
  assert.deepEqual(screenHeader(other, served), { reason: 'unknown-vrid', vrid: 41, detail: 'VRID 41 is not run on this socket' });
  // Garbage for another VRID costs no checksum: it is refused as unknown first.
  const garbage = advert({ vrid: 41 });
  garbage[6] = garbage[6]! ^ 0xff;
  assert.equal(screenHeader(garbage, served)?.reason, 'unknown-vrid');
});

test('codec refusals map to reasons: checksum, truncated address list', () => {
  const bad = advert();
  bad[6] = bad[6]! ^ 0x5a;
  const r = decodeVrrp(bad, { source: src, destination: dst });
  assert.ok(!r.ok);
  assert.equal(reasonOfDecodeError(r.error.kind), 'checksum');
  const short = advert().subarray(0, 10);
  const s = decodeVrrp(short, { source: src, destination: dst });
  assert.ok(!s.ok);
  assert.equal(reasonOfDecodeError(s.error.kind), 'truncated');
  assert.equal(reasonOfDecodeError('bad-interval'), 'malformed');
});
