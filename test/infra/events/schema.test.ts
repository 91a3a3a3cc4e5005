import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_SCHEMA, EVENT_TYPES, parseEvent } from '../../../infra/events/schema.js';
import { createEventClock, isoNs, parseIsoNs } from '../../../infra/events/clock.js';
import { decodeToken, encodeToken, subjectFilter, subjectFor, subjectMatches } from '../../../infra/events/subjects.js';
import { samplePayloads, testSource } from './fixtures.js';

test('a valid event of every type survives JSON and parses back to the same value', () => {
  const src = testSource();
  for (const type of EVENT_TYPES) {
    const ev = src.make(type, samplePayloads[type] as never);
    const r = parseEvent(JSON.stringify(ev));
    assert.ok(r.ok, `${type}: ${r.ok ? '' : r.error.message}`);
    assert.deepEqual(r.event, ev);
    assert.equal(r.event.schema, EVENT_SCHEMA);
  }
});

test('ids are node:boot:seq and seq increases', () => {
  const src = testSource('node-a', 'dc1', 'abcd');
  const a = src.make('daemon.stop', samplePayloads['daemon.stop']);
  const b = src.make('daemon.stop', samplePayloads['daemon.stop']);
  assert.equal(a.id, 'node-a:abcd:1');
  assert.equal(b.id, 'node-a:abcd:2');
});

test('another schema version is its own error kind, naming the version', () => {
  const ev = { ...testSource().make('daemon.stop', samplePayloads['daemon.stop']), schema: 'vipflow.event/v2' };
  const r = parseEvent(JSON.stringify(ev));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.kind, 'unsupported-schema');
  assert.equal(!r.ok && r.error.kind === 'unsupported-schema' && r.error.schema, 'vipflow.event/v2');
});

test('garbage never throws and is classified', () => {
  const cases: [unknown, string][] = [
    ['{not json', 'not-json'],
    [new Uint8Array([0xff, 0x00, 0x7b]), 'not-json'],
    ['42', 'not-an-event'],
    ['[]', 'not-an-event'],
    ['null', 'not-an-event'],
    [JSON.stringify({ hello: 'world' }), 'not-an-event'],
  ];
  for (const [input, kind] of cases) {
    const r = parseEvent(input);
    assert.equal(!r.ok && r.error.kind, kind, String(input));
  }
});

test('a v1 event with a wrong payload is invalid with the path of the problem', () => {
  const ev = testSource().make('instance.transition', samplePayloads['instance.transition']);
  const bad = { ...ev, data: { ...ev.data, to: 'sideways', vrid: 300 } };
  const r = parseEvent(bad);
  assert.equal(r.ok, false);
  if (r.ok || r.error.kind !== 'invalid') throw new Error('expected invalid');
  const paths = r.error.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ['data.to', 'data.vrid']);
  assert.equal(parseEvent({ ...ev, type: 'instance.teleport' }).ok, false);
  assert.equal(parseEvent({ ...ev, time: '2026-11-26T08:19:34Z' }).ok, false);
  assert.equal(parseEvent({ ...ev, cluster: 'a.b' }).ok, false);
  assert.equal(parseEvent({ ...ev, data: { ...ev.data, extra: 1 } }).ok, true, 'unknown fields are tolerated within v1');
});

test('clock: ns precision, anchored on the wall clock, never backwards', () => {
  let mono = 5_000_000_000n;
  const clock = createEventClock(Date.UTC(2026, 10, 26, 8, 0, 0, 123), () => mono);
  assert.deepEqual(clock.now(), { time: '2026-11-26T08:00:00.123000000Z', monoNs: '5000000000' });
  mono += 1_234_567n;
  assert.equal(clock.now().time, '2026-11-26T08:00:00.124234567Z');
  assert.equal(parseIsoNs('2026-11-26T08:00:00.124234567Z'), BigInt(Date.UTC(2026, 10, 26, 8, 0, 0, 124)) * 1_000_000n + 234_567n);
  assert.equal(isoNs(parseIsoNs('1999-12-31T23:59:59.999999999Z')!), '1999-12-31T23:59:59.999999999Z');
  const real = createEventClock();
  const times = Array.from({ length: 1000 }, () => real.now().time);
  assert.deepEqual([...times].sort(), times);
});

test('subjects: vipflow.<cluster>.<instance|_daemon>.<type>, names escaped reversibly', () => {
  const src = testSource();
  assert.equal(subjectFor(src.make('instance.recover', samplePayloads['instance.recover'])), 'vipflow.dc1.VI_1.instance.recover');
  assert.equal(subjectFor(src.make('daemon.stop', samplePayloads['daemon.stop'])), 'vipflow.dc1._daemon.daemon.stop');
  const odd = 'web.v4 *>=é';
  const t = encodeToken(odd);
  assert.match(t, /^[A-Za-z0-9_=-]+$/);
  assert.equal(decodeToken(t), odd);
  assert.equal(subjectFilter('dc1', 'VI_1', ['instance.transition']), 'vipflow.dc1.VI_1.instance.transition');
  assert.equal(subjectFilter('dc1', undefined, ['instance.fault', 'instance.recover']), 'vipflow.dc1.*.>');
});

test('subject filters match as nats-server matches them: * one token, a final > one or more', () => {
  const transitions = 'vipflow.dc1.*.instance.transition';
  assert.equal(subjectMatches(transitions, 'vipflow.dc1.VI_1.instance.transition'), true);
  assert.equal(subjectMatches(transitions, 'vipflow.dc1.VI_1.workflow.finished'), false, 'another type');
  assert.equal(subjectMatches(transitions, 'vipflow.dc2.VI_1.instance.transition'), false, 'another cluster');
  assert.equal(subjectMatches(transitions, 'vipflow.dc1.instance.transition'), false, '* needs a token');
  assert.equal(subjectMatches(transitions, 'vipflow.dc1.VI_1.instance.transition.x'), false, 'a longer subject');
  assert.equal(subjectMatches('vipflow.dc1.>', 'vipflow.dc1.VI_1.instance.transition'), true);
  assert.equal(subjectMatches('vipflow.dc1.>', 'vipflow.dc1'), false, '> needs a token');
  assert.equal(subjectMatches('vipflow.dc1.VI_1.instance.transition', 'vipflow.dc1.VI_1.instance.transition'), true, 'a literal filter');
});
