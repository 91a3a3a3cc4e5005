/**
 * The DNS notifier's options (zod 4, pure) and the pure planning from options plus this
 * run's addresses to the update to send and the answers to expect.
 */
import { z } from 'zod';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { addressBytes, inZone, nameProblem, TSIG_ALGORITHMS, typeOf, type RecordType, type UpdatePlan } from './message.js';

const ipAddress = z.string().refine((s) => addressBytes(s) !== undefined, 'must be an IPv4 or IPv6 address literal');
const domainName = z.string().superRefine((s, ctx) => {
  const problem = nameProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: `domain name ${problem}` });
});
const RECORD_TYPES = ['A', 'AAAA'] as const;

export const dnsKeySchema = z
  .strictObject({
    /** The TSIG key's name, as in the server's `key "<name>" { ... }` statement. */
    name: domainName,
    /** Default hmac-sha256 (tsig-keygen's default). */
    algorithm: z.enum(TSIG_ALGORITHMS).default('hmac-sha256'),
    /** The base64 secret itself (prefer secretEnv or secretFile: config files get copied around). */
    secret: z.string().min(1).optional(),
    /** The name of an environment variable holding the base64 secret. */
    secretEnv: z.string().min(1).optional(),
    /** A file holding the base64 secret, or a BIND key file (tsig-keygen's output); read at every run. */
    secretFile: z.string().min(1).optional(),
  })
  .superRefine((k, ctx) => {
    const n = [k.secret, k.secretEnv, k.secretFile].filter((v) => v !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of secret, secretEnv, secretFile' });
  });

export const dnsOptionsSchema = z
  .strictObject({
    /** The zone's primary server: an IP literal (looking its name up would make the update depend on DNS). */
    server: ipAddress,
    port: z.number().int().min(1).max(65535).default(53),
    /** The zone to update (e.g. `example.com`). */
    zone: domainName,
    /** The absolute name to point at this node (e.g. `www.example.com`); must be inside `zone`. */
    name: domainName,
    /** This node's addresses: what `name` points at after the update. */
    addresses: z.array(ipAddress).min(1).optional(),
    /**
     * Or the name of an environment variable holding them (comma or space separated), read
     * at every run: one workflows file then serves every node, each daemon started with its own value.
     */
    addressesEnv: z.string().min(1).optional(),
    /**
     * Or `true`: the address this node sends VRRP adverts from on the instance's
     * interface, carried by the transition event (`data.source`). Right when clients
     * reach the node on that interface; use `addresses`/`addressesEnv` for another one.
     */
    addressFromEvent: z.literal(true).optional(),
    /**
     * The record types this step owns (default: the families of the addresses). With
     * `replace`, an owned type with no address of its family is deleted, so a node
     * without IPv6 also removes the previous Master's AAAA.
     */
    types: z.array(z.enum(RECORD_TYPES)).min(1).optional(),
    /** TTL of the added records, seconds. Short, so resolvers follow a failover quickly. */
    ttl: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(60),
    /** Delete the owned types' records first, so the name points at exactly this node (default true). */
    replace: z.boolean().default(true),
    /** After the update, query the same server and require the expected answer (default true). */
    verify: z.boolean().default(true),
    /** How long to wait for the update's response, and for each verification query. */
    timeoutMs: z.number().int().positive().default(2000),
    key: dnsKeySchema,
  })
  .superRefine((o, ctx) => {
    if (!inZone(o.name, o.zone)) ctx.addIssue({ code: 'custom', path: ['name'], message: `'${o.name}' is not inside zone '${o.zone}'` });
    if ([o.addresses, o.addressesEnv, o.addressFromEvent].filter((v) => v !== undefined).length !== 1)
      ctx.addIssue({ code: 'custom', message: 'give exactly one of addresses, addressesEnv, addressFromEvent' });
    if (o.types && new Set(o.types).size !== o.types.length) ctx.addIssue({ code: 'custom', path: ['types'], message: 'lists a type twice' });
  });

export type DnsOptions = z.input<typeof dnsOptionsSchema>;
export type DnsSettings = z.output<typeof dnsOptionsSchema>;

/**
 * Validated options. @throws Error naming each bad field (`dns: key.secretEnv: ...`), a
 * programmer mistake caught when the workflows file loads.
 */
export function parseDnsOptions(options: unknown): DnsSettings {
  const r = dnsOptionsSchema.safeParse(options);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new Error(`dns: invalid options: ${lines.join('; ')}`);
}

export type AddressesResult = { ok: true; addresses: string[] } | { ok: false; error: string };

/** The addresses for this run: the literal list, the environment variable's value, or the event's source address. */
export function resolveAddresses(
  o: Pick<DnsSettings, 'addresses' | 'addressesEnv' | 'addressFromEvent'>,
  env: NodeJS.ProcessEnv,
  event: VipflowEvent,
): AddressesResult {
  if (o.addresses) return { ok: true, addresses: [...o.addresses] };
  if (o.addressFromEvent) {
    const source = event.type === 'instance.transition' ? event.data.source : undefined;
    if (source === undefined || addressBytes(source) === undefined)
      return { ok: false, error: `addressFromEvent: the ${event.type} event carries no source address (only instance transitions from a vipflow daemon do)` };
    return { ok: true, addresses: [source] };
  }
  const name = o.addressesEnv!;
  const value = env[name]?.trim();
  if (!value) return { ok: false, error: `addressesEnv: environment variable ${name} is not set` };
  const addresses = value.split(/[\s,]+/);
  const bad = addresses.filter((a) => addressBytes(a) === undefined);
  if (bad.length > 0) return { ok: false, error: `addressesEnv: ${name} holds ${bad.map((b) => `'${b}'`).join(', ')}, not IP addresses` };
  return { ok: true, addresses };
}

/** The canonical text form used to compare addresses (hex of the octets). */
export function addressKey(ip: string): string {
  return addressBytes(ip)?.toString('hex') ?? ip;
}

export interface Planned {
  plan: UpdatePlan;
  /** The types this step owns, each with the addresses a query must return (exactly, when replacing). */
  expect: { type: RecordType; addresses: string[] }[];
}

export type PlanResult = { ok: true; planned: Planned } | { ok: false; error: string };

/** The update and the expected answers for `addresses`. Pure. */
export function planUpdate(o: Pick<DnsSettings, 'zone' | 'name' | 'ttl' | 'replace' | 'types'>, addresses: readonly string[]): PlanResult {
  const seen = new Set<string>();
  const unique = addresses.filter((a) => !seen.has(addressKey(a)) && seen.add(addressKey(a)));
  const families = RECORD_TYPES.filter((t) => unique.some((a) => typeOf(a) === t));
  const types = o.types ?? families;
  const foreign = unique.filter((a) => !types.includes(typeOf(a)!));
  if (foreign.length > 0) return { ok: false, error: `addresses: ${foreign.join(', ')} not of the types [${types.join(', ')}]` };
  return {
    ok: true,
    planned: {
      plan: { zone: o.zone, name: o.name, ttl: o.ttl, replace: o.replace ? types : [], add: unique },
      expect: types.map((type) => ({ type, addresses: unique.filter((a) => typeOf(a) === type) })),
    },
  };
}

/**
 * Why `got` is not the answer expected for `want`, or undefined when it is: the same set
 * when replacing, a superset otherwise (other records may stay). Pure.
 */
export function answerMismatch(want: readonly string[], got: readonly string[], exact: boolean): string | undefined {
  const g = new Set(got.map(addressKey));
  const w = new Set(want.map(addressKey));
  const missing = want.filter((a) => !g.has(addressKey(a)));
  const extra = exact ? got.filter((a) => !w.has(addressKey(a))) : [];
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean);
  return `returns [${got.join(', ')}], expected ${exact ? '' : 'at least '}[${want.join(', ')}] (${parts.join('; ')})`;
}
