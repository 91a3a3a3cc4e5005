// PING_CHECK's shared socket under a burst: N probes sent in one tick (what
// 10,000 real servers without warmup do at start) to 127.0.0.0/8 on loopback,
// through one raw ICMP socket, with a 1 MB and the default 16 MB receive
// buffer. Needs CAP_NET_RAW.   npx tsx bench/ping-burst.ts [probes]
import { silentLogger } from '../core/logger.js';
import { EchoPool } from '../infra/check/probes/echo-channel.js';
import { pingProbe } from '../infra/check/probes/ping.js';
import { openIcmpSocket } from '../wire/socket/index.js';

const probes = Number(process.argv[2] ?? 10_000);
const logger = silentLogger();
const target = (i: number) => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`;

for (const rcvbuf of [1 << 20, 16 << 20]) {
  const pool = new EchoPool({ logger, open: (o) => openIcmpSocket({ ...o, rcvbuf }) });
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const results = await Promise.all(Array.from({ length: probes }, (_, i) => pingProbe({ address: target(i), port: 0 }, { pool, connectTimeoutMs: 3000 })));
    const cpu = process.cpuUsage(cpu0);
    const lost = results.filter((r) => !r.ok).length;
    console.log(
      `rcvbuf ${rcvbuf >> 20} MB: ${probes} probes on ${pool.sockets} socket, ${lost} without a reply, ` +
        `${Math.round(performance.now() - t0)} ms wall (3000 ms when any timed out), ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU`,
    );
  } finally {
    pool.close();
  }
}
