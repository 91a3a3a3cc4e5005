export {
  VirtualLan,
  type LanClock,
  type LanOptions,
  type AddNodeOptions,
  type NodeStatus,
  type TimelineEntry,
  type AddressEvent,
  type LanStats,
  type Delivery,
} from './lan.js';
export { VirtualClock } from './clock.js';
export { mulberry32 } from './prng.js';
