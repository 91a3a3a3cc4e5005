// CPU cost per received (and sent) VRRP advert through wire/socket's raw
// socket, inside a namespace lab (prefix vfskbn). Bursts are sent from n1 and
// received in n2 by the same process, in separate phases, so each phase's
// process.cpuUsage() belongs to one direction.
//   npx tsx bench/vrrp-socket-rx.ts [packetsPerBurst] [bursts]
import { createLab, sweepStaleLabs } from '../lab/index.js';
import { silentLogger } from '../core/logger.js';
import { encodeVrrp, parseAddress } from '../wire/codec/index.js';
import { openVrrpSocket, type VrrpSocket } from '../wire/socket/index.js';

const perBurst = Number(process.argv[2] ?? 5000);
const bursts = Number(process.argv[3] ?? 10);
const logger = silentLogger();

function must<T>(r: { ok: true; value: T } | { ok: false; message: string }): T {
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

async function run(family: 4 | 6, rcvbuf: number | undefined): Promise<void> {
  await sweepStaleLabs('vfskbn', logger);
  const lab = await createLab({ prefix: 'vfskbn', nodes: ['n1', 'n2'], subnet: 25, logger });
  const sockets: VrrpSocket[] = [];
  try {
    const open = (node: string) => {
      const s = must(openVrrpSocket({ family, interface: 'eth0', netns: lab.node(node).ns, mode: 'multicast', logger, ...(rcvbuf ? { rcvbuf } : {}) }));
      sockets.push(s);
      return s;
    };
    const tx = open('n1');
    const rx = open('n2');
    const n1 = lab.node('n1');
    const context =
      family === 4
        ? { source: parseAddress(n1.ipv4!)!, destination: parseAddress('224.0.0.18')! }
        : { source: parseAddress(n1.linkLocal!)!, destination: parseAddress('ff02::12')! };
    const advert = encodeVrrp(
      { version: 3, vrid: 51, priority: 100, maxAdvertIntervalCs: 100, addresses: [parseAddress(family === 4 ? '198.18.25.100' : 'fd00:198:18:19::100')!] },
      context,
    );
    let received = 0;
    let ttlSum = 0;
    rx.onPacket((p) => {
      received++;
      ttlSum += p.ttl + p.payload.length; // touch the fields a real consumer reads
    });
    let sendCpu = 0;
    let recvCpu = 0;
    let sent = 0;
    for (let b = 0; b < bursts; b++) {
      const target = received + perBurst;
      const c0 = process.cpuUsage();
      for (let i = 0; i < perBurst; i++) if (tx.send(advert).ok) sent++;
      const c1 = process.cpuUsage(c0);
      sendCpu += c1.user + c1.system;
      // Everything is queued in n2's receive buffer now; the loop drains it.
      const c2 = process.cpuUsage();
      const deadline = Date.now() + 5000;
      let idle = 0;
      while (received < target && Date.now() < deadline && idle < 20) {
        const before = received;
        await new Promise((r) => setImmediate(r));
        idle = received === before ? idle + 1 : 0;
      }
      const c3 = process.cpuUsage(c2);
      recvCpu += c3.user + c3.system;
    }
    const drops = sent - received;
    console.log(
      `IPv${family} rcvbuf=${rcvbuf ?? '16MB (default)'}: sent ${sent}, received ${received} (${drops} dropped), ` +
        `receive ${(recvCpu / Math.max(received, 1)).toFixed(2)} us CPU/packet, send ${(sendCpu / Math.max(sent, 1)).toFixed(2)} us CPU/packet` +
        (ttlSum > 0 ? '' : ' (no packets)'),
    );
  } finally {
    for (const s of sockets) s.close();
    await lab.destroy();
  }
}

await run(4, undefined);
await run(6, undefined);
await run(4, 212_992);
