/**
 * keepalived's "IPVS wrapper": the virtual servers' kernel load-balancer rules,
 * kept equal to what the checkers say. The desired state is recomputed from the
 * check plan and the checkers' status (infra/lb/desired.ts) whenever health
 * changes, and applied by a backend in one transaction: IPVS where the kernel
 * has it, nftables otherwise (infra/lb/).
 *
 * Applies are coalesced: health changes during an apply lead to one more apply
 * of the newest state, never a queue of stale ones. A service the backend
 * cannot run is left out with an error naming it (the others still apply);
 * an apply the kernel refuses leaves the previous rules in place and is retried
 * at the next change. At stop the rules are removed, as keepalived does.
 */
import type { Logger } from '../core/logger.js';
import type { CheckPlan } from '../infra/check/plan.js';
import type { VirtualServerStatus } from '../infra/check/runner.js';
import { desiredLbState } from '../infra/lb/desired.js';
import { createIpvsBackend } from '../infra/lb/ipvs-backend.js';
import type { LbApplyResult, LbBackend, LbCounters, LbState } from '../infra/lb/model.js';
import { NftBackend } from '../infra/lb/nft-backend.js';
import type { EventPublisher } from './event-publisher.js';
import { lbBackendName, type LbChoice } from './lb-choice.js';

export { lbBackendName, type LbChoice } from './lb-choice.js';

export interface LoadBalancerDeps {
  log: Logger;
  choice: LbChoice;
  /** The check plan and the checkers' status, read when an apply starts. */
  snapshot: () => { plan: CheckPlan; status: VirtualServerStatus[] };
  events: () => Pick<EventPublisher, 'lbApplied'>;
  /** Tests: a backend of their own. */
  backend?: LbBackend;
}

export interface LoadBalancerStatus {
  backend: 'nftables' | 'ipvs' | 'none';
  services: number;
  destinations: number;
  applies: { ok: number; failed: number };
  last?: { ok: boolean; time: string; ms?: number; added: number; removed: number; changed: number; error?: string };
  /** Services left out because the backend cannot run them. */
  refused: { service: string; why: string }[];
  /** The applied services with their destinations and weights (what the kernel has). */
  table: {
    id: string;
    virtualServer: string;
    scheduler: string;
    lbKind: string;
    destinations: { address: string; port: number | undefined; weight: number }[];
  }[];
  counters?: LbCounters[];
}

export function pickBackend(choice: LbChoice, log: Logger): LbBackend | null {
  const name = lbBackendName(choice);
  if (name === 'none') return null;
  if (name === 'ipvs') return createIpvsBackend({ log });
  return new NftBackend({ logger: log.child({ backend: 'nftables' }) });
}

export class LoadBalancer {
  private readonly log: Logger;
  private backend: LbBackend | null = null;
  private applying: Promise<void> | null = null;
  private dirty = false;
  private stopped = false;
  private applied: LbState = { services: [] };
  private refused: LoadBalancerStatus['refused'] = [];
  private readonly counts = { ok: 0, failed: 0 };
  private last: LoadBalancerStatus['last'];

  constructor(private readonly d: LoadBalancerDeps) {
    this.log = d.log.child({ component: 'lb' });
  }

  /** Chooses the backend once there are virtual servers to balance, and applies the first state. */
  start(): void {
    if (this.d.snapshot().plan.virtualServers.length === 0) return;
    this.ensureBackend();
    this.changed();
  }

  /** Health or configuration changed: apply the newest state (coalesced). */
  changed(): void {
    if (this.stopped) return;
    if (this.backend === null) {
      if (this.d.choice === 'none' || this.d.snapshot().plan.virtualServers.length === 0) return;
      this.ensureBackend();
      if (this.backend === null) return;
    }
    this.dirty = true;
    // One apply at a time; a change meanwhile runs once more with the newest state.
    this.applying ??= this.drain().finally(() => (this.applying = null));
  }

  /** Removes every rule this daemon installed (keepalived's clear_services at shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.applying;
    if (this.backend === null || this.applied.services.length === 0) return;
    await this.backend.clear();
    this.log.info({ services: this.applied.services.length }, 'load-balancer rules removed');
  }

  status(): LoadBalancerStatus {
    const destinations = this.applied.services.reduce((n, s) => n + s.destinations.length, 0);
    return {
      backend: this.backend?.name ?? 'none',
      services: this.applied.services.length,
      destinations,
      applies: { ...this.counts },
      ...(this.last !== undefined ? { last: this.last } : {}),
      refused: [...this.refused],
      table: this.applied.services.map((s) => ({
        id: s.id,
        virtualServer: s.virtualServer,
        scheduler: s.scheduler,
        lbKind: s.lbKind,
        destinations: s.destinations.map((d) => ({ address: d.address, port: d.port, weight: d.weight })),
      })),
    };
  }

  /** The backend's packet, byte and connection counters, bounded in time. */
  async counters(timeoutMs = 2000): Promise<LbCounters[] | undefined> {
    if (this.backend === null || this.applied.services.length === 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
    try {
      return await Promise.race([this.backend.counters(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ensureBackend(): void {
    if (this.backend !== null) return;
    this.backend = this.d.backend ?? pickBackend(this.d.choice, this.d.log);
    if (this.backend !== null)
      this.log.info(
        { backend: this.backend.name, choice: this.d.choice },
        `virtual servers are balanced by ${this.backend.name === 'ipvs' ? 'IPVS' : 'nftables'}`,
      );
  }

  private async drain(): Promise<void> {
    // Let the current burst of health changes (a reload, many checkers at once) settle into one apply.
    await new Promise((r) => setImmediate(r));
    while (this.dirty && !this.stopped && this.backend !== null) {
      this.dirty = false;
      await this.applyOnce(this.backend);
    }
  }

  private async applyOnce(backend: LbBackend): Promise<void> {
    let desired: LbState;
    try {
      const { plan, status } = this.d.snapshot();
      desired = desiredLbState(plan.virtualServers, status);
    } catch (err) {
      this.log.error({ err }, 'cannot compute the load-balancer state');
      return;
    }
    const refused: LoadBalancerStatus['refused'] = [];
    const runnable = desired.services.filter((s) => {
      const why = backend.unsupported(s);
      if (why === null) return true;
      refused.push({ service: s.id, why });
      return false;
    });
    for (const r of refused) if (!this.refused.some((x) => x.service === r.service && x.why === r.why)) this.log.error({ service: r.service }, r.why);
    this.refused = refused;
    const result: LbApplyResult = await backend.apply({ services: runnable });
    const time = new Date().toISOString();
    const diff = result.diff;
    if (result.ok) {
      this.counts.ok++;
      this.applied = { services: runnable };
      this.last = { ok: true, time, ms: Math.round(result.ms * 10) / 10, added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length };
    } else {
      this.counts.failed++;
      this.last = { ok: false, time, added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length, error: result.error };
      this.log.error({ error: result.error }, 'load-balancer rules not applied: the previous rules stay');
    }
    if (result.ok && diff.added.length + diff.removed.length + diff.changed.length === 0) return;
    this.d.events().lbApplied({
      backend: backend.name,
      ok: result.ok,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
      ...(result.ok ? { ms: Math.max(0, Math.round(result.ms)) } : { error: result.error }),
    });
  }
}
