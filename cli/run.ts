/**
 * `vipflow run --config FILE ...` (options: cli/definitions.ts, `vipflow run --help`).
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
import { CLUSTER_NAME } from '../infra/events/schema-names.js';
import type { DaemonEventSettings } from '../daemon/event-publisher.js';
import { httpEndpointSettings, preloadStatusEndpoint, readHttpAuth, startStatusEndpoint } from '../daemon/http-endpoint.js';
import type { HttpEndpoint } from '../infra/http/endpoint.js';
import { SystemdService } from '../daemon/systemd-service.js';
import type { RunOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';
import { capabilitiesProblem, stateDirProblem } from './preflight.js';

const usageError = (message: string): number => (process.stderr.write(`vipflow run: ${message} (see 'vipflow run --help')\n`), EXIT.usage);

export async function runDaemon(opts: RunOptions): Promise<number> {
  const events = eventSettings(opts);
  if (typeof events === 'string') return usageError(events);
  const lb = opts.lb;
  // The command line's endpoint is checked before VRRP starts; the config's is checked by its schema.
  const httpCli = {
    ...(opts.http !== undefined ? { http: opts.http } : {}),
    ...(opts.httpAuthFile !== undefined ? { authFile: opts.httpAuthFile } : {}),
  };
  const httpEarly = httpEndpointSettings(httpCli, undefined, resolve(opts.config));
  if (typeof httpEarly === 'string' && opts.http !== undefined) return usageError(httpEarly);
  if (httpEarly !== undefined && typeof httpEarly !== 'string') {
    const auth = readHttpAuth(httpEarly);
    if (typeof auth === 'string') {
      process.stderr.write(`vipflow run: ${auth}\n`);
      return EXIT.failed;
    }
  }
  const stateDir = resolve(opts.stateDir);
  const notPermitted = capabilitiesProblem() ?? stateDirProblem(stateDir);
  if (notPermitted !== undefined) {
    process.stderr.write(`vipflow run: ${notPermitted}\n`);
    return EXIT.notPermitted;
  }
  const log = createLogger({ level: opts.logLevel, pretty: opts.pretty ?? false });
  const configPath = resolve(opts.config);
  const configIds = opts.configId.length > 0 ? opts.configId : undefined;

  const servesMetrics = opts.http !== undefined;
  const prepareEndpoint = preloadStatusEndpoint;
  const natsCli = {
    natsCreds: opts.natsCreds,
    natsNkey: opts.natsNkey,
    natsUser: opts.natsUser,
    natsPasswordFile: opts.natsPasswordFile,
    natsTokenFile: opts.natsTokenFile,
    natsCa: opts.natsCa,
    natsCert: opts.natsCert,
    natsKey: opts.natsKey,
    natsServerName: opts.natsServerName,
    natsSigningKey: opts.natsSigningKey,
  };
  // Signals while the daemon starts (instances already run, the HTTP endpoint opens):
  // the default action would kill it with its VIPs still on the host. A stop is kept
  // for when it has started; a reload has nothing to reload yet. The listeners stay
  // for the process's life and only what they do changes: removing a signal's last
  // listener drops a signal libuv has queued but not yet dispatched.
  let stopWhileStarting: 'SIGTERM' | 'SIGINT' | null = null;
  let onSignal = (signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP'): void => {
    if (signal === 'SIGHUP') log.warn('SIGHUP while starting: ignored, nothing to reload yet');
    else stopWhileStarting ??= signal;
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));
  const started = await Daemon.start({ configPath, stateDir, log, events, natsCli, lb, servesMetrics, prepareEndpoint, ...(configIds ? { configIds } : {}) });
  if (!started.ok) {
    for (const d of started.diagnostics ?? []) process.stderr.write(formatDiagnostic(d) + '\n');
    log.fatal({ config: configPath }, started.message);
    process.stderr.write(`vipflow run: ${started.message}\n`);
    log.flush();
    return EXIT.failed;
  }
  const daemon = started.daemon;
  const http = await startHttp(daemon, httpCli, configPath, log);
  if (typeof http === 'string') {
    log.fatal(http);
    process.stderr.write(`vipflow run: ${http}\n`);
    await daemon.shutdown('http endpoint refused');
    log.flush();
    return EXIT.failed;
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
    onSignal = (signal) => {
      if (signal !== 'SIGHUP') return stop(signal);
      service.reloading();
      daemon
        .reload()
        .catch((err: unknown) => log.error({ err }, 'reload failed'))
        .finally(() => service.reloaded());
    };
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
    if (stopWhileStarting !== null) stop(stopWhileStarting);
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

/** Event settings from the options (commander has already read their environment variables); a string is a usage error. */
function eventSettings(v: RunOptions): DaemonEventSettings | string {
  const { workflows, nats, cluster, nodeId: node, splitBrain: policy, splitBrainGrace: graceN } = v;
  if (cluster !== undefined && !CLUSTER_NAME.test(cluster)) return `--cluster needs a name of [A-Za-z0-9_-]{1,64} (got '${cluster}')`;
  if (node !== undefined && node.trim() === '') return '--node-id needs a name';
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
