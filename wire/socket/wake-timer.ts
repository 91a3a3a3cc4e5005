/** A one-shot wake-up to the microsecond (wire/native/src/wake_timer.c: a timerfd the loop polls). */
import { nativeWire } from './native.js';

export interface WakeTimer {
  /** Runs the callback once `us` microseconds from now, replacing any earlier arm; 0 or less disarms. */
  arm(us: number): void;
  /** Idempotent; a closed timer never fires. */
  close(): void;
}

/**
 * A disarmed wake timer that never keeps the process alive (unref'd): what
 * waits on it keeps the loop running by other means.
 */
export function openWakeTimer(onWake: () => void): WakeTimer {
  const wire = nativeWire();
  const handle = wire.wakeOpen(onWake);
  wire.wakeRef(handle, false);
  let closed = false;
  return {
    arm(us) {
      if (closed) return;
      const err = wire.wakeArm(handle, us);
      // timerfd_settime fails only on a bad fd or value: neither can come from here.
      if (err !== 0) throw new Error(`timerfd_settime failed: errno ${err}`);
    },
    close() {
      if (closed) return;
      closed = true;
      wire.wakeClose(handle);
    },
  };
}
