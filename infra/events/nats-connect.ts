/**
 * Every NATS connection vipflow opens (the daemon's bus and its publishing
 * thread, `vipflow worker`, `vipflow events`, the fleet view) takes its options
 * from here, so that one set of settings secures all of them the same way.
 *
 * Secrets come only from files or the environment (VIPFLOW_NATS_PASSWORD,
 * VIPFLOW_NATS_TOKEN), never from the config itself, and never reach a log
 * line: describeNatsAuth() names the method and the file, not the content.
 * A secret file must not be readable by every user (mode o+r): nats-server and
 * nsc write creds files 0600, and a world-readable one has already leaked.
 *
 * The settings are plain data, so a worker thread (publish-worker.ts) gets
 * the same settings and builds its own authenticator: functions do not cross
 * threads.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions, type TlsOptions } from '@nats-io/transport-node';

export { redactServers } from './nats-redact.js';

/** How vipflow proves who it is to NATS, and how it checks the server. Paths are absolute (resolved by the caller). */
export interface NatsSecurity {
  /** A creds file (user JWT + nkey seed), as `nsc` writes it: decentralised (operator/account) auth. */
  credentialsFile?: string;
  /** A file holding one nkey seed (SU...): the server config lists the public key (U...). */
  nkeySeedFile?: string;
  /** User name; the password comes from passwordFile or $VIPFLOW_NATS_PASSWORD. */
  user?: string;
  passwordFile?: string;
  /** A file holding the token (or $VIPFLOW_NATS_TOKEN). */
  tokenFile?: string;
  tls?: NatsTls;
}

export interface NatsTls {
  /** CA bundle that signed the server's certificate (default: the system's). */
  caFile?: string;
  /** Client certificate and its key, for servers that `verify` clients. */
  certFile?: string;
  keyFile?: string;
  /** The name the server's certificate must carry, when the URL holds an address or another name. */
  serverName?: string;
}

export interface NatsConnectSettings extends NatsSecurity {
  servers: string | string[];
  /** The connection's name in the server's monitoring (connz). */
  name: string;
}

export const NATS_PASSWORD_ENV = 'VIPFLOW_NATS_PASSWORD';
export const NATS_TOKEN_ENV = 'VIPFLOW_NATS_TOKEN';

export type NatsOptionsResult = { ok: true; options: ConnectionOptions } | { ok: false; message: string };

/** Reconnect forever: vipflow's NATS clients outlive any outage; the callers bound their own waits. */
const BASE = { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 2000 } as const;

/**
 * The nats.js connection options for these settings, with every secret file read
 * and checked now (readable, not world-readable, parseable).
 * @returns the options, or a message naming the file and the fix. Never throws.
 */
export function natsConnectionOptions(s: NatsConnectSettings, env: NodeJS.ProcessEnv = process.env): NatsOptionsResult {
  const auth = authOptions(s, env);
  if (typeof auth === 'string') return { ok: false, message: auth };
  const tls = tlsOptions(s.tls);
  if (typeof tls === 'string') return { ok: false, message: tls };
  return { ok: true, options: { ...BASE, servers: s.servers, name: s.name, ...auth, ...(tls ? { tls } : {}) } };
}

/** The method and where its secret comes from, for logs and status: never the secret. */
export function describeNatsAuth(s: NatsSecurity, env: NodeJS.ProcessEnv = process.env): string {
  const parts: string[] = [];
  if (s.credentialsFile) parts.push(`creds ${s.credentialsFile}`);
  if (s.nkeySeedFile) parts.push(`nkey ${s.nkeySeedFile}`);
  if (s.user !== undefined) parts.push(`user ${s.user} (password from ${s.passwordFile ?? `$${NATS_PASSWORD_ENV}`})`);
  if (s.tokenFile) parts.push(`token ${s.tokenFile}`);
  else if (env[NATS_TOKEN_ENV] && s.user === undefined) parts.push(`token $${NATS_TOKEN_ENV}`);
  if (parts.length === 0) parts.push('no credentials');
  if (s.tls) parts.push(s.tls.certFile ? `tls client cert ${s.tls.certFile}` : 'tls');
  return parts.join(', ');
}

type AuthPart = Pick<ConnectionOptions, 'authenticator' | 'user' | 'pass' | 'token'>;

function authOptions(s: NatsSecurity, env: NodeJS.ProcessEnv): AuthPart | string {
  const envToken = env[NATS_TOKEN_ENV];
  const chosen = [
    s.credentialsFile && 'a creds file',
    s.nkeySeedFile && 'an nkey seed file',
    s.user !== undefined && 'a user',
    (s.tokenFile || (envToken && s.user === undefined && !s.credentialsFile && !s.nkeySeedFile)) && 'a token',
  ].filter((x): x is string => typeof x === 'string');
  if (chosen.length > 1) return `NATS: choose one way to authenticate, not ${chosen.join(' and ')}`;
  if (s.credentialsFile) {
    const creds = readSecret(s.credentialsFile, 'creds file');
    if (typeof creds !== 'string') return creds.problem;
    const problem = credsProblem(creds);
    if (problem) return `NATS creds file ${s.credentialsFile}: ${problem} (write it with 'nsc generate creds' or 'nsc describe user --raw')`;
    return { authenticator: credsAuthenticator(new TextEncoder().encode(creds)) };
  }
  if (s.nkeySeedFile) {
    const seed = readSeed(s.nkeySeedFile, 'nkey seed file');
    if (typeof seed !== 'object' || !('seed' in seed)) return seed.problem;
    return { authenticator: nkeyAuthenticator(seed.seed) };
  }
  if (s.user !== undefined) {
    if (s.user.trim() === '') return 'NATS: the user name is empty';
    let pass: string | undefined;
    if (s.passwordFile) {
      const p = readSecret(s.passwordFile, 'password file');
      if (typeof p !== 'string') return p.problem;
      pass = p.trim();
    } else pass = env[NATS_PASSWORD_ENV];
    if (!pass) return `NATS user ${s.user} needs a password: a password file or $${NATS_PASSWORD_ENV}`;
    return { user: s.user, pass };
  }
  if (s.tokenFile) {
    const t = readSecret(s.tokenFile, 'token file');
    if (typeof t !== 'string') return t.problem;
    if (t.trim() === '') return `NATS token file ${s.tokenFile} is empty`;
    return { token: t.trim() };
  }
  if (envToken) return { token: envToken };
  return {};
}

function tlsOptions(t: NatsTls | undefined): TlsOptions | undefined | string {
  if (!t) return undefined;
  if ((t.certFile === undefined) !== (t.keyFile === undefined)) return 'NATS TLS: a client certificate needs its key file, and a key file its certificate';
  for (const [f, what] of [
    [t.caFile, 'CA file'],
    [t.certFile, 'client certificate'],
  ] as const) {
    if (f === undefined) continue;
    const p = readPem(f, what);
    if (p) return p;
  }
  if (t.keyFile) {
    const k = readSecret(t.keyFile, 'TLS key file');
    if (typeof k !== 'string') return k.problem;
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k)) return `NATS TLS key file ${t.keyFile} holds no PEM private key`;
  }
  // The files are read by the transport at each connect (a renewed certificate is picked up on reconnect).
  const tls: TlsOptions & { servername?: string } = {
    ...(t.caFile ? { caFile: t.caFile } : {}),
    ...(t.certFile ? { certFile: t.certFile, keyFile: t.keyFile } : {}),
    // nats.js passes extra fields through to node's tls.connect: servername overrides the URL's host for verification.
    ...(t.serverName ? { servername: t.serverName } : {}),
  };
  return tls;
}

function readPem(file: string, what: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `NATS TLS ${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return /-----BEGIN CERTIFICATE-----/.test(text) ? undefined : `NATS TLS ${what} ${file} holds no PEM certificate`;
}

/** A secret file's text, after checking it is readable and not readable by every user. */
export function readSecret(file: string, what: string): string | { problem: string } {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `NATS ${what} ${file} does not exist` };
    return { problem: `NATS ${what} ${file} cannot be read by this user (${code ?? String(err)}): give vipflow's user read access (chmod 0600, chown)` };
  }
  const st = statSync(file);
  if (!st.isFile()) return { problem: `NATS ${what} ${file} is not a file` };
  if ((st.mode & 0o004) !== 0) return { problem: `NATS ${what} ${file} is readable by every user: chmod o-rwx ${file} (0600 or 0640)` };
  return readFileSync(file, 'utf8');
}

/** An nkey seed file (one seed, whitespace around it allowed) as the seed's bytes and its key pair. */
export function readSeed(file: string, what: string): { seed: Uint8Array; publicKey: string; kp: nkeys.KeyPair } | { problem: string } {
  const text = readSecret(file, what);
  if (typeof text !== 'string') return text;
  const seed = new TextEncoder().encode(text.trim());
  try {
    const kp = nkeys.fromSeed(seed);
    return { seed, publicKey: kp.getPublicKey(), kp };
  } catch {
    return { problem: `NATS ${what} ${file} holds no valid nkey seed (expected one line starting with S, e.g. SU...: 'nsc generate nkey --user')` };
  }
}

const JWT_BLOCK = /-{3,}BEGIN NATS USER JWT-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}END NATS USER JWT/;
const SEED_BLOCK = /-{3,}BEGIN USER NKEY SEED-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}END USER NKEY SEED/;

/** What is wrong with a creds file's text, or undefined when its JWT and seed read. */
export function credsProblem(text: string): string | undefined {
  const jwt = JWT_BLOCK.exec(text)?.[1];
  if (!jwt) return 'no "BEGIN NATS USER JWT" block';
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)) return 'the user JWT is not a JWT';
  const seed = SEED_BLOCK.exec(text)?.[1];
  if (!seed) return 'no "BEGIN USER NKEY SEED" block';
  try {
    nkeys.fromSeed(new TextEncoder().encode(seed));
  } catch {
    return 'the user nkey seed is not a valid seed';
  }
  return undefined;
}

/** How a failed connect attempt reads to an operator: refused credentials, TLS, or simply unreachable. */
export type ConnectFailure = { kind: 'auth' | 'tls' | 'unreachable'; message: string };

/** With the connection's `security`, a refused creds file also says what the file holds (explainRefusal). */
export function classifyConnectError(err: unknown, security?: NatsSecurity): ConnectFailure {
  const f = classifyError(err);
  return security ? explainRefusal(f, security) : f;
}

function classifyError(err: unknown): ConnectFailure {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const text = `${e?.message ?? String(err)}${e?.cause?.message ? `: ${e.cause.message}` : ''}`;
  // The credentials were accepted, but their permissions do not cover this subject: a fix in the server's config or the user JWT.
  if (e?.name === 'PermissionViolationError' || /Permissions Violation/i.test(text))
    return { kind: 'auth', message: `NATS refused by permissions: ${text} (the credentials are accepted, but may not use this subject)` };
  if (e?.name === 'AuthorizationError' || e?.name === 'UserAuthenticationExpiredError' || /authorization violation|authentication/i.test(text))
    return { kind: 'auth', message: `NATS refused the credentials (${text})` };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (/CERT|SSL|TLS|SELF_SIGNED|ERR_TLS|HOSTNAME/i.test(code) || /certificate|tls|ssl|handshake/i.test(text))
    return { kind: 'tls', message: `NATS TLS failed (${text}${code ? `, ${code}` : ''})` };
  return { kind: 'unreachable', message: `NATS unreachable (${text})` };
}

/**
 * What a creds file says about why the server may have refused it: nats-server answers
 * every refusal with the same "Authorization Violation", while the cause (an expired
 * JWT, an account the server does not trust, a revoked user) is only in its own log.
 * Names the user and account by their public keys, never the JWT or the seed.
 * @returns a clause to append to the refusal, or undefined when the file no longer reads.
 */
export function credsRefusalHint(file: string, now = Date.now()): string | undefined {
  let claims: { name?: string; sub?: string; iss?: string; exp?: number; nats?: { issuer_account?: string } };
  try {
    const jwt = JWT_BLOCK.exec(readFileSync(file, 'utf8'))?.[1];
    if (!jwt) return undefined;
    claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return undefined;
  }
  const user = `user ${claims.name ? `${claims.name} ` : ''}${claims.sub ?? '?'}`;
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= now)
    return `the user JWT in ${file} (${user}) expired at ${new Date(claims.exp * 1000).toISOString()}: issue a new one ('nsc generate creds')`;
  const account = claims.nats?.issuer_account ?? claims.iss ?? '?';
  return `${user} of account ${account}: the server must trust that account (operator mode: its resolver or preload) and the account must not have revoked the user`;
}

/** The failure with the creds file's hint appended, when the server refused a creds file's user. */
export function explainRefusal(f: ConnectFailure, s: NatsSecurity): ConnectFailure {
  if (f.kind !== 'auth' || !s.credentialsFile || !/refused the credentials/.test(f.message)) return f;
  const hint = credsRefusalHint(s.credentialsFile);
  return hint ? { ...f, message: `${f.message}: ${hint}` } : f;
}
