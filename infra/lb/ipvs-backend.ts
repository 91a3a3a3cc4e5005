/**
 * The IPVS load-balancer backend: reads the kernel table with `ipvsadm -Ln`,
 * plans the smallest edit (ipvs-render.ts) and feeds it to one `ipvsadm -R`.
 * Every ipvsadm run is bounded in time; nothing here throws: failures come
 * back as LbApplyResult errors with ipvsadm's own words.
 *
 * IPVS has no transactions: if the kernel refuses a command half-way, the
 * commands before it stay applied. The error says so, and the next apply
 * starts again from what the kernel then lists.
 *
 * Ownership: the IPVS table is shared with anything else on the host (an
 * operator's ipvsadm, kube-proxy). The backend deletes only services it put
 * there or adopted (desired by an apply) in this process; others are logged
 * and left, unless `ownAll` says the table is vipflow's alone.
 */
import { runBounded, type RunResult } from '../host/run-bounded.js';
import type { Logger } from '../../core/logger.js';
import type { LbApplyResult, LbBackend, LbCounters, LbDiff, LbState, LbVirtualService } from './model.js';
import { parseIpvsList, parseIpvsStats } from './ipvs-parse.js';
import { planIpvsState, restoreScript } from './ipvs-render.js';
import { ipvsUnsupported, serviceId, serviceKey, toIpvsService, type IpvsService } from './ipvs-service.js';

export { ipvsAvailable } from './ipvs-presence.js';

export interface IpvsBackendOptions {
  log: Logger;
  /** Default `ipvsadm` from PATH. */
  ipvsadm?: string;
  /** Bound for listing the table (ms). Default 5000. */
  listTimeoutMs?: number;
  /** Bound for one `ipvsadm -R` run of a whole plan (ms). Default 30000. */
  restoreTimeoutMs?: number;
  /** Delete installed services vipflow did not install (default false). */
  ownAll?: boolean;
}

/** ipvsadm's complaint in one line (it prints two for a kernel without IPVS, twice over). */
function failureText(what: string, r: RunResult): string {
  const lines = [
    ...new Set(
      r.stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    ),
  ];
  const why = lines.join(' ') || r.error || `exit ${r.code}`;
  return `${what} failed (${r.code === null ? r.error : `exit ${r.code}`}): ${why}`;
}

const EMPTY_DIFF = (): LbDiff => ({ added: [], removed: [], changed: [] });

export function createIpvsBackend(o: IpvsBackendOptions): LbBackend {
  const bin = o.ipvsadm ?? 'ipvsadm';
  const listTimeout = o.listTimeoutMs ?? 5000;
  const restoreTimeout = o.restoreTimeoutMs ?? 30_000;
  const log = o.log.child({ backend: 'ipvs' });
  /** Keys of the services this process installed or adopted. */
  const mine = new Set<string>();
  /** Service key to the id the caller gave it, for the diff. */
  const ids = new Map<string, string>();
  /** serviceId of a listed service (what the parsers name it) to the caller's id, for counters. */
  const idByListedId = new Map<string, string>();
  const reportedForeign = new Set<string>();

  async function readTable(): Promise<{ ok: true; services: IpvsService[] } | { ok: false; error: string }> {
    const r = await runBounded(bin, ['-Ln'], listTimeout);
    if (r.code !== 0) return { ok: false, error: failureText('ipvsadm -Ln', r) };
    const parsed = parseIpvsList(r.stdout);
    if (!parsed.ok) return { ok: false, error: `cannot read ipvsadm -Ln: ${parsed.error}` };
    return { ok: true, services: parsed.value };
  }

  async function apply(desired: LbState): Promise<LbApplyResult> {
    const t0 = performance.now();
    try {
      const refused = desired.services.map((s) => ipvsUnsupported(s)).filter((e): e is string => e !== null);
      const keys = new Map<string, string>();
      for (const s of desired.services) {
        const key = serviceKey(toIpvsService(s).service);
        const other = keys.get(key);
        if (other !== undefined) refused.push(`virtual services ${other} and ${s.id} are the same IPVS service (${key})`);
        keys.set(key, s.id);
      }
      if (refused.length > 0) return { ok: false, error: refused.join('; '), diff: EMPTY_DIFF() };
      const table = await readTable();
      if (!table.ok) return { ok: false, error: table.error, diff: EMPTY_DIFF() };
      const owns = (s: IpvsService) => {
        if (o.ownAll || mine.has(s.key)) return true;
        if (!reportedForeign.has(s.key)) {
          reportedForeign.add(s.key);
          log.info({ service: serviceId(s.service) }, 'leaving an IPVS service vipflow did not install');
        }
        return false;
      };
      const plan = planIpvsState(table.services, desired, (s) => ids.get(s.key) ?? serviceId(s.service), { owns });
      if (plan.commands.length > 0) {
        const r = await runBounded(bin, ['-R'], restoreTimeout, restoreScript(plan.commands));
        if (r.code !== 0) {
          const error = `${failureText(`ipvsadm -R (${plan.commands.length} commands)`, r)}; IPVS has no transactions, so commands before the failing one may be applied`;
          log.error({ diff: plan.diff, error }, 'IPVS apply failed');
          return { ok: false, error, diff: plan.diff };
        }
      }
      for (const s of table.services) if (plan.diff.removed.includes(ids.get(s.key) ?? serviceId(s.service))) mine.delete(s.key);
      for (const s of desired.services) {
        const svc = toIpvsService(s).service;
        mine.add(serviceKey(svc));
        ids.set(serviceKey(svc), s.id);
        idByListedId.set(serviceId(svc), s.id);
      }
      const ms = performance.now() - t0;
      log.info({ diff: plan.diff, commands: plan.commands.length, ms }, 'IPVS applied');
      return { ok: true, diff: plan.diff, ms };
    } catch (e) {
      // A programmer mistake must still not take the daemon down through a backend.
      return { ok: false, error: `IPVS apply: ${(e as Error).message}`, diff: EMPTY_DIFF() };
    }
  }

  async function counters(): Promise<LbCounters[]> {
    const r = await runBounded(bin, ['-Ln', '--stats', '--exact'], listTimeout);
    if (r.code !== 0) {
      log.warn({ error: failureText('ipvsadm -Ln --stats', r) }, 'IPVS counters unavailable');
      return [];
    }
    const parsed = parseIpvsStats(r.stdout);
    if (!parsed.ok) {
      log.warn({ error: parsed.error }, 'cannot read IPVS counters');
      return [];
    }
    return parsed.value.map((c) => ({ ...c, id: idByListedId.get(c.id) ?? c.id }));
  }

  async function clear(): Promise<void> {
    const table = await readTable();
    if (!table.ok) {
      log.warn({ error: table.error }, 'IPVS clear: cannot list the table');
      return;
    }
    const ours = table.services.filter((s) => o.ownAll || mine.has(s.key));
    if (ours.length === 0) return;
    const plan = planIpvsState(ours, { services: [] }, (s) => serviceId(s.service));
    const r = await runBounded(bin, ['-R'], restoreTimeout, restoreScript(plan.commands));
    if (r.code !== 0) log.warn({ error: failureText('ipvsadm -R', r) }, 'IPVS clear failed');
    else {
      mine.clear();
      log.info({ removed: plan.diff.removed }, 'IPVS services removed');
    }
  }

  return {
    name: 'ipvs',
    unsupported: (s: LbVirtualService) => ipvsUnsupported(s),
    apply,
    counters,
    clear,
  };
}
