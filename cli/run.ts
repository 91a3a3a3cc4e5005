/**
 * `vipflow run --config FILE [--state-dir DIR] [--log-level LEVEL] [--pretty] [-i ID]`
 *
 * The daemon in the foreground: pino JSON on stdout, one VRRP actor per
 * instance. SIGTERM/SIGINT stop it gracefully (exit 0), SIGHUP reloads the
 * configuration, SIGUSR1 writes a status dump to the state dir.
 */
import { resolve } from 'node:path';
import { createLogger } from '../infra/logger.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { Daemon } from '../infra/daemon/daemon.js';
import { missingCapabilities } from '../infra/daemon/host.js';
import { parseCommandArgs } from './args.js';

const USAGE = 'usage: vipflow run --config FILE [--state-dir DIR] [--log-level LEVEL] [--pretty] [-i CONFIG_ID]';
export const DEFAULT_STATE_DIR = '/run/vipflow';

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    config: { type: 'string', short: 'f' },
    'state-dir': { type: 'string' },
    'log-level': { type: 'string' },
    pretty: { type: 'boolean' },
    'config-id': { type: 'string', short: 'i', multiple: true },
  });
  if (!args.ok || !args.values.config) {
    process.stderr.write(`${args.ok ? 'vipflow run: --config is required' : `vipflow run: ${args.error}`}\n${USAGE}\n`);
    return 2;
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

  const started = await Daemon.start({ configPath, stateDir, log, ...(configIds ? { configIds } : {}) });
  if (!started.ok) {
    for (const d of started.diagnostics ?? []) process.stderr.write(formatDiagnostic(d) + '\n');
    log.fatal({ config: configPath }, started.message);
    process.stderr.write(`vipflow run: ${started.message}\n`);
    log.flush();
    return 1;
  }
  const daemon = started.daemon;

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
      daemon.shutdown().then(
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
      daemon.reload().catch((err: unknown) => log.error({ err }, 'reload failed'));
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
