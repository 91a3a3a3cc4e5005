/**
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
 * Exit status: 0 after a stop, 1 when the workflows file does not load, 2 bad usage.
 * NATS being unreachable is never an exit: the worker logs it and keeps retrying.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { createLogger, type Logger } from '../core/logger.js';
import type { GroupMembers, Workflow } from '../workflows/define.js';
import { CLUSTER_NAME } from '../infra/events/schema.js';
import { parseCommandArgs } from './args.js';
import { httpEndpointSettings, readHttpAuth } from '../daemon/http-endpoint.js';
import { RunTally, startWorkerEndpoint, type WorkerView } from './worker-http.js';

const USAGE =
  'usage: vipflow worker --nats URL[,URL] (--workflows FILE | --config CONFIG) [--cluster NAME] [--concurrency N] [--name ID] [--stop-grace MS]\n' +
  '                      [--http ADDR:PORT [--http-auth-file FILE]]\n' +
  "  --nats         NATS servers (default $VIPFLOW_NATS_URL, then the config's vipflow.nats.url)\n" +
  '  --workflows    a .ts/.js file of defineWorkflow()s (default $VIPFLOW_WORKFLOWS)\n' +
  '  --config       a vipflow.config.ts: its workflows, sync groups and NATS URL\n' +
  '  --cluster      cluster name (default $VIPFLOW_CLUSTER or "default")\n' +
  '  --concurrency  workflow runs in flight per trigger kind (default 4)\n' +
  '  --name         worker name in logs and workflow.* events (default <host>-<pid>)\n' +
  '  --stop-grace   ms running workflows get to finish at SIGTERM (default 10000)\n' +
  '  --http         serve /metrics and /healthz on ADDR:PORT, read-only (default: off); off loopback it needs\n' +
  '  --http-auth-file  a file holding a bearer token, or user:password for basic auth\n';

const OPTIONS = {
  nats: { type: 'string' },
  workflows: { type: 'string' },
  config: { type: 'string' },
  cluster: { type: 'string' },
  concurrency: { type: 'string' },
  name: { type: 'string' },
  'stop-grace': { type: 'string' },
  http: { type: 'string' },
  'http-auth-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(error: string): number {
  process.stderr.write((error ? `vipflow worker: ${error}\n` : '') + USAGE);
  return error ? 2 : 0;
}

export async function run(argv: string[]): Promise<number> {
  const p = parseCommandArgs(argv, OPTIONS);
  if (!p.ok) return p.help ? usage('') : usage(p.error);
  const v = p.values;
  if (v.help) return usage('');
  let nats = v.nats ?? process.env.VIPFLOW_NATS_URL;
  const file = v.workflows ?? process.env.VIPFLOW_WORKFLOWS;
  const cluster = v.cluster ?? process.env.VIPFLOW_CLUSTER ?? 'default';
  const concurrency = Number(v.concurrency ?? 4);
  const grace = Number(v['stop-grace'] ?? 10_000);
  if (!file && !v.config) return usage('--workflows or --config is required');
  if (!CLUSTER_NAME.test(cluster)) return usage('--cluster needs a name of [A-Za-z0-9_-]');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) return usage('--concurrency needs an integer from 1 to 1000');
  if (!Number.isFinite(grace) || grace < 0) return usage('--stop-grace needs a number of ms');
  const name = v.name ?? `${hostname()}-${process.pid}`;
  const http =
    v.http === undefined
      ? undefined
      : httpEndpointSettings({ http: v.http, ...(v['http-auth-file'] !== undefined ? { authFile: v['http-auth-file'] } : {}) }, undefined, '.');
  if (typeof http === 'string') return usage(http);
  const auth = http === undefined ? null : readHttpAuth(http);
  if (typeof auth === 'string') {
    process.stderr.write(`vipflow worker: ${auth}\n`);
    return 1;
  }
  const log = createLogger();

  // Imported here so that `vipflow worker --help` does not load zx, tsx or nats.js.
  const [{ loadWorkflows }, { WorkflowWorker }] = await Promise.all([import('../workflows/load.js'), import('../workflows/worker.js')]);
  let workflows: Workflow[];
  let groups: GroupMembers | undefined;
  if (v.config) {
    const fromConfig = await workflowsOfConfig(resolve(v.config), file !== undefined ? resolve(file) : undefined, log);
    if (typeof fromConfig === 'string') {
      log.error({ config: v.config }, fromConfig);
      return fromConfig.startsWith('refusing') ? 2 : 1;
    }
    ({ workflows, groups } = fromConfig);
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
  const runs = new RunTally();
  let started: WorkerView | null = null;
  const endpoint = http === undefined ? undefined : await startWorkerEndpoint(http, auth, () => started, runs, log);
  if (endpoint && !endpoint.ok) {
    process.stderr.write(`vipflow worker: ${endpoint.message}\n`);
    return 1;
  }
  const worker = WorkflowWorker.start({ servers, cluster, name, workflows, log, concurrency, onFinished: (r) => runs.add(r), ...(groups ? { groups } : {}) });
  started = worker;
  log.info({ worker: worker.id, cluster, servers, workflows: workflows.map((w) => w.name) }, 'vipflow worker starting');
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
): Promise<{ workflows: Workflow[]; groups: GroupMembers; nats?: string } | string> {
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
  };
}
