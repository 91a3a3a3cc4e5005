/** vrrp_rt_priority and vrrp_cpu_slice in the daemon, on a fake scheduler: what each asks, when, what it logs, and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpThreadScheduling, type SchedulingHost } from '../../daemon/scheduling.js';
import { recordingLogger } from '../notifiers/helpers.js';

/** A kernel that honours custom slices (sliceNs as asked, its default 1.4 ms for 0) unless told otherwise. */
function fake(refuse?: string, opts: { ignoresSlices?: boolean; refuseSlice?: string } = {}) {
  const calls: [number, number][] = [];
  const slices: number[] = [];
  const host: SchedulingHost = {
    setRealtime: (priority, rttimeUs) => {
      calls.push([priority, rttimeUs]);
      return refuse ? { ok: false, code: refuse } : { ok: true };
    },
    setFairSlice: (sliceUs) => {
      slices.push(sliceUs);
      if (opts.refuseSlice) return { ok: false, code: opts.refuseSlice };
      return { ok: true, sliceNs: opts.ignoresSlices ? 0 : sliceUs === 0 ? 1_400_000 : sliceUs * 1000 };
    },
  };
  return { calls, slices, host };
}

test('set, unchanged, new limit, off: asks only on a change and follows SIGXCPU only while on', () => {
  const { log, records } = recordingLogger();
  const s = fake();
  const r = new VrrpThreadScheduling(log, s.host);
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
  const r = new VrrpThreadScheduling(log, s.host);
  r.apply({ vrrpRtPriority: 20 });
  assert.equal(r.current, 0);
  const w = records.find((x) => typeof x.msg === 'string' && x.msg.includes('CAP_SYS_NICE'));
  assert.equal(w?.['code'], 'EPERM');
  r.apply({ vrrpRtPriority: 20 });
  assert.equal(s.calls.length, 2, 'tried again');
});

test('vrrp_cpu_slice: 100 µs by default at normal priority, asked again after real-time priority ends, once per change', () => {
  const { log, records } = recordingLogger();
  const s = fake();
  const r = new VrrpThreadScheduling(log, s.host);
  r.apply({});
  assert.deepEqual(s.slices, [100], 'the default slice is asked at start');
  assert.equal(r.slice, 100);
  r.apply({ vrrpCpuSlice: 100 });
  assert.deepEqual(s.slices, [100], 'unchanged: not asked again');
  r.apply({ vrrpRtPriority: 10 });
  assert.deepEqual(s.slices, [100], 'at real-time priority the slice is not asked');
  assert.equal(r.slice, null);
  r.apply({});
  assert.deepEqual(s.slices, [100, 100], 'the kernel reset it on leaving SCHED_RR: asked again');
  r.apply({ vrrpCpuSlice: 2000 });
  assert.equal(r.slice, 2000);
  r.apply({ vrrpCpuSlice: 0 });
  assert.deepEqual(s.slices, [100, 100, 2000, 0], 'back to the kernel default');
  assert.equal(r.slice, 1400, 'what the kernel reports');
  assert.equal(
    records.filter((x) => x.msg === 'the VRRP thread asks for a short CPU slice (vrrp_cpu_slice), so a due advert preempts a busy process').length,
    3,
  );
});

test('vrrp_cpu_slice 0 from the start asks nothing; an old kernel and a refusal are logged and retried on the next change only', () => {
  const none = fake();
  new VrrpThreadScheduling(recordingLogger().log, none.host).apply({ vrrpCpuSlice: 0 });
  assert.deepEqual(none.slices, [], 'a fresh thread already has the default');

  const old = recordingLogger();
  const o = fake(undefined, { ignoresSlices: true });
  const r = new VrrpThreadScheduling(old.log, o.host);
  r.apply({});
  assert.equal(r.slice, null, 'nothing in force where the kernel ignores it');
  assert.ok(old.records.some((x) => typeof x.msg === 'string' && x.msg.startsWith('this kernel ignores') && x['vrrpCpuSlice'] === 100));
  r.apply({});
  assert.deepEqual(o.slices, [100], 'not asked again on a reload');

  const bad = recordingLogger();
  const b = fake(undefined, { refuseSlice: 'EINVAL' });
  const rb = new VrrpThreadScheduling(bad.log, b.host);
  rb.apply({});
  rb.apply({});
  assert.deepEqual(b.slices, [100, 100], 'a refusal leaves nothing in force, so the next apply tries again');
  assert.equal(bad.records.find((x) => typeof x.msg === 'string' && x.msg.includes('vrrp_cpu_slice'))?.['code'], 'EINVAL');
});
