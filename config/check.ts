/**
 * Semantic checks on a validated model: what keepalived itself refuses or
 * warns about once every keyword has parsed. Each finding points at the
 * source text when the model came from a file (origins), else at the file.
 */
import { checkAuthHmac } from './auth-hmac.js';
import { canonicalIp } from '../core/address.js';
import { didYouMean, type Diagnostic, type Severity, type SourcePos } from './diagnostics.js';
import type { OriginLookup } from './keepalived/mapper.js';
import { DNS_CHECK_TYPES, type Checker, type VipflowConfig, type VrrpInstance } from './model.js';
import { parseCidr } from './net.js';
import { hostFindings, type HostFacts } from './host-check.js';
import { nftUnsupportedKind, nftUnsupportedScheduler, type LbBackendName } from './lb-support.js';
import { advertIntBounds, KEEPALIVED_VERSION } from './ranges.js';

export interface CheckOptions {
  /** Addresses (ADDR/PREFIX) configured on each interface, when known (the daemon passes them; tests may). */
  interfaceAddresses?: Readonly<Record<string, readonly string[]>>;
  /** The host the config will run on (config/host-check.ts); wins over interfaceAddresses. Undefined: no host checks. */
  host?: HostFacts;
  /** Origins of model fields by dot-path (from the keepalived loader). */
  origins?: OriginLookup;
  /** File named in diagnostics that have no origin. */
  file?: string;
  /** The load balancer that will run the virtual servers: what it cannot balance is an error. Undefined: not checked. */
  lbBackend?: LbBackendName;
}

class Findings {
  readonly items: Diagnostic[] = [];
  constructor(private readonly opts: CheckOptions) {}

  /** The source position of the deepest known prefix of `path`. */
  at(path: string): SourcePos {
    const o = this.opts.origins;
    if (o) {
      let p = path;
      for (;;) {
        const hit = o.get(p);
        if (hit) return hit.token;
        const dot = p.lastIndexOf('.');
        if (dot < 0) break;
        p = p.slice(0, dot);
      }
    }
    return { file: this.opts.file ?? '<config>', line: 0, column: 0 };
  }

  /** The keyword that set `path`, when the model came from a keepalived file. */
  keywordAt(path: string): string | undefined {
    return this.opts.origins?.get(path)?.keyword;
  }

  add(severity: Severity, path: string, message: string, extra: { hint?: string; text?: string } = {}): void {
    const pos = this.at(path);
    const d: Diagnostic = { severity, file: pos.file, line: pos.line, column: pos.column, message };
    if (extra.hint !== undefined) d.hint = extra.hint;
    const text = extra.text ?? this.opts.origins?.get(path)?.token.text;
    if (text !== undefined) d.text = text;
    this.items.push(d);
  }
}

/** The keepalived keyword for a model field name (virtualRouterId → virtual_router_id). */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** keepalived's read_hex_str accepts hex digits (and x wildcards where allowed) in blank-separated groups. */
const hexString = (text: string, wildcards: boolean): boolean =>
  (wildcards ? /^[\s0-9a-fA-FxX]*[0-9a-fA-FxX][\s0-9a-fA-FxX]*$/ : /^[\s0-9a-fA-F]*[0-9a-fA-F][\s0-9a-fA-F]*$/).test(text);

/** What keepalived's DNS_CHECK, UDP_CHECK and FILE_CHECK handlers report and then run without. */
function checkChecker(f: Findings, c: Checker, path: string, trackFiles: ReadonlySet<string>): void {
  // Node's TCP and UDP sockets cannot set SO_BINDTODEVICE or SO_MARK; only PING_CHECK's own socket binds to a device.
  const unsupported = [c.type !== 'PING_CHECK' && c.bindIf !== undefined ? 'bind_if' : '', c.fwmark !== undefined ? 'fwmark' : ''].filter((k) => k !== '');
  for (const k of unsupported)
    f.add(
      'warning',
      `${path}.${k === 'bind_if' ? 'bindIf' : 'fwmark'}`,
      `${k} in ${c.type} is not supported by vipflow yet - ignored (the check leaves by the routing table's choice)`,
    );
  if ((c.type === 'HTTP_GET' || c.type === 'SSL_GET') && c.fastRecovery)
    f.add('warning', `${path}.fastRecovery`, `fast_recovery in ${c.type} is not supported by vipflow yet - ignored (checks keep their delay_loop)`);
  if (c.type === 'DNS_CHECK') {
    if (c.queryType !== undefined && DNS_CHECK_TYPES[c.queryType.toUpperCase()] === undefined)
      f.add('warning', `${path}.queryType`, `Unknown DNS check type ${c.queryType} - ignoring (SOA is used)`, {
        ...didYouMean(c.queryType.toUpperCase(), Object.keys(DNS_CHECK_TYPES)),
      });
    if (c.name !== undefined && c.name !== '.' && (c.name.startsWith('.') || c.name.includes('..')))
      f.add('warning', `${path}.name`, `DNS_CHECK name '${c.name}' has empty label - ignoring (the root is queried)`);
  } else if (c.type === 'UDP_CHECK') {
    if (c.payload !== undefined && !hexString(c.payload, false))
      f.add('warning', `${path}.payload`, 'Invalid hex string for UDP_CHECK payload (keepalived sends its own filler)');
    if (typeof c.requireReply === 'string' && !hexString(c.requireReply, true))
      f.add('warning', `${path}.requireReply`, 'Invalid hex string for UDP_CHECK reply (any reply is accepted)');
    const min = c.minReplyLength ?? 0;
    const max = c.maxReplyLength ?? 255;
    if (min > max) f.add('warning', `${path}.minReplyLength`, `UDP_CHECK min_reply length ${min} > max_reply_length ${max} - will always fail`);
  } else if (c.type === 'FILE_CHECK' && !trackFiles.has(c.trackFile)) {
    f.add('warning', `${path}.trackFile`, `track_file ${c.trackFile} not found - FILE_CHECK ignored`, { ...didYouMean(c.trackFile, [...trackFiles]) });
  }
}

function instPath(k: number): string {
  return `vrrpInstances.${k}`;
}

/** Whether two instances can share a VRID on one interface (keepalived's exceptions). */
function canShareVrid(a: VrrpInstance, b: VrrpInstance): boolean {
  if (a.unicastPeers.length > 0 && b.unicastPeers.length > 0) {
    const pa = new Set(a.unicastPeers.map((p) => p.address));
    return !b.unicastPeers.some((p) => pa.has(p.address));
  }
  return (a.mcastDstIp ?? '') !== (b.mcastDstIp ?? '');
}

function checkAdvertInt(f: Findings, inst: VrrpInstance, k: number): void {
  const v = inst.advertInt;
  if (inst.version === 2) {
    if (!Number.isInteger(v) || v < 1 || v > 255) {
      f.add('error', `${instPath(k)}.advertInt`, `advert_int ${v} is out of range for VRRPv2: keepalived ${KEEPALIVED_VERSION} accepts ${advertIntBounds(2)}`);
    }
  } else {
    const centis = Math.round(v * 100);
    if (centis < 1 || centis > 4095 || Math.abs(centis - v * 100) > 1e-6) {
      f.add('error', `${instPath(k)}.advertInt`, `advert_int ${v} is out of range for VRRPv3: keepalived ${KEEPALIVED_VERSION} accepts ${advertIntBounds(3)}`);
    }
  }
}

type TrackOwner = { trackScripts: { name: string }[]; trackFiles: { name: string }[]; trackProcesses: { name: string }[] };

interface TrackKind {
  key: keyof TrackOwner;
  keyword: string;
  definedBy: string;
  names: string[];
  defined: ReadonlySet<string>;
}

/** The three kinds of tracked objects an instance or sync group may reference, built once per model. */
function trackKinds(model: VipflowConfig): TrackKind[] {
  const kind = (key: keyof TrackOwner, keyword: string, definedBy: string, names: string[]): TrackKind => ({
    key,
    keyword,
    definedBy,
    names,
    defined: new Set(names),
  });
  return [
    kind(
      'trackScripts',
      'track_script',
      'vrrp_script',
      model.vrrpScripts.map((s) => s.name),
    ),
    kind(
      'trackFiles',
      'track_file',
      'track_file',
      model.trackFiles.map((s) => s.name),
    ),
    kind(
      'trackProcesses',
      'track_process',
      'vrrp_track_process',
      model.trackProcesses.map((s) => s.name),
    ),
  ];
}

function checkReferences(f: Findings, kinds: readonly TrackKind[], owner: TrackOwner, path: string): void {
  for (const k of kinds) {
    owner[k.key].forEach((ref, i) => {
      if (!k.defined.has(ref.name)) {
        f.add('error', `${path}.${k.key}.${i}`, `${k.keyword} '${ref.name}' is not defined by any ${k.definedBy} block`, {
          text: ref.name,
          ...didYouMean(ref.name, k.names),
        });
      }
    });
  }
}

/** Runs every semantic check; returns diagnostics (never throws). */
/** Virtual servers nftables cannot balance: refused as a whole file, so no rule is half-applied. */
function checkNftables(f: Findings, model: VipflowConfig): void {
  const hint = 'vipflow balances on nftables here (no IPVS in this kernel, or --lb nftables); --lb none runs the checkers without load-balancer rules';
  model.virtualServers.forEach((vs, k) => {
    const scheduler = nftUnsupportedScheduler(vs.lbAlgo);
    if (scheduler !== null) f.add('error', `virtualServers.${k}.lbAlgo`, scheduler, { hint });
    const kind = nftUnsupportedKind(vs.lbKind);
    if (kind !== null) f.add('error', `virtualServers.${k}.lbKind`, kind, { hint });
  });
}

export function checkModel(model: VipflowConfig, opts: CheckOptions = {}): Diagnostic[] {
  const f = new Findings(opts);
  const vridOwners = new Map<string, number>();
  const kinds = trackKinds(model);

  model.vrrpInstances.forEach((inst, k) => {
    const p = instPath(k);
    checkAdvertInt(f, inst, k);
    for (const c of inst.corrections) {
      // keepalived applies each correction with a message and runs (authentication on v3 included): warnings.
      const keyword = f.keywordAt(`${p}.${c.field}`) ?? snake(c.field);
      f.add('warning', `${p}.${c.field}`, `vrrp_instance ${inst.name}: '${keyword}': ${c.message}`, { text: keyword });
    }
    for (const a of checkAuthHmac(inst)) f.add(a.severity, `${p}.${a.field}`, a.message);
    if (inst.strictMode && inst.unicastPeers.length > 0) {
      f.add('error', `${p}.unicastPeers`, `vrrp_instance ${inst.name}: unicast peers are not supported in strict mode (keepalived disables the instance)`);
    }
    if (inst.virtualIpaddress.length === 0 && !inst.noVirtualIpaddress) {
      f.add(
        'warning',
        p,
        `vrrp_instance ${inst.name} has no virtual_ipaddress; it runs without one, as keepalived does ("No VIP specified; at least one is sensible"; no_virtual_ipaddress silences this)`,
      );
    }
    inst.virtualIpaddress.forEach((vip, i) => {
      const fam = parseCidr(vip.address)?.family;
      if (fam !== undefined && fam !== inst.family) {
        f.add(
          'warning',
          `${p}.virtualIpaddress.${i}`,
          `virtual_ipaddress ${vip.address} is IPv${fam} but the instance is IPv${inst.family}: vipflow adds it as an excluded address (not advertised); keepalived 2.2.7 ignores it`,
        );
      }
    });
    if (inst.state === 'MASTER' && !inst.preempt) {
      f.add('warning', `${p}.preempt`, `nopreempt has no effect with initial state MASTER (vrrp_instance ${inst.name})`);
    }
    // Duplicate VRID: one socket per interface and family carries all of them.
    const iface = inst.interface ?? model.global.defaultInterface ?? '';
    const key = `${iface}|${inst.family}|${inst.virtualRouterId}`;
    const prev = vridOwners.get(key);
    if (prev !== undefined && !canShareVrid(model.vrrpInstances[prev]!, inst)) {
      const other = model.vrrpInstances[prev]!;
      f.add(
        'error',
        `${p}.virtualRouterId`,
        `virtual_router_id ${inst.virtualRouterId} on ${iface || 'the default interface'} (IPv${inst.family}) is already used by vrrp_instance ${other.name}`,
      );
    } else if (prev === undefined) vridOwners.set(key, k);

    if (inst.unicastSrcIp !== undefined) {
      inst.unicastPeers.forEach((peer, i) => {
        if (peer.address === inst.unicastSrcIp) f.add('error', `${p}.unicastPeers.${i}`, `unicast_peer ${peer.address} is this instance's own unicast_src_ip`);
      });
    }
    inst.unicastPeers.forEach((peer, i) => {
      if (peer.minTtl !== undefined && peer.maxTtl !== undefined && peer.minTtl > peer.maxTtl) {
        // keepalived runs this and drops every advert from the peer; so does vipflow, loudly.
        f.add(
          'warning',
          `${p}.unicastPeers.${i}`,
          `unicast_peer ${peer.address}: min_ttl ${peer.minTtl} is above max_ttl ${peer.maxTtl}, so every advert from it is dropped, as keepalived does ("all packets will be discarded")`,
        );
      }
    });
    checkReferences(f, kinds, inst, p);
  });

  const instanceNames = model.vrrpInstances.map((i) => i.name);
  const defined = new Set(instanceNames);
  const inGroup = new Map<string, string>();
  model.vrrpSyncGroups.forEach((g, k) => {
    const p = `vrrpSyncGroups.${k}`;
    g.group.forEach((member, i) => {
      if (!defined.has(member)) {
        f.add('error', `${p}.group.${i}`, `vrrp_sync_group ${g.name} names undefined vrrp_instance '${member}'`, {
          text: member,
          ...didYouMean(member, instanceNames),
        });
      } else if (inGroup.has(member)) {
        f.add('error', `${p}.group.${i}`, `vrrp_instance ${member} is already in vrrp_sync_group ${inGroup.get(member)}`, { text: member });
      } else inGroup.set(member, g.name);
    });
    checkReferences(f, kinds, g, p);
  });

  const dupNames = (list: { name: string }[], path: string, what: string): void => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.name)) f.add('error', `${path}.${i}`, `${what} '${x.name}' is defined twice`, { text: x.name });
      seen.add(x.name);
    });
  };
  dupNames(model.vrrpInstances, 'vrrpInstances', 'vrrp_instance');
  dupNames(model.vrrpScripts, 'vrrpScripts', 'vrrp_script');
  dupNames(model.vrrpSyncGroups, 'vrrpSyncGroups', 'vrrp_sync_group');

  const host = opts.host ?? (opts.interfaceAddresses ? { interfaces: opts.interfaceAddresses } : undefined);
  if (host) for (const h of hostFindings(model, host)) f.add(h.severity, h.path, h.message);
  checkVirtualServerAddresses(f, model);
  if (opts.lbBackend === 'nftables') checkNftables(f, model);
  const groups = new Set(model.virtualServerGroups.map((g) => g.name));
  const trackFileNames = new Set(model.trackFiles.map((t) => t.name));
  model.virtualServers.forEach((vs, k) => {
    vs.realServers.forEach((rs, j) => rs.checkers.forEach((c, i) => checkChecker(f, c, `virtualServers.${k}.realServers.${j}.checkers.${i}`, trackFileNames)));
    if (vs.target.kind === 'group' && !groups.has(vs.target.group)) {
      f.add('error', `virtualServers.${k}.target`, `virtual_server group '${vs.target.group}' is not defined by any virtual_server_group`, {
        ...didYouMean(vs.target.group, [...groups]),
      });
    }
  });
  return f.items;
}

/** One spelling per address (IPv6 has many), for comparing addresses from different lines. */
/** One text per address (IPv6 in RFC 5952 form), so differently written equal addresses compare equal. */
function canonicalAddress(a: string): string {
  return canonicalIp(a).toLowerCase();
}

/**
 * Two virtual servers on one service (address, port and protocol, or fwmark and
 * family) would be one kernel service with two owners: each reload or health
 * change of one would overwrite the other's real servers. A real server on the
 * VIP itself would send the balanced traffic back to the service. Both are errors.
 */
function checkVirtualServerAddresses(f: Findings, model: VipflowConfig): void {
  const seen = new Map<string, number>();
  model.virtualServers.forEach((vs, k) => {
    const t = vs.target;
    let key: string | undefined;
    let name: string | undefined;
    if (t.kind === 'address') {
      name = `${t.address}${t.port !== undefined ? ` ${t.port}` : ''} ${vs.protocol}`;
      key = `a|${canonicalAddress(t.address)}|${t.port ?? 0}|${vs.protocol}`;
    } else if (t.kind === 'fwmark') {
      const family = vs.ipFamily ?? (vs.realServers[0]?.address.includes(':') ? 'inet6' : 'inet');
      name = `fwmark ${t.fwmark} ${family}`;
      key = `f|${t.fwmark}|${family}`;
    }
    if (key !== undefined) {
      const first = seen.get(key);
      if (first !== undefined) {
        const at = f.at(`virtualServers.${first}.target`);
        f.add(
          'error',
          `virtualServers.${k}.target`,
          `virtual_server ${name} is already defined at ${at.file}:${at.line}: one service cannot have two virtual_server blocks`,
        );
      } else seen.set(key, k);
    }
    if (t.kind !== 'address') return;
    const vip = canonicalAddress(t.address);
    // The VIP itself on another port is a local real server (IPVS forwards it locally, DNAT to a local port
    // works): only the same address and port would send the service's traffic back to itself.
    vs.realServers.forEach((rs, j) => {
      // The port first: it is cheap, and a reload of a large config checks every real server.
      if ((rs.port ?? t.port) === t.port && canonicalAddress(rs.address) === vip)
        f.add(
          'error',
          `virtualServers.${k}.realServers.${j}`,
          `real_server ${rs.address}${rs.port !== undefined ? ` ${rs.port}` : ''} of virtual_server ${t.address}${t.port !== undefined ? ` ${t.port}` : ''} is the virtual server itself: its traffic would come back to the service`,
        );
    });
  });
}
