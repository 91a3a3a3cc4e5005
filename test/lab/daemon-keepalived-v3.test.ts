// Real network: vipflow (`vipflow run`, node v) against keepalived 2.2.7
// (node k), VRRPv3 with 100 ms adverts: IPv4 multicast, IPv6 multicast and
// IPv4 unicast, each way round (see daemon-interop.ts for the steps).
// Starts: a namespace lab, vipflow daemons, keepalived.
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../infra/logger.js';
import { createLab, sweepStaleLabs } from '../../infra/lab/index.js';
import { ctxTimings, runInterop, type InteropContext } from './daemon-interop.js';

const logger = silentLogger();
const PREFIX = 'vfdtk3';

describe('vipflow and keepalived, VRRPv3', () => {
  const ctx = { vipflows: [], keepaliveds: [], seq: { n: 0 }, timings: [] } as unknown as InteropContext;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    ctx.lab = await createLab({ prefix: PREFIX, nodes: ['v', 'k'], subnet: 121, logger });
  });
  after(async () => {
    console.log(ctxTimings(ctx));
    for (const d of ctx.vipflows) await d.kill();
    for (const k of ctx.keepaliveds) await k.stop();
    await ctx.lab?.destroy();
  });

  test('IPv4 multicast: election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv4', version: 3, family: 4, advertInt: 0.1, vrid: 31 });
  });

  test('IPv6 multicast (link-local sources): election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv6', version: 3, family: 6, advertInt: 0.1, vrid: 32 });
  });

  test('IPv4 unicast (unicast_src_ip / unicast_peer): election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv4 unicast', version: 3, family: 4, unicast: true, advertInt: 0.1, vrid: 33 });
  });
});
