/**
 * The shell notifier: runs a zx script (or any executable) with the event in its
 * environment (env.ts). The script runs in its own process group so a timeout or a
 * cancelled run ends it and everything it started, as keepalived does for notify
 * scripts; its output is logged line by line; a non-zero exit fails the step with the
 * tail of stderr, which is usually the reason.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { scriptEnvironment } from './env.js';

export const shellScriptOptionsSchema = z.strictObject({
  /** A zx script (.mjs, .js, .md) run by zx's CLI, or any other executable run as is. */
  script: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Extra environment; the VIPFLOW_* variables win over it. */
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().min(1).optional(),
  /** After the step is aborted, SIGKILL follows SIGTERM after this many ms. */
  killGraceMs: z.number().int().min(0).default(2000),
  /** stdout/stderr lines logged per run; the rest are counted. */
  maxLogLines: z.number().int().min(0).default(200),
});
export type ShellScriptOptions = z.input<typeof shellScriptOptionsSchema>;

const ZX_SCRIPT = /\.(mjs|cjs|js|md)$/;

/** argv that runs `script`: zx scripts through zx's CLI with this Node, others directly. */
export function scriptArgv(script: string, args: readonly string[], zxCli: string): string[] {
  return ZX_SCRIPT.test(script) ? [process.execPath, zxCli, script, ...args] : [script, ...args];
}

let zxCliPath: string | undefined;
function zxCli(): string {
  zxCliPath ??= createRequire(import.meta.url).resolve('zx/cli');
  return zxCliPath;
}

/** Validates options now (a bad field is a programmer mistake) and returns the step. */
export function shellScriptStep(options: ShellScriptOptions, step: StepSettings = {}): WorkflowStep {
  const parsed = shellScriptOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`shellScriptStep: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  return {
    name: step.name ?? 'shell-script',
    ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
    ...(step.retry !== undefined ? { retry: step.retry } : {}),
    run: (ctx) => runScript(o, ctx),
  };
}

type Parsed = z.output<typeof shellScriptOptionsSchema>;

async function runScript(o: Parsed, ctx: StepContext): Promise<void> {
  const argv = scriptArgv(o.script, o.args, zxCli());
  ctx.intend('run script', { script: o.script, args: o.args });
  if (ctx.dryRun) return;
  const env = { ...process.env, ...o.env, ...scriptEnvironment(ctx) };
  const log = ctx.log.child({ script: o.script });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) });
    const stderrTail: string[] = [];
    let logged = 0;
    let dropped = 0;
    const line = (stream: 'stdout' | 'stderr') => (text: string) => {
      if (stream === 'stderr') {
        stderrTail.push(text);
        if (stderrTail.length > 5) stderrTail.shift();
      }
      if (logged < o.maxLogLines) {
        logged++;
        log.info({ stream, line: text }, 'script output');
      } else dropped++;
    };
    createInterface({ input: child.stdout! }).on('line', line('stdout'));
    createInterface({ input: child.stderr! }).on('line', line('stderr'));
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      // The negative PID reaches the whole group: the script and whatever it started.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      log.warn({ pid: child.pid, reason: String(ctx.signal.reason) }, 'ending the script and its process group');
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    child.on('error', (err) => {
      ctx.signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start ${o.script}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      // A script that exited may have left children in its group after an abort.
      if (killTimer) {
        clearTimeout(killTimer);
        killGroup('SIGKILL');
      }
      if (dropped > 0) log.warn({ dropped }, 'script output lines not logged');
      if (code === 0) return resolve();
      const why = signal ? `killed by ${signal}` : `exited with status ${code}`;
      const tail = stderrTail.length > 0 ? `: ${stderrTail.join(' | ')}` : '';
      reject(new Error(`${o.script} ${why}${tail}`));
    });
  });
}
