/** Running a short-lived host tool (ipvsadm, nft) with input on its stdin and a hard time bound. */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs a command with optional stdin, killed (SIGKILL) at `timeoutMs`; never throws. */
export function runBounded(file: string, args: readonly string[], timeoutMs: number, input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ code: null, stdout, stderr, error: `killed after ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => done({ code: null, stdout, stderr, error: e.code ?? e.message }));
    child.on('close', (code) => done({ code, stdout, stderr }));
    // EPIPE when the tool exits before reading everything is reported by its exit status instead.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
