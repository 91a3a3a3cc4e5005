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
 * (the oldest packet goes first). Pure but for the hash's random seed: the
 * caller passes the time.
 */
import { randomSeed31 } from '../../core/random-bytes.js';

export const FLOOD_GATE_WINDOW_MS = 10;
export const FLOOD_GATE_PER_WINDOW = 3;
const CAPACITY = 1024;

/** What the gate keeps for one packet; `memo` is the caller's, for work that depends on these bytes alone. */
export interface GateSlot<M> {
  windowStart: number;
  count: number;
  /** The packet's identity (packetIdentity): the hash only finds the slot, equal bytes decide. */
  identity: Uint8Array;
  /** Undefined until the caller sets it; a slot is only ever reused for the same bytes. */
  memo: M | undefined;
}

/** The parts of a packet the gate tells copies apart by: everything the receive checks read. */
export interface FloodPacket {
  ttl: number;
  source: Uint8Array;
  /** null (the kernel gave none) counts as empty. */
  destination: Uint8Array | null;
  payload: Uint8Array;
}

const NONE = new Uint8Array(0);

/**
 * 32-bit FNV-1a over TTL, source, destination and the VRRP bytes, from
 * `seed`, computed in place: a key string built per datagram (its characters,
 * a flat copy, its hash) was about a twentieth of a Backup's CPU per advert
 * under perf, and more under a flood.
 */
export function packetHash(p: FloodPacket, seed: number): number {
  let h = Math.imul((seed ^ (p.ttl & 0xffff)) >>> 0, 0x01000193);
  h = mix(h, p.source);
  h = mix(h, p.destination ?? NONE);
  return mix(h, p.payload) >>> 0;
}

function mix(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  // The length too: bytes moved from the source into the destination are another packet.
  return Math.imul(h ^ bytes.length, 0x01000193);
}

const HEADER = 4;

/** TTL (2 bytes), the source's and destination's lengths, then the bytes: copied once per new packet. */
function packetIdentity(p: FloodPacket): Uint8Array {
  const destination = p.destination ?? NONE;
  const out = new Uint8Array(HEADER + p.source.length + destination.length + p.payload.length);
  out[0] = p.ttl & 0xff;
  out[1] = (p.ttl >> 8) & 0xff;
  out[2] = p.source.length;
  out[3] = destination.length;
  out.set(p.source, HEADER);
  out.set(destination, HEADER + p.source.length);
  out.set(p.payload, HEADER + p.source.length + destination.length);
  return out;
}

function isSamePacket(id: Uint8Array, p: FloodPacket): boolean {
  const destination = p.destination ?? NONE;
  const s = p.source.length;
  const d = destination.length;
  if (id.length !== HEADER + s + d + p.payload.length || id[2] !== s || id[3] !== d) return false;
  if (id[0] !== (p.ttl & 0xff) || id[1] !== ((p.ttl >> 8) & 0xff)) return false;
  return equalAt(id, HEADER, p.source) && equalAt(id, HEADER + s, destination) && equalAt(id, HEADER + s + d, p.payload);
}

function equalAt(id: Uint8Array, offset: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (id[offset + i] !== bytes[i]) return false;
  return true;
}

export class FloodGate<M = unknown> {
  private readonly slots = new Map<number, GateSlot<M>>();
  shed = 0;

  /**
   * `hash` defaults to packetHash with a random seed per gate, so a sender
   * cannot aim its packets at the slot of the real Master's advert. Even
   * when two packets share a hash only equal bytes share a count: the newer
   * takes the slot, which can only let more of the older through, never fewer.
   */
  constructor(
    private readonly windowMs = FLOOD_GATE_WINDOW_MS,
    private readonly perWindow = FLOOD_GATE_PER_WINDOW,
    private readonly capacity = CAPACITY,
    private readonly hash: (p: FloodPacket) => number = seededPacketHash(),
  ) {}

  /** Packets remembered (at most `capacity`). */
  get size(): number {
    return this.slots.size;
  }

  /** Whether `packet` goes on at `now` (ms). */
  admit(packet: FloodPacket, now: number): boolean {
    return this.pass(packet, now) !== null;
  }

  /**
   * The packet's slot when it goes on at `now` (ms), null when shed. The slot
   * stays the same object while the same bytes keep coming, so its `memo`
   * carries what the caller derived from them (the hub's decode) to the next copy.
   */
  pass(packet: FloodPacket, now: number): GateSlot<M> | null {
    const h = this.hash(packet);
    let slot = this.slots.get(h);
    if (!slot || !isSamePacket(slot.identity, packet)) {
      if (!slot && this.slots.size >= this.capacity) this.slots.delete(this.slots.keys().next().value!);
      slot = { windowStart: now, count: 0, identity: packetIdentity(packet), memo: undefined };
      this.slots.set(h, slot);
    } else if (now - slot.windowStart >= this.windowMs) {
      slot.windowStart = now;
      slot.count = 0;
    }
    if (slot.count >= this.perWindow) {
      this.shed++;
      return null;
    }
    slot.count++;
    return slot;
  }
}

function seededPacketHash(): (p: FloodPacket) => number {
  const seed = randomSeed31();
  return (p) => packetHash(p, seed);
}
