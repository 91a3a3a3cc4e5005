/**
 * `vipflow demo [--advert-int S] [--vrrp-version 2|3]`: a failover you can watch.
 *
 * Builds a lab of network namespaces on this machine (two routers running
 * nginx and vipflow, a client, all on a bridge in its own namespace, with
 * addresses from 198.18.0.0/15 only), waits for the election, kills the
 * Master, and shows the VIP moving and the client being served by the new
 * Master, with the client-visible downtime measured. Everything it created
 * is removed at the end, also on Ctrl-C or an error.
 */
import { createLogger } from '../core/logger.js';
import { createLab, pollUntil, readAddresses, sleep, type Lab } from '../lab/index.js';
import { startHttpProbe, longestOutage } from '../lab/http-probe.js';
import { startNginx } from '../lab/nginx.js';
import { startVipflow, type VipflowDaemon } from '../lab/vipflow.js';
import { missingCapabilities } from '../infra/host/interfaces.js';
import type { DemoOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';

const SUBNET = 200;
const VIP = `198.18.${SUBNET}.100`;

function say(text: string): void {
  const t = new Date().toISOString().slice(11, 23);
  process.stdout.write(`[${t}] ${text}\n`);
}

function routerConfig(name: string, priority: number, advertInt: number, version: 2 | 3): string {
  return `global_defs {
  router_id ${name}
  vrrp_version ${version}
}
vrrp_instance web {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int ${advertInt}
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

async function hasVip(lab: Lab, node: string): Promise<boolean> {
  return (await readAddresses(lab, node)).some((a) => a.local === VIP);
}

async function holders(lab: Lab, routers: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of routers) if (await hasVip(lab, r)) out.push(r);
  return out;
}

/** Prints each daemon's VRRP transitions as they happen, from its JSON log. */
function feedTransitions(daemons: Map<string, VipflowDaemon>): () => void {
  const seen = new Map<string, number>();
  const timer = setInterval(() => {
    for (const [node, d] of daemons) {
      const lines = d.lines;
      for (let i = seen.get(node) ?? 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (typeof l.from === 'string' && typeof l.to === 'string' && l.reason)
          say(`  ${node}: ${String(l.from).toUpperCase()} -> ${String(l.to).toUpperCase()} (${String(l.reason)})`);
      }
      seen.set(node, lines.length);
    }
  }, 20);
  return () => clearInterval(timer);
}

function printDaemonLogs(daemons: Map<string, VipflowDaemon>): void {
  for (const [node, d] of daemons) {
    process.stdout.write(`--- vipflow log of ${node}\n`);
    for (const line of d.lines.slice(-40)) process.stdout.write(JSON.stringify(line) + '\n');
  }
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const advertInt = opts.advertInt;
  const version = opts.vrrpVersion === '2' ? 2 : 3;
  if (version === 2 && !Number.isInteger(advertInt)) {
    process.stderr.write("vipflow demo: --advert-int must be whole seconds for VRRPv2 (see 'vipflow demo --help')\n");
    return EXIT.usage;
  }
  const missing = missingCapabilities();
  if (missing.length > 0) {
    process.stderr.write(`vipflow demo: not permitted: needs root (missing ${missing.join(', ')}) to create network namespaces\n`);
    return EXIT.notPermitted;
  }

  const log = createLogger({ level: 'warn' });
  say(`building the lab: routers r1 and r2 (nginx + vipflow), a client, a bridge; VIP ${VIP}`);
  const lab = await createLab({ prefix: 'vfdemo', nodes: ['r1', 'r2', 'client'], ipv6: false, subnet: SUBNET, logger: log });
  const interrupted = () => {
    say('interrupted: cleaning up');
    void lab.destroy().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const routers = ['r1', 'r2'];
    for (const r of routers) await startNginx(lab, r);
    const daemons = new Map<string, VipflowDaemon>();
    daemons.set('r1', await startVipflow(lab, 'r1', 'r1', routerConfig('r1', 150, advertInt, version)));
    daemons.set('r2', await startVipflow(lab, 'r2', 'r2', routerConfig('r2', 100, advertInt, version)));
    say(`vipflow started on r1 (priority 150) and r2 (priority 100), VRRPv${version}, advert_int ${advertInt} s`);

    const stopFeed = feedTransitions(daemons);
    // Wait for the election to settle: the node that started first may hold
    // the VIP briefly until r1 (higher priority, preempting) takes it.
    const settled = await pollUntil(
      async () => {
        const states = await Promise.all(
          routers.map(
            async (r) =>
              (
                await daemons
                  .get(r)!
                  .status()
                  .catch(() => null)
              )?.instances[0]?.state,
          ),
        );
        const h = await holders(lab, routers);
        return states[0] === 'master' && states[1] === 'backup' && h.length === 1 && h[0] === 'r1' ? true : undefined;
      },
      15_000 + 5 * advertInt * 1000,
      50,
    );
    if (!settled) {
      stopFeed();
      printDaemonLogs(daemons);
      throw new Error('the election did not settle (r1 Master, r2 Backup) in time');
    }
    const master = 'r1';
    const backup = routers.find((r) => r !== master)!;
    say(`election done: ${master} is Master and holds ${VIP}; ${backup} is Backup`);

    const client = lab.node('client');
    const first = await lab.exec('client', 'curl', ['-s', '--max-time', '1', `http://${VIP}/`]).catch(() => null);
    if (first && first.code === 0) say(`client ${client.ipv4} -> http://${VIP}/ answered by ${first.stdout.trim()}`);

    const mdi = 3 * advertInt + ((256 - 100) / 256) * (version === 3 ? advertInt : 1);
    const probeMs = Math.round(mdi * 1000) + 4000;
    const probe = startHttpProbe(lab, 'client', `http://${VIP}/`, { intervalMs: 10, durationMs: probeMs, timeoutMs: 200 });
    await sleep(1000);
    const victim = daemons.get(master)!;
    say(
      `${master} dies: its link goes down and vipflow is killed (no goodbye advert); ${backup} must notice within Master_Down_Interval = ${mdi.toFixed(3)} s`,
    );
    const killedAt = performance.now();
    // A host failure: nothing of r1 answers any more, and its daemon cannot
    // say goodbye. The client's ARP entry still points at r1 until the new
    // Master's gratuitous ARP arrives.
    await lab.exec(master, 'ip', ['link', 'set', 'eth0', 'down']);
    process.kill(victim.pid, 'SIGKILL');
    await victim.exited;

    const moved = await pollUntil(async () => ((await hasVip(lab, backup)) ? performance.now() : undefined), Math.round(mdi * 1000) + 3000, 10);
    if (moved === undefined) throw new Error(`${backup} did not take the VIP`);
    say(`${backup} is Master now and holds ${VIP} (${Math.round(moved - killedAt)} ms after the kill)`);
    const samples = await probe.finished();
    const outage = longestOutage(samples);
    const answeredBy = [...new Set(samples.filter((s) => s.ok && s.t >= outage.to).map((s) => s.answer))];
    const okCount = samples.filter((s) => s.ok).length;
    say(
      `client probes every 10 ms: ${okCount}/${samples.length} answered; longest outage ${Math.round(outage.ms)} ms; served by ${answeredBy.join(', ') || 'nobody'} after the failover`,
    );
    const st = await daemons
      .get(backup)!
      .status()
      .catch(() => null);
    const inst = st?.instances[0];
    if (inst)
      say(
        `vipflow status on ${backup}: ${inst.name} vrid ${inst.vrid} ${inst.state.toUpperCase()} priority ${inst.effectivePriority}, adverts sent ${inst.counters.advertsSent}`,
      );
    stopFeed();
    const ok = answeredBy.length === 1 && answeredBy[0] === backup;
    say(ok ? 'demo passed: the VIP moved and the client is served by the new Master' : 'demo FAILED: the client is not served by the new Master');
    if (!ok || process.env.VIPFLOW_DEMO_LOGS) printDaemonLogs(daemons);
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await lab.destroy();
    say('lab removed');
  }
}
