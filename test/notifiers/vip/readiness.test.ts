// The VIP step: the pure readiness decision, options, and the step against a
// control socket served by this test (the daemon's ControlServer, fed a status)
// with 127.0.0.1 on lo as the "VIP" (no network namespace needed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../../infra/control/control-socket.js';
import { defineWorkflow, type Intent } from '../../../workflows/define.js';
import { runWorkflow } from '../../../workflows/run.js';
import { zxShell } from '../../../workflows/shell.js';
import {
  checkVipReadiness,
  controlSocketPath,
  normalizeAddress,
  parseStatusVip,
  parseVipOptions,
  vipReadyStep,
  type VipOptions,
} from '../../../notifiers/vip/index.js';
import { collector, log, setup, transitionTo } from '../../workflows/helpers.js';

function status(state: string, vips: string[], sinceMaster: number | undefined, name = 'VI_1') {
  return { instances: [{ name, state, vips, announcements: { framesSent: 40, sendErrors: 0, ...(sinceMaster !== undefined ? { sinceMaster } : {}) } }] };
}
const held = (m: Record<string, string[]>) => new Map(Object.entries(m).map(([k, v]) => [k, new Set(v)]));

describe('vip notifier: readiness decision', () => {
  test('addresses are compared in canonical form', () => {
    assert.equal(normalizeAddress('198.18.170.100/24'), '198.18.170.100');
    assert.equal(normalizeAddress('FD00:198:18:AA:0:0:0:64/64'), 'fd00:198:18:aa::64');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
    assert.deepEqual(parseStatusVip('198.18.170.100/24 dev eth0'), { address: '198.18.170.100', dev: 'eth0' });
    assert.equal(parseStatusVip('nonsense'), null);
  });

  test('ready: master, every VIP on its device, a full burst announced', () => {
    const r = checkVipReadiness({
      instance: 'VI_1',
      status: status('master', ['198.18.170.100/24 dev eth0', 'fd00:198:18:aa::64/64 dev eth0'], 2),
      held: held({ eth0: ['198.18.170.1', '198.18.170.100', 'fd00:198:18:aa::64'] }),
      requireAnnouncement: true,
    });
    assert.deepEqual(r, { ready: true, addresses: ['198.18.170.100', 'fd00:198:18:aa::64'], framesSinceMaster: 2 });
  });

  test('each missing piece is named', () => {
    const r = checkVipReadiness({
      instance: 'VI_1',
      status: status('backup', ['198.18.170.100/24 dev eth0', '198.18.170.101/24 dev eth0'], 1),
      held: held({ eth0: ['198.18.170.100'], eth1: ['198.18.170.101'] }),
      requireAnnouncement: true,
    });
    assert.deepEqual(r, {
      ready: false,
      missing: [
        'instance VI_1 is backup, not master',
        '198.18.170.101 is not on eth0',
        'address announcement: 1 frame(s) sent since becoming master, a burst is 2',
      ],
    });
    assert.deepEqual(checkVipReadiness({ instance: 'VI_9', status: status('master', [], 0), held: held({}), requireAnnouncement: false }), {
      ready: false,
      missing: ["instance VI_9 is not in the daemon's status (VI_1)"],
    });
    assert.match(
      (checkVipReadiness({ instance: 'VI_1', status: { nope: 1 }, held: held({}), requireAnnouncement: false }) as { missing: string[] }).missing[0]!,
      /unexpected shape/,
    );
    const old = checkVipReadiness({
      instance: 'VI_1',
      status: status('master', ['10.0.0.1/8 dev lo'], undefined),
      held: held({ lo: ['10.0.0.1'] }),
      requireAnnouncement: true,
    });
    assert.match((old as { missing: string[] }).missing[0]!, /sinceMaster/);
  });

  test('explicit addresses: only those are required, on any interface when not a configured VIP', () => {
    const s = status('master', ['198.18.170.100/24 dev eth0'], 0);
    assert.equal(
      checkVipReadiness({ instance: 'VI_1', status: s, held: held({ eth1: ['198.18.171.5'] }), addresses: ['198.18.171.5/24'], requireAnnouncement: false })
        .ready,
      true,
    );
    assert.equal(
      checkVipReadiness({ instance: 'VI_1', status: s, held: held({ eth1: ['198.18.170.100'] }), addresses: ['198.18.170.100'], requireAnnouncement: false })
        .ready,
      false,
    );
  });

  test('options: defaults, env-named socket, bad fields named', () => {
    const o = parseVipOptions({});
    assert.equal(o.controlSocket, '/run/vipflow/control.sock');
    assert.equal(o.timeoutMs, 5000);
    assert.deepEqual(controlSocketPath(parseVipOptions({ controlSocketEnv: 'X_SOCK' }), { X_SOCK: '/s/control.sock' }), { ok: true, path: '/s/control.sock' });
    assert.deepEqual(controlSocketPath(parseVipOptions({ controlSocketEnv: 'X_SOCK' }), {}), {
      ok: false,
      error: 'option controlSocketEnv: environment variable X_SOCK is not set',
    });
    assert.throws(() => vipReadyStep({ timeoutMs: -1 }), /option 'timeoutMs'/);
    assert.throws(() => vipReadyStep({ addresses: [] }), /option 'addresses'/);
    assert.equal(vipReadyStep({ timeoutMs: 300 }).timeoutMs, 1300);
  });
});

describe('vip step against a control socket', () => {
  let dir: string;
  let server: ControlServer;
  let current: unknown = null;
  let asked = 0;
  const { src } = setup();
  const run = async (o: VipOptions, dryRun = false, stepTimeoutMs?: number) => {
    const step = vipReadyStep({ controlSocket: join(dir, 'control.sock'), ...o }, stepTimeoutMs !== undefined ? { timeoutMs: stepTimeoutMs } : {});
    const w = defineWorkflow({ name: 'vip', on: { to: 'MASTER' }, steps: [step] });
    const intents: Intent[] = [];
    const result = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), {
      runId: 'r',
      log,
      emit: collector().emit,
      shell: zxShell,
      dryRun,
      onIntent: (i) => intents.push(i),
    });
    return { result, intents };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipflow-vip-'));
    server = await ControlServer.listen(join(dir, 'control.sock'), log, { status: () => (asked++, current) });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('waits until the daemon reports master and the burst, then succeeds', async () => {
    current = status('backup', ['127.0.0.1/8 dev lo'], 0);
    setTimeout(() => (current = status('master', ['127.0.0.1/8 dev lo'], 1)), 150);
    const t0 = performance.now();
    const { result } = await run({ timeoutMs: 3000 });
    assert.equal(result.status, 'succeeded', JSON.stringify(result.steps));
    assert.ok(performance.now() - t0 >= 140, 'it waited for the change');
  });

  test('times out naming what is missing', async () => {
    current = status('master', ['127.0.0.1/8 dev lo', '198.18.172.77/24 dev lo'], 0);
    const { result } = await run({ timeoutMs: 300 });
    assert.equal(result.status, 'failed');
    assert.equal(
      result.steps[0]?.error,
      'VIPs of VI_1 not ready within 300 ms: 198.18.172.77 is not on lo; address announcement: 0 frame(s) sent since becoming master, a burst is 2',
    );
  });

  test("the step's signal stops the polling (step timeout shorter than the wait)", async () => {
    current = status('backup', ['127.0.0.1/8 dev lo'], 0);
    const { result } = await run({ timeoutMs: 5000, pollMs: 10 }, false, 150);
    assert.equal(result.steps[0]?.outcome, 'timed_out');
    const n = asked;
    assert.ok(n > 0, 'it polled before the timeout');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(asked <= n + 1, `no polling after the abort (${n} then ${asked})`);
  });

  test('no daemon: the socket is named', async () => {
    const { result } = await run({ timeoutMs: 200, controlSocket: join(dir, 'absent.sock') });
    assert.match(result.steps[0]?.error ?? '', /not ready within 200 ms: no status from .*absent\.sock \(ENOENT\)/);
  });

  test('dry run: records the intention without asking the daemon', async () => {
    const { result, intents } = await run({ timeoutMs: 200, controlSocket: join(dir, 'absent.sock') }, true);
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      intents.map((i) => [i.step, i.detail?.instance, i.detail?.controlSocket]),
      [['vip-ready', 'VI_1', join(dir, 'absent.sock')]],
    );
  });
});
