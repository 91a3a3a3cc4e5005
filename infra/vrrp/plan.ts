/**
 * From the validated configuration to what one VRRP instance needs at run
 * time: the machine's input, the wire settings and the addresses to manage.
 * Pure: the host's interfaces come in as data ({@link HostInterfaces}), so the
 * rules (which source address, which group, which checksum) are tested
 * without a network.
 */
import { parseAddress, simplePassword, type ChecksumVariant, type ExpectedAuth } from '../../wire/codec/index.js';
import type { VrrpInput, TrackedObjectInput } from '../../actors/vrrp/index.js';
import type { SyncGroup, TrackRef, VipflowConfig, VrrpInstance, VrrpScript } from '../../config/model.js';
import { planAuthHmac, type AuthHmacPlan } from './auth-hmac.js';
import type { ScriptHealth } from '../../actors/track-script/index.js';
import type { HostAddress, HostInterface, HostInterfaces, PlannedVip } from '../host/types.js';
import type { VmacPlan } from '../host/types.js';
import { fileRefsOf, fileTrack, processRefsOf, processTrack, type FilesView, type ProcessesView } from '../track/plan.js';

export type { HostAddress, HostInterface, HostInterfaces, PlannedVip };

export const VRRP_GROUP_V4 = '224.0.0.18';
/** The weight-0 tracked object that holds an IPv6 instance in Fault until it has a link-local source. */
export const SOURCE_TRACK = 'source:ipv6-link-local';

/**
 * The weight-0 tracked object that puts an IPv4 instance in Fault while its
 * advert source address is gone from the interface, as keepalived downs an
 * instance when the interface's address it sends from is deleted and no other
 * is left (core/keepalived_netlink.c), and brings it up when one returns.
 */
export const SOURCE_ADDRESS_TRACK = 'source:address';
export const VRRP_GROUP_V6 = 'ff02::12';

export interface PlannedPeer {
  address: string;
  bytes: Uint8Array;
  /** Accepted TTL / hop limit range; [0, 255] (keepalived's default) unless min_ttl/max_ttl say otherwise. */
  minTtl: number;
  maxTtl: number;
}

export interface GarpPlan {
  /** Second burst after becoming Master (garp_master_delay); 0 disables it. */
  masterDelayMs: number;
  /** Announcements per burst (garp_master_repeat). */
  masterRepeat: number;
  /** Periodic re-announcement while Master (garp_master_refresh); 0 disables it. */
  refreshMs: number;
  refreshRepeat: number;
  /** After a lower-priority advert (garp_lower_prio_*): a burst now, another lowerPrioDelayMs later (0: none). */
  lowerPrioDelayMs: number;
  lowerPrioRepeat: number;
  /** Least time between two immediate lower-priority bursts (the advert interval); 0 when omitted. */
  lowerPrioGapMs?: number;
}

export interface InstancePlan {
  name: string;
  vrid: number;
  family: 4 | 6;
  version: 2 | 3;
  interface: string;
  /** Our source address: unicast_src_ip, mcast_src_ip, else the interface's first (IPv6: link-local) address. */
  source: string;
  sourceBytes: Uint8Array;
  /**
   * IPv6 without a usable link-local address yet (the link is down, or its
   * address is still tentative): `source` is '::' and the machine tracks
   * {@link SOURCE_TRACK} down, so the instance starts in Fault, as keepalived
   * does, until the runner is given the address.
   */
  sourcePending?: true;
  /**
   * How the IPv4 source follows the interface's addresses (SOURCE_ADDRESS_TRACK):
   * 'interface' when it was taken from the interface (it may move to another of
   * its addresses, as keepalived moves it), 'fixed' for a configured
   * unicast_src_ip / mcast_src_ip with track_src_ip (Fault while it is gone).
   * Absent: not followed (a configured source without track_src_ip, IPv6).
   */
  sourceWatch?: 'interface' | 'fixed';
  mode: 'multicast' | 'unicast';
  /** Multicast group (mcast_dst_ip or the VRRP group); unused in unicast mode. */
  group: string;
  groupBytes: Uint8Array;
  peers: readonly PlannedPeer[];
  auth: ExpectedAuth;
  /** auth_hmac (keepalived 2.4): sign and/or verify adverts with an HMAC trailer. */
  authHmac?: AuthHmacPlan;
  checksumVariant: ChecksumVariant;
  vips: readonly PlannedVip[];
  /** The VIP bytes sorted, to compare with a received advert's list in one pass. */
  advertisedAddresses: readonly Uint8Array[];
  garp: GarpPlan;
  machine: VrrpInput;
  /** use_vmac: the macvlan the VIPs go on and adverts leave from (vmac.ts). */
  vmac?: VmacPlan;
  /** handover_drain in ms, when set above 0: connections survive a planned handover (handover-nft.ts). */
  handoverDrainMs?: number;
}

export interface PlanError {
  instance: string;
  message: string;
  hint?: string;
}

/**
 * The VIPs an advert lists: those of the instance's family, without
 * virtual_ipaddress_excluded (which exist so that more addresses than an
 * advert can carry, or of the other family, still follow the instance).
 */
export function advertised(vips: readonly PlannedVip[], family: 4 | 6): PlannedVip[] {
  return vips.filter((v) => v.family === family && !v.excluded);
}

export type PlanResult = { ok: true; plan: InstancePlan } | { ok: false; error: PlanError };

function sortedBytes(list: readonly Uint8Array[]): Uint8Array[] {
  return [...list].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
}

function isLinkLocalV6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * Picks the advert source as keepalived does: an explicit unicast_src_ip or
 * mcast_src_ip wins; otherwise the interface's first address of the family,
 * and for IPv6 its link-local address (RFC 5798 §5.1.2.1 requires it).
 */
function chooseSource(inst: VrrpInstance, family: 4 | 6, iface: HostInterface): string | undefined {
  const explicit = inst.unicastSrcIp ?? inst.mcastSrcIp;
  if (explicit) return explicit;
  const ofFamily = iface.addresses.filter((a) => a.family === family);
  if (family === 6) return ofFamily.find((a) => isLinkLocalV6(a.address))?.address;
  return ofFamily[0]?.address;
}

/**
 * Plans one configured instance on this host.
 *
 * @param syncGroup the vrrp_sync_group the instance belongs to, if any: the
 *   machine is then coordinated by it, the group's track_interface entries
 *   apply to the instance too, and (as keepalived does unless
 *   sync_group_tracking_weight is set) every tracked interface's weight
 *   becomes 0: a tracked interface down puts the whole group in Fault
 *   instead of lowering one member's priority.
 * @returns the plan, or an error naming the instance and what is missing on
 *   the host (unknown interface, no IPv4 source address). An IPv6 instance
 *   without a link-local address is planned with a pending source (see
 *   {@link InstancePlan.sourcePending}). An undefined tracked script, file
 *   or process is an error too.
 * @param scripts the vrrp_script definitions and their current health, for
 *   the instance's (and its group's) track_script entries; with `files` and
 *   `processes`, the same for track_file and track_process entries, weighed
 *   by keepalived's own rules for them (plan-trackers.ts).
 */
export function planInstance(inst: VrrpInstance, host: HostInterfaces, syncGroup?: SyncGroup, scripts?: ScriptsView): PlanResult {
  const err = (message: string, hint?: string): PlanResult => ({ ok: false, error: { instance: inst.name, message, ...(hint ? { hint } : {}) } });
  const family = inst.family === 6 ? 6 : 4;
  const version = inst.version === 2 ? 2 : 3;
  if (!inst.interface) return err('no interface configured', "add 'interface <name>' to the vrrp_instance");
  const iface = host.get(inst.interface);
  if (!iface) return err(`interface ${inst.interface} does not exist on this host`, `existing interfaces: ${[...host.keys()].join(', ')}`);
  // RFC 5798 §5.1.2.1: IPv6 adverts leave from the link-local address, which
  // a link that is down does not have yet; keepalived starts such an
  // instance in Fault and takes the address once it appears.
  const chosen = chooseSource(inst, family, iface);
  const sourcePending = chosen === undefined && family === 6;
  const source = chosen ?? (sourcePending ? '::' : undefined);
  if (!source) {
    return err(`interface ${inst.interface} has no IPv4 address to send adverts from`, 'add an address to the interface, or set unicast_src_ip / mcast_src_ip');
  }
  const sourceBytes = parseAddress(source);
  if (!sourceBytes || sourceBytes.length !== (family === 4 ? 4 : 16)) return err(`source address ${source} is not an IPv${family} address`);

  const mode = inst.unicastPeers.length > 0 ? 'unicast' : 'multicast';
  const group = inst.mcastDstIp ?? (family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
  const peers: PlannedPeer[] = [];
  for (const p of inst.unicastPeers) {
    const bytes = parseAddress(p.address);
    if (!bytes || bytes.length !== sourceBytes.length) return err(`unicast peer ${p.address} is not an IPv${family} address`);
    // keepalived's defaults: unicast adverts may cross routers, so any TTL is
    // accepted unless min_ttl / max_ttl narrow it.
    peers.push({ address: p.address, bytes, minTtl: p.minTtl ?? 0, maxTtl: p.maxTtl ?? 255 });
  }

  const vips: PlannedVip[] = [];
  const configured = [...inst.virtualIpaddress.map((v) => ({ v, excluded: false })), ...inst.virtualIpaddressExcluded.map((v) => ({ v, excluded: true }))];
  for (const { v, excluded } of configured) {
    const bytes = parseAddress(v.address);
    if (!bytes) return err(`virtual address ${v.address} is not an IP address`);
    const vFamily = bytes.length === 4 ? 4 : 6;
    vips.push({
      address: v.address,
      bytes,
      family: vFamily,
      // keepalived's default prefix for a VIP without one is a host route.
      prefix: v.prefix ?? (vFamily === 4 ? 32 : 128),
      dev: v.dev ?? inst.interface,
      ...(v.label ? { label: v.label } : {}),
      ...(excluded ? { excluded } : {}),
    });
  }

  const authHmac = planAuthHmac(inst);
  // keepalived drops the legacy authentication block beside auth_hmac.
  const auth: ExpectedAuth =
    !authHmac && version === 2 && inst.authentication?.type === 'PASS'
      ? { type: 'simple', password: simplePassword(inst.authentication.password) }
      : { type: 'none' };

  // v2 intervals are whole seconds on the wire; v3 counts centiseconds.
  const advertIntervalCs = version === 2 ? Math.max(1, Math.round(inst.advertInt)) * 100 : Math.round(inst.advertInt * 100);
  // keepalived tracks the instance's own interface (weight 0: Fault while
  // down) unless dont_track_primary; track_interface adds others.
  const tracks: TrackedObjectInput[] = [];
  const trackedNames = new Set<string>();
  const trackInterface = (name: string, weight: number) => {
    if (trackedNames.has(name)) return;
    trackedNames.add(name);
    tracks.push({ id: `interface:${name}`, weight, up: host.get(name)?.up ?? false });
  };
  // keepalived treats the deprecated global_tracking as sync_group_tracking_weight.
  const keepWeights = !syncGroup || syncGroup.syncGroupTrackingWeight || syncGroup.globalTracking;
  const weightOf = (w: number | undefined) => (keepWeights ? (w ?? 0) : 0);
  if (!inst.dontTrackPrimary) trackInterface(inst.interface, 0);
  for (const t of inst.trackInterfaces) trackInterface(t.name, weightOf(t.weight));
  for (const t of syncGroup?.trackInterfaces ?? []) trackInterface(t.name, weightOf(t.weight));
  if (sourcePending) tracks.push({ id: SOURCE_TRACK, weight: 0, up: false });
  const sourceWatch =
    family === 4 ? (inst.unicastSrcIp === undefined && inst.mcastSrcIp === undefined ? 'interface' : inst.trackSrcIp ? 'fixed' : undefined) : undefined;
  if (sourceWatch) tracks.push({ id: SOURCE_ADDRESS_TRACK, weight: 0, up: true });
  for (const ref of scriptRefsOf(inst, syncGroup)) {
    const def = scripts?.defs.find((d) => d.name === ref.name);
    if (!def) return err(`track_script ${ref.name} is not defined`, `define it with vrrp_script ${ref.name} { script ... }`);
    const t = scriptTrack(ref, def, scripts!.health(ref.name));
    tracks.push({ ...t, weight: weightOf(t.weight) });
  }
  // track_file / track_process weights follow keepalived's own rules (plan-trackers.ts).
  const groupHasOwner = syncGroup !== undefined && (scripts?.groupHasOwner?.(syncGroup.name) ?? false);
  for (const ref of fileRefsOf(inst, syncGroup, groupHasOwner, scripts?.files?.defs ?? [])) {
    if (!ref.def) return err(`track_file ${ref.name} is not defined`, `define it with track_file ${ref.name} { file PATH }`);
    tracks.push(fileTrack(ref, scripts?.files?.value(ref.name) ?? 0));
  }
  for (const ref of processRefsOf(inst, syncGroup, groupHasOwner, scripts?.processes?.defs ?? [])) {
    if (!ref.def) return err(`track_process ${ref.name} is not defined`, `define it with vrrp_track_process ${ref.name} { process NAME }`);
    tracks.push(processTrack(ref, scripts?.processes?.quorum(ref.name) ?? false));
  }
  const ms = (s: number) => Math.round(s * 1000);

  const machine: VrrpInput = {
    name: inst.name,
    vrid: inst.virtualRouterId,
    family: family === 4 ? 'ipv4' : 'ipv6',
    version,
    priority: inst.priority,
    advertIntervalCs,
    preempt: inst.preempt,
    preemptDelayMs: Math.round(inst.preemptDelay * 1000),
    primaryAddress: sourceBytes,
    virtualAddresses: vips.map((v) => v.address),
    initialState: inst.state,
    tracks,
    ...(syncGroup ? { syncGroup: syncGroup.name } : {}),
    // The model resolved vrrp_lower_prio_no_advert and vrrp_strict (config/model.ts).
    ...(inst.lowerPrioNoAdvert ? { lowerPrioNoAdvert: true } : {}),
  };

  return {
    ok: true,
    plan: {
      name: inst.name,
      vrid: inst.virtualRouterId,
      family,
      version,
      interface: inst.interface,
      source,
      sourceBytes,
      ...(sourcePending ? { sourcePending } : {}),
      ...(sourceWatch ? { sourceWatch } : {}),
      mode,
      group,
      groupBytes: parseAddress(group) ?? new Uint8Array(family === 4 ? 4 : 16),
      peers,
      auth,
      ...(authHmac ? { authHmac } : {}),
      checksumVariant: inst.v3ChecksumAsV2 ? 'without-pseudo-header' : 'with-pseudo-header',
      vips,
      advertisedAddresses: sortedBytes(advertised(vips, family).map((v) => v.bytes)),
      // The model already resolved global_defs inheritance (config/model.ts).
      garp: {
        masterDelayMs: ms(inst.garpMasterDelay),
        masterRepeat: inst.garpMasterRepeat,
        refreshMs: ms(inst.garpMasterRefresh),
        refreshRepeat: inst.garpMasterRefreshRepeat,
        lowerPrioDelayMs: ms(inst.garpLowerPrioDelay),
        lowerPrioRepeat: inst.garpLowerPrioRepeat,
        lowerPrioGapMs: advertIntervalCs * 10,
      },
      machine,
      ...(inst.handoverDrain ? { handoverDrainMs: Math.round(inst.handoverDrain * 1000) } : {}),
    },
  };
}

/** The sync group an instance belongs to (config/check.ts guarantees at most one). */
/** What planInstance needs to know of vrrp_scripts. */
export interface ScriptsView {
  defs: readonly VrrpScript[];
  /** Current health of a running script; undefined when it is not running yet. */
  health(name: string): ScriptHealth | undefined;
  /** track_file and vrrp_track_process definitions and state, for track_file / track_process entries. */
  files?: FilesView;
  processes?: ProcessesView;
  /** Whether a sync group has an address owner (priority 255) among its members: keepalived then zeroes the group's file and process weights. */
  groupHasOwner?(group: string): boolean;
}

export function scriptTrackId(name: string): string {
  return `script:${name}`;
}

/**
 * The tracked object for one track_script reference, as keepalived weighs it:
 * the reference's `weight [reverse]` when given, else the script's own.
 *
 * `reverse` is the same object with the weight negated and health inverted
 * (keepalived's multiplier of -1: the effect applies while the script succeeds).
 * Before a script's first result keepalived applies no weight at all, so an
 * unknown script starts on the side that adds nothing: up for a negative
 * weight, down for a positive one, and down (Fault) for weight 0, where
 * keepalived keeps the instance from starting until the script reports.
 */
export function scriptTrack(ref: TrackRef, def: VrrpScript, health: ScriptHealth | undefined): TrackedObjectInput & { up: boolean } {
  const [w, reverse] = ref.weight !== undefined ? [ref.weight, ref.reverse] : [def.weight, def.reverse];
  const weight = reverse ? -w : w;
  const known = health === undefined || health === 'unknown' ? (def.initFail ? 'down' : 'unknown') : health;
  const up = known === 'unknown' ? weight < 0 : reverse ? known === 'down' : known === 'up';
  return { id: scriptTrackId(ref.name), weight, up };
}

/** The track_script references of an instance, its group's included (the instance's own reference wins over its group's). */
export function scriptRefsOf(inst: VrrpInstance, syncGroup: SyncGroup | undefined): TrackRef[] {
  const seen = new Set<string>();
  return [...inst.trackScripts, ...(syncGroup?.trackScripts ?? [])].filter((r) => !seen.has(r.name) && (seen.add(r.name), true));
}

export function syncGroupOf(config: Pick<VipflowConfig, 'vrrpSyncGroups'>, instance: string): SyncGroup | undefined {
  return config.vrrpSyncGroups.find((g) => g.group.includes(instance));
}
