/**
 * (options: cli/definitions.ts)
 * `vipflow worker --nats URL (--workflows FILE | --config CONFIG) [--cluster NAME] [--concurrency N] [--name ID] [--stop-grace MS]
 *                 [--http ADDR:PORT [--http-auth-file FILE]]`
 *
 * With --config the workflows are those the config declares (vipflow.workflows and
 * vipflow.workflowsFile, which --workflows replaces), its sync groups serve `on.group`,
 * and vipflow.nats.url is the default for --nats. The config must say
 * `workflowRunner: 'workers'` when it declares workflows: otherwise its daemons run
 * them too, and every run would happen twice.
 *
 * Runs workflows as a stateless worker on the cluster's durable JetStream consumers
 * (workflows/worker.ts) instead of inside the daemon. Start as many as wanted; they
 * share the load. SIGTERM/SIGINT: stop fetching, let running workflows finish within
 * --stop-grace (default 10 s), then hand the rest to other workers and exit 0.
 * Exit status: 0 after a stop, 1 when the workflows file does not load or a NATS
 * secret file (or the trusted nodes) is unreadable or malformed, 2 bad usage.
 * NATS being unreachable, or refusing the credentials, is never an exit: the worker
 * logs it (refused credentials at error) and keeps retrying.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { createLogger, type Logger } from '../core/logger.js';
import type { GroupMembers, Workflow } from '../workflows/define.js';
import { CLUSTER_NAME } from '../infra/events/schema.js';
import type { WorkerOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';
import { httpEndpointSettings, readHttpAuth } from '../daemon/http-endpoint.js';
import { RunTally, startWorkerEndpoint, type WorkerView } from './worker-http.js';
import { natsSecurityFrom, type NatsConfigSecurity } from '../infra/events/nats-settings.js';

function usage(error: string): number {
  process.stderr.write(`vipflow worker: ${error} (see 'vipflow worker --help')\n`);
  return EXIT.usage;
}

export async function runWorker(v: WorkerOptions): Promise<number> {
  let nats = v.nats;
  const file = v.workflows;
  const { cluster, concurrency, stopGrace: grace } = v;
  if (!file && !v.config) return usage('--workflows or --config is required');
  if (!CLUSTER_NAME.test(cluster)) return usage('--cluster needs a name of [A-Za-z0-9_-]');
  const name = v.name ?? `${hostname()}-${process.pid}`;
  const http =
    v.http === undefined && v.httpAuthFile === undefined
      ? undefined
      : httpEndpointSettings(
          { ...(v.http !== undefined ? { http: v.http } : {}), ...(v.httpAuthFile !== undefined ? { authFile: v.httpAuthFile } : {}) },
          undefined,
          null,
        );
  if (typeof http === 'string') return usage(http);
  const auth = http === undefined ? null : readHttpAuth(http);
  if (typeof auth === 'string') {
    process.stderr.write(`vipflow worker: ${auth}\n`);
    return 1;
  }
  const log = createLogger({ level: v.logLevel });

  // Imported here so that `vipflow worker --help` does not load zx, tsx or nats.js.
  const [{ loadWorkflows }, { WorkflowWorker }, { natsConnectionOptions, redactServers }, { trustedNodesFrom }] = await Promise.all([
    import('../workflows/load.js'),
    import('../workflows/worker.js'),
    import('../infra/events/nats-connect.js'),
    import('../infra/events/event-signature.js'),
  ]);
  let workflows: Workflow[];
  let groups: GroupMembers | undefined;
  let natsConfig: NatsConfigSecurity | undefined;
  if (v.config) {
    const fromConfig = await workflowsOfConfig(resolve(v.config), file !== undefined ? resolve(file) : undefined, log);
    if (typeof fromConfig === 'string') {
      log.error({ config: v.config }, fromConfig);
      return fromConfig.startsWith('refusing') ? 2 : 1;
    }
    ({ workflows, groups, natsConfig } = fromConfig);
    nats ??= fromConfig.nats;
  } else {
    const loaded = await loadWorkflows(resolve(file!));
    if (!loaded.ok) {
      log.error({ error: loaded.error }, 'workflows not loaded');
      return 1;
    }
    workflows = loaded.workflows;
  }
  if (!nats) return usage('--nats is required (workers take their work from NATS JetStream)');
  const servers = nats
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const security = natsSecurityFrom(v, natsConfig, v.config !== undefined ? resolve(v.config) : undefined);
  // Secret files are checked now, named with their fix: NATS trouble later is retried, a broken file is not.
  const checked = natsConnectionOptions({ servers, name: 'vipflow-worker', ...security });
  if (!checked.ok) {
    log.error(checked.message);
    process.stderr.write(`vipflow worker: ${checked.message}\n`);
    return 1;
  }
  const trustedNodes = trustedNodesFrom(v.natsTrustedNodes !== undefined ? resolve(v.natsTrustedNodes) : undefined, natsConfig);
  if (typeof trustedNodes === 'string') {
    log.error(trustedNodes);
    process.stderr.write(`vipflow worker: ${trustedNodes}\n`);
    return 1;
  }
  const runs = new RunTally();
  let started: WorkerView | null = null;
  const endpoint = http === undefined ? undefined : await startWorkerEndpoint(http, auth, () => started, runs, log);
  if (endpoint && !endpoint.ok) {
    process.stderr.write(`vipflow worker: ${endpoint.message}\n`);
    return 1;
  }
  const worker = WorkflowWorker.start({
    servers,
    security,
    cluster,
    name,
    workflows,
    log,
    concurrency,
    onFinished: (r) => runs.add(r),
    ...(groups ? { groups } : {}),
    ...(trustedNodes ? { trustedNodes } : {}),
  });
  started = worker;
  log.info(
    {
      worker: worker.id,
      cluster,
      servers: redactServers(servers),
      workflows: workflows.map((w) => w.name),
      trustedNodes: trustedNodes ? Object.keys(trustedNodes) : 'any',
    },
    'vipflow worker starting',
  );
  await new Promise<void>((r) => {
    process.once('SIGTERM', () => r());
    process.once('SIGINT', () => r());
  });
  log.info({ graceMs: grace, running: worker.running }, 'stopping: no new work; waiting for running workflows');
  await worker.stop(grace);
  if (endpoint?.ok) await endpoint.endpoint.close();
  return 0;
}

/**
 * The workflows a config declares, for a worker. Refuses (a message starting with
 * "refusing") a config whose daemons would run the same workflows.
 */
async function workflowsOfConfig(
  config: string,
  fileOverride: string | undefined,
  log: Logger,
): Promise<{ workflows: Workflow[]; groups: GroupMembers; nats?: string; natsConfig?: NatsConfigSecurity } | string> {
  const [{ loadConfig }, { loadConfiguredWorkflows }, { BUILTIN_NOTIFIERS }] = await Promise.all([
    import('../config/load.js'),
    import('../workflows/from-config.js'),
    import('../notifiers/builtin.js'),
  ]);
  const r = await loadConfig(config);
  if (!r.model) return `${config}: the config does not load (run vipflow check-config)`;
  const settings = r.model.vipflow;
  const declared = settings.workflows.length > 0 || settings.workflowsFile !== undefined;
  if (declared && settings.workflowRunner !== 'workers')
    return "refusing to run the config's workflows: its daemons run them too (every run would happen twice); set vipflow.workflowRunner: 'workers'";
  const c = await loadConfiguredWorkflows(settings, config, BUILTIN_NOTIFIERS, fileOverride);
  for (const d of c.diagnostics) log.error({ file: d.file }, `workflow not loaded: ${d.message}`);
  if (c.workflows.length === 0) return 'no workflow loaded';
  const url = settings.nats?.url;
  return {
    workflows: c.workflows,
    groups: Object.fromEntries(r.model.vrrpSyncGroups.map((g) => [g.name, g.group])),
    ...(url !== undefined ? { nats: Array.isArray(url) ? url.join(',') : url } : {}),
    ...(settings.nats ? { natsConfig: settings.nats } : {}),
  };
}
