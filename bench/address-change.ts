// Time to add and remove one interface address: rtnetlink through the wire
// addon (infra/host/addresses.ts) against `ip addr` through execFile, inside a
// namespace lab (prefix vfskad).   npx tsx bench/address-change.ts [pairs]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createLab, sweepStaleLabs } from '../lab/index.js';
import { silentLogger } from '../core/logger.js';
import { addAddress, removeAddress } from '../infra/host/addresses.js';
import { interfaceInfo } from '../wire/socket/index.js';

const pairs = Number(process.argv[2] ?? 200);
const logger = silentLogger();
const exec = promisify(execFile);

await sweepStaleLabs('vfskad', logger);
const lab = await createLab({ prefix: 'vfskad', nodes: ['n1'], subnet: 26, logger });
try {
  const ns = lab.node('n1').ns;
  const info = interfaceInfo('eth0', ns);
  if (!info.ok) throw new Error(info.message);
  const ifindex = info.value.index;
  for (const family of [4, 6] as const) {
    const address = family === 4 ? '198.18.26.100' : 'fd00:198:18:1a::100';
    const prefixLen = family === 4 ? 24 : 64;
    const spec = { ifindex, family, address, prefixLen, netns: ns, noDad: family === 6 };

    let t0 = process.hrtime.bigint();
    for (let i = 0; i < pairs; i++) {
      if (!addAddress(spec).ok || !removeAddress(spec).ok) throw new Error('netlink change failed');
    }
    const netlinkMs = Number(process.hrtime.bigint() - t0) / 1e6 / (2 * pairs);

    const n = Math.min(pairs, 50);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await exec('ip', ['-n', ns, 'addr', 'add', `${address}/${prefixLen}`, 'dev', 'eth0', ...(family === 6 ? ['nodad'] : [])]);
      await exec('ip', ['-n', ns, 'addr', 'del', `${address}/${prefixLen}`, 'dev', 'eth0']);
    }
    const ipMs = Number(process.hrtime.bigint() - t0) / 1e6 / (2 * n);
    console.log(
      `IPv${family}: rtnetlink ${netlinkMs.toFixed(3)} ms/change (${2 * pairs} changes), ` +
        `ip addr via execFile ${ipMs.toFixed(2)} ms/change (${2 * n} changes), ratio ${(ipMs / netlinkMs).toFixed(0)}x`,
    );
  }
} finally {
  await lab.destroy();
}
