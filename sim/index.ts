/**
 * The simulator: vipflow routers on a virtual LAN, in simulated time.
 *
 * VirtualLan runs each node's configuration through the production host
 * side (planInstance → InstanceRunner → WireHub → screenAdvert → machine,
 * and back out through the codec), with virtual sockets (VirtualWire) and
 * recording host ports (VirtualHost: VIPs held, announcements sent) in
 * place of the network and the kernel. VirtualClock is the exact
 * discrete-event clock it runs on; mulberry32 the seeded PRNG behind its
 * packet loss.
 */
export {
  VirtualLan,
  type LanClock,
  type LanOptions,
  type LanStats,
  type NodeSpec,
  type NodeStatus,
  type NodeGroupTransition,
  type TimelineEntry,
} from './lan.js';
export { VirtualHost, TimerScope, type HostInterfaceSpec, type HostEvent, type AddressEvent, type AnnounceEvent, type AdvertEvent } from './host.js';
export { VirtualWire, addressBytes, type WireNode, type WireOptions, type WireStats, type Delivery, type SentPacket, type InjectedPacket } from './wire.js';
export { VirtualClock } from './clock.js';
export { mulberry32 } from './prng.js';
