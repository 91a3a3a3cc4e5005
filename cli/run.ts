/**
 * `vipflow run --config FILE [--state-dir DIR] [--log-level LEVEL] [--pretty] [-i ID]
 *              [--nats URL[,URL]] [--cluster NAME] [--node-id NAME] [--split-brain page|fence] [--split-brain-grace N]
 *              [--workflows FILE] [--lb auto|nftables|ipvs|none] [--http ADDR:PORT [--http-auth-file FILE]]`
 *
 * Events: without --nats (or $VIPFLOW_NATS_URL, or `vipflow.nats.url` in a
 * vipflow.config.ts) they stay in the process (status shows them); with it they
 * go to JetStream, queued in <state-dir>/events while NATS is unreachable.
 *
 * The daemon in the foreground: pino JSON on stdout, one VRRP actor per
 * instance. SIGTERM/SIGINT stop it gracefully (exit 0), SIGHUP reloads the
 * configuration, SIGUSR1 writes a status dump to the state dir.
 */
import { resolve } from 'node:path';
import { createLogger, type Logger } from '../core/logger.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { Daemon } from '../daemon/daemon.js';
import { missingCapabilities } from '../infra/host/interfaces.js';
import { argsFailure, parseCommandArgs } from './args.js';
import { CLUSTER_NAME } from '../infra/events/schema.js';
import type { DaemonEventSettings } from '../daemon/event-publisher.js';
import { httpEndpointSettings, readHttpAuth, startStatusEndpoint } from '../daemon/http-endpoint.js';
import type { HttpEndpoint } from '../infra/http/endpoint.js';
import { SystemdService } from '../daemon/systemd-service.js';

const USAGE =
  'usage: vipflow run --config FILE [--state-dir DIR] [--log-level LEVEL] [--pretty] [-i CONFIG_ID]\n' +
  '                   [--nats URL[,URL]] [--cluster NAME] [--node-id NAME] [--split-brain page|fence] [--split-brain-grace N]\n' +
  '                   [--workflows FILE] [--lb auto|nftables|ipvs|none] [--http ADDR:PORT [--http-auth-file FILE]]\n' +
  '  --lb                 who balances virtual_servers (default $VIPFLOW_LB or auto: IPVS if the kernel has it, else\n' +
  '                       nftables); none runs the checkers without kernel rules\n' +
  '  --workflows          a .ts/.js file of defineWorkflow()s to run on transitions (default $VIPFLOW_WORKFLOWS;\n' +
  "                       replaces the config's vipflow.workflowsFile; its vipflow.workflows still run)\n" +
  '  --nats               NATS servers for events (default $VIPFLOW_NATS_URL; none: events stay in-process)\n' +
  '  --cluster            cluster name (default $VIPFLOW_CLUSTER or "default")\n' +
  '  --node-id            this node in events and KV (default $VIPFLOW_NODE_ID or the host name)\n' +
  '  --split-brain        page: event only (default); fence: the yielding Master steps down until it clears\n' +
  '  --split-brain-grace  advert intervals two Masters must overlap before it counts (default 3)\n' +
  '  --http               serve the status page (/), /metrics, /api/v1/status and /healthz on ADDR:PORT, read-only\n' +
  '                       (replaces vipflow.http.listen; default: off); off loopback it needs --http-auth-file\n' +
  '  --http-auth-file     a file holding a bearer token, or user:password for basic auth';
export const DEFAULT_STATE_DIR = '/run/vipflow';

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    config: { type: 'string', short: 'f' },
    'state-dir': { type: 'string' },
    'log-level': { type: 'string' },
    pretty: { type: 'boolean' },
    'config-id': { type: 'string', short: 'i', multiple: true },
    nats: { type: 'string' },
    cluster: { type: 'string' },
    'node-id': { type: 'string' },
    'split-brain': { type: 'string' },
    'split-brain-grace': { type: 'string' },
    workflows: { type: 'string' },
    lb: { type: 'string' },
    http: { type: 'string' },
    'http-auth-file': { type: 'string' },
  });
  if (!args.ok) return argsFailure('run', USAGE, args);
  if (!args.values.config) return argsFailure('run', USAGE, { error: '--config is required' });
  const events = eventSettings(args.values);
  if (typeof events === 'string') {
    process.stderr.write(`vipflow run: ${events}\n${USAGE}\n`);
    return 2;
  }
  const lb = args.values.lb ?? process.env.VIPFLOW_LB ?? 'auto';
  if (lb !== 'auto' && lb !== 'nftables' && lb !== 'ipvs' && lb !== 'none') {
    process.stderr.write(`vipflow run: --lb is auto, nftables, ipvs or none (got '${lb}')\n${USAGE}\n`);
    return 2;
  }
  // The command line's endpoint is checked before VRRP starts; the config's is checked by its schema.
  const httpCli = {
    ...(args.values.http !== undefined ? { http: args.values.http } : {}),
    ...(args.values['http-auth-file'] !== undefined ? { authFile: args.values['http-auth-file'] } : {}),
  };
  const httpEarly = httpEndpointSettings(httpCli, undefined, resolve(args.values.config));
  if (typeof httpEarly === 'string' && args.values.http !== undefined) {
    process.stderr.write(`vipflow run: ${httpEarly}\n${USAGE}\n`);
    return 2;
  }
  if (httpEarly !== undefined && typeof httpEarly !== 'string') {
    const auth = readHttpAuth(httpEarly);
    if (typeof auth === 'string') {
      process.stderr.write(`vipflow run: ${auth}\n`);
      return 1;
    }
  }
  const missing = missingCapabilities();
  if (missing.length > 0) {
    process.stderr.write(
      `vipflow run: missing ${missing.join(' and ')}: raw VRRP sockets need CAP_NET_RAW and managing addresses needs CAP_NET_ADMIN. ` +
        `Run as root or grant them (e.g. setcap cap_net_raw,cap_net_admin+ep on the node binary, or AmbientCapabilities= in a systemd unit).\n`,
    );
    return 1;
  }
  const log = createLogger({ level: args.values['log-level'] ?? 'info', pretty: args.values.pretty ?? false });
  const configPath = resolve(args.values.config);
  const stateDir = resolve(args.values['state-dir'] ?? DEFAULT_STATE_DIR);
  const configIds = args.values['config-id'];

  const started = await Daemon.start({ configPath, stateDir, log, events, lb, ...(configIds ? { configIds } : {}) });
  if (!started.ok) {
    for (const d of started.diagnostics ?? []) process.stderr.write(formatDiagnostic(d) + '\n');
    log.fatal({ config: configPath }, started.message);
    process.stderr.write(`vipflow run: ${started.message}\n`);
    log.flush();
    return 1;
  }
  const daemon = started.daemon;
  const http = await startHttp(daemon, httpCli, configPath, log);
  if (typeof http === 'string') {
    log.fatal(http);
    process.stderr.write(`vipflow run: ${http}\n`);
    await daemon.shutdown('http endpoint refused');
    log.flush();
    return 1;
  }

  // Type=notify: READY=1 once every instance left Initialize, and the watchdog (daemon/systemd-service.ts).
  const service = new SystemdService({ env: process.env, pid: process.pid, log });
  service.follow(daemon);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      // Stay subscribed: with a once-listener a second TERM/INT during the
      // make-before-break wait would kill the process by default action,
      // leaving its VIPs on the host.
      if (stopping) {
        log.info({ signal }, 'already stopping: waiting for the handover');
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      service.stopping();
      Promise.all([http?.close(), daemon.shutdown(signal)]).then(
        () => resolveExit(0),
        (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      service.reloading();
      daemon
        .reload()
        .catch((err: unknown) => log.error({ err }, 'reload failed'))
        .finally(() => service.reloaded());
    });
    process.on('SIGUSR1', () => {
      try {
        daemon.dump();
      } catch (err) {
        log.error({ err }, 'status dump failed');
      }
    });
    // The daemon must outlive a bug in one handler: log it, keep VRRP running.
    process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
    process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  });
}

/** The HTTP endpoint, when --http or vipflow.http.listen asks for one; a string says why it could not start. */
async function startHttp(
  daemon: Daemon,
  cli: { http?: string; authFile?: string },
  configPath: string,
  log: Logger,
): Promise<HttpEndpoint | undefined | string> {
  const settings = httpEndpointSettings(cli, daemon.settings.http, configPath);
  if (settings === undefined || typeof settings === 'string') return settings;
  const auth = readHttpAuth(settings);
  if (typeof auth === 'string') return auth;
  const r = await startStatusEndpoint(daemon, settings.listen, auth, log);
  return r.ok ? r.endpoint : r.message;
}

/** Event settings from the options, then the environment; a string is a usage error. */
function eventSettings(v: {
  nats?: string;
  cluster?: string;
  'node-id'?: string;
  'split-brain'?: string;
  'split-brain-grace'?: string;
  workflows?: string;
}): DaemonEventSettings | string {
  const env = process.env;
  const workflows = v.workflows ?? env.VIPFLOW_WORKFLOWS;
  const nats = v.nats ?? env.VIPFLOW_NATS_URL;
  const cluster = v.cluster ?? env.VIPFLOW_CLUSTER;
  const node = v['node-id'] ?? env.VIPFLOW_NODE_ID;
  const policy = v['split-brain'] ?? env.VIPFLOW_SPLIT_BRAIN;
  const grace = v['split-brain-grace'];
  if (cluster !== undefined && !CLUSTER_NAME.test(cluster)) return `--cluster needs a name of [A-Za-z0-9_-]{1,64} (got '${cluster}')`;
  if (node !== undefined && node.trim() === '') return '--node-id needs a name';
  if (policy !== undefined && policy !== 'page' && policy !== 'fence') return `--split-brain is page or fence (got '${policy}')`;
  const graceN = grace === undefined ? undefined : Number(grace);
  if (graceN !== undefined && !(Number.isFinite(graceN) && graceN > 0 && graceN <= 1000))
    return `--split-brain-grace needs a positive number of advert intervals (got '${grace}')`;
  const servers = nats
    ?.split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return {
    ...(servers && servers.length > 0 ? { natsServers: servers } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    ...(node !== undefined ? { node } : {}),
    ...(policy !== undefined ? { splitBrainPolicy: policy } : {}),
    ...(graceN !== undefined ? { splitBrainGraceIntervals: graceN } : {}),
    ...(workflows !== undefined && workflows !== '' ? { workflowsFile: resolve(workflows) } : {}),
  };
}
