/**
 * CPU per advert through the daemon's JavaScript path, without a network (a
 * script, not a test):
 *
 *   npx tsx --expose-gc bench/runner-path.ts [--quick] [--pairs=500] [--seconds=60] [--auth-hmac]
 *
 * --auth-hmac gives every instance an auth_hmac block (keepalived 2.4): each
 * advert is then signed by its Master and verified by its Backup.
 *
 * Pairs of InstanceRunners (one Master at 200, one Backup at 100 per VRID, as
 * bench/footprint.ts configures them) on a VirtualClock, each behind its own
 * WireHub whose raw socket is replaced by an in-memory one: a Master's send
 * is handed to its Backup's hub as the addon would hand it a datagram (IPv4
 * header already stripped). So a Master's advert costs Adver_Timer → machine →
 * encode cache → hub send, and a Backup's costs hub decode → screen → machine →
 * Master_Down_Timer re-armed: everything footprint.ts measures except the
 * system calls and the event loop.
 *
 * A second window runs the Masters alone (Backups stopped, nothing delivered):
 * the Master's share per advert, and the Backup's as the difference.
 */
import { performance } from 'node:perf_hooks';
import { loadKeepalivedText } from '../config/keepalived/index.js';
import { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import { planInstance, type HostInterfaces } from '../infra/vrrp/plan.js';
import { WireHub } from '../wire/hub/vrid-hub.js';
import { silentLogger } from '../core/logger.js';
import { addressBytes, VirtualClock } from '../sim/index.js';
import type { ReceivedPacket, SysResult, VrrpSocket, VrrpSocketOptions } from '../wire/socket/index.js';

const quick = process.argv.includes('--quick');
const pairsArg = process.argv.find((a) => a.startsWith('--pairs='));
const PAIRS = pairsArg ? Number(pairsArg.split('=')[1]) : 500;
const secondsArg = process.argv.find((a) => a.startsWith('--seconds='));
const SECONDS = secondsArg ? Number(secondsArg.split('=')[1]) : quick ? 20 : 60;
const log = silentLogger();
const AUTH_HMAC = process.argv.includes('--auth-hmac');
const AUTH_BLOCK = `  auth_hmac {\n    key 1 hex:${'0f'.repeat(32)}\n    active_key 1\n  }`;

/** One in-memory "segment" per interface: what one node sends, the other receives. */
class FakeWire {
  private readonly handlers = new Map<string, (p: ReceivedPacket) => void>();
  sent = 0;
  /** Off: sends are counted, not delivered (the Masters-alone window). */
  deliver = true;

  opener(node: string) {
    return (options: VrrpSocketOptions): SysResult<VrrpSocket> => {
      const key = `${node}|${options.interface}`;
      const socket: VrrpSocket = {
        family: 4,
        ifindex: 2,
        stats: { received: 0, malformed: 0, receiveErrors: 0 },
        onPacket: (h) => void this.handlers.set(key, h),
        onError: () => undefined,
        send: (payload, destination) => {
          this.sent++;
          if (!this.deliver) return { ok: true, value: undefined };
          const peer = this.handlers.get(`${node === 'm' ? 'b' : 'm'}|${options.interface}`);
          peer?.({
            payload,
            ttl: 255,
            ifindex: 2,
            source: addressBytes(options.sourceAddress ?? '0.0.0.0'),
            destination: addressBytes(destination ?? '224.0.0.18'),
            ageUs: 0,
          });
          return { ok: true, value: undefined };
        },
        ref: () => undefined,
        close: () => void this.handlers.delete(key),
      };
      return { ok: true, value: socket };
    };
  }
}

function config(count: number, priority: number): string {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    const vrid = (k % 250) + 1;
    const i = Math.floor(k / 250);
    lines.push(
      `vrrp_instance I${k} {`,
      '  state BACKUP',
      `  interface eth${i}`,
      `  virtual_router_id ${vrid}`,
      '  version 3',
      `  priority ${priority}`,
      '  advert_int 1',
      ...(AUTH_HMAC ? [AUTH_BLOCK] : []),
      `  virtual_ipaddress {\n    198.19.${140 + i}.${vrid}/32\n  }`,
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

function hostOf(node: number, interfaces: number): HostInterfaces {
  return new Map(
    Array.from({ length: interfaces }, (_, i) => [
      `eth${i}`,
      { name: `eth${i}`, up: true, addresses: [{ address: `198.18.${144 + i}.${node}`, family: 4 as const, prefix: 24 }] },
    ]),
  );
}

function startNode(name: 'm' | 'b', priority: number, wire: FakeWire, clock: VirtualClock): InstanceRunner[] {
  const host = hostOf(name === 'm' ? 1 : 2, Math.ceil(PAIRS / 250));
  const loaded = loadKeepalivedText(config(PAIRS, priority));
  if (!loaded.model) throw new Error(`config rejected: ${JSON.stringify(loaded.diagnostics).slice(0, 500)}`);
  const hub = new WireHub(log, wire.opener(name), undefined, () => clock.now());
  const announceIo = {
    interfaceOf: () => ({ mac: new Uint8Array(6), linkLocal: null }),
    sendBurst: (frames: readonly unknown[], rounds: number) => ({ sent: frames.length * rounds, failed: 0 }),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clock.clearTimeout(h),
    now: () => clock.now(),
  };
  const vipOps = { add: () => [], remove: () => [] };
  return loaded.model.vrrpInstances.map((inst) => {
    const planned = planInstance(inst, host);
    if (!planned.ok) throw new Error(`plan ${inst.name}: ${JSON.stringify(planned.error)}`);
    const runner = new InstanceRunner(planned.plan, { hub, vipOps, announceIo, clock, log });
    const started = runner.start();
    if (!started.ok) throw new Error(`start ${inst.name}: ${started.message}`);
    return runner;
  });
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const clock = new VirtualClock();
const wire = new FakeWire();
const backups = startNode('b', 100, wire, clock);
const masters = startNode('m', 200, wire, clock);
// Converge, and let the GARP bursts (garp_master_delay 5 s) end, as footprint.ts does.
for (let t = 0; t < 12_000; t += 10) clock.increment(10);
const nMasters = masters.filter((r) => r.state === 'master').length;
const nBackups = backups.filter((r) => r.state === 'backup').length;
if (nMasters !== PAIRS || nBackups !== PAIRS) throw new Error(`not converged: ${nMasters} masters, ${nBackups} backups of ${PAIRS}`);
/** CPU µs, wall ms and adverts sent over SECONDS of simulated time. */
function window(): { cpu: number; wall: number; adverts: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const sent0 = wire.sent;
  const c0 = cpuMicros();
  const w0 = performance.now();
  for (let t = 0; t < SECONDS * 1000; t += 10) clock.increment(10);
  return { cpu: cpuMicros() - c0, wall: performance.now() - w0, adverts: wire.sent - sent0 };
}
const { cpu, wall, adverts } = window();
if (masters.some((r) => r.state !== 'master') || backups.some((r) => r.state !== 'backup')) throw new Error('flapped during the run');
if (AUTH_HMAC) {
  // Every advert must have been verified, not dropped: the figure is for accepted adverts.
  const dropped = backups.reduce((n, r) => n + Object.entries(r.drops).reduce((m, [k, v]) => m + (k.startsWith('hmac-') ? v : 0), 0), 0);
  if (dropped > 0) throw new Error(`${dropped} adverts dropped by auth_hmac`);
}
// Masters alone: the Backups stop (their actors end) and nothing is delivered.
wire.deliver = false;
await Promise.all(backups.map((r) => r.stop()));
const alone = window();
if (masters.some((r) => r.state !== 'master')) throw new Error('a Master left during the Masters-alone window');
const perAdvert = cpu / adverts;
const masterPerAdvert = alone.cpu / alone.adverts;
console.log(
  `${AUTH_HMAC ? 'auth_hmac, ' : ''}${PAIRS} pairs, ${SECONDS} simulated s: ${adverts.toLocaleString('en')} adverts, each sent by a Master and received by a Backup: ` +
    `${perAdvert.toFixed(2)} µs CPU per advert (send + receive), ${((wall * 1000) / adverts).toFixed(2)} µs wall; ` +
    `Master ${masterPerAdvert.toFixed(2)} µs (sending alone), Backup ${(perAdvert - masterPerAdvert).toFixed(2)} µs (the difference)`,
);
