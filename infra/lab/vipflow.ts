/**
 * Starting the vipflow daemon in a lab node, the same way an operator runs
 * it (`vipflow run --config ... --state-dir ...`), from the built CLI when it
 * exists alongside this module (dist/) and through tsx from sources.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../daemon/control.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import type { Lab, SpawnedProcess } from './lab.js';

/** The argv prefix that runs the vipflow CLI with this process's Node. */
export function vipflowCommand(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, '..', '..', 'cli', 'main.js');
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, '--import', 'tsx', join(here, '..', '..', 'cli', 'main.ts')];
}

export interface VipflowProcess extends SpawnedProcess {
  node: string;
  stateDir: string;
  configPath: string;
  /** JSON log lines the daemon printed so far (unparsable lines kept as { raw }). */
  logs(): Record<string, unknown>[];
  status(): Promise<DaemonStatus | null>;
}

/**
 * Writes `config` (keepalived.conf syntax) and starts `vipflow run` in `node`.
 * `name` must be unique within the lab (it names the files).
 */
export function startVipflow(lab: Lab, node: string, name: string, config: string, extraArgs: string[] = []): VipflowProcess {
  const configPath = join(lab.dir, `vipflow-${name}.conf`);
  const stateDir = join(lab.dir, `vipflow-${name}-state`);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(configPath, config);
  const [cmd, ...args] = vipflowCommand();
  const proc = lab.spawn(node, cmd!, [...args, 'run', '--config', configPath, '--state-dir', stateDir, ...extraArgs]);
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    partial += chunk.toString();
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  };
  proc.child.stdout?.on('data', collect);
  proc.child.stderr?.on('data', collect);
  return {
    ...proc,
    node,
    stateDir,
    configPath,
    logs: () => lines,
    status: async () => {
      try {
        const r = await controlRequest(join(stateDir, 'control.sock'), 'status', 2000);
        return r.ok ? (r.status as DaemonStatus) : null;
      } catch {
        return null;
      }
    },
  };
}
