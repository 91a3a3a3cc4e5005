/**
 * Decentralised NATS auth for tests, without nsc: an operator, its system account
 * and one application account with JetStream, minted with nats-io's jwt.js, and
 * the nats-server (2.9) configuration that trusts them (operator mode, memory
 * resolver with the accounts preloaded). Users are minted on demand as creds
 * files, the form `nsc generate creds` writes and vipflow reads (--nats-creds).
 *
 * What the server decides from these JWTs, and the tests check: a user signed by
 * an account the server does not know is refused; a user whose JWT has expired, or
 * whom the account revokes, is refused; a user's `pub` permissions bound what it
 * may publish.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type Permissions } from '@nats-io/jwt';
import { nkeys } from '@nats-io/transport-node';

/** -1 is "no limit" in NATS limits; JetStream is off for an account unless its JetStream limits are set. */
const UNLIMITED_WITH_JETSTREAM: Account['limits'] = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

export interface UserSpec {
  name: string;
  /** Publish/subscribe allow and deny lists; none: everything the account allows. */
  permissions?: Permissions;
  /** Unix seconds after which the server refuses the JWT. */
  expires?: number;
  /** Revoked by the application account (its JWT lists the user's public key). */
  revoked?: boolean;
  /** Signed by an account the server was never told about. */
  unknownAccount?: boolean;
}

export interface NatsOperator {
  /** The application account's public key (A...). */
  account: string;
  /** nats-server configuration lines for operator mode (no listen or JetStream lines: give them on the command line). */
  serverConf: string;
  /** Writes `dir/NAME.creds` (mode 0600) for each user; returns their paths by name. */
  creds: Record<string, string>;
}

/**
 * Mints the operator, accounts and users, writes the users' creds files into `dir`.
 * Revocation lives in the account JWT, so users are minted before the account.
 */
export async function mintOperator(dir: string, users: UserSpec[]): Promise<NatsOperator> {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const app = nkeys.createAccount();
  const stranger = nkeys.createAccount();
  const creds: Record<string, string> = {};
  const revocations: Record<string, number> = {};
  for (const u of users) {
    const kp = nkeys.createUser();
    const jwt = await encodeUser(
      u.name,
      kp,
      u.unknownAccount ? stranger : app,
      { ...(u.permissions?.pub ? { pub: u.permissions.pub } : {}), ...(u.permissions?.sub ? { sub: u.permissions.sub } : {}) },
      u.expires !== undefined ? { exp: u.expires } : {},
    );
    // The account revokes JWTs of this user issued at or before this time; +1 s covers the second the user was minted in.
    if (u.revoked) revocations[kp.getPublicKey()] = Math.floor(Date.now() / 1000) + 1;
    const file = join(dir, `${u.name}.creds`);
    writeFileSync(file, fmtCreds(jwt, kp), { mode: 0o600 });
    chmodSync(file, 0o600);
    creds[u.name] = file;
  }
  const operatorJwt = await encodeOperator('vipflow-test', operator, { system_account: system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const appJwt = await encodeAccount('VIPFLOW', app, { limits: UNLIMITED_WITH_JETSTREAM, revocations }, { signer: operator });
  const serverConf = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${app.getPublicKey()}: ${appJwt}`,
    '}',
    '',
  ].join('\n');
  return { account: app.getPublicKey(), serverConf, creds };
}
