/**
 * vipflow as a systemd `Type=notify` service (sd_notify(3)): READY=1 once
 * every instance has left Initialize, WATCHDOG=1 from an event-loop timer,
 * RELOADING=1 / STOPPING=1 around SIGHUP and stop. Outside systemd (no
 * NOTIFY_SOCKET) every call does nothing.
 */
import type { Logger } from '../core/logger.js';
import { sdNotify } from '../wire/socket/sd-notify.js';

/** The variables systemd sets for a notify service with WatchdogSec=. */
export interface ServiceEnvironment {
  NOTIFY_SOCKET?: string | undefined;
  WATCHDOG_USEC?: string | undefined;
  WATCHDOG_PID?: string | undefined;
}

/**
 * How often to send WATCHDOG=1, or undefined when systemd does not watch this
 * process: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, so one late
 * tick is not a restart. WATCHDOG_PID, when set, must be this process
 * (a notify script started from the service inherits the variables).
 */
export function watchdogIntervalMs(env: ServiceEnvironment, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** What the service needs of the daemon: each instance's state, and a call on each transition. */
export interface ServiceDaemon {
  instanceStates(): { name: string; state: string }[];
  onTransition(listener: () => void): void;
}

/** systemd's STATUS= line: each instance and its state (`systemctl status` shows it). */
export function statusLine(states: readonly { name: string; state: string }[]): string {
  if (states.length === 0) return 'no VRRP instances';
  return states.map((s) => `${s.name} ${s.state}`).join(', ');
}

export interface SystemdServiceOptions {
  env: ServiceEnvironment;
  pid: number;
  log: Logger;
  /** One datagram; null when sent, else an errno name (wire/socket/sd-notify.ts by default). */
  send?: (socket: string, message: string) => string | null;
}

export class SystemdService {
  private readonly socket: string | undefined;
  private readonly send: (socket: string, message: string) => string | null;
  private watchdog: NodeJS.Timeout | undefined;
  private ready = false;
  private failures = 0;

  constructor(private readonly options: SystemdServiceOptions) {
    const socket = options.env.NOTIFY_SOCKET;
    this.socket = socket !== undefined && socket !== '' ? socket : undefined;
    this.send = options.send ?? sdNotify;
  }

  /** True under a notify service (NOTIFY_SOCKET set). */
  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /**
   * Sends READY=1 once nothing is in Initialize (now, or at the transition that
   * ends the last one), and starts the watchdog timer when WatchdogSec= is set.
   */
  follow(daemon: ServiceDaemon): void {
    if (!this.socket) return;
    const check = () => {
      if (this.ready) return;
      const states = daemon.instanceStates();
      if (states.some((s) => s.state === 'initialize')) return;
      this.ready = true;
      this.notify(`READY=1\nSTATUS=${statusLine(states)}\nMAINPID=${this.options.pid}`);
    };
    daemon.onTransition(check);
    check();
    const every = watchdogIntervalMs(this.options.env, this.options.pid);
    if (every !== undefined) {
      // A timer on the event loop: when the loop stalls, the pings stop and systemd restarts the service.
      this.watchdog = setInterval(() => this.notify('WATCHDOG=1'), every);
      this.watchdog.unref();
      this.options.log.info({ watchdogMs: every * 2 }, 'systemd watchdog on');
    }
  }

  /** SIGHUP received: systemd shows the unit as reloading until READY=1 comes again. */
  reloading(): void {
    this.notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
  }

  reloaded(): void {
    if (this.ready) this.notify('READY=1');
  }

  /** The graceful stop began (make-before-break handover): systemd waits for the exit. The watchdog goes on until then. */
  stopping(): void {
    this.notify('STOPPING=1');
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private notify(message: string): void {
    if (!this.socket) return;
    const err = this.send(this.socket, message);
    if (err === null) return;
    // Logged once: a missing socket should not flood the journal every watchdog tick.
    if (this.failures++ === 0) this.options.log.warn({ socket: this.socket, err, message: message.split('\n')[0] }, 'systemd notification failed');
  }
}

/** CLOCK_MONOTONIC in µs, as RELOADING=1 wants it (systemd 253+ checks it is fresh). */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}
