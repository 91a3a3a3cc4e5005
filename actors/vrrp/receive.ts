/**
 * The receive-side checks between a decoded advert and the instance's
 * machine (RFC 5798 §7.1, RFC 3768 §7.1, and keepalived's extra checks).
 * The codec has already checked syntax and checksum; these are the semantic
 * checks that depend on the local configuration. Pure.
 */
import { checkAuthentication, compareAddresses, formatAddress, type ExpectedAuth, type VrrpAdvert } from '../../wire/codec/index.js';
import type { AdvertEvent } from './types.js';

/** What the receive checks need of an instance's configuration (the runner's plan is one). */
export interface ReceiveRules {
  version: 2 | 3;
  /** Our own source address: an advert from it is our own. */
  sourceBytes: Uint8Array;
  mode: 'multicast' | 'unicast';
  /** Unicast peers with the TTL / hop limit range accepted from each. */
  peers: readonly { bytes: Uint8Array; minTtl: number; maxTtl: number }[];
  auth: ExpectedAuth;
  /** Our advertised addresses, sorted with compareAddresses. */
  advertisedAddresses: readonly Uint8Array[];
}

/** Why a received packet never reached a machine. Each is a counter in status. */
export type DropReason =
  | 'malformed'
  | 'bad-ttl'
  | 'wrong-interface'
  | 'own-packet'
  | 'wrong-destination'
  | 'unknown-vrid'
  | 'version-mismatch'
  | 'unknown-peer'
  | 'auth-mismatch'
  | 'address-list-mismatch'
  // auth_hmac (keepalived 2.4), checked by the runner after these screens
  | 'hmac-missing'
  | 'hmac-malformed'
  | 'hmac-unknown-key'
  | 'hmac-bad'
  | 'hmac-outside-window'
  | 'hmac-replay'
  | 'hmac-unexpected';

export const DROP_REASONS: readonly DropReason[] = [
  'malformed',
  'bad-ttl',
  'wrong-interface',
  'own-packet',
  'wrong-destination',
  'unknown-vrid',
  'version-mismatch',
  'unknown-peer',
  'auth-mismatch',
  'address-list-mismatch',
  'hmac-missing',
  'hmac-malformed',
  'hmac-unknown-key',
  'hmac-bad',
  'hmac-outside-window',
  'hmac-replay',
  'hmac-unexpected',
];

export type DropCounters = Record<DropReason, number>;

export function emptyDropCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
}

export interface PacketMeta {
  ttl: number;
  ifindex: number;
  /** The interface index the instance's socket is bound to. */
  expectedIfindex: number;
  source: Uint8Array;
  /** The packet was sent to a multicast group (else to one of our addresses). */
  multicastDestination: boolean;
  /** When it arrived, on the machine's clock (AdvertEvent.receivedAt). */
  receivedAt?: number;
}

export type ScreenDrop = { ok: false; reason: DropReason; detail: string };
export type ScreenResult = { ok: true; event: AdvertEvent } | ScreenDrop;

function sameAddressList(advertised: readonly Uint8Array[], ours: readonly Uint8Array[]): boolean {
  if (advertised.length !== ours.length) return false;
  // Senders may list addresses in any order; ours is sorted once in the plan.
  const sorted = advertised.length > 1 ? [...advertised].sort(compareAddresses) : advertised;
  for (let i = 0; i < sorted.length; i++) if (compareAddresses(sorted[i]!, ours[i]!) !== 0) return false;
  return true;
}

/**
 * Decides whether a decoded advert for this instance's VRID may reach its
 * machine, and gives the event it becomes. The order follows keepalived's, so
 * the same bad packet is counted under the same reason by both.
 */
export function screenAdvert(plan: ReceiveRules, advert: VrrpAdvert, meta: PacketMeta): ScreenResult {
  return screenDrop(plan, advert, meta) ?? { ok: true, event: advertEvent(advert, meta) };
}

/** screenAdvert's refusal, or null when the advert may reach the machine (the runner's per-advert path: no result object). */
export function screenDrop(plan: ReceiveRules, advert: VrrpAdvert, meta: PacketMeta): ScreenDrop | null {
  if (meta.ifindex !== meta.expectedIfindex) return { ok: false, reason: 'wrong-interface', detail: `arrived on ifindex ${meta.ifindex}` };
  if (compareAddresses(meta.source, plan.sourceBytes) === 0) return { ok: false, reason: 'own-packet', detail: 'source is our own address' };
  // A raw socket also receives unicast VRRP sent to any of our addresses: a
  // multicast instance must not act on it (nor a unicast one on multicast),
  // as keepalived refuses it ("Expected multicast packet but received unicast").
  if (meta.multicastDestination !== (plan.mode === 'multicast'))
    return {
      ok: false,
      reason: 'wrong-destination',
      detail: `${meta.multicastDestination ? 'multicast' : 'unicast'} advert for a ${plan.mode} instance`,
    };

  if (plan.mode === 'unicast') {
    const peer = plan.peers.find((p) => compareAddresses(p.bytes, meta.source) === 0);
    // Unicast mode only trusts configured peers: an advert from elsewhere could
    // make us step down for a router that is not part of this cluster.
    if (!peer) return { ok: false, reason: 'unknown-peer', detail: `${formatAddress(meta.source)} is not a unicast_peer` };
    if (meta.ttl < peer.minTtl || meta.ttl > peer.maxTtl)
      return { ok: false, reason: 'bad-ttl', detail: `TTL ${meta.ttl} outside ${peer.minTtl}..${peer.maxTtl}` };
  } else if (meta.ttl !== 255) {
    // RFC 5798 §7.1: a TTL other than 255 means the packet crossed a router.
    return { ok: false, reason: 'bad-ttl', detail: `TTL/hop limit ${meta.ttl}, expected 255` };
  }

  if (advert.version !== plan.version) return { ok: false, reason: 'version-mismatch', detail: `VRRPv${advert.version} advert, we run v${plan.version}` };

  if (advert.version === 2) {
    const auth = checkAuthentication(advert, plan.auth);
    if (!auth.ok) return { ok: false, reason: 'auth-mismatch', detail: auth.error.detail };
  }

  // keepalived drops an advert whose address list differs from ours: on a
  // shared VRID it is most often another cluster's master (a VRID collision).
  // A priority-0 advert is still a departing master of ours, but keepalived
  // checks it the same way, so do we.
  if (!sameAddressList(advert.addresses, plan.advertisedAddresses)) {
    return {
      ok: false,
      reason: 'address-list-mismatch',
      detail: `advert lists [${advert.addresses.map(formatAddress).join(', ')}], we have [${plan.advertisedAddresses.map(formatAddress).join(', ')}]`,
    };
  }
  return null;
}

/** The machine's event for an advert that passed screenDrop. */
export function advertEvent(advert: VrrpAdvert, meta: PacketMeta): AdvertEvent {
  const intervalCs = advert.version === 2 ? advert.advertIntervalSec * 100 : advert.maxAdvertIntervalCs;
  return new ScreenedAdvert(advert.priority, intervalCs, meta.source, advert.version, meta.receivedAt);
}

/**
 * An AdvertEvent made with `new`, not an object literal: V8 may decide that
 * a literal's allocation site makes long-lived objects (it did, from the
 * daemon's startup) and allocate every later one straight in the old
 * generation, where each advert's event, dead a moment later, waited for a
 * major GC: about 86 KB/s of old-space garbage on a Backup of 1,000
 * (sampling heap profile). Constructed objects start young.
 */
export class ScreenedAdvert implements AdvertEvent {
  readonly type = 'ADVERT';
  declare receivedAt?: number;
  declare readAt?: number;
  declare copies?: number;

  constructor(
    readonly priority: number,
    readonly intervalCs: number,
    readonly source: Uint8Array,
    readonly version: 2 | 3,
    receivedAt: number | undefined,
  ) {
    // Absent when unknown, as the type has it (the machine then counts from now).
    if (receivedAt !== undefined) this.receivedAt = receivedAt;
  }
}

/**
 * The event for repeats of an advert the addon absorbed (wire/socket
 * RepeatAbsorber): `copies` of them, the latest one's arrival and read time.
 */
export function repeatedAdvert(last: AdvertEvent, copies: number, receivedAt: number, readAt: number): AdvertEvent {
  const event = new ScreenedAdvert(last.priority, last.intervalCs, last.source, last.version, receivedAt);
  event.readAt = readAt;
  event.copies = copies;
  return event;
}

/**
 * The checks the machine itself applies to every advert it is given, whether
 * or not it came through screenAdvert (tests and the simulator feed machines
 * directly): the version again, value ranges, and RFC 3768 §7.1's interval
 * rule for VRRPv2, which keepalived logs as "advertisement interval mismatch".
 * Null when the advert is usable.
 */
export function unusableAdvert(
  cfg: { version: 2 | 3; advertIntervalCs: number },
  ad: AdvertEvent,
): { code: 'version-mismatch' | 'malformed-advert' | 'interval-mismatch'; message: string } | null {
  if (ad.version !== cfg.version) return { code: 'version-mismatch', message: `VRRPv${ad.version} advert on a v${cfg.version} instance` };
  if (!Number.isInteger(ad.priority) || ad.priority < 0 || ad.priority > 255 || !Number.isInteger(ad.intervalCs) || ad.intervalCs < 1)
    return { code: 'malformed-advert', message: 'advert priority or interval out of range' };
  // RFC 3768 §7.1: a v2 router MUST discard an advert whose interval differs
  // from its own (keepalived drops it and logs "advertisement interval mismatch").
  if (cfg.version === 2 && ad.intervalCs !== cfg.advertIntervalCs)
    return { code: 'interval-mismatch', message: `advert interval ${ad.intervalCs} cs differs from ours ${cfg.advertIntervalCs} cs: discarded (VRRPv2)` };
  return null;
}
