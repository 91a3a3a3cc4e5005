/**
 * VRRP adverts as seen on the wire: tcpdump writes a pcap in a lab node (the
 * kernel's receive timestamps), tshark decodes it afterwards, so timing never
 * depends on either daemon's own clock or logs.
 */
import { join } from 'node:path';
import { pollUntil, run, type Lab } from '../../lab/index.js';

export interface Advert {
  /** Epoch ms from the capture. */
  at: number;
  source: string;
  vrid: number;
  priority: number;
}

export interface VrrpCapture {
  /** Stops tcpdump and decodes every advert captured, in capture order. */
  finish(): Promise<Advert[]>;
}

let serial = 0;

export async function startVrrpCapture(lab: Lab, node: string, ifname = 'eth0'): Promise<VrrpCapture> {
  const file = join(lab.dir, `vrrp-${++serial}.pcap`);
  const proc = lab.spawn(node, 'tcpdump', ['-i', ifname, '-n', '-U', '-s', '128', '-w', file, 'ip proto 112']);
  let err = '';
  proc.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  if (!(await pollUntil(() => (/listening on/.test(err) ? true : undefined), 5000, 10))) {
    process.kill(proc.pid, 'SIGKILL');
    throw new Error(`tcpdump in ${node} not listening: ${err}`);
  }
  return {
    async finish() {
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 3000))]);
      const r = await run(
        'tshark',
        ['-r', file, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio'],
        120_000,
      );
      if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
      const out: Advert[] = [];
      for (const line of r.stdout.split('\n')) {
        const [t, source, vrid, prio] = line.split(',');
        if (!t || !source || vrid === undefined || prio === undefined) continue;
        out.push({ at: Number(t) * 1000, source, vrid: Number(vrid), priority: Number(prio) });
      }
      return out;
    },
  };
}
