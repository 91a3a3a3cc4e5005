import type { Lab } from './lab.js';

const TABLE = 'vipflow_lab';

/**
 * Adds an nftables drop rule in a node's namespace (the lab's way to cut
 * links: this kernel has no tc netem). `match` is an nft rule expression
 * without the verdict, e.g. `ip saddr 198.18.1.2` or `ip protocol vrrp`.
 * Returns nft's stderr on failure, undefined on success.
 */
export async function addDropRule(lab: Lab, node: string, direction: 'input' | 'output', match: string): Promise<string | undefined> {
  const script = [
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} input { type filter hook input priority 0 ; }`,
    `add chain inet ${TABLE} output { type filter hook output priority 0 ; }`,
    `add rule inet ${TABLE} ${direction} ${match} drop`,
  ].join('\n');
  return runNft(lab, node, script);
}

/** Removes every drop rule the lab added in a node. */
export async function clearDropRules(lab: Lab, node: string): Promise<string | undefined> {
  return runNft(lab, node, `add table inet ${TABLE}\ndelete table inet ${TABLE}`);
}

/** The node's current lab ruleset as text (for assertions and debugging). */
export async function listDropRules(lab: Lab, node: string): Promise<string> {
  const r = await lab.exec(node, 'nft', ['list', 'table', 'inet', TABLE], 5000);
  return r.code === 0 ? r.stdout : '';
}

async function runNft(lab: Lab, node: string, script: string): Promise<string | undefined> {
  // lab.exec gives no stdin pipe, so the script travels as an argument to sh.
  const r = await lab.exec(node, 'sh', ['-c', 'printf "%s\\n" "$1" | nft -f -', 'nft', script], 5000);
  return r.code === 0 ? undefined : r.stderr.trim();
}
