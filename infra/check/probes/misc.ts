/**
 * MISC_CHECK (keepalived's check_misc.c: misc_check_thread, misc_check_child_thread):
 * run misc_path; exit status 0 means up. With misc_dynamic an exit status of
 * 2..255 also means up, asking for weight status - 2 (0..253), and 0 keeps the
 * configured weight; 1, any other status, a signal or the misc_timeout is a failure.
 *
 * The program is run by infra/scripts' ScriptRunner: its own process group,
 * killed as a group at the timeout, the daemon's environment minus IFS and
 * LD_*, the script user from `prepare` (script_user / enable_script_security).
 */
import type { Logger } from '../../../core/logger.js';
import { silentLogger } from '../../../core/logger.js';
import { ScriptRunner, type JobOutcome, type Prepared } from '../../scripts/runner.js';
import { fail, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

export interface MiscProbeOptions {
  /** misc_path, already split into a program and its arguments */
  argv: string[];
  /** misc_timeout in ms; keepalived falls back to the virtual server's delay_loop */
  timeoutMs: number;
  /** misc_dynamic */
  dynamic?: boolean;
  /** who runs it, or why not (see infra/scripts/runner.ts Job.prepare) */
  prepare?: () => Prepared;
  log?: Logger;
}

/** keepalived's rule: `weight` only for misc_dynamic exits 2..255. */
export function miscOutcome(o: Pick<JobOutcome, 'exitCode' | 'signal' | 'timedOut' | 'refused'>, dynamic: boolean, timeoutMs: number): ProbeResult {
  if (o.refused !== null) return fail('spawn', `not run: ${o.refused}`);
  if (o.timedOut) return fail('timeout', `no exit within ${timeoutMs} ms: process group killed`);
  if (o.exitCode === null) return fail('exit-code', `killed by ${o.signal ?? 'a signal'}`);
  if (o.exitCode === 0) return { ok: true, detail: 'exit 0' };
  if (dynamic && o.exitCode >= 2 && o.exitCode <= 255) return { ok: true, detail: `exit ${o.exitCode}: weight ${o.exitCode - 2}`, weight: o.exitCode - 2 };
  return fail('exit-code', `exit ${o.exitCode}`);
}

/**
 * Same shape as the network probes; the target is not used (keepalived hands
 * misc_path nothing of the real server: the address is written into the command).
 */
export function miscProbe(_target: ProbeTarget | null, options: MiscProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    try {
      if (options.argv.length === 0 || !options.argv[0]) {
        resolve(fail('config', 'misc_path is empty'));
        return;
      }
      if (ctx.signal?.aborted) {
        resolve(fail('aborted', 'aborted before start'));
        return;
      }
      let settled = false;
      const done = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        ctx.signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const runner = new ScriptRunner({
        log: options.log ?? silentLogger(),
        timeoutMs: options.timeoutMs,
        maxLogLines: 20,
        // Run every delay_loop: the runner logs the checker's changes, not every run.
        label: 'MISC_CHECK script',
        routineLevel: 'debug',
        onDone: (_job, outcome) => done(miscOutcome(outcome, options.dynamic ?? false, options.timeoutMs)),
      });
      const onAbort = () => {
        done(fail('aborted', 'aborted: process group killed'));
        void runner.close(0);
      };
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      runner.enqueue('misc', { argv: options.argv, context: { checker: 'MISC_CHECK' }, ...(options.prepare ? { prepare: options.prepare } : {}) });
    } catch (err) {
      resolve(fail('spawn', `unexpected: ${String(err)}`));
    }
  });
}
