/**
 * The NATS security settings of one process, from its command line and its
 * config (vipflow.nats): a command-line value replaces the config's, field by
 * field. Command-line paths are relative to the working directory, the
 * config's to the config file (as vipflow.http.authFile).
 *
 * No NATS client import here: a daemon without NATS loads this module too.
 */
import { dirname, resolve } from 'node:path';
import type { NatsSecurity } from './nats-connect.js';

/** The `--nats-*` options that `run`, `worker` and `events` share (cli/definitions.ts). */
export interface NatsCliSecurity {
  natsCreds?: string;
  natsNkey?: string;
  natsUser?: string;
  natsPasswordFile?: string;
  natsTokenFile?: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
  natsServerName?: string;
}

/** The part of vipflow.nats these settings read (config/model.ts NatsSchema). */
export interface NatsConfigSecurity {
  credentialsFile?: string;
  nkeySeedFile?: string;
  user?: string;
  passwordFile?: string;
  tokenFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  signingKeyFile?: string;
  trustedNodes?: Record<string, string>;
}

/**
 * @param configPath the config file the `config` settings come from (their paths are relative to it).
 * @returns the merged settings with absolute paths; undefined fields are left out.
 */
export function natsSecurityFrom(cli: NatsCliSecurity, config: NatsConfigSecurity | undefined, configPath?: string): NatsSecurity {
  const c = config ?? {};
  const fromCli = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  const fromConfig = (p: string | undefined) => (p === undefined ? undefined : configPath ? resolve(dirname(configPath), p) : resolve(p));
  const pick = (cliPath: string | undefined, configValue: string | undefined) => fromCli(cliPath) ?? fromConfig(configValue);
  // One method: a method on the command line replaces the config's method, not only its own field.
  const cliAuth = cli.natsCreds ?? cli.natsNkey ?? cli.natsUser ?? cli.natsTokenFile;
  const auth: NatsSecurity =
    cliAuth !== undefined || cli.natsPasswordFile !== undefined
      ? {
          credentialsFile: fromCli(cli.natsCreds),
          nkeySeedFile: fromCli(cli.natsNkey),
          user: cli.natsUser ?? (cliAuth === undefined ? c.user : undefined),
          passwordFile: fromCli(cli.natsPasswordFile),
          tokenFile: fromCli(cli.natsTokenFile),
        }
      : {
          credentialsFile: fromConfig(c.credentialsFile),
          nkeySeedFile: fromConfig(c.nkeySeedFile),
          user: c.user,
          passwordFile: fromConfig(c.passwordFile),
          tokenFile: fromConfig(c.tokenFile),
        };
  const tls = {
    caFile: pick(cli.natsCa, c.tls?.caFile),
    certFile: pick(cli.natsCert, c.tls?.certFile),
    keyFile: pick(cli.natsKey, c.tls?.keyFile),
    serverName: cli.natsServerName ?? c.tls?.serverName,
  };
  return defined({ ...auth, ...(Object.values(tls).some((v) => v !== undefined) ? { tls: defined(tls) } : {}) });
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The signing key file of a daemon: --nats-signing-key, else vipflow.nats.signingKeyFile. */
export function signingKeyFileFrom(cli: string | undefined, config: NatsConfigSecurity | undefined, configPath?: string): string | undefined {
  if (cli !== undefined) return resolve(cli);
  const f = config?.signingKeyFile;
  return f === undefined ? undefined : configPath ? resolve(dirname(configPath), f) : resolve(f);
}
