/**
 * When one router's VRRP packets crossed a lab node's interface, with the
 * kernel's receive timestamps (tcpdump -tt, filtered in the kernel on the
 * source): timing that a busy test process cannot blur, and cheap under a
 * flood from other hosts because the filter drops the flood before tcpdump.
 */
import type { Lab } from './lab.js';
import { pollUntil } from './run.js';

export interface AdvertTimes {
  /** Epoch ms of each packet seen so far. */
  times(): number[];
  stop(): void;
}

export async function watchAdvertTimes(lab: Lab, node: string, source: string, vrid: number): Promise<AdvertTimes> {
  // ip[20] is the VRRP version/type byte and ip[21] the VRID (no IP options on VRRP).
  const filter = `ip proto 112 and src host ${source} and ip[21] == ${vrid}`;
  const proc = lab.spawn(node, 'tcpdump', ['-i', 'eth0', '-n', '-tt', '-l', '-U', '-s', '64', filter]);
  const times: number[] = [];
  let partial = '';
  let err = '';
  proc.child.stdout?.setEncoding('utf8');
  proc.child.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const t = Number.parseFloat(l);
      if (Number.isFinite(t)) times.push(t * 1000);
    }
  });
  proc.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const stop = () => {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  if (!(await pollUntil(() => (/listening on/.test(err) ? true : undefined), 5000, 10))) {
    stop();
    throw new Error(`tcpdump in ${node} not listening: ${err}`);
  }
  return { times: () => times, stop };
}
