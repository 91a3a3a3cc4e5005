/** Test fixtures around a real nats-server (see infra/events/local-nats.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { NatsBus, type NatsBusOptions } from '../../../infra/events/nats-bus.js';
import { silentLogger } from '../../../core/logger.js';
import { startNatsServer, type NatsServer } from '../../../infra/events/local-nats.js';

/** Polls until cond() holds; throws after ms. */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Registers before/after hooks for a test file: one nats-server for the file, and
 * buses and temp dirs that are closed and removed afterwards even when a test fails.
 */
export function natsFixture(defaults: Partial<NatsBusOptions> = {}) {
  const fx = {
    server: undefined as unknown as NatsServer,
    dirs: [] as string[],
    buses: [] as NatsBus[],
    tempDir(): string {
      const d = mkdtempSync(join(tmpdir(), 'vipflow-outbox-'));
      fx.dirs.push(d);
      return d;
    },
    bus(cluster: string, opts: Partial<NatsBusOptions> = {}): NatsBus {
      const b = new NatsBus({ servers: fx.server.url, cluster, log: silentLogger(), ...defaults, ...opts });
      fx.buses.push(b);
      return b;
    },
  };
  before(async () => {
    fx.server = await startNatsServer();
  });
  after(async () => {
    for (const b of fx.buses) await b.close().catch(() => undefined);
    await fx.server?.dispose();
    for (const d of fx.dirs) rmSync(d, { recursive: true, force: true });
  });
  return fx;
}
