export { openVrrpSocket, takenRepeats, REPEATS_KEPT, VRRP_GROUP_V4, VRRP_GROUP_V6 } from './vrrp-socket.js';
export type { VrrpSocket, VrrpSocketOptions, ReceivedPacket, VrrpSocketStats, RepeatAbsorber, TakenRepeats } from './vrrp-socket.js';
export { ReceiveModerator, holdForIntervalMs } from './receive-moderation.js';
export type { HeldSocket, ModeratorHost } from './receive-moderation.js';
export { openIcmpSocket } from './icmp-socket.js';
export type { IcmpSocket, IcmpSocketOptions, IcmpHandler } from './icmp-socket.js';
export { interfaceInfo, sendEthernetFrame, sendEthernetFrames, formatMac, type FramesSent } from './interfaces.js';
export type { InterfaceInfo } from './interfaces.js';
export type { SysResult } from './result.js';
export { addressText } from './address-text.js';
export {
  openNetlinkMonitor,
  readNetlinkState,
  toNetlinkEvent,
  IFF_UP,
  IFF_RUNNING,
  IFF_LOWER_UP,
  IFA_F_TENTATIVE,
  IFA_F_DADFAILED,
} from './netlink-monitor.js';
export type { NetlinkMonitor, NetlinkMonitorOptions, NetlinkEvent, NetlinkMessage, LinkMessage, AddressMessage, OperState } from './netlink-monitor.js';
export { raiseFileLimit, type FileLimit } from './file-limit.js';
export { setRealtime, setFairSlice, type RealtimeResult, type FairSliceResult } from './realtime.js';
export { releaseMappedPages, returnFreedHeap } from './heap-trim.js';
export { openWakeTimer, type WakeTimer } from './wake-timer.js';
