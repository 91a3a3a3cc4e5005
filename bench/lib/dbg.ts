import { createLab, sleep, sweepStaleLabs, startCapture } from '../../infra/lab/index.js';
import { silentLogger } from '../../infra/logger.js';
import { startEcho, startProbe, nowEpochMs } from './probe.js';
import { routerConfig, startRouter } from './routers.js';
import { prepareVipflow } from './vipflow-build.js';
import { waitHolder } from './lab-cmd.js';
const logger = silentLogger();
const impl = (process.argv[2] ?? 'vipflow') as 'vipflow' | 'keepalived';
const vf = await prepareVipflow(true);
await sweepStaleLabs('vfbndb', logger);
const lab = await createLab({ prefix: 'vfbndb', nodes: ['r1', 'r2', 'client'], subnet: 149, ipv6: false, logger });
const VIP = '198.18.149.100';
const cfg = (p: number) => routerConfig('x', [{ name: 'B', interface: 'eth0', vrid: 49, version: 3, priority: p, advertInt: 0.01, vips: [`${VIP}/24`] }]);
try {
  startEcho(lab, 'r1', 60000); startEcho(lab, 'r2', 60000);
  const p = startProbe(lab, 'client', VIP, 60000);
  const r2 = await startRouter(lab, impl, 'r2', cfg(100), vf);
  const r1 = await startRouter(lab, impl, 'r1', cfg(200), vf);
  console.log(await waitHolder(lab, ['r1', 'r2'], 'r1', VIP, 10000));
  await sleep(1000);
  const cap = await startCapture(lab, 'client', { filter: ['arp', 'or', 'ip', 'proto', '112', 'or', 'udp'], timeoutMs: 5000 });
  const t0 = nowEpochMs();
  r1.terminate();
  await waitHolder(lab, ['r1', 'r2'], 'r2', VIP, 3000);
  await sleep(300);
  cap.stop();
  const lines = await cap.done;
  console.log('t0', (t0 / 1000).toFixed(6), p.longestGap(t0, nowEpochMs()));
  let lastUdp = '';
  for (const l of lines) {
    if (/UDP|udp/.test(l) && !/vrrp/i.test(l)) { lastUdp = l; continue; }
    if (lastUdp) { console.log('  last udp:', lastUdp.slice(0, 160)); lastUdp = ''; }
    console.log(l.slice(0, 200));
  }
  console.log(r1.log().split('\n').filter((l) => /master|VIP|releas/i.test(l)).slice(-5).join('\n'));
  console.log(r2.log().split('\n').filter((l) => /master/i.test(l)).slice(-3).join('\n'));
  await r2.stop();
} finally { await lab.destroy(); }
