import type { Lab } from './lab.js';
import { pollUntil } from './run.js';

export interface CaptureOptions {
  interface?: string;
  /** A tcpdump filter expression, e.g. ['arp'] or ['icmp6', 'and', 'ip6[40] == 136']. */
  filter: string[];
  /** Stop after this many packets (tcpdump -c). */
  count?: number;
  /** Hard bound on the capture's lifetime. */
  timeoutMs: number;
}

export interface Capture {
  /** Resolves with tcpdump's text lines (-n -e -vv) once it stops: count reached, timeout, or stop(). */
  readonly done: Promise<string[]>;
  stop(): void;
}

/**
 * Starts tcpdump in a lab node and resolves once it is listening, so that
 * packets sent afterwards are captured. Throws if it is not listening
 * within 5 s.
 */
export async function startCapture(lab: Lab, node: string, options: CaptureOptions): Promise<Capture> {
  const args = ['-i', options.interface ?? 'eth0', '-n', '-e', '-vv', '-l', '-U'];
  if (options.count !== undefined) args.push('-c', String(options.count));
  const proc = lab.spawn(node, 'tcpdump', [...args, ...options.filter]);
  let out = '';
  let err = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const stop = () => {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(stop, options.timeoutMs);
  const done = proc.exited.then(() => {
    clearTimeout(timer);
    return out.split('\n').filter((l) => l.trim() !== '');
  });
  const listening = await pollUntil(() => (/listening on/.test(err) ? true : undefined), 5000, 10);
  if (!listening) {
    stop();
    throw new Error(`tcpdump in ${node} not listening within 5 s: ${err.trim()}`);
  }
  return { done, stop };
}
