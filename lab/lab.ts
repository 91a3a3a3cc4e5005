import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { cleanupNow, namespacePids, register, type CleanupRecord } from './cleanup.js';
import { isAlive, pollUntil, run, runOrThrow, sleep, type RunResult } from './run.js';

/** Addresses of one lab node; every node has one veth `eth0` on the lab bridge. */
export interface LabNode {
  name: string;
  /** Network namespace name: `<prefix>-<name>`. */
  ns: string;
  ifname: 'eth0';
  /** 1-based host number used in the addresses. */
  host: number;
  ipv4?: string;
  ipv6?: string;
  /** The interface's fe80:: address (known once the lab is up). */
  linkLocal?: string;
}

export interface LabOptions {
  /** Namespace-name prefix, lowercase letters and digits (e.g. `vfsk`). */
  prefix: string;
  nodes: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  /** Third octet of 198.18.X.0/24 and fourth group of fd00:198:18:X::/64 (default 1). */
  subnet?: number;
  logger: Logger;
}

export interface SpawnedProcess {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

export interface Lab {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly nodes: ReadonlyMap<string, LabNode>;
  /** A temp dir removed by destroy(); for configs, pid files and logs. */
  readonly dir: string;
  node(name: string): LabNode;
  /** `ip netns exec <ns> cmd args`, bounded by timeoutMs (default 10 s). */
  exec(node: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Starts a long-running command in a node; destroy() ends it. */
  spawn(node: string, cmd: string, args: readonly string[], stdio?: StdioOptions): SpawnedProcess;
  /** Registers a PID the lab did not spawn directly (e.g. from a daemon's pid file) for destroy(). */
  track(pid: number): void;
  /** Ends tracked processes (SIGTERM, then SIGKILL after a bound) and deletes every namespace. Idempotent. */
  destroy(): Promise<void>;
}

const NAME = /^[a-z][a-z0-9]{0,9}$/;
const TERM_GRACE_MS = 2000;

/**
 * Builds a lab: a bridge namespace `<prefix>-br` with br0 (multicast
 * snooping off, so VRRP multicast reaches every port), and one namespace per
 * node with `eth0` on that bridge, lo up, rp_filter 0 and IPv6 duplicate
 * address detection off so addresses are usable at once.
 * Throws when a step fails, after removing what it created.
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  const { prefix, nodes: nodeNames } = options;
  if (!NAME.test(prefix)) throw new Error(`lab prefix must match ${NAME}: ${prefix}`);
  for (const n of nodeNames) {
    if (!NAME.test(n) || n === 'br') throw new Error(`lab node name must match ${NAME} and not be "br": ${n}`);
  }
  if (new Set(nodeNames).size !== nodeNames.length) throw new Error('lab node names must be unique');
  if (`${prefix}-${nodeNames.reduce((a, b) => (a.length > b.length ? a : b), '')}`.length > 30) throw new Error('lab namespace names too long');
  const subnet = options.subnet ?? 1;
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new Error('lab subnet must be 0..255');
  const ipv4 = options.ipv4 ?? true;
  const ipv6 = options.ipv6 ?? true;
  const log = options.logger.child({ component: 'lab', prefix });

  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set() };
  register(record);
  const dir = mkdtempSync(join(tmpdir(), `vipflow-lab-${prefix}-`));
  record.tempDirs.add(dir);
  const bridgeNs = `${prefix}-br`;
  const nodes = new Map<string, LabNode>();
  nodeNames.forEach((name, i) => {
    const host = i + 1;
    nodes.set(name, {
      name,
      ns: `${prefix}-${name}`,
      ifname: 'eth0',
      host,
      ...(ipv4 ? { ipv4: `198.18.${subnet}.${host}` } : {}),
      ...(ipv6 ? { ipv6: `fd00:198:18:${subnet.toString(16)}::${host.toString(16)}` } : {}),
    });
  });

  const sysctls = (ns: string, pairs: string[]) => runOrThrow('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...pairs]);
  try {
    for (const ns of [bridgeNs, ...[...nodes.values()].map((n) => n.ns)]) {
      await runOrThrow('ip', ['netns', 'add', ns]);
      record.namespaces.add(ns);
      await runOrThrow('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // The bridge namespace only forwards frames: no IPv6 on its ports keeps
    // captures free of its router solicitations and MLD reports.
    await sysctls(bridgeNs, ['net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.all.disable_ipv6=1']);
    await runOrThrow('ip', ['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    await runOrThrow('ip', ['-n', bridgeNs, 'link', 'set', 'br0', 'up']);

    for (const node of nodes.values()) {
      // Set before eth0 exists: a device takes the namespace defaults when created.
      await sysctls(node.ns, [
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
      ]);
      const port = `v-${node.name}`;
      // Created from the node side with the peer placed straight into the
      // bridge namespace: no lab interface ever exists in the root namespace.
      await runOrThrow('ip', ['-n', node.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', bridgeNs]);
      await runOrThrow('ip', ['-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
      await runOrThrow('ip', ['-n', node.ns, 'link', 'set', 'eth0', 'up']);
      if (node.ipv4) await runOrThrow('ip', ['-n', node.ns, 'addr', 'add', `${node.ipv4}/24`, 'dev', 'eth0']);
      if (node.ipv6) await runOrThrow('ip', ['-n', node.ns, '-6', 'addr', 'add', `${node.ipv6}/64`, 'dev', 'eth0', 'nodad']);
    }
    if (ipv6) {
      for (const node of nodes.values()) {
        const ll = await pollUntil(() => usableLinkLocal(node.ns), 5000);
        if (!ll) throw new Error(`no usable link-local address on ${node.ns} eth0 within 5 s`);
        node.linkLocal = ll;
      }
    }
  } catch (error) {
    cleanupNow(record);
    throw error;
  }
  log.debug({ nodes: [...nodes.values()] }, 'lab up');

  const children = new Map<number, SpawnedProcess>();
  let destroyed = false;
  const nodeOf = (name: string): LabNode => {
    const n = nodes.get(name);
    if (!n) throw new Error(`unknown lab node ${name}`);
    return n;
  };

  return {
    prefix,
    bridgeNs,
    nodes,
    dir,
    node: nodeOf,
    exec(node, cmd, args, timeoutMs = 10_000) {
      return run('ip', ['netns', 'exec', nodeOf(node).ns, cmd, ...args], timeoutMs);
    },
    spawn(node, cmd, args, stdio = ['ignore', 'pipe', 'pipe']) {
      if (destroyed) throw new Error('lab destroyed');
      const child = spawn('ip', ['netns', 'exec', nodeOf(node).ns, cmd, ...args], { stdio });
      if (child.pid === undefined) throw new Error(`cannot spawn ${cmd} in ${node}`);
      const pid = child.pid;
      record.pids.add(pid);
      const exited = new Promise<number | string>((resolve) => {
        child.once('exit', (code, signal) => {
          record.pids.delete(pid);
          children.delete(pid);
          resolve(code ?? signal ?? -1);
        });
        child.once('error', () => resolve(-1));
      });
      const proc = { pid, child, exited };
      children.set(pid, proc);
      log.debug({ node, cmd, pid }, 'spawned');
      return proc;
    },
    track(pid) {
      record.pids.add(pid);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const pids = new Set(record.pids);
      for (const ns of record.namespaces) for (const pid of namespacePids(ns)) pids.add(pid);
      await terminate([...pids]);
      const leftovers: string[] = [];
      for (const ns of [...record.namespaces]) {
        const r = await run('ip', ['netns', 'del', ns], 5000);
        if (r.code === 0) record.namespaces.delete(ns);
        else leftovers.push(ns);
      }
      if (leftovers.length > 0) log.warn({ leftovers }, 'namespaces not deleted; exit handler retries');
      else cleanupNow(record);
      log.debug('lab destroyed');
    },
  };
}

/** SIGTERM, wait up to TERM_GRACE_MS, then SIGKILL what is left. */
async function terminate(pids: number[]): Promise<void> {
  const signal = (pid: number, s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const done = await pollUntil(() => (pids.every((p) => !isAlive(p)) ? true : undefined), TERM_GRACE_MS, 20);
  if (done) return;
  for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
  await pollUntil(() => (pids.every((p) => !isAlive(p)) ? true : undefined), 1000, 20);
}

async function usableLinkLocal(ns: string): Promise<string | undefined> {
  const r = await run('ip', ['-n', ns, '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'], 2000);
  if (r.code !== 0) return undefined;
  const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string; tentative?: boolean }[] }[];
  const a = parsed[0]?.addr_info?.find((x) => x.local?.startsWith('fe80') && !x.tentative);
  return a?.local;
}

export { sleep };
