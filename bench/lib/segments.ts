/** More L2 segments for a lab, for benchmarks that need more than 255 VRIDs per family. */
import { run, type Lab } from '../../lab/index.js';

/**
 * Bridges br<i> in the lab's bridge namespace for each i of `extra`, and on
 * each node eth<i> (a veth into that bridge) with 198.18.(subnet+i).host/24.
 * Everything lives in the lab's namespaces, so lab.destroy() removes it.
 */
export async function addSegments(lab: Lab, subnet: number, extra: readonly number[]): Promise<void> {
  const ip = async (args: string[]) => {
    const r = await run('ip', args, 10_000);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  for (const i of extra) {
    await ip(['-n', lab.bridgeNs, 'link', 'add', `br${i}`, 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(['-n', lab.bridgeNs, 'link', 'set', `br${i}`, 'up']);
    for (const node of lab.nodes.values()) {
      const port = `v${i}-${node.name}`;
      await ip(['-n', node.ns, 'link', 'add', `eth${i}`, 'type', 'veth', 'peer', 'name', port, 'netns', lab.bridgeNs]);
      await ip(['-n', lab.bridgeNs, 'link', 'set', port, 'master', `br${i}`, 'up']);
      await ip(['-n', node.ns, 'link', 'set', `eth${i}`, 'up']);
      await ip(['-n', node.ns, 'addr', 'add', `198.18.${subnet + i}.${node.host}/24`, 'dev', `eth${i}`]);
    }
  }
}
