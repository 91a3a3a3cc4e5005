/**
 * The nftables load-balancer backend (I/O): renders the desired state
 * (nft-render.ts) and hands it to `nft -f -` as one transaction, reads the
 * named counters back, removes its table on shutdown. It keeps the last state
 * it applied to report what an apply changed and to name counters.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../core/logger.js';
import { diffLbState } from './desired.js';
import type { LbApplyResult, LbBackend, LbCounters, LbDiff, LbState, LbVirtualService } from './model.js';
import { fallbackOf, layoutFor, names, renderChange, renderClear, renderNft, TABLE, unsupportedOnNft, type NftLayout } from './nft-render.js';

export interface NftBackendOptions {
  /** run nft inside this network namespace (`ip netns exec NAME nft ...`); tests use it */
  netns?: string;
  /** the nft binary (Debian: /usr/sbin/nft) */
  nftPath?: string;
  /** bound on one nft run; a larger ruleset takes longer (37,000 destinations: a few seconds) */
  timeoutMs?: number;
  logger?: Logger;
}

/** full: the table replaced whole; incremental: only changed services rewritten; unchanged: nothing to do */
export type ApplyMode = 'full' | 'incremental' | 'unchanged';

interface NftRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What an apply refuses before touching the kernel: unsupported services, duplicate ids. */
export function refusals(state: LbState): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of state.services) {
    if (seen.has(s.id)) out.push(`${s.id}: the same service twice (overlapping virtual servers)`);
    seen.add(s.id);
    const why = unsupportedOnNft(s);
    if (why !== null) out.push(why);
  }
  return out;
}

interface CounterJson {
  counter?: { name: string; table: string; packets: number; bytes: number };
}

export class NftBackend implements LbBackend {
  readonly name = 'nftables' as const;
  private applied: LbState | undefined;
  private layout: NftLayout = new Map();
  private mode: ApplyMode | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly warned = new Set<string>();
  private readonly nftPath: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: NftBackendOptions = {}) {
    this.nftPath = opts.nftPath ?? '/usr/sbin/nft';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  unsupported(s: LbVirtualService): string | null {
    return unsupportedOnNft(s);
  }

  /** How the last successful apply reached the kernel (tests and logs: an incremental apply keeps persistence and is fast). */
  get lastApplyMode(): ApplyMode | undefined {
    return this.mode;
  }

  /** The state the last successful apply installed (undefined before the first, or after clear). */
  get current(): LbState | undefined {
    return this.applied;
  }

  /** Applies run one at a time (a second waits for the first), each against what the previous one installed. */
  apply(wanted: LbState): Promise<LbApplyResult> {
    return this.serial(async () => {
      try {
        return await this.applyNow(wanted);
      } catch (error) {
        // A programming error in rendering must not take the daemon down: report it like a refused ruleset.
        this.opts.logger?.error({ err: error }, 'load-balancer apply failed');
        return { ok: false, error: `internal error: ${String(error)}`, diff: { added: [], removed: [], changed: [] } };
      }
    });
  }

  private async applyNow(wanted: LbState): Promise<LbApplyResult> {
    // A copy: the caller may reuse and mutate its objects, and the next diff must see what is really installed.
    const desired = structuredClone(wanted);
    const diff: LbDiff = diffLbState(this.applied, desired);
    const refused = refusals(desired);
    if (refused.length > 0) return { ok: false, error: refused.join('; '), diff };
    this.warnFallbacks(desired);
    const t0 = performance.now();
    const layout = layoutFor(desired, this.layout);
    let r: NftRun = { code: 0, stdout: '', stderr: '' };
    let mode: ApplyMode = 'full';
    if (this.applied !== undefined) {
      const change = renderChange(this.applied, this.layout, desired, layout);
      mode = change === undefined ? 'unchanged' : 'incremental';
      if (change !== undefined) r = await this.nft(['-f', '-'], change);
      // The table is not what this process installed (removed by hand, another instance): replace it whole.
      if (r.code !== 0) {
        this.opts.logger?.warn({ stderr: r.stderr.trim() }, 'incremental load-balancer change refused; trying a whole-table replacement');
        mode = 'full';
      }
    }
    if (mode === 'full') r = await this.nft(['-f', '-'], renderNft(desired, layout));
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    if (r.code !== 0) {
      // One transaction: nothing of it reached the kernel, the previous table stands.
      this.opts.logger?.error({ stderr: r.stderr.trim(), ms }, 'nft refused the load-balancer ruleset');
      return { ok: false, error: `nft -f failed (${r.code ?? 'timeout'}): ${r.stderr.trim()}`, diff };
    }
    this.applied = desired;
    this.layout = layout;
    this.mode = mode;
    this.opts.logger?.info({ diff, ms, mode, services: desired.services.length }, 'load-balancer rules applied');
    return { ok: true, diff, ms };
  }

  async counters(): Promise<LbCounters[]> {
    const state = this.applied;
    if (state === undefined) return [];
    const r = await this.nft(['-j', 'list', 'counters', 'table', 'inet', TABLE]);
    if (r.code !== 0) {
      this.opts.logger?.warn({ stderr: r.stderr.trim() }, 'cannot read load-balancer counters');
      return [];
    }
    const byName = new Map<string, { packets: number; bytes: number }>();
    try {
      const parsed = JSON.parse(r.stdout) as { nftables?: CounterJson[] };
      for (const e of parsed.nftables ?? []) if (e.counter !== undefined) byName.set(e.counter.name, e.counter);
    } catch (error) {
      this.opts.logger?.warn({ err: error }, 'unreadable nft counters');
      return [];
    }
    const zero = { packets: 0, bytes: 0 };
    return state.services.map((s) => {
      const k = this.layout.get(s.id)!;
      // The service counter sits in a nat chain, which sees only the first packet of a connection: it counts connections.
      const c = byName.get(names.counter(k)) ?? zero;
      // A destination's counter sits in the forward chain: packets and bytes of both directions.
      const destinations = s.destinations.map((d) => {
        const dc = byName.get(names.destCounter(k, d)) ?? zero;
        return { address: d.address, port: d.port, packets: dc.packets, bytes: dc.bytes };
      });
      return {
        id: s.id,
        packets: destinations.reduce((n, d) => n + d.packets, 0),
        bytes: destinations.reduce((n, d) => n + d.bytes, 0),
        connections: c.packets,
        destinations,
      };
    });
  }

  clear(): Promise<void> {
    return this.serial(() => this.clearNow());
  }

  private async clearNow(): Promise<void> {
    const r = await this.nft(['-f', '-'], renderClear());
    if (r.code !== 0) this.opts.logger?.warn({ stderr: r.stderr.trim() }, 'cannot remove the load-balancer table');
    else {
      this.applied = undefined;
      this.layout = new Map();
    }
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private warnFallbacks(state: LbState): void {
    for (const s of state.services) {
      const f = fallbackOf(s.scheduler);
      const key = `${s.id}/${s.scheduler}`;
      if (f === undefined || this.warned.has(key)) continue;
      this.warned.add(key);
      this.opts.logger?.warn({ service: s.id, scheduler: s.scheduler, runsAs: f.to }, f.why);
    }
  }

  /** One nft run with `input` on stdin, bounded by timeoutMs; never throws. */
  private nft(args: string[], input?: string): Promise<NftRun> {
    const argv = this.opts.netns === undefined ? [this.nftPath, ...args] : ['ip', 'netns', 'exec', this.opts.netns, this.nftPath, ...args];
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const done = (r: NftRun): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (error) {
        done({ code: -1, stdout, stderr: String(error) });
        return;
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ code: null, stdout, stderr: `${stderr}nft did not finish within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', (error) => done({ code: -1, stdout, stderr: `${stderr}${error.message}` }));
      child.once('close', (code, signal) => done({ code: code ?? -1, stdout, stderr: signal === null ? stderr : `${stderr}nft ended by ${signal}` }));
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  }
}
