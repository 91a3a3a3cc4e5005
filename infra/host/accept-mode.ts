/**
 * accept / no_accept as keepalived 2.2.7 does it (vrrp_nftables.c): a Master
 * that is not in accept mode (no_accept, or strict mode by default) and not
 * the address owner must not accept packets addressed to its VIPs (RFC 5798
 * §6.4.3). keepalived keeps the VIPs of such Masters in an nftables set and
 * drops input to them and output from them; IPv6 neighbour discovery still
 * passes, so the VIPs stay resolvable. vipflow does the same in its own
 * tables `ip vipflow_accept` / `ip6 vipflow_accept`.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../../core/logger.js';
import type { VipAddressOps } from './vip-addresses.js';
import type { PlannedVip } from './types.js';

export const ACCEPT_TABLE = 'vipflow_accept';

/** The tables with empty sets (any previous ones replaced), as keepalived sets them up. */
export function acceptModeSetupScript(): string {
  const reset = (family: 'ip' | 'ip6') => [`table ${family} ${ACCEPT_TABLE} {}`, `delete table ${family} ${ACCEPT_TABLE}`];
  return [
    ...reset('ip'),
    `table ip ${ACCEPT_TABLE} {`,
    '  set vips { type ipv4_addr; }',
    '  chain in { type filter hook input priority filter - 1; policy accept; ip daddr @vips drop; }',
    '  chain out { type filter hook output priority filter - 1; policy accept; ip saddr @vips drop; }',
    '}',
    ...reset('ip6'),
    `table ip6 ${ACCEPT_TABLE} {`,
    '  set vips { type ipv6_addr; }',
    '  chain in { type filter hook input priority filter - 1; policy accept; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept; ip6 daddr @vips drop; }',
    '  chain out { type filter hook output priority filter - 1; policy accept; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept; ip6 saddr @vips drop; }',
    '}',
    '',
  ].join('\n');
}

/** nft commands adding or removing VIPs from the sets. */
export function acceptModeElementsScript(op: 'add' | 'delete', vips: readonly Pick<PlannedVip, 'address' | 'family'>[]): string {
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const of = vips.filter((v) => v.family === family).map((v) => v.address);
    if (of.length === 0) continue;
    // Adding first makes a delete of an absent element harmless.
    if (op === 'delete') lines.push(`add element ${family === 4 ? 'ip' : 'ip6'} ${ACCEPT_TABLE} vips { ${of.join(', ')} }`);
    lines.push(`${op} element ${family === 4 ? 'ip' : 'ip6'} ${ACCEPT_TABLE} vips { ${of.join(', ')} }`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface AcceptModeFirewall {
  /** VIP operations for a non-accept instance: its VIPs are dropped while it holds them. */
  guard(ops: VipAddressOps): VipAddressOps;
  /** Removes the tables (shutdown). */
  close(): Promise<void>;
}

/**
 * The host's accept-mode tables. nft runs asynchronously, one command at a
 * time in order: a Master's address change never waits for it (the drop rule
 * follows the address within milliseconds, as keepalived's does after its
 * netlink call).
 */
export function hostAcceptModeFirewall(log: Logger): AcceptModeFirewall {
  let queue: Promise<void> = Promise.resolve();
  let setUp = false;
  const nft = (script: string) => {
    if (!script) return;
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          const child = execFile('nft', ['-f', '-'], { timeout: 5000 }, (err, _out, stderr) => {
            if (err) log.warn({ table: ACCEPT_TABLE, err: stderr.trim() || err.message }, 'accept mode: nft change failed, VIP traffic may be accepted');
            resolve();
          });
          child.stdin?.end(script);
        }),
    );
  };
  const ensure = () => {
    if (setUp) return;
    setUp = true;
    nft(acceptModeSetupScript());
  };
  return {
    guard(ops) {
      ensure();
      return {
        add: (vips) => {
          nft(acceptModeElementsScript('add', vips));
          return ops.add(vips);
        },
        remove: (vips) => {
          const r = ops.remove(vips);
          nft(acceptModeElementsScript('delete', vips));
          return r;
        },
      };
    },
    async close() {
      if (setUp)
        nft(
          [`table ip ${ACCEPT_TABLE} {}`, `delete table ip ${ACCEPT_TABLE}`, `table ip6 ${ACCEPT_TABLE} {}`, `delete table ip6 ${ACCEPT_TABLE}`, ''].join('\n'),
        );
      setUp = false;
      await queue;
    },
  };
}
