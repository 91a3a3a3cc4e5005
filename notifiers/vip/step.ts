/**
 * The VIP readiness step: waits (bounded) until this node's daemon is Master
 * of the instance, its VIPs are on the interfaces, and the announcement burst
 * of this Mastership went out. Asks the daemon's control socket for status and
 * reads the namespace's addresses; changes nothing, so a dry run only records intent.
 */
import { networkInterfaces } from 'node:os';
import { controlRequest } from '../../infra/control/control-socket.js';
import { instanceOf } from '../../infra/events/schema.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { controlSocketPath, parseVipOptions, type ResolvedVipOptions, type VipOptions } from './options.js';
import { checkVipReadiness, normalizeAddress, type HeldAddresses } from './readiness.js';

export interface VipReadyReport {
  instance: string;
  addresses: string[];
  framesSinceMaster: number | null;
  waitedMs: number;
}

/**
 * A workflow step that waits for this node to hold and announce the instance's VIPs.
 * Step defaults: name `vip-ready`, timeout the option timeoutMs + 1 s.
 * @throws Error naming the bad option (at definition time).
 */
export function vipReadyStep(options: VipOptions = {}, step: StepSettings = {}): WorkflowStep {
  const o = parseVipOptions(options);
  return {
    name: step.name ?? 'vip-ready',
    timeoutMs: step.timeoutMs ?? o.timeoutMs + 1000,
    ...(step.retry ? { retry: step.retry } : {}),
    run: (ctx) => waitVipReady(o, ctx),
  };
}

/** The current network namespace's addresses per interface. */
export function readHeldAddresses(): HeldAddresses {
  const out = new Map<string, Set<string>>();
  for (const [dev, list] of Object.entries(networkInterfaces())) out.set(dev, new Set((list ?? []).map((a) => normalizeAddress(a.address))));
  return out;
}

/** Runs the wait with validated options; rejects with an Error listing what was still missing. */
export async function waitVipReady(o: ResolvedVipOptions, ctx: StepContext): Promise<VipReadyReport | undefined> {
  const instance = o.instance ?? instanceOf(ctx.event);
  if (instance === undefined) throw new Error(`vip-ready: event ${ctx.event.type} names no instance; set the instance option`);
  const socket = controlSocketPath(o, process.env);
  if (!socket.ok) throw new Error(socket.error);
  ctx.intend('wait until this node is master with the VIPs bound and announced', {
    instance,
    controlSocket: socket.path,
    ...(o.addresses ? { addresses: o.addresses } : {}),
    timeoutMs: o.timeoutMs,
  });
  if (ctx.dryRun) return undefined;

  const t0 = performance.now();
  const deadline = t0 + o.timeoutMs;
  let missing: string[] = [];
  for (;;) {
    const left = deadline - performance.now();
    let status: unknown;
    try {
      const reply = await controlRequest(socket.path, 'status', Math.max(50, Math.min(1000, left)));
      if (reply.ok) status = reply.status;
      else missing = [`control socket ${socket.path} answered: ${reply.error ?? 'error'}`];
    } catch (e) {
      missing = [`no status from ${socket.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`];
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (status !== undefined) {
      const v = checkVipReadiness({
        instance,
        status,
        held: readHeldAddresses(),
        requireAnnouncement: o.requireAnnouncement,
        ...(o.addresses ? { addresses: o.addresses } : {}),
      });
      if (v.ready) {
        const report = {
          instance,
          addresses: v.addresses,
          framesSinceMaster: v.framesSinceMaster,
          waitedMs: Math.round((performance.now() - t0) * 1000) / 1000,
        };
        ctx.log.info({ notifier: 'vip', ...report }, 'VIPs bound and announced');
        return report;
      }
      missing = v.missing;
    }
    if (performance.now() >= deadline) throw new Error(`VIPs of ${instance} not ready within ${o.timeoutMs} ms: ${missing.join('; ')}`);
    // The timer's AbortError says nothing; the signal's reason says why (timeout, superseded).
    await delay(o.pollMs, undefined, { signal: ctx.signal }).catch(() => Promise.reject(ctx.signal.reason));
  }
}
