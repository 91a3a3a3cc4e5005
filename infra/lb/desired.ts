/**
 * The load balancer's desired state from the checker plan and the check
 * runner's status, with keepalived's rules (keepalived/check/ipwrapper.c,
 * ipvswrapper.c). Pure: the backends (nft-backend.ts, IPVS) make it real.
 *
 * Per virtual server, while the sorry server is not active:
 *  - an alive real server is a destination at its current weight (misc_dynamic
 *    may have made it 0: present, no new connections);
 *  - a dead one is removed, or kept at weight 0 with inhibit_on_failure
 *    (ipvs_cmd turns DELDEST into EDITDEST weight 0), so its established
 *    connections finish;
 *  - a sorry server with sorry_server_inhibit is present at weight 0
 *    (init_service_vs adds it with num_failed_checkers = 1), unless it is also
 *    one of the real servers (s_svr_duplicates_rs).
 * While the sorry server is active (quorum lost, update_quorum_state):
 *  - every real server is removed (perform_quorum_state with add = false), which
 *    with inhibit_on_failure again means weight 0;
 *  - the sorry server is the one destination taking connections, at weight 1
 *    (alloc_ssvr's weight).
 */
import type { VirtualServerPlan } from '../check/plan.js';
import type { VirtualServerStatus } from '../check/runner.js';
import type { LbDestination, LbService, LbState, LbVirtualService } from './model.js';

/** alloc_ssvr: the sorry server's weight */
const SORRY_WEIGHT = 1;

export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** `198.18.0.100:80/tcp`, `[fd00::1]:80/tcp`, `fwmark:1/v4`: keepalived's own way to name a service, plus the protocol. */
export function serviceId(s: LbService): string {
  if (s.kind === 'fwmark') return `fwmark:${s.fwmark}/v${s.family}`;
  const host = s.family === 6 ? `[${s.address}]` : s.address;
  return `${host}:${s.port}/${s.protocol}`;
}

function destKey(d: { address: string; port: number | undefined }): string {
  return `${d.address}|${d.port ?? ''}`;
}

/** The destinations of one virtual server as keepalived would have them in IPVS, for a service port (a group's entries differ). */
function destinationsOf(vs: VirtualServerPlan, status: VirtualServerStatus | undefined, servicePort: number | undefined): LbDestination[] {
  const byKey = new Map<string, LbDestination>();
  const put = (d: LbDestination): void => void byKey.set(destKey(d), d);
  const sorryActive = status?.sorryActive ?? false;
  for (const rs of vs.realServers) {
    const st = status?.realServers.find((r) => r.id === rs.id);
    // No status yet: keepalived adds a non-alpha real server at start (init_service_rs), an alpha one once a check succeeds.
    const alive = st?.alive ?? !rs.alpha;
    const weight = st?.weight ?? rs.weight;
    const port = rs.port ?? servicePort;
    if (sorryActive) {
      if (rs.inhibitOnFailure) put({ address: rs.address, port, weight: 0 });
    } else if (alive) put({ address: rs.address, port, weight: Math.max(0, weight) });
    else if (rs.inhibitOnFailure) put({ address: rs.address, port, weight: 0 });
  }
  const ss = vs.sorryServer;
  if (ss !== undefined) {
    const d = { address: ss.address, port: ss.port ?? servicePort };
    const duplicatesRs = vs.realServers.some((rs) => destKey({ address: rs.address, port: rs.port ?? servicePort }) === destKey(d));
    if (sorryActive) put({ ...d, weight: SORRY_WEIGHT });
    else if (ss.inhibit && !duplicatesRs) put({ ...d, weight: 0 });
  }
  return [...byKey.values()];
}

/** The family of a fwmark service: ip_family, else its first real server's (keepalived takes the real servers' family). */
function fwmarkFamily(vs: VirtualServerPlan): 4 | 6 {
  if (vs.lb.family !== undefined) return vs.lb.family;
  const first = vs.realServers[0]?.address ?? vs.sorryServer?.address;
  return first === undefined ? 4 : familyOf(first);
}

/**
 * Every service of every virtual server with its destinations. A virtual
 * server without a status entry is planned as keepalived starts it.
 */
export function desiredLbState(virtualServers: readonly VirtualServerPlan[], statuses: readonly VirtualServerStatus[]): LbState {
  const services: LbVirtualService[] = [];
  for (const vs of virtualServers) {
    const status = statuses.find((s) => s.id === vs.id);
    for (const addr of vs.services) {
      const service: LbService =
        addr.kind === 'fwmark'
          ? { kind: 'fwmark', family: fwmarkFamily(vs), fwmark: addr.fwmark }
          : // A port-less service is IPVS's port 0 (every port; keepalived requires persistence for it).
            { kind: 'address', family: familyOf(addr.address), protocol: vs.lb.protocol, address: addr.address, port: addr.port ?? 0 };
      const servicePort = addr.kind === 'address' ? addr.port : undefined;
      services.push({
        id: serviceId(service),
        virtualServer: vs.id,
        service,
        scheduler: vs.lb.scheduler,
        lbKind: vs.lb.lbKind,
        ...(vs.lb.persistenceTimeoutS !== undefined ? { persistenceTimeoutS: vs.lb.persistenceTimeoutS } : {}),
        ...(vs.lb.persistenceGranularity !== undefined ? { persistenceGranularity: vs.lb.persistenceGranularity } : {}),
        destinations: destinationsOf(vs, status, servicePort),
      });
    }
  }
  return { services };
}

/** What changed between two states, by service id (a service is changed when anything in it differs). */
export function diffLbState(before: LbState | undefined, after: LbState): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map((before?.services ?? []).map((s) => [s.id, s]));
  const now = new Map(after.services.map((s) => [s.id, s]));
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.keys()].filter((id) => old.has(id) && canonical(old.get(id)!) !== canonical(now.get(id)!));
  return { added, removed, changed };
}

function canonical(s: LbVirtualService): string {
  const dests = [...s.destinations].sort((a, b) => destKey(a).localeCompare(destKey(b)));
  return JSON.stringify({ ...s, destinations: dests });
}
