/** vrrp_rt_priority in the daemon, on a fake scheduler: what it asks, when, what it logs, and a refusal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimePriority } from '../../daemon/realtime.js';
import { recordingLogger } from '../notifiers/helpers.js';

function fake(refuse?: string) {
  const calls: [number, number][] = [];
  const set = (priority: number, rttimeUs: number) => {
    calls.push([priority, rttimeUs]);
    return refuse ? { ok: false as const, code: refuse } : { ok: true as const };
  };
  return { calls, set };
}

test('set, unchanged, new limit, off: asks only on a change and follows SIGXCPU only while on', () => {
  const { log, records } = recordingLogger();
  const s = fake();
  const r = new RealtimePriority(log, s.set);
  const listeners = () => process.listenerCount('SIGXCPU');
  const base = listeners();
  r.apply({});
  assert.deepEqual(s.calls, [], 'nothing configured: nothing asked');
  r.apply({ vrrpRtPriority: 10 });
  assert.deepEqual(s.calls, [[10, 10000]], "keepalived's default limit");
  assert.equal(r.current, 10);
  assert.equal(listeners(), base + 1);
  r.apply({ vrrpRtPriority: 10 });
  assert.equal(s.calls.length, 1, 'a reload with the same settings asks nothing');
  r.apply({ vrrpRtPriority: 10, vrrpRlimitRttime: 50000 });
  assert.deepEqual(s.calls[1], [10, 50000]);
  process.emit('SIGXCPU', 'SIGXCPU');
  assert.ok(records.some((x) => typeof x.msg === 'string' && x.msg.startsWith('ran past vrrp_rlimit_rttime') && x['rlimitRttimeUs'] === 50000));
  r.apply({});
  assert.deepEqual(s.calls[2], [0, 0], 'back to normal scheduling');
  assert.equal(r.current, 0);
  assert.equal(listeners(), base, 'the SIGXCPU listener is gone');
  assert.deepEqual(
    records.filter((x) => x.msg === 'VRRP instances run at real-time priority (SCHED_RR)' || x.msg === 'VRRP instances run at normal priority again').length,
    3,
  );
});

test('EPERM: a warning naming the capability, the priority stays as it was, the next reload tries again', () => {
  const { log, records } = recordingLogger();
  const s = fake('EPERM');
  const r = new RealtimePriority(log, s.set);
  r.apply({ vrrpRtPriority: 20 });
  assert.equal(r.current, 0);
  const w = records.find((x) => typeof x.msg === 'string' && x.msg.includes('CAP_SYS_NICE'));
  assert.equal(w?.['code'], 'EPERM');
  r.apply({ vrrpRtPriority: 20 });
  assert.equal(s.calls.length, 2, 'tried again');
});
