/** Step shells: zx for real runs, a recorder of intentions for dry runs. */
import { $, quote } from 'zx';
import type { Logger } from '../core/logger.js';
import type { StepShell } from './define.js';

/** zx's `$`, quiet (output goes to the result, not our stdout) and killed when `signal` aborts. */
export function zxShell(signal: AbortSignal): StepShell {
  return $({ signal, quiet: true });
}

/**
 * A `$` that runs nothing: it logs the command it would run (quoted as zx would quote
 * it) and reports success with empty output, so a dry run walks every step.
 */
export function dryRunShell(log: Logger, onCommand?: (command: string) => void): (signal: AbortSignal) => StepShell {
  return () =>
    (pieces, ...args) => {
      let cmd = pieces[0] ?? '';
      args.forEach((a, i) => {
        const parts: unknown[] = Array.isArray(a) ? a : [a];
        cmd += parts.map((p) => quote(String(p))).join(' ') + (pieces[i + 1] ?? '');
      });
      onCommand?.(cmd);
      log.info({ command: cmd }, 'dry run: would run');
      return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
    };
}
