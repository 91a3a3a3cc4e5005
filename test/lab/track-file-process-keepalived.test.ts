// Real network: track_file and vrrp_track_process on a vipflow node `v` next to
// a keepalived 2.2.7 node `k` (VRRPv3, 100 ms adverts).
// track_file: both nodes track a file of their own with the same definition;
// the same value is written into both and each node's effective priority must
// follow keepalived's arithmetic (base + value × weight, reverse negating it,
// the contribution capped at 253, -254 or below meaning Fault): vipflow's from
// its status, keepalived's from its "Changing effective priority" log line.
// The weights differ in sign, so the VIP moves one way and the other.
// vrrp_track_process: keepalived 2.2.7 cannot track processes inside a network
// namespace (its proc connector subscription is refused: "Failed to set/clear
// process event listen - errno 111"), so only vipflow tracks a process here; a
// `sleep` with a distinctive argument, started in the node and killed by PID,
// must lower vipflow's priority (weight -60) or put it in Fault (weight 0), and
// keepalived, the peer, must take the VIP each time and give it back.
// Starts: a namespace lab, vipflow daemons, keepalived, sleep processes.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vftf';
const SUBNET = 213;
const NODES = ['v', 'k'] as const;
const VIP = `198.18.${SUBNET}.100`;
// File changes are seen within ~20 ms (inotify + settle time), process ends within
// ~100 ms; a takeover then needs a few 100 ms adverts. Generous for a loaded machine.
const CHANGE_MS = 8000;

interface Tracking {
  file?: { path: string; ref: string };
  process?: { argv: string; weight: number };
}

function conf(node: string, priority: number, t: Tracking): string {
  return [
    'global_defs {',
    `  router_id ${node}`,
    '}',
    ...(t.file ? ['track_file tf {', `  file ${t.file.path}`, '}'] : []),
    ...(t.process ? ['vrrp_track_process tp {', `  process sleep ${t.process.argv}`, `  weight ${t.process.weight}`, '}'] : []),
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 113',
    '  version 3',
    `  priority ${priority}`,
    '  advert_int 0.1',
    ...(t.file ? ['  track_file {', `    ${t.file.ref}`, '  }'] : []),
    ...(t.process ? ['  track_process {', '    tp', '  }'] : []),
    '  virtual_ipaddress {',
    `    ${VIP}/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** keepalived's effective priority from its log (its base priority until it first changes). */
function kPriority(k: KeepalivedProcess, base: number): number {
  const all = [...k.log().matchAll(/\(VI_1\) Changing effective priority from \d+ to (\d+)/g)];
  return all.length > 0 ? Number(all.at(-1)![1]) : base;
}

function entered(k: KeepalivedProcess, state: string): number {
  return k.log().split(`(VI_1) Entering ${state} STATE`).length - 1;
}

/** keepalived's track_file arithmetic, written out for the expectations. */
function expected(base: number, value: number, weight: number): number | 'fault' {
  const c = value * weight;
  if (c <= -254) return 'fault';
  return Math.max(1, Math.min(254, base + Math.min(253, c)));
}

describe('track_file and track_process: vipflow acts as keepalived 2.2.7 does', () => {
  let lab: Lab;
  const vipflows: VipflowDaemon[] = [];
  const keepaliveds: KeepalivedProcess[] = [];
  const sleeps: SpawnedProcess[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...NODES], subnet: SUBNET, ipv6: false, logger });
  });
  // A failed test must not leave its daemons to disturb the next one (same VRID and VIP).
  const endAll = async () => {
    for (const s of sleeps.splice(0)) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        // already ended
      }
    }
    for (const d of vipflows.splice(0)) await d.kill();
    for (const k of keepaliveds.splice(0)) await k.stop();
  };
  afterEach(endAll);
  after(async () => {
    await endAll();
    await lab?.destroy();
  });

  /**
   * Writes `value` into both files and waits until both nodes show the
   * priority (or Fault) keepalived's arithmetic gives, and the VIP is on the
   * node with the higher one.
   */
  async function step(
    v: VipflowDaemon,
    k: KeepalivedProcess,
    files: { v: string; k: string },
    text: string,
    value: number,
    want: { v: number | 'fault'; k: number | 'fault' },
  ) {
    writeFileSync(files.v, text);
    writeFileSync(files.k, text);
    const vOk = await pollUntil(async () => {
      const st = (await v.status()).instances[0]!;
      return (want.v === 'fault' ? st.state === 'fault' : st.effectivePriority === want.v && st.state !== 'fault') ? true : undefined;
    }, CHANGE_MS);
    assert.equal(vOk, true, `vipflow at value ${value}: want ${want.v}, have ${JSON.stringify((await v.status()).instances[0]?.effectivePriority)}`);
    if (want.k !== 'fault') {
      const kOk = await pollUntil(() => (kPriority(k, K_BASE) === want.k ? true : undefined), CHANGE_MS);
      assert.equal(kOk, true, `keepalived at value ${value}: want ${want.k}, log says ${kPriority(k, K_BASE)}`);
    }
    const holder = want.v === 'fault' ? 'k' : want.k === 'fault' ? 'v' : want.v > want.k ? 'v' : 'k';
    assert.ok(
      await waitForHolder(lab, NODES, VIP, holder, CHANGE_MS),
      `value ${value}: VIP on ${holder}, found on ${(await holders(lab, NODES, VIP)).join(',')}`,
    );
    assert.equal((await v.status()).trackFiles[0]?.value, value, 'status shows the value');
  }

  const K_BASE = 130;
  const V_BASE = 100;

  for (const reversed of ['v', 'k'] as const) {
    test(`track_file weight 10, reverse on ${reversed === 'v' ? 'vipflow' : 'keepalived'}: priorities follow value × weight and the VIP moves both ways`, async () => {
      const files = { v: join(lab.dir, `v-${reversed}.prio`), k: join(lab.dir, `k-${reversed}.prio`) };
      writeFileSync(files.v, '0\n');
      writeFileSync(files.k, '0\n');
      const wv = reversed === 'v' ? -10 : 10;
      const wk = -wv;
      const ref = (node: 'v' | 'k') => `tf weight 10${node === reversed ? ' reverse' : ''}`;
      const k = await startKeepalived(lab, 'k', `kf${reversed}`, conf(`kf${reversed}`, K_BASE, { file: { path: files.k, ref: ref('k') } }));
      keepaliveds.push(k);
      const v = await startVipflow(lab, 'v', `vf${reversed}`, conf(`vf${reversed}`, V_BASE, { file: { path: files.v, ref: ref('v') } }));
      vipflows.push(v);
      assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS), 'keepalived (130) holds the VIP at value 0');
      // A value that lifts vipflow over keepalived, then one that sinks it, each way round.
      const up = reversed === 'v' ? -2 : 2;
      const down = -up;
      await step(v, k, files, `${up}\n`, up, { v: expected(V_BASE, up, wv), k: expected(K_BASE, up, wk) });
      await step(v, k, files, `${down}\n`, down, { v: expected(V_BASE, down, wv), k: expected(K_BASE, down, wk) });
      // Hexadecimal, as strtol reads it.
      const hex = reversed === 'v' ? -3 : 3;
      await step(v, k, files, reversed === 'v' ? '-0x3' : '0x3', hex, { v: expected(V_BASE, hex, wv), k: expected(K_BASE, hex, wk) });
      // At the edge: value × weight = -250 leaves vipflow at priority 1 (clamped, no
      // Fault), -260 (<= -254) is Fault; keepalived's side is capped at 254.
      const edge = reversed === 'v' ? 25 : -25;
      await step(v, k, files, `${edge}`, edge, { v: expected(V_BASE, edge, wv), k: expected(K_BASE, edge, wk) });
      assert.equal((await v.status()).instances[0]?.effectivePriority, 1);
      const far = reversed === 'v' ? 26 : -26;
      await step(v, k, files, `${far}`, far, { v: expected(V_BASE, far, wv), k: expected(K_BASE, far, wk) });
      assert.equal((await v.status()).instances[0]?.state, 'fault');
      await step(v, k, files, '0', 0, { v: V_BASE, k: K_BASE });
      const complaints = k
        .log()
        .split('\n')
        .filter((l) => /invalid|mismatch|checksum/i.test(l));
      assert.deepEqual(complaints, [], 'keepalived complained');
      await v.stop(8000);
      await k.stop();
    });
  }

  test('track_file weight 0: a non-zero value is Fault on both; zero brings each back', async () => {
    const files = { v: join(lab.dir, 'v0.prio'), k: join(lab.dir, 'k0.prio') };
    writeFileSync(files.v, '0');
    writeFileSync(files.k, '0');
    const k = await startKeepalived(lab, 'k', 'kz', conf('kz', 100, { file: { path: files.k, ref: 'tf weight 0' } }));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 'vz', conf('vz', 150, { file: { path: files.v, ref: 'tf weight 0' } }));
    vipflows.push(v);
    assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS), 'vipflow (150) holds the VIP');
    let mark = v.transitions.length;
    writeFileSync(files.v, '7');
    assert.ok(await v.waitForState('fault', CHANGE_MS, mark), 'vipflow in Fault');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS), 'keepalived takes the VIP');
    assert.match((await v.cli(['status', '--state-dir', v.stateDir])).stdout, /file +tf +value 7 /);
    const kFaults = entered(k, 'FAULT');
    writeFileSync(files.k, '-1');
    assert.ok((await pollUntil(() => (entered(k, 'FAULT') > kFaults ? true : undefined), CHANGE_MS)) === true, 'keepalived in Fault');
    assert.ok((await pollUntil(async () => ((await holders(lab, NODES, VIP)).length === 0 ? true : undefined), CHANGE_MS)) === true, 'nobody holds the VIP');
    writeFileSync(files.k, '0');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS), 'keepalived back');
    mark = v.transitions.length;
    writeFileSync(files.v, '0');
    assert.ok(await v.waitForState('master', CHANGE_MS, mark), 'vipflow back to Master (preempts at 150)');
    await v.stop(8000);
    await k.stop();
  });

  test('a reload that adds a track_file: the instance restarts from the file value', async () => {
    const file = join(lab.dir, 'reload.prio');
    writeFileSync(file, '-3\n');
    const k = await startKeepalived(lab, 'k', 'kr', conf('kr', 130, {}));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 'vr', conf('vr', 150, {}));
    vipflows.push(v);
    assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS), 'vipflow (150) holds the VIP');
    assert.deepEqual((await v.status()).trackFiles, []);
    const mark = v.transitions.length;
    v.writeConfig(conf('vr', 150, { file: { path: file, ref: 'tf weight 10' } }));
    v.signal('SIGHUP');
    assert.ok(await v.waitForState('backup', CHANGE_MS, mark), 'vipflow at 150 - 30 yields to keepalived at 130');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS));
    const st = await v.status();
    assert.equal(st.instances[0]?.effectivePriority, 120);
    assert.equal(st.trackFiles[0]?.value, -3);
    await v.stop(8000);
    await k.stop();
  });

  for (const weight of [-60, 0]) {
    test(`track_process weight ${weight}: the tracked sleep dying ${weight === 0 ? 'puts vipflow in Fault' : 'drops vipflow to 90'} and keepalived takes the VIP; a new one takes it back`, async () => {
      const argv = `3213.${weight === 0 ? 2 : 1}`;
      const start = () => {
        const s = lab.spawn('v', 'sleep', [argv], 'ignore');
        sleeps.push(s);
        return s;
      };
      let sleep = start();
      const k = await startKeepalived(lab, 'k', `kp${-weight}`, conf(`kp${-weight}`, 100, {}));
      keepaliveds.push(k);
      const v = await startVipflow(lab, 'v', `vp${-weight}`, conf(`vp${-weight}`, 150, { process: { argv, weight } }));
      vipflows.push(v);
      assert.ok(await v.waitForState('master', CHANGE_MS), 'vipflow Master with its process running');
      assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS));
      const st = await v.status();
      assert.deepEqual(
        st.trackProcesses.map((p) => [p.name, p.count, p.quorum, p.pids]),
        [['tp', 1, true, [sleep.pid]]],
      );
      assert.match((await v.cli(['status', '--state-dir', v.stateDir])).stdout, /process tp +UP +count 1/);

      let mark = v.transitions.length;
      const t0 = performance.now();
      process.kill(sleep.pid, 'SIGKILL');
      assert.ok(await v.waitForState(weight === 0 ? 'fault' : 'backup', CHANGE_MS, mark), 'vipflow leaves Master');
      const reactMs = performance.now() - t0;
      assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS), 'keepalived takes the VIP');
      const after = await v.status();
      assert.equal(after.trackProcesses[0]?.quorum, false);
      if (weight !== 0) assert.equal(after.instances[0]?.effectivePriority, 90);
      // The counted PID is checked every 100 ms; 2 s leaves room for a loaded machine.
      assert.ok(reactMs < 2000, `reacted in ${Math.round(reactMs)} ms`);

      mark = v.transitions.length;
      sleep = start();
      assert.ok(await v.waitForState('master', CHANGE_MS, mark), 'vipflow takes the VIP back once a new process runs');
      assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS));
      assert.equal((await v.status()).instances[0]?.effectivePriority, 150);
      process.kill(sleep.pid, 'SIGKILL');
      await v.stop(8000);
      await k.stop();
    });
  }
});
