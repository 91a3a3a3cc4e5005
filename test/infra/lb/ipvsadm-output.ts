/**
 * ipvsadm 1.31 output written by hand for the parser's tests: this machine's kernel
 * has no IPVS, so nothing here was captured from a kernel. Each line follows
 * ipvsadm.c's format strings: print_title, print_service_entry (`%s %s` service
 * line, `  -> %-28s %-7s %-6d %-10u %-10u` destination), print_largenum (`%9llu`,
 * or `%8lluK` and up without --exact), the IPv4 name cut at 33 / 28 characters.
 */
/** `ipvsadm -Ln`: every protocol, forwarding method, fwmark in both families, scheduler flags, persistence with a mask, ops. */
export const LIST_N = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  'TCP  198.18.0.100:80 wrr persistent 300 mask 255.255.255.0',
  '  -> 198.18.1.1:8080              Masq    3      2          10        ',
  '  -> 198.18.1.2:8080              Masq    0      1          0         ',
  'UDP  198.18.0.100:53 sh (sh-fallback,sh-port)',
  '  -> 198.18.1.1:53                Route   1      0          0         ',
  'SCTP  198.18.0.100:3868 rr ops',
  '  -> 198.18.1.3:3868              Tunnel  2      0          0         ',
  'TCP  [fd00:198:18::100]:443 mh (mh-port) persistent 60 mask 64',
  '  -> [fd00:198:18::11]:443        Masq    1      0          0         ',
  'FWM  7 wlc',
  '  -> 198.18.1.1:0                 Route   5      0          0         ',
  'FWM  8 IPv6 lc',
  '  -> [fd00:198:18::12]:0          Tunnel  1      0          0         ',
  '',
].join('\n');
/** `ipvsadm -Ln --stats --exact`. */
export const STATS_EXACT = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
  '  -> RemoteAddress:Port',
  'TCP  198.18.0.100:80                    12      340      300    22000 1234567890',
  '  -> 198.18.1.1:8080                     7      200      180    13000 734567890',
  '  -> 198.18.1.2:8080                     5      140      120     9000 500000000',
  'FWM  8 IPv6                              1        2        0      120        0',
  '  -> [fd00:198:18::12]:0                 1        2        0      120        0',
  '',
].join('\n');
/** `ipvsadm -Ln --stats`: large numbers shortened (K, M). */
export const STATS_SHORT = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
  '  -> RemoteAddress:Port',
  'TCP  198.18.0.100:80                    12      340      300    22000    1234M',
  '  -> 198.18.1.1:8080                     7      200      180    13000  734567K',
  '  -> 198.18.1.2:8080                     5      140      120     9000  500000K',
  'FWM  8 IPv6                              1        2        0      120        0',
  '  -> [fd00:198:18::12]:0                 1        2        0      120        0',
  '',
].join('\n');
/** `ipvsadm -Ln --rate --exact`. */
export const RATE_EXACT = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS',
  '  -> RemoteAddress:Port',
  'TCP  198.18.0.100:80                     3       40       35     5200    48000',
  '  -> 198.18.1.1:8080                     2       25       20     3100    30000',
  '',
].join('\n');
