/**
 * A conntrackd.conf for the two-node LVS-NAT pair: FTFW (reliable, with
 * resends) over UDP on a dedicated link, after Debian's
 * /usr/share/doc/conntrackd/examples/sync/ftfw/conntrackd.conf. Pure.
 *
 * With it, each node's conntrackd keeps its own flows in the internal cache
 * and the peer's in the external cache; the notifier (notifiers/conntrackd)
 * commits the external cache into the kernel when the node becomes MASTER,
 * so the NAT of established connections is known before their next packet.
 *
 * The address filter drops flows to and from the node itself (loopback, its
 * own addresses, the sync link), as the example does. Do not list a VIP that
 * is DNAT'd to real servers: those are exactly the flows to synchronise.
 */

export interface ConntrackdConfOptions {
  /** Interface of the dedicated sync link (conntrackd's `Interface`). */
  interface: string;
  /** This node's address on the sync link. */
  localAddress: string;
  /** The peer's address on the sync link. */
  peerAddress: string;
  /** UDP port, default 3780 (the example's). */
  port?: number;
  /** UNIX control socket: each conntrackd on a host needs its own (`conntrackd -C` finds it through this file). Default /var/run/conntrackd.ctl. */
  controlSocket?: string;
  /** Default /var/lock/conntrack.lock (the path primary-backup.sh checks). */
  lockFile?: string;
  /** A path, or `on` for conntrackd's default, or `off`. Default `off` with Syslog on. */
  logFile?: string;
  /** Addresses whose flows are not synchronised (127.0.0.1 and ::1 are always added; so are the sync link's addresses). */
  ignoreAddresses?: readonly string[];
  /** Protocols synchronised, default TCP and SCTP (UDP has no state worth carrying over, as in the example). */
  protocols?: readonly ('TCP' | 'UDP' | 'SCTP' | 'DCCP' | 'ICMP' | 'IPv6-ICMP')[];
  /** Hash table size and limit (the example's 32768 and 131072). */
  hashSize?: number;
  hashLimit?: number;
}

const isV6 = (a: string): boolean => a.includes(':');

/** The conntrackd.conf text. @throws Error for addresses of mixed families on the sync link (a programmer mistake). */
export function renderConntrackdConf(o: ConntrackdConfOptions): string {
  if (isV6(o.localAddress) !== isV6(o.peerAddress)) throw new Error('renderConntrackdConf: localAddress and peerAddress must be of one family');
  const fam = isV6(o.localAddress) ? 'IPv6' : 'IPv4';
  const ignore = [...new Set(['127.0.0.1', '::1', o.localAddress, o.peerAddress, ...(o.ignoreAddresses ?? [])])];
  const protocols = o.protocols ?? ['TCP', 'SCTP'];
  const logFile = o.logFile ?? 'off';
  return [
    '# conntrackd.conf rendered by vipflow (infra/lb/conntrackd-conf.ts): FTFW over UDP on a dedicated link.',
    'Sync {',
    '\tMode FTFW {',
    // The external cache holds the peer's flows until a MASTER transition commits them (conntrackd -c).
    '\t\tDisableExternalCache Off',
    '\t\tResendQueueSize 131072',
    '\t}',
    '\tUDP {',
    `\t\t${fam}_address ${o.localAddress}`,
    `\t\t${fam}_Destination_Address ${o.peerAddress}`,
    `\t\tPort ${o.port ?? 3780}`,
    `\t\tInterface ${o.interface}`,
    '\t\tSndSocketBuffer 1249280',
    '\t\tRcvSocketBuffer 1249280',
    '\t\tChecksum on',
    '\t}',
    '}',
    'General {',
    `\tHashSize ${o.hashSize ?? 32768}`,
    `\tHashLimit ${o.hashLimit ?? 131072}`,
    `\tLogFile ${logFile}`,
    `\tSyslog ${logFile === 'off' ? 'on' : 'off'}`,
    `\tLockFile ${o.lockFile ?? '/var/lock/conntrack.lock'}`,
    '\tUNIX {',
    `\t\tPath ${o.controlSocket ?? '/var/run/conntrackd.ctl'}`,
    '\t}',
    '\tNetlinkBufferSize 2097152',
    '\tNetlinkBufferSizeMaxGrowth 8388608',
    '\tFilter From Userspace {',
    '\t\tProtocol Accept {',
    ...protocols.map((p) => `\t\t\t${p}`),
    '\t\t}',
    '\t\tAddress Ignore {',
    ...ignore.map((a) => `\t\t\t${isV6(a) ? 'IPv6' : 'IPv4'}_address ${a}`),
    '\t\t}',
    '\t}',
    '}',
    '',
  ].join('\n');
}
