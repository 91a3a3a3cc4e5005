/**
 * The DNS update step: resolve this run's addresses and secret, send the signed UPDATE,
 * check the response (code, TSIG error, the response's own signature), then ask the
 * same server whether the name now answers with exactly those addresses.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { exchangeUdp } from './exchange.js';
import { buildUpdate, parseResponse, responseSignatureProblem, signMessage, TSIG_FUDGE_SEC, type TsigKey } from './message.js';
import { answerMismatch, parseDnsOptions, planUpdate, resolveAddresses, type DnsOptions, type DnsSettings } from './options.js';
import { lookupAddresses } from './query.js';
import { updateFailure } from './rcode.js';
import { readSecret } from './secret.js';

export type DnsFailureKind =
  'config' | 'tsig' | 'notauth' | 'refused' | 'notzone' | 'server' | 'timeout' | 'unreachable' | 'network' | 'bad-response' | 'verify';

/** Thrown by the step; `kind` lets code tell a TSIG problem from a timeout without parsing the message. */
export class DnsUpdateError extends Error {
  constructor(
    readonly kind: DnsFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'DnsUpdateError';
  }
}

/** What a successful run returns (the step's result). */
export interface DnsUpdateResult {
  name: string;
  addresses: string[];
  verified: boolean;
}

/** Seams for tests: the environment (addressesEnv, secretEnv) and the clock that stamps the TSIG time. */
export interface DnsRunDeps {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/**
 * A workflow step that points `options.name` at this node's addresses by RFC 2136
 * dynamic update with TSIG, then verifies with a query to the same server.
 *
 * @throws Error naming the bad field when `options` are invalid (at definition time).
 * The step itself fails with a DnsUpdateError whose message says what to check; the
 * runner retries it per `step.retry`. On a dry run it records its intention and sends nothing.
 */
export function dnsUpdateStep(options: DnsOptions, step: StepSettings = {}, deps: DnsRunDeps = {}): WorkflowStep {
  const o = parseDnsOptions(options);
  return {
    name: step.name ?? 'dns-update',
    ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
    ...(step.retry !== undefined ? { retry: step.retry } : {}),
    run: (ctx) => runDnsUpdate(o, ctx, deps),
  };
}

/** One attempt of the update; see dnsUpdateStep. */
export async function runDnsUpdate(o: DnsSettings, ctx: StepContext, deps: DnsRunDeps = {}): Promise<DnsUpdateResult | undefined> {
  const env = deps.env ?? process.env;
  const server = `${isIP(o.server) === 6 ? `[${o.server}]` : o.server}:${o.port}`;
  const addrs = resolveAddresses(o, env, ctx.event);
  if (!addrs.ok) throw new DnsUpdateError('config', `dns: ${addrs.error}`);
  const planned = planUpdate(o, addrs.addresses);
  if (!planned.ok) throw new DnsUpdateError('config', `dns: ${planned.error}`);
  const { plan, expect } = planned.planned;
  const intent = {
    server,
    zone: o.zone,
    name: o.name,
    addresses: plan.add,
    types: expect.map((e) => e.type),
    replace: o.replace,
    ttl: o.ttl,
    key: o.key.name,
    algorithm: o.key.algorithm,
  };
  ctx.intend(`point ${o.name} at ${plan.add.join(', ')} (RFC 2136 update to ${server})`, intent);
  if (ctx.dryRun) return undefined;

  const secret = readSecret(o.key, o.key.name, env);
  if (!secret.ok) throw new DnsUpdateError('config', `dns: ${secret.error}`);
  const key: TsigKey = { name: o.key.name, algorithm: o.key.algorithm, secret: secret.secret };
  const id = randomInt(0x10000);
  const now = deps.now ?? Date.now;
  const signed = signMessage(buildUpdate(plan, id), key, { timeSigned: Math.floor(now() / 1000), fudge: TSIG_FUDGE_SEC, error: 0, other: Buffer.alloc(0) });
  const t0 = performance.now();
  const sent = await exchangeUdp(o.server, o.port, signed.message, {
    timeoutMs: o.timeoutMs,
    signal: ctx.signal,
    accept: (b) => b.length >= 12 && b.readUInt16BE(0) === id,
  });
  if (!sent.ok) {
    if (sent.reason === 'aborted') throw ctx.signal.reason ?? new Error('aborted');
    const kind = sent.reason === 'timeout' ? 'timeout' : sent.reason === 'unreachable' ? 'unreachable' : 'network';
    throw new DnsUpdateError(kind, `DNS update of '${o.name}' failed: ${sent.message}`);
  }
  const parsed = parseResponse(sent.response);
  if (!parsed.ok) throw new DnsUpdateError('bad-response', `DNS update of '${o.name}': unreadable response from ${server}: ${parsed.error}`);
  const r = parsed.response;
  if (!r.isResponse || r.opcode !== 5)
    throw new DnsUpdateError('bad-response', `DNS update of '${o.name}': ${server} answered with something other than an UPDATE response`);
  const failure = updateFailure(r.rcode, r.tsig?.error ?? 0, { server, zone: o.zone, name: o.name, keyName: key.name, algorithm: key.algorithm });
  if (failure) throw new DnsUpdateError(failure.kind, failure.message);
  const forged = responseSignatureProblem(sent.response, r, key, signed.mac);
  if (forged) throw new DnsUpdateError('bad-response', `DNS update of '${o.name}': not trusting the response from ${server}: ${forged}`);
  const updateMs = Math.round(performance.now() - t0);

  if (o.verify) {
    for (const e of expect) {
      const got = await lookupAddresses(o.server, o.port, o.name, e.type, { timeoutMs: o.timeoutMs, signal: ctx.signal });
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (!got.ok) throw new DnsUpdateError('verify', `DNS update of '${o.name}' was accepted, but verifying it failed: ${got.message}`);
      const mismatch = answerMismatch(e.addresses, got.addresses, o.replace);
      if (mismatch) throw new DnsUpdateError('verify', `DNS update of '${o.name}' was accepted, but ${server} ${e.type} ${mismatch}`);
    }
  }
  ctx.log.info({ server, zone: o.zone, name: o.name, addresses: plan.add, updateMs, verified: o.verify }, 'DNS name updated');
  return { name: o.name, addresses: [...plan.add], verified: o.verify };
}
