/** Lab steps the benchmarks repeat: waiting for a VIP, changing links. */
import { pollUntil, readAddresses, type Lab } from '../../lab/index.js';

/** Whether `address` (without prefix) is configured on the node's interface. */
export async function hasAddress(lab: Lab, node: string, address: string, ifname = 'eth0'): Promise<boolean> {
  return (await readAddresses(lab, node, ifname)).some((a) => a.local === address);
}

/** Waits until exactly `holder` among `nodes` has the address; returns whether it happened within timeoutMs. */
export async function waitHolder(lab: Lab, nodes: readonly string[], holder: string, address: string, timeoutMs: number): Promise<boolean> {
  const r = await pollUntil(
    async () => {
      for (const n of nodes) if ((await hasAddress(lab, n, address)) !== (n === holder)) return undefined;
      return true;
    },
    timeoutMs,
    10,
  );
  return r === true;
}

export async function ipIn(lab: Lab, node: string, args: string[]): Promise<void> {
  await lab.exec(node, 'ip', args, 5000);
}
