/**
 * Applies the handover rulesets (handover-rules.ts) with `nft -f -`: the
 * forward table a Backup keeps armed toward the Master it hears, and the
 * drain table of a Master that hands over. Every apply is queued behind the
 * previous one, so a table is never deleted before its own creation ran.
 * Failures are logged and leave the handover as it was without them (a
 * client may then see a reset), never stop the instance.
 */
import { runBounded } from '../host/run-bounded.js';
import type { VrrpClock } from '../../actors/vrrp/index.js';
import type { Logger } from '../../core/logger.js';
import { deleteRuleset, drainRuleset, forwardRuleset, handoverTable, staleHandoverTables, type NftTable } from './handover-rules.js';

export type NftResult = { ok: true; stdout: string } | { ok: false; error: string };
/** Runs nft with `args`, `input` on its stdin. */
export type NftRun = (args: readonly string[], input: string) => Promise<NftResult>;

export function nftCommand(nftPath = '/usr/sbin/nft', timeoutMs = 5000): NftRun {
  return async (args, input) => {
    const r = await runBounded(nftPath, args, timeoutMs, input);
    if (r.code === 0) return { ok: true, stdout: r.stdout };
    return { ok: false, error: r.error ?? (r.stderr.trim() || `nft exited ${String(r.code)}`) };
  };
}

/** Removes the handover tables a crashed daemon left; resolves to their names. */
export async function sweepHandoverTables(nft: NftRun, log: Logger): Promise<string[]> {
  const listed = await nft(['list', 'tables'], '');
  if (!listed.ok) {
    log.debug({ error: listed.error }, 'nft list tables failed: no stale handover tables removed');
    return [];
  }
  const stale = staleHandoverTables(listed.stdout);
  if (stale.length === 0) return [];
  const r = await nft(['-f', '-'], deleteRuleset(stale));
  const names = stale.map((t) => `${t.family} ${t.name}`);
  if (r.ok) log.warn({ tables: names }, 'removed handover tables an earlier run left');
  else log.error({ tables: names, error: r.error }, 'could not remove the handover tables an earlier run left');
  return names;
}

export interface HandoverTarget {
  instance: string;
  family: 4 | 6;
  device: string;
  /** VIPs of the instance's family, without prefix length. */
  vips: readonly string[];
}

/** Serialises nft runs for one instance; logs failures. */
class NftQueue {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly nft: NftRun,
    private readonly log: Logger,
  ) {}
  apply(script: string, what: string): Promise<boolean> {
    const next = this.tail.then(async () => {
      const r = await this.nft(['-f', '-'], script);
      if (!r.ok) this.log.error({ error: r.error, what }, 'nft handover rules failed');
      return r.ok;
    });
    this.tail = next;
    return next;
  }
  /** Resolves once every queued run finished. */
  idle(): Promise<unknown> {
    return this.tail;
  }
}

/**
 * The new Master's side. While Backup it keeps a forward table aimed at the
 * Master it hears (`heard`); on becoming Master it keeps it `windowMs`, or
 * deletes it at once when the old Master had gone silent (a crash: its flows
 * are lost anyway, and a reset tells their clients sooner than a black hole).
 */
export class HandoverForwarder {
  private readonly table: NftTable;
  private readonly queue: NftQueue;
  private target: string | null = null;
  private lastHeardAt = -Infinity;
  private timer: unknown = null;

  constructor(
    private spec: HandoverTarget,
    private readonly windowMs: number,
    nft: NftRun,
    private readonly clock: VrrpClock,
    private readonly log: Logger,
  ) {
    this.table = handoverTable('fwd', spec.family, spec.instance);
    this.queue = new NftQueue(nft, log);
  }

  /** A reload changed the VIPs: an armed table is rewritten with them. */
  setVips(vips: readonly string[]): void {
    this.spec = { ...this.spec, vips };
    const target = this.target;
    if (target === null) return;
    if (vips.length === 0) void this.disarm();
    else this.apply(target);
  }

  /** A Backup heard the Master at `source` (any priority, 0 included). */
  heard(source: string): void {
    this.lastHeardAt = this.clock.now();
    if (source === this.target || this.spec.vips.length === 0) return;
    this.cancelTimer();
    this.target = source;
    this.apply(source);
  }

  private apply(source: string): void {
    const script = forwardRuleset({
      table: this.table,
      device: this.spec.device,
      family: this.spec.family,
      vips: this.spec.vips,
      oldMaster: source,
      flowTimeoutMs: this.windowMs,
    });
    void this.queue.apply(script, `forward to ${source}`);
  }

  /** We became Master; `masterAdvertIntervalMs` tells a handover (old Master heard just now) from a crash. */
  becameMaster(masterAdvertIntervalMs: number): void {
    if (this.target === null) return;
    const silentMs = this.clock.now() - this.lastHeardAt;
    if (silentMs > 2 * masterAdvertIntervalMs) {
      this.log.info({ oldMaster: this.target, silentMs: Math.round(silentMs) }, 'old master silent: not forwarding its connections');
      this.disarm();
      return;
    }
    this.log.info({ oldMaster: this.target, windowMs: this.windowMs }, 'handing connections we did not see start to the old master');
    this.cancelTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.disarm();
    }, this.windowMs);
  }

  /** Deletes the table (stop, Fault, end of the window); resolves once nft ran. */
  disarm(): Promise<unknown> {
    this.cancelTimer();
    if (this.target === null) return this.queue.idle();
    this.target = null;
    return this.queue.apply(deleteRuleset([this.table]), 'remove forward table');
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The old Master's side: no ARP / ND answers for the VIPs it keeps during the drain. */
export class HandoverDrain {
  private readonly table: NftTable;
  private readonly queue: NftQueue;
  private active = false;

  constructor(
    private spec: HandoverTarget,
    nft: NftRun,
    log: Logger,
  ) {
    this.table = handoverTable('drain', spec.family, spec.instance);
    this.queue = new NftQueue(nft, log);
  }

  /** A reload changed the VIPs: the next drain covers the new ones (a running one keeps the addresses it hides). */
  setVips(vips: readonly string[]): void {
    this.spec = { ...this.spec, vips };
  }

  start(): void {
    if (this.active || this.spec.vips.length === 0) return;
    this.active = true;
    void this.queue.apply(drainRuleset({ table: this.table, family: this.spec.family, vips: this.spec.vips }), 'drain');
  }

  end(): Promise<unknown> {
    if (!this.active) return this.queue.idle();
    this.active = false;
    return this.queue.apply(deleteRuleset([this.table]), 'remove drain table');
  }
}
