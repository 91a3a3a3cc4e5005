// Real network: PING_CHECK between two lab namespaces. Starts: a namespace lab
// (nodes a and b on a bridge) and nft rules inside b; the probe's raw ICMP
// sockets are created inside a's namespace (netns option), so this process
// stays in the root namespace.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { EchoPool } from '../../infra/check/probes/echo-channel.js';
import { pingProbe, type PingProbeOptions } from '../../infra/check/probes/ping.js';
import type { ProbeResult } from '../../infra/check/probes/types.js';

const logger = silentLogger();
const PREFIX = 'vfping';
const SUBNET = 233;
const TABLE = 'vfping';

describe('PING_CHECK across a veth pair', () => {
  let lab: Lab;
  let pool: EchoPool;
  let b4: string;
  let b6: string;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, logger });
    pool = new EchoPool({ logger });
    b4 = lab.node('b').ipv4!;
    b6 = lab.node('b').ipv6!;
  });
  after(async () => {
    // Sockets first: an open socket would keep a's namespace alive after `ip netns del`.
    pool?.close();
    await lab?.destroy();
  });
  afterEach(async () => {
    await nft('b', [`add table inet ${TABLE}`, `delete table inet ${TABLE}`]);
  });

  /** Runs an nft script in a node (lab.exec has no stdin, so it travels as an argument). */
  async function nft(node: string, lines: string[]): Promise<void> {
    const r = await lab.exec(node, 'sh', ['-c', 'printf "%s\\n" "$1" | nft -f -', 'nft', lines.join('\n')], 5000);
    assert.equal(r.code, 0, r.stderr);
  }

  /** An input rule in b for echo requests of both families, with `verdict4` / `verdict6`. */
  const onEchoRequests = (verdict4: string, verdict6: string) =>
    nft('b', [
      `add table inet ${TABLE}`,
      `add chain inet ${TABLE} input { type filter hook input priority 0 ; }`,
      `add rule inet ${TABLE} input icmp type echo-request ${verdict4}`,
      `add rule inet ${TABLE} input icmpv6 type echo-request ${verdict6}`,
    ]);

  const ping = (address: string, o: PingProbeOptions = {}): Promise<ProbeResult> =>
    pingProbe({ address, port: 0 }, { pool, netns: lab.node('a').ns, connectTimeoutMs: 1000, ...o });

  const timed = async (p: Promise<ProbeResult>): Promise<{ r: ProbeResult; ms: number }> => {
    const t0 = performance.now();
    const r = await p;
    return { r, ms: performance.now() - t0 };
  };

  function failed(r: ProbeResult, reason: string): string {
    assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
    if (r.ok) return '';
    assert.equal(r.reason, reason, r.detail);
    return r.detail;
  }

  test('b answers over IPv4 and IPv6, also from bindto a and bound to eth0; one socket per family and binding', async () => {
    for (const address of [b4, b6]) {
      const r = await ping(address);
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    assert.equal((await ping(b4, { bindto: lab.node('a').ipv4!, bindIf: 'eth0' })).ok, true);
    assert.equal((await ping(b6, { bindto: lab.node('a').ipv6!, bindIf: 'eth0' })).ok, true);
    assert.equal(pool.sockets, 4);
    // A link-local destination goes out of bind_if.
    assert.equal((await ping(lab.node('b').linkLocal!, { bindIf: 'eth0' })).ok, true);
    // A bindto that is b's address, not a's, cannot be bound in a.
    assert.match(failed(await ping(b4, { bindto: b4 }), 'connect'), /EADDRNOTAVAIL/);
  });

  test('echo requests dropped in b: timeout after connect_timeout for both families, up again once the rule is gone', async () => {
    await onEchoRequests('drop', 'drop');
    const [v4, v6] = await Promise.all([timed(ping(b4)), timed(ping(b6))]);
    for (const { r, ms } of [v4, v6]) {
      assert.match(failed(r, 'timeout'), /no echo reply within 1000 ms/);
      assert.ok(ms >= 990 && ms < 1500, `${ms} ms`);
    }
    await nft('b', [`delete table inet ${TABLE}`, `add table inet ${TABLE}`]);
    assert.equal((await ping(b4)).ok, true);
    assert.equal((await ping(b6)).ok, true);
  });

  test('echo requests rejected in b with ICMP errors: unreachable at once, naming the error and its sender', async () => {
    await onEchoRequests('reject with icmp type host-unreachable', 'reject with icmpv6 type admin-prohibited');
    const v4 = await timed(ping(b4, { connectTimeoutMs: 3000 }));
    assert.equal(failed(v4.r, 'unreachable'), `ping ${b4}: host unreachable (ICMP from ${b4})`);
    assert.ok(v4.ms < 1000, `${v4.ms} ms`);
    const v6 = await timed(ping(b6, { connectTimeoutMs: 3000 }));
    assert.equal(failed(v6.r, 'unreachable'), `ping ${b6}: communication administratively prohibited (ICMP from ${b6})`);
    assert.ok(v6.ms < 1000, `${v6.ms} ms`);
  });

  test('only b is rejected: probes in flight together to a rejecting and an answering target each get their own verdict', async () => {
    await onEchoRequests('reject with icmp type port-unreachable', 'drop');
    // a's own address answers from a's namespace while b rejects or drops.
    const a4 = lab.node('a').ipv4!;
    const a6 = lab.node('a').ipv6!;
    const results = await Promise.all([ping(b4), ping(a4), ping(b6), ping(a6), ping(b4), ping(a4)]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'up' : r.reason)),
      ['unreachable', 'up', 'timeout', 'up', 'unreachable', 'up'],
    );
  });

  test('an address nobody holds on the link: the kernel gives up resolving it and reports it unreachable', async () => {
    const nobody4 = `198.18.${SUBNET}.99`;
    const nobody6 = `fd00:198:18:${SUBNET.toString(16)}::99`;
    const [v4, v6] = await Promise.all([timed(ping(nobody4, { connectTimeoutMs: 6000 })), timed(ping(nobody6, { connectTimeoutMs: 6000 }))]);
    assert.match(failed(v4.r, 'unreachable'), /host unreachable \(ICMP from 198\.18\.233\.1\)/);
    assert.match(failed(v6.r, 'unreachable'), /address unreachable \(ICMP from fd00:198:18:e9::1\)/);
    console.log(`# neighbour resolution failed after ${Math.round(v4.ms)} ms (IPv4), ${Math.round(v6.ms)} ms (IPv6)`);
  });
});
