/**
 * One VRRP router process per lab node, keepalived or vipflow, behind one
 * handle, so the benchmarks treat both implementations identically: same
 * keepalived.conf text, same signals, same measurements.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, pollUntil, startKeepalived, type Lab } from '../../lab/index.js';
import type { VipflowCommand } from './vipflow-build.js';

export type Impl = 'keepalived' | 'vipflow';
export const IMPLS: readonly Impl[] = ['keepalived', 'vipflow'];

export interface RouterInstance {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  /** Seconds (fractions allowed for VRRPv3). */
  advertInt: number;
  vips: string[];
  /** More lines inside the instance block (vipflow's own keywords). */
  extra?: string[];
}

/** keepalived.conf text that both implementations read. */
export function routerConfig(routerId: string, instances: readonly RouterInstance[], globals: readonly string[] = []): string {
  const lines = ['global_defs {', `  router_id ${routerId}`, ...globals.map((l) => `  ${l}`), '}'];
  for (const i of instances) {
    lines.push(
      `vrrp_instance ${i.name} {`,
      '  state BACKUP',
      `  interface ${i.interface}`,
      `  virtual_router_id ${i.vrid}`,
      `  version ${i.version}`,
      `  priority ${i.priority}`,
      `  advert_int ${i.advertInt}`,
      '  virtual_ipaddress {',
      ...i.vips.map((v) => `    ${v}`),
      '  }',
      ...(i.extra ?? []).map((l) => `  ${l}`),
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

export interface Router {
  readonly impl: Impl;
  readonly node: string;
  /** Every process of the implementation: keepalived's parent and its VRRP child, vipflow's one process. */
  pids(): number[];
  /** SIGKILL to every process at once (a crash: no priority-0 advert can leave). */
  kill(): void;
  /** SIGSTOP to every process (as kill): silent at once, with no exit for the kernel to tear down; kill() ends it. */
  freeze(): void;
  /** SIGTERM as an operator would send it (keepalived: to the parent, which stops its child). */
  terminate(): void;
  /** Rewrites the configuration and sends SIGHUP (a live reload, e.g. a priority change). */
  reconfigure(config: string): void;
  /** Resolves once every process ended, or false after timeoutMs. */
  waitExit(timeoutMs: number): Promise<boolean>;
  /** Graceful stop with a SIGKILL fallback. Idempotent. */
  stop(): Promise<void>;
  log(): string;
}

let serial = 0;

/** The PIDs a process forked (Linux ≥ 3.5 exposes them per thread). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Starts one implementation in a lab node with the given config. Resolves
 * once the process runs with its configuration loaded (keepalived: the VRRP
 * child exists; vipflow: "vipflow running" logged). Throws otherwise, within
 * readyTimeoutMs for vipflow (a configuration of thousands of checkers takes a while), 5 s for keepalived.
 * `vipflowArgs` are added to vipflow's `run` (e.g. --http).
 */
export async function startRouter(
  lab: Lab,
  impl: Impl,
  node: string,
  config: string,
  vipflow: VipflowCommand,
  readyTimeoutMs = 20_000,
  vipflowArgs: readonly string[] = [],
): Promise<Router> {
  const name = `${node}-${++serial}`;
  if (impl === 'keepalived') {
    const k = await startKeepalived(lab, node, name, config);
    const children = await pollUntil(() => {
      const c = childPids(k.pid);
      return c.length > 0 ? c : undefined;
    }, 5000);
    if (!children) {
      await k.stop();
      throw new Error(`keepalived in ${node} forked no VRRP child: ${k.log().slice(-2000)}`);
    }
    // The VRRP child first: killed after its parent, it could get the parent-death
    // signal in between and leave gracefully (priority 0), which a crash never does.
    const all = [...children, k.pid];
    return {
      impl,
      node,
      pids: () => all.filter(isAlive),
      kill: () => signalAll(all, 'SIGKILL'),
      freeze: () => signalAll(all, 'SIGSTOP'),
      terminate: () => signalAll([k.pid], 'SIGTERM'),
      reconfigure: (text) => {
        writeFileSync(k.confPath, text);
        signalAll([k.pid], 'SIGHUP');
      },
      waitExit: async (ms) => (await pollUntil(() => (all.some(isAlive) ? undefined : true), ms, 5)) === true,
      stop: () => k.stop(),
      log: k.log,
    };
  }
  const base = join(lab.dir, `vipflow-${name}`);
  const stateDir = `${base}-state`;
  const logPath = `${base}.log`;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(`${base}.conf`, config);
  const fd = openSync(logPath, 'a');
  let proc;
  try {
    proc = lab.spawn(
      node,
      vipflow.cmd,
      [...vipflow.args, 'run', '--config', `${base}.conf`, '--state-dir', stateDir, '--log-level', 'info', ...vipflowArgs],
      ['ignore', fd, fd],
    );
  } finally {
    closeSync(fd);
  }
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const pid = proc.pid;
  const ready = await pollUntil(() => (/"vipflow running"/.test(log()) ? true : !isAlive(pid) ? false : undefined), readyTimeoutMs, 20);
  if (ready !== true) {
    signalAll([pid], 'SIGKILL');
    throw new Error(`vipflow in ${node} did not start: ${log().slice(-2000)}`);
  }
  const waitExit = async (ms: number) => (await pollUntil(() => (isAlive(pid) ? undefined : true), ms, 5)) === true;
  let stopped = false;
  return {
    impl,
    node,
    pids: () => (isAlive(pid) ? [pid] : []),
    kill: () => signalAll([pid], 'SIGKILL'),
    freeze: () => signalAll([pid], 'SIGSTOP'),
    terminate: () => signalAll([pid], 'SIGTERM'),
    reconfigure: (text) => {
      writeFileSync(`${base}.conf`, text);
      signalAll([pid], 'SIGHUP');
    },
    waitExit,
    async stop() {
      if (stopped) return;
      stopped = true;
      signalAll([pid], 'SIGTERM');
      if (!(await waitExit(3000))) signalAll([pid], 'SIGKILL');
      await waitExit(1000);
    },
    log,
  };
}
