/**
 * Sheds a flood of identical adverts before they are decoded: at most
 * `perWindow` packets per (VRID, sender, priority) per window pass; the rest
 * are counted and dropped. The machine reacts to a repeat of the same sender's
 * same priority as it did to the first (a Backup restarts its timer, a Master
 * answers or yields once), so the repeats only cost CPU: 20,000 a second of
 * them stalled the event loop. Keyed on the priority too, so a flood forging
 * the real Master's address at another priority cannot use up the real
 * Master's share. The window is the shortest VRRPv3 interval (10 ms): a
 * Master advertising faster than we do is never cut. Memory is bounded (the
 * oldest key goes first). Pure: the caller passes the time.
 */
export const FLOOD_GATE_WINDOW_MS = 10;
export const FLOOD_GATE_PER_WINDOW = 3;
const CAPACITY = 1024;

interface Slot {
  windowStart: number;
  count: number;
}

export class FloodGate {
  private readonly slots = new Map<number | string, Slot>();
  shed = 0;

  constructor(
    private readonly windowMs = FLOOD_GATE_WINDOW_MS,
    private readonly perWindow = FLOOD_GATE_PER_WINDOW,
    private readonly capacity = CAPACITY,
  ) {}

  /** Whether a packet for `vrid` from `source` (4 or 16 bytes) at `priority` goes on at `now` (ms). */
  admit(vrid: number, source: Uint8Array, priority: number, now: number): boolean {
    const key = keyOf(vrid, source, priority);
    let slot = this.slots.get(key);
    if (!slot) {
      if (this.slots.size >= this.capacity) this.slots.delete(this.slots.keys().next().value!);
      slot = { windowStart: now, count: 0 };
      this.slots.set(key, slot);
    } else if (now - slot.windowStart >= this.windowMs) {
      slot.windowStart = now;
      slot.count = 0;
    }
    if (slot.count >= this.perWindow) {
      this.shed++;
      return false;
    }
    slot.count++;
    return true;
  }
}

/** A number for IPv4 (no string built per packet), text for IPv6. */
function keyOf(vrid: number, source: Uint8Array, priority: number): number | string {
  // 48 bits: exact in a double.
  if (source.length === 4) return (((source[0]! * 256 + source[1]!) * 256 + source[2]!) * 256 + source[3]!) * 65536 + vrid * 256 + priority;
  let s = '';
  for (const b of source) s += b.toString(16).padStart(2, '0');
  return `${s}/${vrid}/${priority}`;
}
