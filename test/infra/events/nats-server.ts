/** Test fixtures around a real nats-server (see infra/events/local-nats.ts). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { NatsBus, type NatsBusOptions } from '../../../infra/events/nats-bus.js';
import { silentLogger } from '../../../core/logger.js';
import { freePort, startNatsServer, type NatsServer } from '../../../infra/events/local-nats.js';

/** Polls until cond() holds; throws after ms. */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Three nats-servers routed into one JetStream cluster on loopback, named `<name>-0` to `<name>-2`, their
 * configuration files in `dir`. The caller disposes of them.
 */
export async function startLoopbackCluster(dir: string, name: string): Promise<{ servers: NatsServer[]; names: string[] }> {
  const routes = await Promise.all([0, 1, 2].map(() => freePort()));
  const servers: NatsServer[] = [];
  const names = routes.map((_, i) => `${name}-${i}`);
  for (const [i, port] of routes.entries()) {
    const conf = join(dir, `n${i}.conf`);
    writeFileSync(
      conf,
      `server_name: ${names[i]}\ncluster {\n  name: ${name}\n  listen: 127.0.0.1:${port}\n  routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]\n}\n`,
    );
    servers.push(await startNatsServer({ configFile: conf }));
  }
  return { servers, names };
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
