/**
 * Runs keepalived's vrrp_script checks: one track-script actor (actors/track-script)
 * per script, and the processes it asks for. A check is one run of the program: exit
 * 0 is a success; any other status, a signal, a refusal (script security) or a
 * timeout is a failure. At the timeout the process group gets SIGTERM and, 2 s
 * later, SIGKILL, as keepalived does. The actor's health changes are handed to
 * `onHealth`, which feeds the tracking instances.
 *
 * A check runs every second or so for the daemon's life, so it logs only what an
 * operator needs: a change of exit status, a health change, a timeout, a refusal.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../core/logger.js';
import type { Script } from '../../config/model.js';
import type { Prepared } from '../scripts/runner.js';
import { createTrackScript, type ScriptHealth, type TrackScriptActor, type TrackScriptClock } from '../../actors/track-script/index.js';

export interface TrackScriptSpec {
  name: string;
  argv: readonly string[];
  /** The configured script (its user/group), for `prepare`. */
  script: Script;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  initFail: boolean;
}

export interface TrackScriptStatus {
  name: string;
  health: ScriptHealth;
  checks: number;
  failures: number;
  timeouts: number;
  skipped: number;
  lastExit: number | string | null;
}

export interface TrackScriptsOptions {
  log: Logger;
  /** Who runs the script (script_user) and whether security lets it run; called before each check. */
  prepare: (spec: TrackScriptSpec) => Prepared;
  onHealth: (name: string, up: boolean) => void;
  clock?: TrackScriptClock;
  /** SIGTERM-to-SIGKILL grace after a timeout. Default 2000 ms (keepalived's). */
  killGraceMs?: number;
}

interface Entry {
  spec: TrackScriptSpec;
  actor: TrackScriptActor;
  health: ScriptHealth;
  pid: number | null;
  stats: Omit<TrackScriptStatus, 'name' | 'health'>;
}

// Like keepalived before exec: no inherited field splitting or loader overrides.
const DROPPED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];
const realClock: TrackScriptClock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout) };

export class TrackScripts {
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly o: TrackScriptsOptions) {
    this.log = o.log.child({ component: 'track-script' });
  }

  /** Starts one actor per spec; the first checks run at once. */
  start(specs: readonly TrackScriptSpec[]): void {
    for (const spec of specs) this.add(spec);
  }

  /**
   * Runs changed definitions in place of the running ones of the same names,
   * each keeping the health it had (keepalived's reload does the same): the
   * old check is stopped and its process group killed.
   */
  replace(specs: readonly TrackScriptSpec[]): void {
    for (const spec of specs) {
      const old = this.entries.get(spec.name);
      if (old) {
        old.actor.send({ type: 'STOP' });
        old.actor.stop();
        if (old.pid !== null) killGroup(old.pid, 'SIGKILL');
      }
      this.add(spec, old && old.health !== 'unknown' ? old.health : undefined);
    }
  }

  private add(spec: TrackScriptSpec, carried?: 'up' | 'down'): void {
    const actor = createTrackScript(
      { name: spec.name, intervalMs: spec.intervalMs, rise: spec.rise, fall: spec.fall, initFail: spec.initFail, ...(carried ? { carried } : {}) },
      this.o.clock ?? realClock,
    );
    const entry: Entry = {
      spec,
      actor,
      health: carried ?? (spec.initFail ? 'down' : 'unknown'),
      pid: null,
      stats: { checks: 0, failures: 0, timeouts: 0, skipped: 0, lastExit: null },
    };
    this.entries.set(spec.name, entry);
    actor.on('run-check', () => this.check(entry));
    actor.on('check-skipped', () => {
      entry.stats.skipped++;
      this.log.warn({ script: spec.name, pid: entry.pid }, 'track script still running at its next interval: run skipped');
    });
    actor.on('health', (e) => {
      entry.health = e.health;
      this.log.info(
        { script: spec.name, health: e.health, previous: e.previous, lastExit: entry.stats.lastExit },
        `track script ${e.health === 'up' ? 'succeeded' : 'failed'}`,
      );
      try {
        this.o.onHealth(spec.name, e.health === 'up');
      } catch (err) {
        this.log.error({ err, script: spec.name }, 'track script health listener failed');
      }
    });
    actor.start();
  }

  health(name: string): ScriptHealth | undefined {
    return this.entries.get(name)?.health;
  }

  status(): TrackScriptStatus[] {
    return [...this.entries.values()].map((e) => ({ name: e.spec.name, health: e.health, ...e.stats }));
  }

  /** Stops the actors and kills running checks' process groups. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) {
      e.actor.send({ type: 'STOP' });
      e.actor.stop();
      if (e.pid !== null) killGroup(e.pid, 'SIGKILL');
    }
  }

  private check(entry: Entry): void {
    const { spec } = entry;
    const result = (ok: boolean, exit: number | string) => {
      if (exit !== entry.stats.lastExit)
        this.log.info({ script: spec.name, exit, previous: entry.stats.lastExit }, 'track script now returning a different result');
      entry.stats.lastExit = exit;
      if (!ok) entry.stats.failures++;
      entry.pid = null;
      if (!this.stopped) entry.actor.send({ type: 'RESULT', ok, detail: String(exit) });
    };
    entry.stats.checks++;
    let prepared: Prepared;
    try {
      prepared = this.o.prepare(spec);
    } catch (err) {
      prepared = { ok: false, reason: `prepare failed: ${String(err)}` };
    }
    if (!prepared.ok) {
      if (entry.stats.lastExit !== 'refused') this.log.error({ script: spec.name, reason: prepared.reason }, 'track script refused: counted as failing');
      return result(false, 'refused');
    }
    const env = { ...process.env };
    for (const k of DROPPED_ENV) delete env[k];
    let child;
    try {
      child = spawn(spec.argv[0]!, spec.argv.slice(1), {
        detached: true,
        stdio: 'ignore',
        cwd: '/',
        env,
        ...(prepared.uid !== undefined ? { uid: prepared.uid } : {}),
        ...(prepared.gid !== undefined ? { gid: prepared.gid } : {}),
      });
    } catch (err) {
      if (entry.stats.lastExit !== 'spawn-error') this.log.error({ script: spec.name, err }, 'track script could not start: counted as failing');
      return result(false, 'spawn-error');
    }
    entry.pid = child.pid ?? null;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      entry.stats.timeouts++;
      this.log.warn({ script: spec.name, pid: child.pid, timeoutMs: spec.timeoutMs }, 'track script timed out: ending its process group');
      if (child.pid) killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), this.o.killGraceMs ?? 2000);
    }, spec.timeoutMs);
    let settled = false;
    const settle = (ok: boolean, exit: number | string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Whatever it started must not outlive a timed-out check.
      if (killTimer) {
        clearTimeout(killTimer);
        if (child.pid) killGroup(child.pid, 'SIGKILL');
      }
      result(ok, exit);
    };
    child.on('error', (err) => {
      if (entry.stats.lastExit !== 'spawn-error') this.log.error({ script: spec.name, err: err.message }, 'track script could not start: counted as failing');
      settle(false, 'spawn-error');
    });
    child.on('exit', (code, signal) => {
      if (timedOut) settle(false, 'timeout');
      else if (code === 0) settle(true, 0);
      else settle(false, code ?? `signal ${signal ?? '?'}`);
    });
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}
