// Real network: a vipflow daemon whose NATS credentials the server refuses still runs
// VRRP (it becomes Master and holds the VIP), logs the refusal once, shows it in
// `vipflow status --json`, and never logs the token.
// Starts: a namespace lab (node a, and nats running Debian's nats-server with a token),
// one vipflow daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';
import { startEventDaemon, startNats, stopNats } from './events-lab.js';

const logger = silentLogger();
const PREFIX = 'vfs7';
const SUBNET = 227;
const VIP = `198.18.${SUBNET}.100/24`;

describe('a daemon with refused NATS credentials', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  let daemon: VipflowDaemon | null = null;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'nats'], subnet: SUBNET, ipv6: false, logger });
    const conf = join(lab.dir, 'token.conf');
    writeFileSync(conf, 'authorization { token: "lab-token-e3c1" }\n');
    nats = await startNats(lab, ['-c', conf]);
  });
  after(async () => {
    await daemon?.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  test('runs VRRP and holds the VIP, one error line, the refusal in its status, the token in neither', async () => {
    daemon = await startEventDaemon(lab, 'a', 'a0', 100, VIP, { env: ['VIPFLOW_NATS_TOKEN=wrong-token-77af'] });
    assert.ok(await daemon.waitForState('master', 5000), 'a becomes Master without NATS');
    assert.ok(await waitForHolder(lab, ['a'], VIP.split('/')[0]!, 'a', 3000), 'a holds the VIP');
    const refused = await daemon.waitForLog((l) => /^NATS refused the credentials/.test(String(l.msg)), 5000);
    assert.ok(refused, 'the refusal is logged');
    assert.equal(refused.level, 50);
    const status = (await daemon.status()) as unknown as { events: { nats?: { state: string; auth: string; lastError?: { kind: string } } } };
    assert.equal(status.events.nats?.state, 'refused');
    assert.equal(status.events.nats?.lastError?.kind, 'auth');
    assert.equal(status.events.nats?.auth, 'token $VIPFLOW_NATS_TOKEN');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(daemon.lines.filter((l) => /^NATS refused the credentials/.test(String(l.msg))).length, 1, 'one line, not one per retry');
    assert.doesNotMatch(JSON.stringify(daemon.lines) + daemon.stderr() + JSON.stringify(status), /wrong-token-77af/);
  });
});
