/**
 * keepalived's LVS-NAT example topology in namespaces, for the load-balancer
 * benchmark (as test/lab/lb-nft.test.ts builds it):
 *
 *   client `<prefix>-cl` 198.18.3.2-6 ── veth ── lb eth1 198.18.3.1, VIP 198.18.3.100
 *                                              lb eth0 on the lab bridge (inside net 198.18.<subnet>.0/24)
 *                                              rs1 rs2 rs3: a tiny node HTTP server answering its name,
 *                                              default route via the LB
 *
 * ip_forward is on in the LB only. The client has a route to the inside net
 * through the LB, so the same client can reach the real servers directly
 * (plain forwarding) or through the VIP (NAT). Everything is removed by
 * destroy(), and by the cleanup record if the process dies first.
 */
import { createLab, pollUntil, run, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { register, release, type CleanupRecord } from '../../lab/cleanup.js';
import type { Logger } from '../../core/logger.js';

export const LB_VIP = '198.18.3.100';
export const REAL_SERVERS = ['rs1', 'rs2', 'rs3'] as const;
/**
 * The client's source addresses, one per measurement. A real server keeps its
 * closed connections in TIME_WAIT; a new SYN on the same 4-tuple is accepted only
 * if its TCP timestamp is newer, and Linux offsets timestamps per address pair,
 * so the client's connections to the VIP reusing a port of its earlier direct
 * connections were dropped by PAWS (1 s SYN retransmissions, a quarter of the rate).
 */
export const CLIENT_ADDRESSES = ['198.18.3.2', '198.18.3.3', '198.18.3.4', '198.18.3.5', '198.18.3.6'] as const;

/** Answers every request with its own name; closes each connection (no keep-alive on the client side either). */
const SERVER = `
const http = require('http');
const name = process.argv[1];
const srv = http.createServer((q, s) => s.end(name));
srv.keepAliveTimeout = 0;
srv.listen(80, '0.0.0.0');
`;

export interface LbTopology {
  lab: Lab;
  clientNs: string;
  lbNs: string;
  /** the real server's inside address */
  address(rs: string): string;
  /** runs a command in the client namespace */
  inClient(cmd: string, args: string[], timeoutMs: number): ReturnType<typeof run>;
  startServer(rs: string): Promise<void>;
  /** SIGKILL of the real server's HTTP server; resolves once it exited, with the Date.now() of the kill */
  killServer(rs: string): Promise<number>;
  destroy(): Promise<void>;
}

export async function createLbTopology(prefix: string, subnet: number, logger: Logger): Promise<LbTopology> {
  await sweepStaleLabs(prefix, logger);
  const clientNs = `${prefix}-cl`;
  // A leftover client namespace of a killed run (sweepStaleLabs removes the lab's own).
  await run('ip', ['netns', 'del', clientNs], 5000);
  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set() };
  register(record);
  const lab = await createLab({ prefix, nodes: ['lb', ...REAL_SERVERS], subnet, ipv6: false, logger });
  const servers = new Map<string, SpawnedProcess>();
  const topo: LbTopology = {
    lab,
    clientNs,
    lbNs: lab.node('lb').ns,
    address: (rs) => lab.node(rs).ipv4!,
    inClient: (cmd, args, timeoutMs) => run('ip', ['netns', 'exec', clientNs, cmd, ...args], timeoutMs),
    async startServer(rs) {
      const p = lab.spawn(rs, process.execPath, ['-e', SERVER, rs]);
      servers.set(rs, p);
      const probe = `require('http').get('http://${topo.address(rs)}/',{agent:false},(r)=>process.exit(0)).on('error',()=>process.exit(1))`;
      const up = await pollUntil(async () => ((await lab.exec('lb', process.execPath, ['-e', probe], 3000)).code === 0 ? true : undefined), 10_000, 100);
      if (up !== true) throw new Error(`${rs}'s HTTP server does not answer`);
    },
    async killServer(rs) {
      const p = servers.get(rs);
      if (p === undefined) throw new Error(`${rs} has no server`);
      const at = Date.now();
      process.kill(p.pid, 'SIGKILL');
      await p.exited;
      servers.delete(rs);
      return at;
    },
    async destroy() {
      await run('ip', ['netns', 'del', clientNs], 5000);
      record.namespaces.delete(clientNs);
      release(record);
      await lab.destroy();
    },
  };
  try {
    const ip = async (ns: string, args: string[]) => {
      const r = await run('ip', ['-n', ns, ...args], 5000);
      if (r.code !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
    };
    const mk = await run('ip', ['netns', 'add', clientNs], 5000);
    if (mk.code !== 0) throw new Error(`ip netns add ${clientNs}: ${mk.stderr}`);
    record.namespaces.add(clientNs);
    const lbNs = topo.lbNs;
    await ip(clientNs, ['link', 'set', 'lo', 'up']);
    await ip(clientNs, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', lbNs]);
    await ip(clientNs, ['link', 'set', 'eth0', 'up']);
    for (const a of CLIENT_ADDRESSES) await ip(clientNs, ['addr', 'add', `${a}/24`, 'dev', 'eth0']);
    await ip(clientNs, ['route', 'add', `198.18.${subnet}.0/24`, 'via', '198.18.3.1']);
    await ip(lbNs, ['link', 'set', 'eth1', 'up']);
    for (const a of ['198.18.3.1/24', `${LB_VIP}/24`]) await ip(lbNs, ['addr', 'add', a, 'dev', 'eth1']);
    const fwd = await lab.exec('lb', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], 5000);
    if (fwd.code !== 0) throw new Error(`ip_forward in the LB: ${fwd.stderr}`);
    // Tens of thousands of short connections from one client address to one VIP: reuse TIME_WAIT ports, and a wide range.
    const cl = await topo.inClient('sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=10000 65000'], 5000);
    if (cl.code !== 0) throw new Error(`client sysctls: ${cl.stderr}`);
    for (const rs of REAL_SERVERS) {
      await ip(lab.node(rs).ns, ['route', 'add', 'default', 'via', lab.node('lb').ipv4!]);
      await topo.startServer(rs);
    }
  } catch (err) {
    await topo.destroy();
    throw err;
  }
  return topo;
}
