/**
 * Who published an event. nats-server 2.9 tells a subscriber nothing about the
 * publisher, and the subjects (vipflow.<cluster>.<instance>.<type>) carry no
 * node, so a client allowed to publish a cluster's events could claim to be
 * any of its nodes. A daemon therefore signs each event with its own ed25519
 * nkey (the exact payload bytes, headers below), and a worker that holds the
 * map node -> public key refuses every event that is unsigned, badly signed,
 * or signed by a key other than its node's. The subjects do not change.
 */
import { readFileSync } from 'node:fs';
import { nkeys } from '@nats-io/transport-node';
import type { NatsConfigSecurity } from './nats-settings.js';

export const SIGNER_HEADER = 'Vipflow-Signer';
export const SIGNATURE_HEADER = 'Vipflow-Signature';

export interface EventSigner {
  readonly publicKey: string;
  /** The headers to send with this payload (the exact bytes published). */
  sign(payload: Uint8Array): { signer: string; signature: string };
}

export function eventSigner(kp: nkeys.KeyPair): EventSigner {
  const publicKey = kp.getPublicKey();
  return {
    publicKey,
    sign: (payload) => ({ signer: publicKey, signature: Buffer.from(kp.sign(payload)).toString('base64url') }),
  };
}

/** node id -> the public nkey (U...) its daemon signs with. */
export type TrustedNodes = Readonly<Record<string, string>>;

export type Verdict = { ok: true } | { ok: false; reason: 'unsigned' | 'unknown-node' | 'wrong-key' | 'bad-signature' };

/**
 * Whether `payload` was signed by the key trusted for `node`.
 * @param signer, signature the message's headers (undefined when absent).
 */
export function verifyEvent(trusted: TrustedNodes, node: string, payload: Uint8Array, signer: string | undefined, signature: string | undefined): Verdict {
  if (!signer || !signature) return { ok: false, reason: 'unsigned' };
  const expected = Object.hasOwn(trusted, node) ? trusted[node] : undefined;
  if (expected === undefined) return { ok: false, reason: 'unknown-node' };
  if (signer !== expected) return { ok: false, reason: 'wrong-key' };
  try {
    return nkeys.fromPublic(expected).verify(payload, Buffer.from(signature, 'base64url')) ? { ok: true } : { ok: false, reason: 'bad-signature' };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
}

/** A problem with a trusted-nodes map (a key that is not a public user or account nkey), or undefined. */
export function trustedNodesProblem(t: TrustedNodes): string | undefined {
  for (const [node, key] of Object.entries(t)) {
    try {
      nkeys.fromPublic(key);
    } catch {
      return `trusted node ${node}: ${key} is not a public nkey (U...: 'nk -inkey SEED_FILE -pubout')`;
    }
  }
  return undefined;
}

/**
 * A worker's trusted nodes: a JSON file `{ "node": "U..." }` (--nats-trusted-nodes) replaces
 * vipflow.nats.trustedNodes. undefined: none configured (every event accepted).
 * @returns the map, or a message naming the file and what is wrong.
 */
export function trustedNodesFrom(file: string | undefined, config: NatsConfigSecurity | undefined): TrustedNodes | undefined | string {
  let map: unknown = config?.trustedNodes;
  if (file !== undefined) {
    try {
      map = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      return `trusted nodes file ${file}: ${err instanceof Error ? err.message : String(err)} (expected JSON {"node-id": "U..."})`;
    }
    if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string'))
      return `trusted nodes file ${file}: expected a JSON object {"node-id": "U..."}`;
  }
  if (map === undefined) return undefined;
  const t = map as TrustedNodes;
  if (Object.keys(t).length === 0) return `trusted nodes${file ? ` file ${file}` : ''}: empty (a worker would refuse every event)`;
  const problem = trustedNodesProblem(t);
  return problem === undefined ? t : `${file ? `${file}: ` : ''}${problem}`;
}
