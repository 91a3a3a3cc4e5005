/**
 * Sheds a flood of identical packets before they are decoded: at most
 * `perWindow` copies of one packet (the same bytes from the same sender to
 * the same destination with the same TTL) per window pass; the rest are counted and dropped. A copy makes the
 * machine do exactly what the first did (a Backup restarts its timer, a
 * Master answers or yields once), so the copies only cost CPU: 20,000 a
 * second of them held a Backup's event loop for ~190 ms.
 *
 * Only identical bytes share a share: a flood forging the real Master's
 * address with any other content (priority, address list, an auth_hmac
 * replay whose sequence is old) cannot use up the real adverts' share, and
 * with auth_hmac each real advert is new bytes. The window is the shortest
 * VRRPv3 interval (10 ms), so a real Master is never cut. Memory is bounded
 * (the oldest key goes first). Pure: the caller passes the time.
 */
export const FLOOD_GATE_WINDOW_MS = 10;
export const FLOOD_GATE_PER_WINDOW = 3;
const CAPACITY = 1024;

interface Slot {
  windowStart: number;
  count: number;
}

/**
 * The gate's key for a packet: everything the receive checks read (TTL,
 * source, destination, the VRRP bytes), as one string. A copy that differs in
 * any of them (a forged TTL 64, a unicast copy) has its own share.
 */
export function floodKey(ttl: number, source: Uint8Array, destination: Uint8Array, payload: Buffer): string {
  return String.fromCharCode(ttl & 0xffff, ...source, ...destination) + payload.toString('latin1');
}

export class FloodGate {
  private readonly slots = new Map<string, Slot>();
  shed = 0;

  constructor(
    private readonly windowMs = FLOOD_GATE_WINDOW_MS,
    private readonly perWindow = FLOOD_GATE_PER_WINDOW,
    private readonly capacity = CAPACITY,
  ) {}

  /** Whether the packet with `key` (floodKey) goes on at `now` (ms). */
  admit(key: string, now: number): boolean {
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
